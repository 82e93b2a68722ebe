// Review of one project: review/next → the annotation rendered by the
// project's tool → a verdict → the next one (docs/api.md, Review).
//
// review/next leases the annotation to this reviewer (asking again returns
// the same lease), so "next" only comes after a verdict. The result is shown
// in the project's own tool; any edit turns the verdict into "fix", which
// sends the edited result (stored by the server as a new version).
//
// Keys (outside text fields, no modifiers): A accepts (or fixes, once
// edited), R rejects (a comment is required: R with no comment goes to the
// comment box), S skips (hands the review lease back: review/release, then
// review/next offers another annotation first). A key a tool handles itself
// (preventDefault) is left to it.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, releaseReview, type Project, type Task } from '../api';
import { errorText } from '../errors';
import { t } from '../i18n';
import { navigate } from '../router';
import { tools, type ToolModule } from '../tools/types';
import './review.css';

export interface Annotation {
  id: number;
  task: number;
  user: number | { id: number; name?: string; login?: string };
  version: number;
  source: string;
  result: Record<string, unknown>;
  created_at: string;
}

interface Pending {
  annotation: Annotation;
  task: Task;
}

type Phase = 'loading' | 'reviewing' | 'sending' | 'empty' | 'error';
type Verdict = 'accept' | 'reject' | 'fix';

function userText(u: Annotation['user']): string {
  if (u && typeof u === 'object') return u.name || u.login || `#${u.id}`;
  return `#${u}`;
}

function typingIn(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable;
}

export function Review({ projectId }: { projectId: number }) {
  const [project, setProject] = useState<Project | null>(null);
  const [tool, setTool] = useState<ToolModule | null>(null);
  const [phase, setPhase] = useState<Phase>('loading');
  const [item, setItem] = useState<Pending | null>(null);
  const [result, setResult] = useState<Record<string, unknown>>({});
  const [edited, setEdited] = useState(false);
  const [comment, setComment] = useState('');
  const [message, setMessage] = useState('');
  const [done, setDone] = useState(0);
  const commentRef = useRef<HTMLTextAreaElement>(null);

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
        await loadNext(p);
      })
      .catch((e) => {
        if (!live) return;
        setMessage(t('rev.error', { message: errorText(e) }));
        setPhase('error');
      });
    return () => {
      live = false;
    };
  }, [projectId]);

  function show(next: Pending | null) {
    setItem(next);
    setComment('');
    setEdited(false);
    if (!next) {
      setPhase('empty');
      return;
    }
    setResult(next.annotation.result && typeof next.annotation.result === 'object' ? next.annotation.result : {});
    setPhase('reviewing');
  }

  async function loadNext(p: Project | null = project) {
    if (!p) return;
    setPhase('loading');
    show(await api<Pending>('GET', `/api/v1/projects/${p.id}/review/next`));
  }

  async function retry() {
    setMessage('');
    try {
      await loadNext();
    } catch (e) {
      setMessage(t('rev.error', { message: errorText(e) }));
      setPhase('empty');
    }
  }

  function onChange(r: Record<string, unknown>) {
    if (phase !== 'reviewing') return;
    setResult(r);
    setEdited(true);
  }

  function revert() {
    if (!item) return;
    setResult(item.annotation.result ?? {});
    setEdited(false);
  }

  async function verdict(v: Verdict) {
    if (!item || !project || phase !== 'reviewing') return;
    const text = comment.trim();
    if (v === 'reject' && !text) {
      setMessage(t('rev.needComment'));
      commentRef.current?.focus();
      return;
    }
    if (v === 'fix' && tool?.validate) {
      const missing = tool.validate(project.config, item.task, result);
      if (missing) {
        setMessage(t('ann.incomplete', { message: missing }));
        return;
      }
    }
    const body: Record<string, unknown> = { verdict: v };
    if (text) body.comment = text;
    if (v === 'fix') body.result = result;
    setPhase('sending');
    setMessage('');
    try {
      await api('POST', `/api/v1/annotations/${item.annotation.id}/review`, body);
      setDone((n) => n + 1);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'invalid_result') {
        setMessage(t('ann.invalid', { message: e.path ? `${e.path}: ${e.message}` : e.message }));
        setPhase('reviewing');
        return;
      }
      if (!(e instanceof ApiError && e.status === 409)) {
        setMessage(t('rev.error', { message: errorText(e) }));
        setPhase('reviewing');
        return;
      }
      /* 409: reviewed already, or taken by another reviewer: on to the next */
      setMessage(t('rev.conflict'));
    }
    try {
      await loadNext();
    } catch (e) {
      setMessage(t('rev.error', { message: errorText(e) }));
      setItem(null);
      setPhase('empty');
    }
  }

  /* Skip: hand the lease back, then the next one (the skipped one only when nothing else is left). */
  async function skip() {
    if (!item || !project || phase !== 'reviewing') return;
    const skipped = item.annotation.id;
    setPhase('sending');
    setMessage('');
    try {
      await releaseReview(skipped);
    } catch (e) {
      /* 409: the lease is gone already (run out, or reviewed): on to the next all the same */
      if (!(e instanceof ApiError && e.status === 409)) {
        setMessage(t('rev.error', { message: errorText(e) }));
        setPhase('reviewing');
        return;
      }
    }
    try {
      const next = await api<Pending>('GET', `/api/v1/projects/${project.id}/review/next`);
      show(next);
      if (next && next.annotation.id === skipped) setMessage(t('rev.skipSame'));
    } catch (e) {
      setMessage(t('rev.error', { message: errorText(e) }));
      setItem(null);
      setPhase('empty');
    }
  }

  /* A / R / S; a key the tool took (preventDefault) is the tool's */
  useEffect(() => {
    function onKey(ev: KeyboardEvent) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat || typingIn(ev.target)) return;
      const k = ev.key.toLowerCase();
      if (k !== 'a' && k !== 'r' && k !== 's') return;
      setTimeout(() => {
        if (ev.defaultPrevented) return;
        if (k === 'a') verdict(edited ? 'fix' : 'accept');
        else if (k === 's') skip();
        else verdict('reject');
      }, 0);
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

  const Tool = tool?.Tool;
  const busy = phase !== 'reviewing';

  return (
    <section class="annotate review" data-phase={phase}>
      <div class="bar">
        {back}
        {project && <h1>{t('rev.title', { name: project.name })}</h1>}
        <span class="spacer" />
        {done > 0 && (
          <span class="muted" data-testid="reviewed">
            {t('rev.done', { n: done })}
          </span>
        )}
      </div>
      {message && (
        <p class="error" role="alert" data-testid="review-message">
          {message}
        </p>
      )}
      {phase === 'loading' && !item && <p class="muted">{t('rev.loading')}</p>}
      {phase === 'empty' && (
        <div class="start">
          <p data-testid="review-empty">{t('rev.empty')}</p>
          <button data-testid="review-again" onClick={retry}>
            {t('rev.again')}
          </button>
          {back}
        </div>
      )}
      {item && Tool && project && phase !== 'empty' && phase !== 'error' && (
        <div class="work" data-task={item.task.id} data-annotation={item.annotation.id}>
          <div class="review-meta muted">
            <span>{t('ann.task', { id: item.task.id })}</span>
            <span>{t('rev.annotation', { id: item.annotation.id, version: item.annotation.version })}</span>
            <span>{t('rev.author', { user: userText(item.annotation.user) })}</span>
            {edited && (
              <span class="review-edited" data-testid="review-edited">
                {t('rev.edited')}
              </span>
            )}
          </div>
          <Tool task={item.task} config={project.config} result={result} onChange={onChange} />
          <label class="review-comment">
            <span>{t('rev.comment')}</span>
            <textarea
              ref={commentRef}
              data-testid="review-comment"
              rows={3}
              maxLength={10000}
              placeholder={t('rev.commentHint')}
              value={comment}
              onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)}
            />
          </label>
          <div class="actions">
            {edited ? (
              <>
                <button class="primary" data-testid="review-fix" disabled={busy} onClick={() => verdict('fix')}>
                  {t('rev.fix')} <kbd>A</kbd>
                </button>
                <button data-testid="review-revert" disabled={busy} onClick={revert}>
                  {t('rev.revert')}
                </button>
              </>
            ) : (
              <button class="primary" data-testid="review-accept" disabled={busy} onClick={() => verdict('accept')}>
                {t('rev.accept')} <kbd>A</kbd>
              </button>
            )}
            <button class="danger" data-testid="review-reject" disabled={busy} onClick={() => verdict('reject')}>
              {t('rev.reject')} <kbd>R</kbd>
            </button>
            <button data-testid="review-skip" disabled={busy} onClick={skip}>
              {t('rev.skip')} <kbd>S</kbd>
            </button>
            {phase === 'sending' && <span class="muted">{t('rev.sending')}</span>}
          </div>
        </div>
      )}
    </section>
  );
}
