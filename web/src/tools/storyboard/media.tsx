// Generated media per shot in the storyboard tool (issue 5, part 9): each
// shot's first/last frames and clips as a strip of thumbnails (clips as
// <video controls>) with their review status; "generate first / last frame"
// (a background job: its progress from SSE `job` events, polling when the
// stream is down; 409 when the project has no image endpoint); an upload
// (owner, manager: POST /media, then attach to the shot); accept or reject
// with a required note (owner, manager, reviewer), right in the strip.
// The list is re-read on `shot_media` events for this task and when a
// job ends. Everything is a button, link, input or <video>: keyboard
// reachable; the tool's single-letter keys are off while typing in the note.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, session } from '../../api';
import { errorText } from '../../errors';
import { t, type MessageKey } from '../../i18n';
import { jobActive, useJobs, type Job } from '../../live';
import * as sbApi from './api';
import { MEDIA_KINDS, mediaUrl, thumbUrl, type ShotMedia } from './api';

const role = () => session.get()?.role ?? '';
const canUpload = () => ['owner', 'manager'].includes(role());
const canReview = () => ['owner', 'manager', 'reviewer'].includes(role());
const canGenerate = () => ['owner', 'manager', 'annotator'].includes(role()); /* the route's roles */

const label = (group: string, v: string) => {
  const key = `sbm.${group}.${v}` as MessageKey;
  const s = t(key);
  return s === undefined || s === key ? v : s;
};

interface Msg {
  text: string;
  error: boolean;
}

/* A job this tool started, and where. */
interface Started {
  shot: string;
  kind: string;
}

export interface ShotMediaState {
  enabled: boolean;
  items: ShotMedia[];
  listError: string;
  jobsOf(shot: string): Array<{ kind: string; job: Job }>;
  msgOf(shot: string): Msg | undefined;
  busyOf(shot: string): boolean;
  generate(shot: string, kind: string): void;
  upload(shot: string, kind: string, file: File): void;
  review(item: ShotMedia, verdict: 'accept' | 'reject', note: string): Promise<boolean>;
}

/* The task's shot media, the jobs started here and the actions. */
export function useShotMedia(taskId: number, projectId: number): ShotMediaState {
  const enabled = taskId > 0 && projectId > 0;
  const [items, setItems] = useState<ShotMedia[]>([]);
  const [listError, setListError] = useState('');
  const [started, setStarted] = useState<Record<number, Started>>({});
  const [msgs, setMsgs] = useState<Record<string, Msg>>({});
  const [busy, setBusy] = useState<Record<string, boolean>>({});
  const alive = useRef(true);
  useEffect(() => () => void (alive.current = false), []);

  const say = (shot: string, text: string, error = false) => alive.current && setMsgs((m) => ({ ...m, [shot]: { text, error } }));

  function reload() {
    if (!enabled) return;
    sbApi
      .shotMedia(taskId)
      .then((list) => {
        if (!alive.current) return;
        setItems(list);
        setListError('');
      })
      .catch((e) => alive.current && setListError(e instanceof ApiError && e.status === 404 ? t('story.unavailable') : errorText(e)));
  }

  const { jobs, live, track } = useJobs(
    enabled ? projectId : 0,
    () => reload() /* a done job's frame is a new item; a failed one shows its error in its row */,
    {
      shot_media: (d: { task?: number }) => {
        if (Number(d.task) === taskId) reload();
      },
      resync: reload,
    },
  );

  useEffect(reload, [taskId]);
  /* no stream: re-read the list now and then (someone else's upload or verdict) */
  useEffect(() => {
    if (!enabled || live) return;
    const timer = setInterval(reload, 10000);
    return () => clearInterval(timer);
  }, [enabled, live, taskId]);

  async function run(shot: string, fn: () => Promise<void>) {
    setBusy((b) => ({ ...b, [shot]: true }));
    setMsgs((m) => {
      const { [shot]: _, ...rest } = m;
      return rest;
    });
    try {
      await fn();
    } finally {
      if (alive.current) setBusy((b) => ({ ...b, [shot]: false }));
    }
  }

  return {
    enabled,
    items,
    listError,
    jobsOf(shot) {
      /* the newest job per kind for this shot */
      const out = new Map<string, Job>();
      for (const [id, w] of Object.entries(started)) {
        const j = jobs[Number(id)];
        if (w.shot === shot && j && (!out.has(w.kind) || out.get(w.kind)!.id < j.id)) out.set(w.kind, j);
      }
      return [...out].map(([kind, job]) => ({ kind, job }));
    },
    msgOf: (shot) => msgs[shot],
    busyOf: (shot) => !!busy[shot],
    generate(shot, kind) {
      run(shot, async () => {
        try {
          const job = await sbApi.generateFrame(taskId, shot, kind);
          if (!job) return;
          setStarted((s) => ({ ...s, [job.id]: { shot, kind } }));
          track(job);
        } catch (e) {
          if (e instanceof ApiError && e.status === 409) say(shot, t('sbm.noEndpoint', { message: e.message }), true);
          else say(shot, t('sbm.genFailed', { message: errorText(e) }), true);
        }
      });
    },
    upload(shot, kind, file) {
      run(shot, async () => {
        try {
          say(shot, t('sbm.uploading', { name: file.name }));
          const m = await sbApi.uploadMedia(file);
          const item = await sbApi.attachMedia(taskId, shot, m.id, kind);
          if (item && alive.current) setItems((list) => [...list.filter((x) => x.id !== item.id), item]);
          say(shot, t('sbm.attached', { name: file.name }));
          reload();
        } catch (e) {
          say(shot, t('sbm.uploadFailed', { message: errorText(e) }), true);
        }
      });
    },
    async review(item, verdict, note) {
      try {
        const got = await sbApi.reviewMedia(item.id, verdict, note);
        if (alive.current) setItems((list) => list.map((x) => (x.id === item.id ? got ?? { ...x, status: verdict === 'accept' ? 'accepted' : 'rejected', note } : x)));
        return true;
      } catch (e) {
        say(item.shot_id, t('sbm.reviewFailed', { message: errorText(e) }), true);
        return false;
      }
    },
  };
}

/* One shot's strip. */
export function MediaStrip({ shot, state }: { shot: string; state: ShotMediaState }) {
  const file = useRef<HTMLInputElement>(null);
  const [kind, setKind] = useState('first_frame');
  const items = state.items.filter((x) => x.shot_id === shot);
  const jobs = state.jobsOf(shot);
  const msg = state.msgOf(shot);
  const busy = state.busyOf(shot);
  const running = (k: string) => jobs.some((j) => j.kind === k && jobActive(j.job));
  return (
    <div class="sbm" data-testid="sb-media" data-shot={shot}>
      <div class="sbm-head">
        <span class="sbm-title">{t('sbm.title')}</span>
        {canGenerate() &&
          (['first_frame', 'last_frame'] as const).map((k) => (
            <button key={k} type="button" data-testid={`sbm-gen-${k}`} disabled={busy || running(k)} onClick={() => state.generate(shot, k)}>
              {t(k === 'first_frame' ? 'sbm.genFirst' : 'sbm.genLast')}
            </button>
          ))}
        {canUpload() && (
          <span class="sbm-upload">
            <select data-testid="sbm-kind" aria-label={t('sbm.kindLabel')} value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
              {MEDIA_KINDS.map((k) => (
                <option key={k} value={k}>
                  {label('kind', k)}
                </option>
              ))}
            </select>
            <button type="button" data-testid="sbm-upload" disabled={busy} onClick={() => file.current?.click()}>
              {t('sbm.upload')}
            </button>
            <input
              ref={file}
              type="file"
              hidden
              accept="image/png,image/jpeg,image/webp,image/gif,video/mp4,video/webm"
              data-testid="sbm-file"
              onChange={(e) => {
                const el = e.currentTarget;
                const f = el.files?.[0];
                el.value = '';
                if (!f) return;
                /* a video is a clip; an image is a frame */
                const k = f.type.startsWith('video/') ? 'clip' : kind === 'clip' ? 'first_frame' : kind;
                state.upload(shot, k, f);
              }}
            />
          </span>
        )}
      </div>
      {jobs.map(({ kind: k, job }) => {
        const done = job.progress?.done ?? 0;
        const total = job.progress?.total ?? 0;
        return (
          <div key={job.id} class={`sbm-job sbm-job-${job.state}`} data-testid="sbm-job" data-kind={k} data-state={job.state} role={job.state === 'failed' ? 'alert' : 'status'}>
            <span>{t('sbm.job', { kind: label('kind', k), state: label('state', String(job.state)) })}</span>
            {jobActive(job) && <progress max={total > 0 ? total : 1} value={total > 0 ? done : undefined} />}
            {total > 0 && <span class="muted">{done}/{total}</span>}
            {job.error && <span class="error">{t('sbm.jobFailed', { message: job.error })}</span>}
          </div>
        );
      })}
      {msg && (
        <p class={msg.error ? 'error sbm-msg' : 'muted sbm-msg'} role={msg.error ? 'alert' : 'status'} data-testid="sbm-msg">
          {msg.text}
        </p>
      )}
      {items.length > 0 ? (
        <ul class="sbm-items">
          {items.map((it) => (
            <Item key={String(it.id)} item={it} state={state} />
          ))}
        </ul>
      ) : (
        <p class="muted sbm-none">{state.listError ? t('sbm.listError', { message: state.listError }) : t('sbm.none')}</p>
      )}
    </div>
  );
}

function Item({ item, state }: { item: ShotMedia; state: ShotMediaState }) {
  const [rejecting, setRejecting] = useState(false);
  const [note, setNote] = useState('');
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const [full, setFull] = useState(false); /* the thumbnail failed: the file itself */
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (rejecting) input.current?.focus();
  }, [rejecting]);
  const kind = label('kind', String(item.kind));
  const clip = item.kind === 'clip' || (typeof item.mime === 'string' && item.mime.startsWith('video/'));

  async function verdict(v: 'accept' | 'reject') {
    const text = note.trim();
    if (v === 'reject' && !text) {
      setErr(t('sbm.needNote'));
      input.current?.focus();
      return;
    }
    setBusy(true);
    setErr('');
    const ok = await state.review(item, v, v === 'reject' ? text : '');
    setBusy(false);
    if (ok) {
      setRejecting(false);
      setNote('');
    }
  }

  return (
    <li class={`sbm-item sbm-${item.status}`} data-testid="sbm-item" data-id={String(item.id)} data-media={item.media} data-kind={item.kind} data-source={item.source} data-status={item.status}>
      {clip ? (
        <video controls preload="metadata" src={mediaUrl(item.media)} aria-label={kind} title={item.prompt ?? undefined} />
      ) : (
        <a href={mediaUrl(item.media)} target="_blank" rel="noopener" title={item.prompt ?? undefined} aria-label={t('sbm.open', { kind })}>
          <img src={full ? mediaUrl(item.media) : thumbUrl(item.media)} alt={kind} loading="lazy" onError={() => !full && setFull(true)} />
        </a>
      )}
      <div class="sbm-meta">
        <span>{kind}</span>
        <span class={`sbm-badge sbm-badge-${item.status}`} data-testid="sbm-status">
          {label('status', String(item.status))}
        </span>
      </div>
      <div class="sbm-src muted">
        {label('source', String(item.source))}
        {item.model ? ` · ${item.model}` : ''}
      </div>
      {item.note && (
        <p class="sbm-note" data-testid="sbm-note">
          {item.note}
        </p>
      )}
      {canReview() &&
        (rejecting ? (
          <form
            class="sbm-reject"
            onSubmit={(e) => {
              e.preventDefault();
              verdict('reject');
            }}
          >
            <input
              ref={input}
              data-testid="sbm-note-input"
              aria-label={t('sbm.note')}
              placeholder={t('sbm.note')}
              maxLength={2000}
              value={note}
              onInput={(e) => setNote(e.currentTarget.value)}
            />
            <button type="submit" data-testid="sbm-reject-go" disabled={busy}>
              {t('sbm.rejectGo')}
            </button>
            <button type="button" onClick={() => (setRejecting(false), setErr(''))}>
              {t('sbm.cancel')}
            </button>
          </form>
        ) : (
          <div class="sbm-actions">
            {item.status !== 'accepted' && (
              <button type="button" data-testid="sbm-accept" disabled={busy} onClick={() => verdict('accept')}>
                {t('sbm.accept')}
              </button>
            )}
            {item.status !== 'rejected' && (
              <button type="button" data-testid="sbm-reject" disabled={busy} onClick={() => setRejecting(true)}>
                {t('sbm.reject')}
              </button>
            )}
          </div>
        ))}
      {err && (
        <p class="error" role="alert" data-testid="sbm-review-error">
          {err}
        </p>
      )}
    </li>
  );
}
