// The annotation stream of one project: claim → work → submit → the next.
//
// Drafts: every change goes to localStorage at once (key annotd.draft.<assignment>)
// and to the server (PUT /assignments/{id}/draft) every few seconds while
// there is something unsaved. After a reload the stream claims again (the
// server hands back the caller's live lease with its draft), and a local
// draft of that assignment wins over the server's, being at least as new.
//
// The next task (prefetch): once a task is shown, the stream claims the next
// one with `POST /next?after=<current assignment>` (docs/api.md: a lease other
// than the current one, so a user holds at most two), keeps both leases alive
// with heartbeats, and lets the tool warm up what it needs (preload: the
// image). A submit or a skip then shows the prefetched task at once, with no
// /next in between, and prefetches again. A prefetch still in flight is
// awaited before the submit (so that the server sees the current lease live);
// without a prefetched task (204, offline, lost) the submit falls back to a
// plain /next. After a reload /next returns the first live lease: when that
// is not the task that was open, the other one (`?after=`) is, and they swap.
// Leaving the stream releases the prefetched lease; one abandoned by a closed
// tab simply expires on the server.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, NetworkError, api, reauthNeeded, type Claim, type Project } from '../api';
import { errorText } from '../errors';
import { t } from '../i18n';
import { navigate } from '../router';
import { useSignal } from '../signal';
import { tools, type ToolModule } from '../tools/types';

const SAVE_EVERY_MS = 3000;
const draftKey = (assignment: number) => `annotd.draft.${assignment}`;
const activeKey = (project: number) => `annotd.active.${project}`;
/* the open task (project + claim) for a reload while offline */
const openKey = (project: number) => `annotd.open.${project}`;

type Phase = 'loading' | 'idle' | 'claiming' | 'working' | 'submitting' | 'empty' | 'error';
type SaveState = 'saved' | 'saving' | 'offline';

function readLocalDraft(assignment: number): Record<string, unknown> | null {
  try {
    const v = localStorage.getItem(draftKey(assignment));
    return v ? (JSON.parse(v) as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function writeLocal(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    /* storage full or disabled: the server copy still comes */
  }
}

/* The reviewer's comment on a rejected annotation that came back as rework. */
function reworkComment(c: Claim): string {
  const review = (c.assignment as { review?: { comment?: unknown } }).review;
  return review && typeof review.comment === 'string' ? review.comment : '';
}

export function Annotate({ projectId }: { projectId: number }) {
  const [project, setProject] = useState<Project | null>(null);
  const [tool, setTool] = useState<ToolModule | null>(null);
  const [phase, setPhase] = useState<Phase>('loading');
  const [claim, setClaim] = useState<Claim | null>(null);
  const [result, setResult] = useState<Record<string, unknown>>({});
  const [save, setSave] = useState<SaveState>('saved');
  const [message, setMessage] = useState('');
  const [submitted, setSubmitted] = useState(0);
  const [tried, setTried] = useState(false); /* a submit refused as incomplete (tool.validate) */
  const reauth = useSignal(reauthNeeded);

  /* what the timers and handlers need without re-binding */
  /* saving: the draft PUT in flight, awaited before a submit so that it never lands after it */
  const st = useRef({
    claim: null as Claim | null,
    result: {} as Record<string, unknown>,
    dirty: false,
    inflight: false,
    finishing: false,
    saving: null as Promise<unknown> | null,
    /* the prefetched next task: claimed past `nextAfter` (the assignment on screen) */
    next: null as Claim | null,
    nextAfter: 0,
    nextNone: false, /* the prefetch answered 204: nothing more for now */
    prefetching: null as Promise<void> | null,
  });
  /* what the prefetch is doing, for the page (data-next) and tests */
  const [nextState, setNextState] = useState<'pending' | 'ready' | 'none' | 'failed'>('none');

  useEffect(() => {
    let live = true;
    api<Project>('GET', `/api/v1/projects/${projectId}`)
      .then(async (p) => {
        if (!p || !live) return;
        setProject(p);
        const load = tools[p.kind];
        if (!load) throw new Error(t('projects.kindNotYet', { kind: p.kind }));
        const mod = await load();
        if (!live) return;
        setTool(() => mod);
        setPhase('idle');
        /* a lease held before a reload: resume it (with its draft) at once */
        if (localStorage.getItem(activeKey(projectId))) claimNext(mod, p);
      })
      .catch(async (e) => {
        /* offline after a reload: go on with the open task and its local draft */
        try {
          const open = e instanceof NetworkError && localStorage.getItem(activeKey(projectId)) && localStorage.getItem(openKey(projectId));
          if (open) {
            const { project: p, claim: c } = JSON.parse(open) as { project: Project; claim: Claim };
            const mod = await tools[p.kind]!();
            if (!live) return;
            setProject(p);
            setTool(() => mod);
            show(c, mod, p);
            setSave('offline');
            return;
          }
        } catch {
          /* nothing usable kept: the error below */
        }
        setMessage(t('ann.error', { message: errorText(e) }));
        setPhase('error');
      });
    return () => {
      live = false;
    };
  }, [projectId]);

  /* Show claim c; `next`: the next task already claimed past it (null: none
   * left), else it is prefetched now. */
  function show(c: Claim | null, mod: ToolModule, p: Project, next?: Claim | null) {
    const s = st.current;
    s.claim = c;
    s.next = null;
    s.nextAfter = 0;
    s.nextNone = false;
    setNextState('none');
    setClaim(c);
    if (!c) {
      writeLocal(activeKey(p.id), null);
      writeLocal(openKey(p.id), null);
      setPhase('empty');
      return;
    }
    writeLocal(activeKey(p.id), String(c.assignment.id));
    writeLocal(openKey(p.id), JSON.stringify({ project: p, claim: c }));
    const local = readLocalDraft(c.assignment.id);
    const server = c.assignment.draft && typeof c.assignment.draft === 'object' ? (c.assignment.draft as Record<string, unknown>) : null;
    const r = local ?? server ?? mod.emptyResult(p.config, c.task);
    st.current.result = r;
    st.current.dirty = local !== null; /* a local draft the server may not have */
    setResult(r);
    setSave(st.current.dirty ? 'saving' : 'saved');
    setMessage('');
    setTried(false);
    setPhase('working');
    if (next !== undefined) {
      s.next = next && next.assignment.id !== c.assignment.id ? next : null;
      s.nextAfter = c.assignment.id;
      s.nextNone = !s.next;
      setNextState(s.next ? 'ready' : 'none');
      if (s.next) mod.preload?.(s.next.task);
    } else prefetch(mod, p);
  }

  /* Claim the next task past the one on screen, unless it is there or coming. */
  function prefetch(mod: ToolModule, p: Project) {
    const s = st.current;
    const after = s.claim?.assignment.id;
    if (!after || s.prefetching || s.nextNone || (s.next && s.nextAfter === after)) return;
    setNextState('pending');
    s.prefetching = api<Claim>('POST', `/api/v1/projects/${p.id}/next?after=${after}`)
      .then((c) => {
        if (st.current.claim?.assignment.id !== after) return; /* another task is on screen: see finally */
        s.next = c && c.assignment.id !== after ? c : null;
        s.nextAfter = after;
        s.nextNone = !c;
        setNextState(s.next ? 'ready' : 'none');
        if (s.next) mod.preload?.(s.next.task);
      })
      .catch((e) => {
        /* offline: tried again later; refused (409: the lease on screen is gone): not
         * again for this task. Either way the submit falls back to a plain /next. */
        if (st.current.claim?.assignment.id !== after) return;
        const retry = e instanceof NetworkError || (e instanceof ApiError && e.status >= 500);
        s.nextNone = !retry;
        setNextState(retry ? 'failed' : 'none');
      })
      .finally(() => {
        s.prefetching = null;
        /* the task on screen changed meanwhile: prefetch past it (the server hands
         * back what this call claimed, if it is still the other live lease) */
        if (s.claim && s.claim.assignment.id !== after) prefetch(mod, p);
      });
  }

  /* Release the prefetched lease (leaving the stream): its task goes back to the
   * pool. A plain fetch, not api(): after a logout (no session, no CSRF token)
   * nothing is sent, and a failure never asks for a login; the lease then expires. */
  function releaseNext() {
    const s = st.current;
    const n = s.next;
    s.next = null;
    s.nextAfter = 0;
    const csrf = sessionStorage.getItem('annotd.csrf');
    if (!n || !csrf) return;
    fetch(`/api/v1/assignments/${n.assignment.id}/release`, {
      method: 'POST',
      headers: { 'X-CSRF-Token': csrf },
      credentials: 'same-origin',
      keepalive: true,
    }).catch(() => {});
  }

  async function claimNext(mod: ToolModule, p: Project) {
    setPhase('claiming');
    try {
      const c = await api<Claim>('POST', `/api/v1/projects/${p.id}/next`);
      /* after a reload: /next gives the first live lease; when the task that was
       * open is the other one, it comes past this one, and they swap */
      const open = Number(localStorage.getItem(activeKey(p.id)) || 0);
      if (c && open && c.assignment.id !== open) {
        const other = await api<Claim>('POST', `/api/v1/projects/${p.id}/next?after=${c.assignment.id}`);
        if (other && other.assignment.id === open) show(other, mod, p, c);
        else show(c, mod, p, other);
        return;
      }
      show(c, mod, p);
    } catch (e) {
      setMessage(t('ann.error', { message: errorText(e) }));
      setPhase(claim ? 'working' : 'error');
    }
  }

  const saveDraft = useCallback(async () => {
    const s = st.current;
    if (!s.claim || !s.dirty || s.inflight || s.finishing) return;
    const id = s.claim.assignment.id;
    const body = s.result;
    s.inflight = true;
    s.dirty = false;
    setSave('saving');
    try {
      s.saving = api('PUT', `/api/v1/assignments/${id}/draft`, { result: body });
      await s.saving;
      if (st.current.claim?.assignment.id === id) setSave(st.current.dirty ? 'saving' : 'saved');
    } catch (e) {
      if (st.current.claim?.assignment.id === id) {
        if (e instanceof NetworkError || (e instanceof ApiError && e.status >= 500)) {
          s.dirty = true; /* try again at the next tick */
          setSave('offline');
        } else {
          setSave('saved'); /* 409: the lease is over; nothing more to keep */
        }
      }
    } finally {
      s.inflight = false;
      s.saving = null;
    }
  }, []);

  /* autosave to the server while there is something unsaved */
  useEffect(() => {
    const timer = setInterval(saveDraft, SAVE_EVERY_MS);
    return () => clearInterval(timer);
  }, [saveDraft]);

  /* keep the leases alive while the task is open: its own and the prefetched one */
  useEffect(() => {
    if (!claim || !project) return;
    const every = Math.max(5, Math.min(60, Math.floor(project.lease_seconds / 3))) * 1000;
    const timer = setInterval(() => {
      api('POST', `/api/v1/assignments/${claim.assignment.id}/heartbeat`).catch(() => {});
      const n = st.current.next;
      if (n && st.current.nextAfter === claim.assignment.id)
        api('POST', `/api/v1/assignments/${n.assignment.id}/heartbeat`).catch((e) => {
          /* the prefetched lease is gone (reaped): claim another */
          if (e instanceof ApiError && e.status === 409 && st.current.next === n) {
            st.current.next = null;
            if (tool) prefetch(tool, project);
          }
        });
    }, every);
    return () => clearInterval(timer);
  }, [claim, project, tool]);

  /* a prefetch that failed (offline) is tried again */
  useEffect(() => {
    if (!claim || !project || !tool || nextState !== 'failed') return;
    const timer = setInterval(() => {
      if (!st.current.finishing) prefetch(tool, project);
    }, SAVE_EVERY_MS);
    return () => clearInterval(timer);
  }, [claim, project, tool, nextState]);

  /* leaving the stream: the prefetched task goes back to the pool */
  useEffect(() => releaseNext, []);

  function onChange(r: Record<string, unknown>) {
    const s = st.current;
    if (!s.claim) return;
    s.result = r;
    s.dirty = true;
    setResult(r);
    writeLocal(draftKey(s.claim.assignment.id), JSON.stringify(r));
    if (!s.inflight) setSave('saving');
  }

  async function finish(action: 'submit' | 'skip') {
    const s = st.current;
    if (!s.claim || !tool || !project || phase !== 'working') return;
    const id = s.claim.assignment.id;
    if (action === 'submit' && tool.validate?.(project.config, s.claim.task, s.result)) {
      setTried(true); /* the tool says what is missing, next to the button */
      return;
    }
    setPhase('submitting');
    setMessage('');
    s.finishing = true; /* no autosave of this assignment from here on */
    try {
      if (s.saving) await s.saving.catch(() => {});
      /* a prefetch past this lease reaches the server before the lease ends */
      if (s.prefetching) await s.prefetching;
      if (action === 'submit') {
        try {
          await api('POST', `/api/v1/assignments/${id}/submit`, { result: s.result });
        } catch (e) {
          /* a retried submit that had gone through: 409 with the stored annotation */
          if (!(e instanceof ApiError && e.status === 409 && (e.body as any)?.annotation)) throw e;
        }
        setSubmitted((n) => n + 1);
      } else {
        await api('POST', `/api/v1/assignments/${id}/skip`);
      }
      writeLocal(draftKey(id), null);
      s.dirty = false;
      /* the prefetched task at once; without one, straight to the next claim
       * (no render of an empty state in between) */
      const next = s.nextAfter === id ? s.next : null;
      s.next = null;
      show(next ?? (await api<Claim>('POST', `/api/v1/projects/${project.id}/next`)), tool, project);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'invalid_result')
        setMessage(t('ann.invalid', { message: e.path ? `${e.path}: ${e.message}` : e.message }));
      else setMessage(t('ann.error', { message: errorText(e) }));
      setPhase(st.current.claim?.assignment.id === id ? 'working' : 'idle');
    } finally {
      s.finishing = false;
    }
  }

  /* Ctrl+Enter (⌘+Enter) submits */
  useEffect(() => {
    function onKey(ev: KeyboardEvent) {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        finish('submit');
      }
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const back = (
    <a
      href="/projects"
      onClick={(e) => {
        e.preventDefault();
        navigate('/projects');
      }}
    >
      {t('ann.back')}
    </a>
  );

  const saveText = reauth && save !== 'saved' ? t('save.relogin') : t(`save.${save}`);
  const Tool = tool?.Tool;
  const missing = claim && project && tool?.validate ? tool.validate(project.config, claim.task, result) : null;

  return (
    <section class="annotate" data-phase={phase} data-next={nextState}>
      <div class="bar">
        {back}
        {project && <h1>{project.name}</h1>}
        <span class="spacer" />
        {submitted > 0 && <span class="muted" data-testid="submitted">{t('ann.submitted', { n: submitted })}</span>}
        {claim && phase !== 'empty' && (
          <span class={`save save-${reauth && save !== 'saved' ? 'relogin' : save}`} data-testid="save-state" aria-live="polite">
            {saveText}
          </span>
        )}
      </div>
      {message && (
        <p class="error" role="alert">
          {message}
        </p>
      )}
      {phase === 'idle' && project && tool && (
        <div class="start">
          <p class="muted">{t('ann.startHint')}</p>
          <button class="primary big" data-testid="start" onClick={() => claimNext(tool, project)}>
            {t('ann.start')}
          </button>
        </div>
      )}
      {(phase === 'loading' || (phase === 'claiming' && !claim)) && <p class="muted">{t('ann.loading')}</p>}
      {phase === 'empty' && (
        <div class="start">
          <p data-testid="empty">{t('ann.done')}</p>
          {back}
        </div>
      )}
      {claim && Tool && project && (phase === 'working' || phase === 'submitting' || phase === 'claiming') && (
        <div class="work" data-task={claim.task.id} data-assignment={claim.assignment.id}>
          <div class="task-id muted">{t('ann.task', { id: claim.task.id })}</div>
          {claim.assignment.kind === 'rework' && (
            <p class="note rework" role="status" data-testid="rework">
              {reworkComment(claim)
                ? t('ann.rework', { comment: reworkComment(claim) })
                : t('ann.reworkNoComment')}
            </p>
          )}
          <Tool task={claim.task} config={project.config} result={result} onChange={onChange} />
          <div class="actions">
            <button class="primary" data-testid="submit" disabled={phase !== 'working'} onClick={() => finish('submit')}>
              {phase === 'submitting' ? t('ann.submitting') : t('ann.submit')} <kbd>{t('ann.submitKey')}</kbd>
            </button>
            {claim.assignment.kind !== 'rework' && (
              <button data-testid="skip" disabled={phase !== 'working'} onClick={() => finish('skip')}>
                {t('ann.skip')}
              </button>
            )}
            {missing && (
              <span class={tried ? 'missing error' : 'missing muted'} data-testid="missing" role={tried ? 'alert' : undefined}>
                {tried ? t('ann.incomplete', { message: missing }) : missing}
              </span>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
