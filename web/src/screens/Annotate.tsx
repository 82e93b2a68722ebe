// The annotation stream of one project: claim → work → submit → the next.
//
// Drafts: every change goes to localStorage at once (key annotd.draft.<assignment>)
// and to the server (PUT /assignments/{id}/draft) every few seconds while
// there is something unsaved. After a reload the stream claims again (the
// server hands back the caller's live lease with its draft), and a local
// draft of that assignment wins over the server's, being at least as new.
//
// The next task: the server gives a user one live lease per project and
// answers /next with that same lease while it lives, so the next task cannot
// be claimed while the current one is open. Instead the submit and the next
// claim run back to back without a render in between, the tool's code is
// already loaded, and the new task replaces the old one in place (no reload).
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
  });

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

  function show(c: Claim | null, mod: ToolModule, p: Project) {
    st.current.claim = c;
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
  }

  async function claimNext(mod: ToolModule, p: Project) {
    setPhase('claiming');
    try {
      show(await api<Claim>('POST', `/api/v1/projects/${p.id}/next`), mod, p);
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

  /* keep the lease alive while the task is open */
  useEffect(() => {
    if (!claim || !project) return;
    const every = Math.max(5, Math.min(60, Math.floor(project.lease_seconds / 3))) * 1000;
    const timer = setInterval(() => {
      api('POST', `/api/v1/assignments/${claim.assignment.id}/heartbeat`).catch(() => {});
    }, every);
    return () => clearInterval(timer);
  }, [claim, project]);

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
      /* straight to the next claim: no render of an empty state in between */
      show(await api<Claim>('POST', `/api/v1/projects/${project.id}/next`), tool, project);
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
    <section class="annotate" data-phase={phase}>
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
