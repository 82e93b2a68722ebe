// The storyboard panels of a project page (kind "storyboard"): the novel
// (upload with a progress bar and the import report, chapters with shot
// counts and the running time against the target; an LLM drafter goes on
// as a background job, whose progress the report follows), the characters
// (角色表: add, edit, merge, delete; the server's merge suggestions, such as
// 俊义 → 卢俊义, merged in one click or dismissed in this browser), the
// flags a re-import raised, and the project's background jobs (LLM drafts,
// frame generation: progress live from SSE `job` events, polling when the
// stream is down; cancel).
// Each panel loads on its own and shows its own error state: the routes
// may be missing on an older server (404) without breaking the page.
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  ApiError,
  api,
  uploadNovel,
  type Novel,
  type NovelUpload,
  type StoryCharacter,
  type StoryFlag,
} from '../api';
import { t, type MessageKey } from '../i18n';
import { errorText } from '../errors';
import { applyJobEvent, cancelJob, jobActive, projectJobs, useJobs, watchProject, type Job, type JobEvent } from '../live';

const MAX_NOVEL_BYTES = 64 * 1024 * 1024; /* --max-import default */

/* Seconds as h:mm:ss (or m:ss). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function loadErrorText(e: unknown): string {
  if (e instanceof ApiError && e.status === 404) return t('story.unavailable');
  return errorText(e);
}

/* ---- novel ---- */

export function NovelPanel({ projectId, onImported }: { projectId: number; onImported?: () => void }) {
  const [novel, setNovel] = useState<Novel | null>(null);
  const [none, setNone] = useState(false);
  const [loadError, setLoadError] = useState('');
  const [t2s, setT2s] = useState(false);
  const [progress, setProgress] = useState<number | null>(null);
  const [report, setReport] = useState<NovelUpload | null>(null);
  const [uploadError, setUploadError] = useState('');
  /* the upload's background LLM draft: when it ends, the durations and tasks changed */
  const { jobs, track } = useJobs(
    projectId,
    () => {
      load();
      onImported?.();
    },
    {},
    true,
  );

  function load() {
    api<Novel>('GET', `/api/v1/projects/${projectId}/novel`)
      .then((n) => {
        setNovel(n);
        setNone(false);
        setLoadError('');
      })
      .catch((e) => {
        setNovel(null);
        /* 404 not_found: no novel yet (a missing route also answers 404, with the same code) */
        if (e instanceof ApiError && e.status === 404) setNone(true);
        else setLoadError(t('novel.loadError', { message: loadErrorText(e) }));
      });
  }
  useEffect(load, [projectId]);

  async function upload(f: File) {
    setUploadError('');
    setReport(null);
    if (!/\.txt$/i.test(f.name)) {
      setUploadError(t('novel.badType', { name: f.name }));
      return;
    }
    if (f.size > MAX_NOVEL_BYTES) {
      setUploadError(t('novel.tooLarge', { name: f.name }));
      return;
    }
    setProgress(0);
    try {
      const r = await uploadNovel(projectId, f, t2s, setProgress);
      setReport(r);
      if (r.job && typeof r.job.id === 'number') track(r.job);
      load();
      onImported?.(); /* the sync added or changed tasks: the page's counts */
    } catch (e) {
      setUploadError(t('novel.failed', { message: loadErrorText(e) }));
    } finally {
      setProgress(null);
    }
  }

  const total = novel?.totals;
  const pct = total && total.target_seconds > 0 ? Math.min(100, (100 * total.duration) / total.target_seconds) : 0;
  return (
    <div class="panel novel" data-testid="novel">
      <h2>{t('novel.title')}</h2>
      <div class="novel-upload">
        <label class="drop">
          <span>{t('novel.pick')}</span>
          <input type="file" accept=".txt,text/plain" data-testid="novel-file" disabled={progress !== null}
            onChange={(e) => {
              const el = e.target as HTMLInputElement;
              const f = el.files?.[0];
              el.value = '';
              if (f) upload(f);
            }} />
        </label>
        <label class="check">
          <input type="checkbox" data-testid="novel-t2s" checked={t2s} onChange={(e) => setT2s((e.target as HTMLInputElement).checked)} />
          {t('novel.t2s')}
        </label>
      </div>
      {progress !== null && (
        <div class="upload" data-testid="novel-progress">
          <span>{t('novel.uploading', { pct: Math.round(progress * 100) })}</span>
          <progress value={progress} max={1} />
        </div>
      )}
      {uploadError && <p class="error" role="alert" data-testid="novel-error">{uploadError}</p>}
      {report && <NovelReport report={report} job={report.job ? jobs[report.job.id] ?? report.job : null} />}

      {loadError && (
        <p class="error" role="alert" data-testid="novel-load-error">
          {loadError} <button type="button" onClick={load}>{t('projects.retry')}</button>
        </p>
      )}
      {none && !report && <p class="muted" data-testid="novel-none">{t('novel.none')}</p>}
      {novel && total && (
        <div class="novel-view" data-testid="novel-view">
          <p>
            <strong>{novel.title}</strong>{' '}
            <span class="muted">
              {t('novel.encoding', { encoding: novel.encoding })}
              {novel.converted ? ` · ${t('novel.converted', { how: novel.converted })}` : ''}
            </span>
          </p>
          <div class="duration" data-testid="novel-duration">
            <div class="duration-bar" role="img"
              aria-label={t('novel.durationLabel', { duration: formatDuration(total.duration), target: formatDuration(total.target_seconds) })}>
              <span class={`duration-fill${total.target_seconds > 0 && total.duration > total.target_seconds ? ' over' : ''}`}
                style={{ width: `${pct}%` }} />
            </div>
            <span>
              {t('novel.durationText', {
                shots: total.shots,
                duration: formatDuration(total.duration),
                target: total.target_seconds > 0 ? formatDuration(total.target_seconds) : '—',
              })}
            </span>
          </div>
          <table class="chapters" data-testid="novel-chapters">
            <thead>
              <tr>
                <th>#</th>
                <th>{t('novel.col.title')}</th>
                <th>{t('novel.col.volume')}</th>
                <th class="num">{t('novel.col.chars')}</th>
                <th class="num">{t('novel.col.scenes')}</th>
                <th class="num">{t('novel.col.shots')}</th>
                <th class="num">{t('novel.col.duration')}</th>
              </tr>
            </thead>
            <tbody>
              {novel.chapters.map((c) => (
                <tr key={c.index}>
                  <td class="num">{c.index}</td>
                  <td>{c.title}</td>
                  <td>{c.volume ?? ''}</td>
                  <td class="num">{c.chars}</td>
                  <td class="num">{c.scenes}</td>
                  <td class="num">{c.shots}</td>
                  <td class="num">{formatDuration(c.duration)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function NovelReport({ report: r, job }: { report: NovelUpload; job: Job | null }) {
  const d = r.drafter;
  return (
    <div class="summary novel-report" data-testid="novel-report">
      <p>
        {t('novel.encoding', { encoding: r.encoding })}
        {' · '}
        {r.converted ? t('novel.converted', { how: r.converted }) : t('novel.notConverted')}
        {d && ' · '}
        {d &&
          (d.kind !== 'llm'
            ? t('novel.drafterRules')
            : r.job
              ? t('novel.drafterLlmJob', { model: d.model ?? '' })
              : t('novel.drafterLlm', { model: d.model ?? '', drafted: d.drafted ?? 0, fallbacks: d.fallbacks ?? 0 }))}
      </p>
      {job && (
        <div class={`novel-job job-${job.state}`} data-testid="novel-job" data-state={job.state} role="status">
          <span>{t('novel.job', { id: job.id, state: jobStateLabel(String(job.state)) })}</span>
          <JobProgress job={job} />
          {job.error && <span class="error">{t('novel.jobError', { message: job.error })}</span>}
        </div>
      )}
      <p data-testid="novel-sync">
        {t('novel.sync', { added: r.sync.added, kept: r.sync.kept, redrafted: r.sync.redrafted, flagged: r.sync.flagged })}
      </p>
      {r.stripped.length > 0 && (
        <details open={r.stripped.length <= 10}>
          <summary>{t('novel.stripped', { n: r.stripped.length })}</summary>
          <ul class="import-errors" data-testid="novel-stripped">
            {r.stripped.map((s, i) => (
              <li key={i}>
                <span class="at">{t('novel.line', { n: s.line })}</span> <span class="msg">[{s.reason}] {s.text}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
      <table class="chapters">
        <thead>
          <tr>
            <th>#</th>
            <th>{t('novel.col.title')}</th>
            <th class="num">{t('novel.col.chars')}</th>
            <th class="num">{t('novel.col.scenes')}</th>
            <th class="num">{t('novel.col.utterances')}</th>
            <th class="num">{t('novel.col.shots')}</th>
          </tr>
        </thead>
        <tbody>
          {r.chapters.map((c) => (
            <tr key={c.index}>
              <td class="num">{c.index}</td>
              <td>{c.title}</td>
              <td class="num">{c.chars}</td>
              <td class="num">{c.scenes}</td>
              <td class="num">{c.utterances}</td>
              <td class="num">{c.shots}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/* ---- characters (角色表) ---- */

const aliasList = (s: string) => s.split(/[,，、;；\n]/).map((x) => x.trim()).filter(Boolean);

interface Draft {
  name: string;
  aliases: string;
  appearance: string;
  costume: string;
  voice: string;
  references: string;
}

function draftOf(c?: StoryCharacter): Draft {
  return {
    name: c?.name ?? '',
    aliases: (c?.aliases ?? []).join('，'),
    appearance: c?.sheet?.appearance ?? '',
    costume: c?.sheet?.costume ?? '',
    voice: c?.sheet?.voice ?? '',
    references: (c?.sheet?.references ?? []).join('\n'),
  };
}

function bodyOf(d: Draft) {
  return {
    name: d.name.trim(),
    aliases: aliasList(d.aliases),
    sheet: {
      appearance: d.appearance.trim(),
      costume: d.costume.trim(),
      voice: d.voice.trim(),
      references: d.references.split('\n').map((x) => x.trim()).filter(Boolean),
    },
  };
}

function CharacterForm({ draft, onChange }: { draft: Draft; onChange(d: Draft): void }) {
  const field = (k: keyof Draft, label: string, area = false) => (
    <label>
      {label}
      {area ? (
        <textarea rows={2} value={draft[k]} data-testid={`char-${k}`}
          onInput={(e) => onChange({ ...draft, [k]: (e.target as HTMLTextAreaElement).value })} />
      ) : (
        <input value={draft[k]} data-testid={`char-${k}`}
          onInput={(e) => onChange({ ...draft, [k]: (e.target as HTMLInputElement).value })} />
      )}
    </label>
  );
  return (
    <div class="char-form">
      {field('name', t('char.name'))}
      {field('aliases', t('char.aliases'))}
      {field('appearance', t('char.appearance'), true)}
      {field('costume', t('char.costume'), true)}
      {field('voice', t('char.voice'))}
      {field('references', t('char.references'), true)}
    </div>
  );
}

/* A merge the server proposes (GET /characters "suggestions"); people decide. */
interface MergeSuggestion {
  from: string;
  into: string;
  reason: string;
}

const suggestionKey = (s: MergeSuggestion) => `${s.from}>${s.into}`;
const dismissedKey = (projectId: number) => `annotd.sb.dismissed.${projectId}`;

/* Dismissed suggestions live in this browser only (localStorage, per project). */
function loadDismissed(projectId: number): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(dismissedKey(projectId)) || '[]');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

function saveDismissed(projectId: number, keys: string[]) {
  try {
    localStorage.setItem(dismissedKey(projectId), JSON.stringify(keys.slice(-500)));
  } catch {
    /* not kept: storage disabled */
  }
}

export function CharactersPanel({ projectId }: { projectId: number }) {
  const [chars, setChars] = useState<StoryCharacter[] | null>(null);
  const [suggestions, setSuggestions] = useState<MergeSuggestion[]>([]);
  const [dismissed, setDismissed] = useState<string[]>(() => loadDismissed(projectId));
  const [loadError, setLoadError] = useState('');
  const [error, setError] = useState('');
  const [adding, setAdding] = useState<Draft | null>(null);
  const [editing, setEditing] = useState<{ id: string; draft: Draft } | null>(null);
  const [mergeFrom, setMergeFrom] = useState<string | null>(null);
  const [mergeInto, setMergeInto] = useState('');
  const [busy, setBusy] = useState(false);
  const base = `/api/v1/projects/${projectId}/characters`;

  function load() {
    api<{ characters: StoryCharacter[]; suggestions?: MergeSuggestion[] }>('GET', base)
      .then((b) => {
        setChars(b?.characters ?? []);
        /* an older server sends none */
        setSuggestions(
          Array.isArray(b?.suggestions)
            ? b!.suggestions.filter((x) => x && typeof x.from === 'string' && typeof x.into === 'string')
            : [],
        );
        setLoadError('');
      })
      .catch((e) => setLoadError(t('char.loadError', { message: loadErrorText(e) })));
  }
  useEffect(load, [projectId]);

  async function run(fn: () => Promise<unknown>) {
    setBusy(true);
    setError('');
    try {
      await fn();
      load();
      return true;
    } catch (e) {
      setError(t('char.failed', { message: errorText(e) }));
      return false;
    } finally {
      setBusy(false);
    }
  }

  const live = (chars ?? []).filter((c) => !c.merged_into);
  const nameOf = (id: string | null) => (chars ?? []).find((c) => c.id === id)?.name ?? id ?? '';
  /* suggestions between two characters still on the roster, not dismissed here */
  const proposed = suggestions.filter(
    (x) => live.some((c) => c.id === x.from) && live.some((c) => c.id === x.into) && !dismissed.includes(suggestionKey(x)),
  );
  function dismiss(x: MergeSuggestion) {
    const next = [...dismissed.filter((k) => k !== suggestionKey(x)), suggestionKey(x)];
    setDismissed(next);
    saveDismissed(projectId, next);
  }
  return (
    <div class="panel characters" data-testid="characters">
      <div class="panel-head">
        <h2>{t('char.title')}</h2>
        <span class="spacer" />
        <button type="button" data-testid="char-add" disabled={!!adding} onClick={() => setAdding(draftOf())}>
          {t('char.add')}
        </button>
      </div>
      {loadError && (
        <p class="error" role="alert" data-testid="char-load-error">
          {loadError} <button type="button" onClick={load}>{t('projects.retry')}</button>
        </p>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      {adding && (
        <form class="char-edit" data-testid="char-new"
          onSubmit={async (e) => {
            e.preventDefault();
            if (!adding.name.trim()) return setError(t('char.needName'));
            if (await run(() => api('POST', base, bodyOf(adding)))) setAdding(null);
          }}>
          <CharacterForm draft={adding} onChange={setAdding} />
          <button type="submit" class="primary" disabled={busy} data-testid="char-create">{t('char.create')}</button>{' '}
          <button type="button" onClick={() => setAdding(null)}>{t('char.cancel')}</button>
        </form>
      )}
      {proposed.length > 0 && (
        <div class="note char-suggestions" data-testid="char-suggestions">
          <strong>{t('sbh.suggest.title')}</strong>
          <ul style={{ margin: '4px 0', paddingLeft: '18px' }}>
            {proposed.map((x) => {
              const names = { from: nameOf(x.from), into: nameOf(x.into) };
              return (
                <li key={suggestionKey(x)} data-from={x.from} data-into={x.into} data-testid="char-suggestion">
                  <span>{t('sbh.suggest.q', names)}</span>{' '}
                  {x.reason === 'given_name' && <span class="muted">{t('sbh.suggest.reason.given_name', names)}</span>}{' '}
                  <button type="button" data-testid="char-suggest-merge" disabled={busy}
                    onClick={() => run(() => api('POST', `${base}/${encodeURIComponent(x.from)}/merge`, { into: x.into }))}>
                    {t('sbh.suggest.merge')}
                  </button>{' '}
                  <button type="button" class="link" data-testid="char-suggest-dismiss" onClick={() => dismiss(x)}>
                    {t('sbh.suggest.dismiss')}
                  </button>
                </li>
              );
            })}
          </ul>
          <span class="muted" style={{ fontSize: '0.8rem' }}>{t('sbh.suggest.hint')}</span>
        </div>
      )}
      {chars && chars.length === 0 && !adding && <p class="muted">{t('char.empty')}</p>}
      {chars && chars.length > 0 && (
        <table data-testid="char-table">
          <thead>
            <tr>
              <th>{t('char.name')}</th>
              <th>{t('char.aliases')}</th>
              <th class="num">{t('char.lines')}</th>
              <th class="num">{t('char.mentions')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {chars.map((c) =>
              editing?.id === c.id ? (
                <tr key={c.id} data-char={c.id}>
                  <td colSpan={5}>
                    <form class="char-edit"
                      onSubmit={async (e) => {
                        e.preventDefault();
                        if (!editing.draft.name.trim()) return setError(t('char.needName'));
                        if (await run(() => api('PATCH', `${base}/${encodeURIComponent(c.id)}`, bodyOf(editing.draft))))
                          setEditing(null);
                      }}>
                      <CharacterForm draft={editing.draft} onChange={(d) => setEditing({ id: c.id, draft: d })} />
                      <button type="submit" class="primary" disabled={busy} data-testid="char-save">{t('char.save')}</button>{' '}
                      <button type="button" onClick={() => setEditing(null)}>{t('char.cancel')}</button>
                    </form>
                  </td>
                </tr>
              ) : (
                <tr key={c.id} data-char={c.id} class={c.merged_into ? 'merged' : ''}>
                  <td>
                    {c.name}
                    {c.merged_into && <span class="muted"> → {nameOf(c.merged_into)}</span>}
                    {(c.sheet?.appearance || c.sheet?.costume || c.sheet?.voice) && (
                      <div class="muted sheet">
                        {[c.sheet.appearance, c.sheet.costume, c.sheet.voice].filter(Boolean).join(' · ')}
                      </div>
                    )}
                  </td>
                  <td>{c.aliases.join('，')}</td>
                  <td class="num">{c.lines}</td>
                  <td class="num">{c.mentions}</td>
                  <td class="actions">
                    {!c.merged_into && (
                      <>
                        <button type="button" class="link" onClick={() => setEditing({ id: c.id, draft: draftOf(c) })}>
                          {t('char.edit')}
                        </button>
                        {mergeFrom === c.id ? (
                          <span class="merge">
                            <select value={mergeInto} aria-label={t('char.mergeInto')} data-testid="char-merge-into"
                              onChange={(e) => setMergeInto((e.target as HTMLSelectElement).value)}>
                              <option value="">{t('char.mergeInto')}</option>
                              {live.filter((o) => o.id !== c.id).map((o) => (
                                <option key={o.id} value={o.id}>{o.name}</option>
                              ))}
                            </select>
                            <button type="button" disabled={!mergeInto || busy}
                              onClick={async () => {
                                if (await run(() => api('POST', `${base}/${encodeURIComponent(c.id)}/merge`, { into: mergeInto })))
                                  setMergeFrom(null);
                              }}>
                              {t('char.mergeGo')}
                            </button>
                            <button type="button" class="link" onClick={() => setMergeFrom(null)}>{t('char.cancel')}</button>
                          </span>
                        ) : (
                          <button type="button" class="link" onClick={() => { setMergeFrom(c.id); setMergeInto(''); }}>
                            {t('char.merge')}
                          </button>
                        )}
                      </>
                    )}
                    <button type="button" class="link danger"
                      onClick={() => {
                        if (window.confirm(t('char.confirmDelete', { name: c.name })))
                          run(() => api('DELETE', `${base}/${encodeURIComponent(c.id)}`));
                      }}>
                      {t('char.delete')}
                    </button>
                  </td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}

/* ---- flags: shots whose source text a re-import changed ---- */

export function FlagsPanel({ projectId }: { projectId: number }) {
  const [flags, setFlags] = useState<StoryFlag[] | null>(null);
  const [loadError, setLoadError] = useState('');
  const [error, setError] = useState('');
  const [showResolved, setShowResolved] = useState(false);

  function load() {
    api<{ flags: StoryFlag[] }>('GET', `/api/v1/projects/${projectId}/story/flags`)
      .then((b) => {
        setFlags(b?.flags ?? []);
        setLoadError('');
      })
      .catch((e) => setLoadError(t('flags.loadError', { message: loadErrorText(e) })));
  }
  useEffect(load, [projectId]);

  async function resolve(id: number) {
    setError('');
    try {
      await api('POST', `/api/v1/story/flags/${id}/resolve`);
      load();
    } catch (e) {
      setError(t('flags.failed', { message: errorText(e) }));
    }
  }

  const open = (flags ?? []).filter((f) => !f.resolved);
  const shown = showResolved ? flags ?? [] : open;
  return (
    <div class="panel flags" data-testid="flags">
      <div class="panel-head">
        <h2>{t('flags.title', { n: open.length })}</h2>
        <span class="spacer" />
        <label class="check">
          <input type="checkbox" checked={showResolved} onChange={(e) => setShowResolved((e.target as HTMLInputElement).checked)} />
          {t('flags.showResolved')}
        </label>
      </div>
      {loadError && (
        <p class="error" role="alert" data-testid="flags-load-error">
          {loadError} <button type="button" onClick={load}>{t('projects.retry')}</button>
        </p>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      {flags && shown.length === 0 && <p class="muted">{t('flags.none')}</p>}
      {shown.length > 0 && (
        <ul class="flag-list">
          {shown.map((f) => (
            <li key={f.id} data-flag={f.id} class={f.resolved ? 'resolved' : ''}>
              <div>
                <strong>{t('flags.shot', { task: f.task_id, shot: f.shot_id })}</strong>{' '}
                <span class="muted">{f.reason}</span>
              </div>
              {f.diff != null && <pre class="diff">{typeof f.diff === 'string' ? f.diff : JSON.stringify(f.diff, null, 2)}</pre>}
              {f.resolved ? (
                <span class="muted">{t('flags.resolved')}</span>
              ) : (
                <button type="button" onClick={() => resolve(f.id)}>{t('flags.resolve')}</button>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/* ---- background jobs (LLM drafts, frame generation) ---- */

const POLL_MS = 3000;

function jobStateLabel(state: string): string {
  const key = `sbm.state.${state}` as MessageKey;
  return ['queued', 'running', 'done', 'failed', 'cancelled'].includes(state) ? t(key) : state;
}

function jobKindLabel(kind: string): string {
  const key = `jobs.kind.${kind}` as MessageKey;
  return kind === 'story.llm_draft' || kind === 'story.generate_frame' ? t(key) : kind;
}

function JobProgress({ job }: { job: Job }) {
  const done = job.progress?.done ?? 0;
  const total = job.progress?.total ?? 0;
  return (
    <span class="job-progress">
      {(jobActive(job) || total > 0) && (
        <progress max={total > 0 ? total : 1} value={total > 0 ? Math.min(done, total) : jobActive(job) ? undefined : 1} />
      )}
      {total > 0 && <span class="muted" data-testid="job-count">{done}/{total}</span>}
    </span>
  );
}

const when = (s: string | null | undefined) => (s ? s.replace('T', ' ').replace(/(\.\d+)?Z$/, '') : '');

export function JobsPanel({ projectId }: { projectId: number }) {
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [loadError, setLoadError] = useState('');
  const [error, setError] = useState('');
  const [live, setLive] = useState(false);
  const st = useRef({ jobs: [] as Job[], timer: undefined as ReturnType<typeof setTimeout> | undefined, alive: true });

  function load() {
    projectJobs(projectId)
      .then((list) => {
        if (!st.current.alive) return;
        st.current.jobs = list;
        setJobs(list);
        setLoadError('');
      })
      .catch((e) => st.current.alive && setLoadError(t('jobs.loadError', { message: loadErrorText(e) })));
  }
  const loadSoon = () => {
    const s = st.current;
    if (s.timer) return;
    s.timer = setTimeout(() => {
      s.timer = undefined;
      load();
    }, 300);
  };

  useEffect(() => {
    const s = st.current;
    s.alive = true;
    load();
    const stop = watchProject(
      projectId,
      {
        job: (ev: JobEvent) => {
          const known = s.jobs.find((j) => j.id === ev.job);
          if (!known) return loadSoon(); /* a new job */
          const next = applyJobEvent(known, ev);
          s.jobs = s.jobs.map((j) => (j.id === ev.job ? next : j));
          setJobs(s.jobs);
          if (!jobActive(next)) loadSoon(); /* its error, result, finished_at */
        },
        resync: loadSoon,
      },
      (up) => {
        setLive(up);
        if (up) loadSoon();
      },
    );
    return () => {
      s.alive = false;
      stop();
      if (s.timer) clearTimeout(s.timer);
    };
  }, [projectId]);

  /* polling: while the stream is down, or (slowly) while a job runs in case an event is missed */
  const running = (jobs ?? []).some(jobActive);
  useEffect(() => {
    if (live && !running) return;
    const timer = setInterval(load, live ? POLL_MS * 3 : POLL_MS);
    return () => clearInterval(timer);
  }, [live, running, projectId]);

  async function cancel(j: Job) {
    setError('');
    try {
      await cancelJob(j.id);
    } catch (e) {
      setError(t('jobs.cancelFailed', { message: errorText(e) }));
    }
    load();
  }

  return (
    <div class="panel jobs" data-testid="jobs">
      <div class="panel-head">
        <h2>{t('jobs.title')}</h2>
        <span class="spacer" />
        <button type="button" onClick={load}>{t('jobs.refresh')}</button>
      </div>
      {loadError && (
        <p class="error" role="alert" data-testid="jobs-load-error">
          {loadError}
        </p>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      {jobs && jobs.length === 0 && <p class="muted" data-testid="jobs-none">{t('jobs.none')}</p>}
      {jobs && jobs.length > 0 && (
        <table data-testid="jobs-table">
          <thead>
            <tr>
              <th class="num">{t('jobs.col.id')}</th>
              <th>{t('jobs.col.kind')}</th>
              <th>{t('jobs.col.state')}</th>
              <th>{t('jobs.col.progress')}</th>
              <th>{t('jobs.col.created')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {jobs.map((j) => (
              <tr key={j.id} data-job={j.id} data-state={j.state} data-kind={j.kind}>
                <td class="num">{j.id}</td>
                <td>{jobKindLabel(j.kind)}</td>
                <td>
                  <span class={`state job-state-${j.state}`}>{jobStateLabel(String(j.state))}</span>
                  {j.error && (
                    <div class="error" data-testid="job-error">
                      {t('jobs.error', { message: j.error })}
                    </div>
                  )}
                </td>
                <td>
                  <JobProgress job={j} />
                </td>
                <td class="muted">{when(j.created_at)}</td>
                <td class="actions">
                  {jobActive(j) &&
                    (j.cancel_requested ? (
                      <span class="muted" data-testid="job-cancelling">{t('jobs.cancelling')}</span>
                    ) : (
                      <button type="button" data-testid="job-cancel" onClick={() => cancel(j)}>
                        {t('jobs.cancel')}
                      </button>
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
