// The manager's page of one project (owner, manager): live progress, the
// task table (keyset pages), import, export and the org's members.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, patchUser, session, type Counts, type Project as ProjectT } from '../api';
import { t, type MessageKey } from '../i18n';
import { navigate } from '../router';
import { errorText } from '../errors';
import { useSignal } from '../signal';
import { unzipSync } from 'fflate';
import { SettingsPanel } from './ProjectSettings';
import { CharactersPanel, FlagsPanel, JobsPanel, NovelPanel } from './StoryPanels';
import './Project.css';

const PAGE = 100;
const POLL_MS = 5000;
const PREVIEW_CHARS = 120;
const CSRF_KEY = 'annotd.csrf';
const ROLES = ['owner', 'manager', 'reviewer', 'annotator', 'viewer'] as const;
const STATES = ['', 'open', 'in_progress', 'done'] as const;
type StateFilter = (typeof STATES)[number];
type Tab = 'overview' | 'settings' | 'story';

/* Export formats: JSON Lines for every kind; the storyboard kind adds its own. */
const EXPORT_FORMATS: Record<string, { ext: string }> = {
  jsonl: { ext: 'jsonl' },
  'storyboard-json': { ext: 'json' },
  'storyboard-csv': { ext: 'csv' },
  fountain: { ext: 'fountain' },
  srt: { ext: 'srt' },
  'storyboard-html': { ext: 'html' },
};
export function exportFormats(kind: string): string[] {
  return kind === 'storyboard' ? Object.keys(EXPORT_FORMATS) : ['jsonl'];
}

interface TaskRow {
  id: number;
  key: string | null;
  data: unknown;
  state: string;
}

interface Member {
  id: number;
  login: string;
  name: string;
  role: string;
}

interface ImportResult {
  created: number;
  existing: number;
  errors: Array<{ at: string; code: string; message: string }>;
  errors_truncated?: boolean;
}

export function canManage(role: string | undefined): boolean {
  return role === 'owner' || role === 'manager';
}

/* A short one-line text of a task's data (shown as text, never HTML). */
function preview(data: unknown): string {
  let s: string;
  if (data && typeof data === 'object' && typeof (data as any).text === 'string') s = (data as any).text;
  else if (data && typeof data === 'object' && typeof (data as any).prompt === 'string') s = (data as any).prompt;
  else s = JSON.stringify(data) ?? '';
  s = s.replace(/\s+/g, ' ');
  const cps = Array.from(s);
  return cps.length > PREVIEW_CHARS ? cps.slice(0, PREVIEW_CHARS).join('') + '…' : s;
}

function stateLabel(s: string): string {
  if (s === 'open' || s === 'in_progress' || s === 'done') return t(`proj.state.${s}` as MessageKey);
  return s;
}

export function Project({ projectId }: { projectId: number }) {
  const user = useSignal(session);
  const [project, setProject] = useState<ProjectT | null>(null);
  const [loadError, setLoadError] = useState('');
  const [live, setLive] = useState<'sse' | 'poll'>('sse');
  const [tableVersion, setTableVersion] = useState(0);
  const [tab, setTab] = useState<Tab>('overview');
  const [format, setFormat] = useState('jsonl');

  function loadProject() {
    return api<ProjectT>('GET', `/api/v1/projects/${projectId}`)
      .then((p) => {
        if (p) setProject(p);
        setLoadError('');
      })
      .catch((e) => setLoadError(t('proj.loadError', { message: errorText(e) })));
  }

  /* Progress: SSE notices re-read the project; polling when the stream fails. */
  useEffect(() => {
    loadProject();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let poll: ReturnType<typeof setInterval> | undefined;
    const refreshSoon = () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        loadProject();
      }, 250);
    };
    const startPolling = () => {
      setLive('poll');
      if (!poll) poll = setInterval(loadProject, POLL_MS);
    };
    const stopPolling = () => {
      setLive('sse');
      if (poll) clearInterval(poll);
      poll = undefined;
    };
    let es: EventSource | null = null;
    try {
      es = new EventSource(`/api/v1/events?topics=project.${projectId}`, { withCredentials: true });
      for (const type of ['task', 'tasks', 'review', 'project', 'resync']) es.addEventListener(type, refreshSoon);
      es.onopen = () => {
        stopPolling();
        refreshSoon();
      };
      es.onerror = () => startPolling(); /* reconnecting (or closed for good) */
    } catch {
      startPolling();
    }
    return () => {
      es?.close();
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
    };
  }, [projectId]);

  const back = (
    <a
      href="/projects"
      onClick={(e) => {
        e.preventDefault();
        navigate('/projects');
      }}
    >
      {t('proj.back')}
    </a>
  );

  if (!canManage(user?.role))
    return (
      <section class="proj">
        <p class="error" role="alert">
          {t('proj.forbidden')}
        </p>
        {back}
      </section>
    );
  if (loadError && !project)
    return (
      <section class="proj">
        <p class="error" role="alert">
          {loadError}
        </p>
        <button onClick={loadProject}>{t('projects.retry')}</button> {back}
      </section>
    );
  if (!project) return <p class="muted">{t('proj.loading')}</p>;
  const formats = exportFormats(project.kind);
  const fmt = formats.includes(format) ? format : 'jsonl';

  return (
    <section class="proj" data-testid="project-page">
      <div class="proj-head">
        {back}
        <h1>{project.name}</h1>
        <span class="kind">{project.kind}</span>
        <span class="spacer" />
        <span class={`live live-${live}`} data-testid="live">
          {live === 'sse' ? t('proj.live') : t('proj.polling')}
        </span>
        <span class="export-picker">
          <select
            data-testid="export-format"
            aria-label={t('proj.exportFormat')}
            value={fmt}
            onChange={(e) => setFormat((e.target as HTMLSelectElement).value)}
          >
            {formats.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
          <a
            class="button"
            data-testid="export"
            href={`/api/v1/projects/${projectId}/export?format=${encodeURIComponent(fmt)}`}
            download={`project-${projectId}.${EXPORT_FORMATS[fmt].ext}`}
          >
            {t('proj.exportGo')}
          </a>
        </span>
      </div>
      <ProgressBars counts={project.counts} />
      <p class="muted proj-meta" data-testid="proj-meta">
        {t('proj.meta', { overlap: project.overlap, lease: project.lease_seconds, active: project.active_annotators ?? 0 })}
      </p>
      <nav class="proj-tabs" role="tablist">
        {(['overview', 'settings', ...(project.kind === 'storyboard' ? ['story'] : [])] as Tab[]).map((k) => (
          <button
            key={k}
            type="button"
            role="tab"
            aria-selected={tab === k}
            class={tab === k ? 'tab active' : 'tab'}
            data-testid={`tab-${k}`}
            onClick={() => setTab(k)}
          >
            {t(`proj.tab.${k}` as MessageKey)}
          </button>
        ))}
      </nav>
      {tab === 'overview' && (
        <>
          <div class="proj-panels">
            <ImportPanel
              projectId={projectId}
              kind={project.kind}
              onImported={() => {
                setTableVersion((v) => v + 1);
                loadProject();
              }}
            />
            <MembersPanel />
          </div>
          <TaskTable projectId={projectId} version={tableVersion} />
        </>
      )}
      {tab === 'settings' && <SettingsPanel key={project.id} project={project} onSaved={setProject} />}
      {tab === 'story' && project.kind === 'storyboard' && (
        <div class="proj-panels story">
          <NovelPanel
            projectId={projectId}
            onImported={() => {
              setTableVersion((v) => v + 1);
              loadProject();
            }}
          />
          {/* an import adds characters and flags: re-read them (tableVersion moves on every import) */}
          <CharactersPanel key={`c${tableVersion}`} projectId={projectId} />
          <FlagsPanel key={`f${tableVersion}`} projectId={projectId} />
          <JobsPanel projectId={projectId} />
        </div>
      )}
    </section>
  );
}

function ProgressBars({ counts }: { counts: Counts }) {
  const total = Math.max(0, counts.total);
  const pct = (n: number) => (total > 0 ? (100 * n) / total : 0);
  return (
    <div class="proj-progress" data-testid="counts">
      <div class="stack" role="img" aria-label={t('proj.countsLabel', { ...counts })}>
        <span class="seg seg-done" style={{ width: `${pct(counts.done)}%` }} />
        <span class="seg seg-progress" style={{ width: `${pct(counts.in_progress)}%` }} />
        <span class="seg seg-open" style={{ width: `${pct(counts.open)}%` }} />
      </div>
      <div class="legend">
        <span data-testid="count-total">{t('proj.total', { n: counts.total })}</span>
        <span class="l-done" data-testid="count-done">
          {t('proj.count.done', { n: counts.done })}
        </span>
        <span class="l-progress" data-testid="count-in_progress">
          {t('proj.count.in_progress', { n: counts.in_progress })}
        </span>
        <span class="l-open" data-testid="count-open">
          {t('proj.count.open', { n: counts.open })}
        </span>
      </div>
    </div>
  );
}

function TaskTable({ projectId, version }: { projectId: number; version: number }) {
  const [filter, setFilter] = useState<StateFilter>('');
  /* ?key=: a task key to find (keys are unique in a project); '' lists every task */
  const [key, setKey] = useState('');
  const [keyInput, setKeyInput] = useState('');
  /* after= cursors of the pages on the way to this one; the top is this page's. */
  const [cursors, setCursors] = useState<Array<number | null>>([null]);
  const [page, setPage] = useState<{ items: TaskRow[]; next_after: number | null } | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  /* A new import: back to the first page (the filter stays). */
  const seen = useRef(version);
  useEffect(() => {
    if (seen.current !== version) {
      seen.current = version;
      setCursors([null]);
    }
  }, [version]);

  const after = cursors[cursors.length - 1];
  useEffect(() => {
    let alive = true;
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (filter) q.set('state', filter);
    if (key) q.set('key', key);
    if (after !== null) q.set('after', String(after));
    setBusy(true);
    api<{ items: TaskRow[]; next_after: number | null }>('GET', `/api/v1/projects/${projectId}/tasks?${q}`)
      .then((b) => {
        if (!alive) return;
        setPage(b ?? { items: [], next_after: null });
        setError('');
      })
      .catch((e) => alive && setError(t('proj.tasksError', { message: errorText(e) })))
      .finally(() => alive && setBusy(false));
    return () => {
      alive = false;
    };
  }, [projectId, filter, key, cursors]);

  const pageNo = cursors.length;
  return (
    <div class="panel tasks" data-testid="tasks">
      <div class="panel-head">
        <h2>{t('proj.tasks')}</h2>
        <label class="filter">
          {t('proj.filter')}
          <select
            data-testid="state-filter"
            value={filter}
            onChange={(e) => {
              setFilter((e.target as HTMLSelectElement).value as StateFilter);
              setCursors([null]);
            }}
          >
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s ? stateLabel(s) : t('proj.state.all')}
              </option>
            ))}
          </select>
        </label>
        <form
          class="key-search"
          onSubmit={(e) => {
            e.preventDefault();
            setKey(keyInput.trim());
            setCursors([null]);
          }}
        >
          <input
            data-testid="key-search"
            type="search"
            placeholder={t('proj.keySearch')}
            value={keyInput}
            maxLength={512}
            onInput={(e) => {
              const v = (e.target as HTMLInputElement).value;
              setKeyInput(v);
              if (!v.trim() && key) {
                setKey('');
                setCursors([null]);
              }
            }}
          />
        </form>
        <span class="spacer" />
        <button
          data-testid="prev"
          disabled={busy || cursors.length <= 1}
          onClick={() => setCursors((c) => c.slice(0, -1))}
        >
          {t('proj.prev')}
        </button>
        <span class="muted" data-testid="page-no">
          {t('proj.page', { n: pageNo })}
        </span>
        <button
          data-testid="next"
          disabled={busy || !page || page.next_after === null}
          onClick={() => page && page.next_after !== null && setCursors((c) => [...c, page.next_after])}
        >
          {t('proj.next')}
        </button>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {page && page.items.length === 0 && !error && <p class="muted">{t('proj.noTasks')}</p>}
      {page && page.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>{t('proj.col.id')}</th>
              <th>{t('proj.col.key')}</th>
              <th>{t('proj.col.state')}</th>
              <th>{t('proj.col.data')}</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((r) => (
              <tr key={r.id} data-task={r.id}>
                <td class="num">{r.id}</td>
                <td class="key">{r.key ?? ''}</td>
                <td>
                  <span class={`state state-${r.state}`}>{stateLabel(r.state)}</span>
                </td>
                <td class="preview">{preview(r.data)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

const IMAGE_EXT = /\.(png|jpe?g|gif|webp|bmp|tiff?|avif)$/i;

interface FileStatus {
  name: string;
  ok: boolean;
  message: string;
}

/* RFC 4180 CSV (quoted fields, "" escapes, CRLF, a UTF-8 BOM) → rows of fields. */
export function parseCsv(text: string): string[][] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' || c === '\n') {
      row.push(field); field = '';
      rows.push(row); row = [];
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    field += c; i++;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows.filter((r) => r.length > 1 || r[0] !== '');
}

/* CSV rows → JSON Lines of {"key"?, "data"} (column "key" is the key). */
function csvToJsonl(rows: string[][]): string {
  const [head, ...body] = rows;
  return body
    .map((r) => {
      const rec: { key?: string; data: Record<string, string> } = { data: {} };
      head.forEach((h, i) => {
        const v = r[i] ?? '';
        if (h === 'key') { if (v !== '') rec.key = v; }
        else rec.data[h] = v;
      });
      return JSON.stringify(rec) + '\n';
    })
    .join('');
}

function ImportPanel({ projectId, kind, onImported }: { projectId: number; kind: string; onImported: () => void }) {
  const [media, setMedia] = useState<{ done: number; total: number } | null>(null);
  const [statuses, setStatuses] = useState<FileStatus[]>([]);
  const [file, setFile] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [error, setError] = useState('');
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  async function postMedia(name: string, body: Blob | Uint8Array): Promise<{ id: string; width: number; height: number }> {
    const csrf = sessionStorage.getItem(CSRF_KEY);
    const r = await fetch('/api/v1/media', {
      method: 'POST',
      headers: { Accept: 'application/json', ...(csrf ? { 'X-CSRF-Token': csrf } : {}) },
      body: body as BodyInit,
      credentials: 'same-origin',
    });
    let b: any = null;
    try { b = await r.json(); } catch { /* not JSON */ }
    if (r.ok && b) return b;
    throw new Error(b?.error?.message || t('err.generic', { status: r.status }) + ` (${name})`);
  }

  /* Images (files and the images inside .zip files) → media → one task import. */
  async function importImages(files: File[]) {
    setError('');
    setResult(null);
    const list: FileStatus[] = [];
    const items: Array<{ name: string; body: Blob | Uint8Array }> = [];
    for (const f of files) {
      if (!f.name.toLowerCase().endsWith('.zip')) { items.push({ name: f.name, body: f }); continue; }
      try {
        const entries = unzipSync(new Uint8Array(await f.arrayBuffer()));
        for (const [p, bytes] of Object.entries(entries)) {
          if (p.endsWith('/')) continue;
          if (IMAGE_EXT.test(p)) items.push({ name: p, body: bytes });
          else list.push({ name: p, ok: false, message: t('imp.skipped') });
        }
      } catch (e) {
        list.push({ name: f.name, ok: false, message: t('imp.zipFailed', { name: f.name, message: String((e as Error).message || e) }) });
      }
    }
    setStatuses([...list]);
    setMedia({ done: 0, total: items.length });
    const records: string[] = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      try {
        const m = await postMedia(it.name, it.body);
        list.push({ name: it.name, ok: true, message: t('imp.fileOk') });
        records.push(JSON.stringify({ key: it.name, data: { image: m.id, width: m.width, height: m.height } }) + '\n');
      } catch (e) {
        list.push({ name: it.name, ok: false, message: (e as Error).message });
      }
      setStatuses([...list]);
      setMedia({ done: i + 1, total: items.length });
    }
    setMedia(null);
    if (records.length) upload(new File(records, 'images.jsonl'), t('imp.mediaSummary', { ok: records.length, failed: list.filter((s) => !s.ok).length }));
  }

  async function importCsv(f: File) {
    setStatuses([]);
    const rows = parseCsv(await f.text());
    if (rows.length < 2) { setError(t('imp.csvEmpty', { name: f.name })); return; }
    if (kind === 'text' && !rows[0].includes('text')) { setError(t('imp.csvText')); return; }
    upload(new File([csvToJsonl(rows)], f.name + '.jsonl'), f.name);
  }

  function pick(files: File[]) {
    if (!files.length) return;
    const one = files.length === 1 ? files[0].name.toLowerCase() : '';
    if (one.endsWith('.csv')) { importCsv(files[0]); return; }
    if (one.endsWith('.json') || one.endsWith('.jsonl') || one.endsWith('.ndjson')) { setStatuses([]); upload(files[0]); return; }
    importImages(files);
  }

  function upload(f: File, label?: string) {
    const lower = f.name.toLowerCase();
    const json = lower.endsWith('.json');
    if (!json && !lower.endsWith('.jsonl') && !lower.endsWith('.ndjson')) {
      setError(t('imp.badType', { name: f.name }));
      return;
    }
    setFile(label ?? f.name);
    setError('');
    setResult(null);
    setProgress(0);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/projects/${projectId}/tasks`);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Content-Type', json ? 'application/json' : 'application/x-ndjson');
    xhr.setRequestHeader('Accept', 'application/json');
    const csrf = sessionStorage.getItem(CSRF_KEY);
    if (csrf) xhr.setRequestHeader('X-CSRF-Token', csrf);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) setProgress(e.total > 0 ? e.loaded / e.total : 1);
    };
    xhr.onload = () => {
      setProgress(null);
      let body: any = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status === 200 && body) {
        setResult(body as ImportResult);
        onImported();
      } else if (body && body.error) {
        const err = new ApiError(xhr.status, body.error.code, body.error.message, body.error.path);
        setError(t('imp.failed', { message: errorText(err) }));
        if (Array.isArray(body.errors)) setResult(body as ImportResult);
      } else {
        setError(t('imp.failed', { message: t('err.generic', { status: xhr.status }) }));
      }
    };
    xhr.onerror = () => {
      setProgress(null);
      setError(t('imp.failed', { message: t('err.unreachable') }));
    };
    xhr.send(f);
  }

  const uploading = progress !== null || media !== null;
  return (
    <div class="panel import" data-testid="import">
      <h2>{t('imp.title')}</h2>
      <label
        class={`drop${over ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          const fs = Array.from(e.dataTransfer?.files ?? []);
          if (fs.length && !uploading) pick(fs);
        }}
      >
        <span>{t('imp.drop')}</span>
        <input
          ref={input}
          type="file"
          accept=".jsonl,.ndjson,.json,.csv,.zip,image/*"
          multiple
          data-testid="import-file"
          disabled={uploading}
          onChange={(e) => {
            const el = e.target as HTMLInputElement;
            pick(Array.from(el.files ?? []));
            el.value = '';
          }}
        />
      </label>
      <p class="muted hint">{t('imp.hint')}</p>
      <p class="muted hint">
        {t('imp.images')} {t('imp.csv')}
      </p>
      {media && (
        <div class="upload" data-testid="media-progress">
          <span>{t('imp.media', { done: media.done, total: media.total })}</span>
          <progress value={media.done} max={Math.max(1, media.total)} />
        </div>
      )}
      {statuses.length > 0 && (
        <ul class="file-status" data-testid="file-status">
          {statuses.map((s, i) => (
            <li key={i} class={s.ok ? 'ok' : 'error'} data-ok={s.ok ? '1' : '0'}>
              <span class="at">{s.name}</span> <span class="msg">{s.message}</span>
            </li>
          ))}
        </ul>
      )}
      {progress !== null && (
        <div class="upload" data-testid="upload-progress">
          <span>{t('imp.uploading', { name: file })}</span>
          <progress value={progress ?? 0} max={1} />
        </div>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <div class="summary" data-testid="import-summary">
          <p>
            <strong>{file}</strong>{' '}
            <span data-testid="import-counts">
              {t('imp.summary', { created: result.created, existing: result.existing })}
            </span>
          </p>
          {result.errors.length > 0 && (
            <>
              <p class="error">{t('imp.errors', { n: result.errors.length })}</p>
              <ul class="import-errors" data-testid="import-errors">
                {result.errors.map((e, i) => (
                  <li key={i}>
                    <span class="at">{e.at}</span> <span class="msg">{e.message}</span>
                  </li>
                ))}
              </ul>
              {result.errors_truncated && <p class="muted">{t('imp.truncated')}</p>}
            </>
          )}
        </div>
      )}
    </div>
  );
}

type Field = 'login' | 'name' | 'role' | 'password';
const FIELDS: Field[] = ['login', 'name', 'role', 'password'];

function fieldError(e: ApiError): string {
  if (e.code === 'conflict') return t('mem.err.taken');
  if (e.code === 'forbidden') return t('mem.err.ownerOnly');
  switch (e.path) {
    case 'login':
      return t('mem.err.login');
    case 'password':
      return t('mem.err.password');
    case 'name':
      return t('mem.err.name');
    case 'role':
      return t('mem.err.role');
  }
  return e.message;
}

function MembersPanel() {
  const me = useSignal(session);
  const [users, setUsers] = useState<Member[] | null>(null);
  const [error, setError] = useState('');
  const [form, setForm] = useState<Record<Field, string>>({ login: '', name: '', role: 'annotator', password: '' });
  const [errs, setErrs] = useState<Partial<Record<Field, string>>>({});
  const [formError, setFormError] = useState('');
  const [busy, setBusy] = useState(false);
  const [added, setAdded] = useState('');
  const [roleMsg, setRoleMsg] = useState<{ ok: boolean; text: string } | null>(null);

  /* PATCH /users/{id}: the server enforces who may grant what; its refusal is shown. */
  async function changeRole(u: Member, role: string) {
    setRoleMsg(null);
    try {
      const got = await patchUser(u.id, { role });
      setRoleMsg({ ok: true, text: t('mem.roleChanged', { login: u.login, role: roleLabel(got?.role ?? role) }) });
    } catch (err) {
      let text = errorText(err);
      if (err instanceof ApiError && err.code === 'conflict') text = t('mem.err.lastOwner');
      else if (err instanceof ApiError && err.code === 'forbidden') text = t('mem.err.roleForbidden');
      setRoleMsg({ ok: false, text: t('mem.roleFailed', { login: u.login, message: text }) });
    }
    load();
  }

  function load() {
    api<{ items: Member[] }>('GET', '/api/v1/users?limit=1000')
      .then((b) => {
        setUsers(b ? b.items : []);
        setError('');
      })
      .catch((e) => setError(t('mem.loadError', { message: errorText(e) })));
  }
  useEffect(load, []);

  const roles = me?.role === 'owner' ? ROLES : ROLES.filter((r) => r !== 'owner');

  async function submit(e: Event) {
    e.preventDefault();
    setErrs({});
    setFormError('');
    setAdded('');
    setBusy(true);
    try {
      const u = await api<Member>('POST', '/api/v1/users', form);
      setAdded(t('mem.added', { login: u?.login ?? form.login }));
      setForm({ login: '', name: '', role: form.role, password: '' });
      load();
    } catch (err) {
      if (err instanceof ApiError && err.path && (FIELDS as string[]).includes(err.path))
        setErrs({ [err.path as Field]: fieldError(err) });
      else setFormError(t('mem.failed', { message: errorText(err) }));
    } finally {
      setBusy(false);
    }
  }

  const set = (f: Field) => (e: Event) => setForm({ ...form, [f]: (e.target as HTMLInputElement).value });
  const fieldErr = (f: Field) =>
    errs[f] && (
      <span class="field-error" id={`mem-${f}-err`} data-testid={`err-${f}`}>
        {errs[f]}
      </span>
    );

  return (
    <div class="panel members" data-testid="members">
      <h2>{t('mem.title')}</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {users && (
        <table>
          <thead>
            <tr>
              <th>{t('mem.col.login')}</th>
              <th>{t('mem.col.name')}</th>
              <th>{t('mem.col.role')}</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id} data-user={u.login}>
                <td>{u.login}</td>
                <td>{u.name}</td>
                <td>
                  <select
                    data-testid="member-role"
                    aria-label={t('mem.changeRole', { login: u.login })}
                    value={u.role}
                    disabled={u.role === 'owner' && me?.role !== 'owner'}
                    onChange={(e) => changeRole(u, (e.target as HTMLSelectElement).value)}
                  >
                    {(u.role === 'owner' ? ROLES : roles).map((r) => (
                      <option key={r} value={r}>
                        {roleLabel(r)}
                      </option>
                    ))}
                  </select>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {roleMsg && (
        <p class={roleMsg.ok ? 'ok' : 'error'} role={roleMsg.ok ? 'status' : 'alert'} data-testid="role-status">
          {roleMsg.text}
        </p>
      )}
      <form class="add-user" onSubmit={submit} noValidate data-testid="add-user">
        <h2>{t('mem.add')}</h2>
        <label>
          {t('mem.col.login')}
          <input name="login" value={form.login} onInput={set('login')} autocomplete="off"
            aria-invalid={!!errs.login} aria-describedby={errs.login ? 'mem-login-err' : undefined} />
          {fieldErr('login')}
        </label>
        <label>
          {t('mem.col.name')}
          <input name="name" value={form.name} onInput={set('name')} autocomplete="off"
            aria-invalid={!!errs.name} aria-describedby={errs.name ? 'mem-name-err' : undefined} />
          {fieldErr('name')}
        </label>
        <label>
          {t('mem.col.role')}
          <select name="role" value={form.role} onChange={set('role')} aria-invalid={!!errs.role}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {roleLabel(r)}
              </option>
            ))}
          </select>
          {fieldErr('role')}
        </label>
        <label>
          {t('mem.password')}
          <input name="password" type="password" value={form.password} onInput={set('password')}
            autocomplete="new-password" aria-invalid={!!errs.password}
            aria-describedby={errs.password ? 'mem-password-err' : undefined} />
          {fieldErr('password')}
        </label>
        {formError && (
          <p class="error" role="alert">
            {formError}
          </p>
        )}
        {added && (
          <p class="ok" role="status">
            {added}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy} data-testid="add-user-submit">
          {t('mem.submit')}
        </button>
      </form>
    </div>
  );
}

function roleLabel(r: string): string {
  return (ROLES as readonly string[]).includes(r) ? t(`mem.role.${r}` as MessageKey) : r;
}
