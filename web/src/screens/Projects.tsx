import { useEffect, useState } from 'preact/hooks';
import { api, session, type Project } from '../api';
import { t } from '../i18n';
import { navigate } from '../router';
import { errorText } from '../errors';
import { tools } from '../tools/types';
import { useSignal } from '../signal';

/* Roles that may review (docs/api.md, Roles). */
const REVIEW_ROLES = ['owner', 'manager', 'reviewer'];

/* The org's projects with their progress (done / total from counts). */
export function Projects() {
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState('');
  const user = useSignal(session);
  const mayReview = !!user && REVIEW_ROLES.includes(user.role);

  function load() {
    setError('');
    api<{ items: Project[] }>('GET', '/api/v1/projects?limit=1000')
      .then((b) => setProjects(b ? b.items : []))
      .catch((e) => setError(t('projects.error', { message: errorText(e) })));
  }
  useEffect(load, []);

  if (error)
    return (
      <section class="projects">
        <p class="error" role="alert">
          {error}
        </p>
        <button onClick={load}>{t('projects.retry')}</button>
      </section>
    );
  if (!projects) return <p class="muted">{t('projects.loading')}</p>;
  return (
    <section class="projects">
      <div class="projects-head">
        <h1>{t('projects.title')}</h1>
        <span class="spacer" />
        {(user?.role === 'owner' || user?.role === 'manager') && (
          <a
            class="button primary"
            data-testid="new-project-link"
            href="/projects/new"
            onClick={(e) => {
              e.preventDefault();
              navigate('/projects/new');
            }}
          >
            {t('projects.new')}
          </a>
        )}
      </div>
      {projects.length === 0 && <p class="muted">{t('projects.empty')}</p>}
      <ul class="project-list">
        {projects.map((p) => (
          <li key={p.id} class="project" data-project={p.id}>
            <div class="project-head">
              <span class="project-name">{p.name}</span>
              <span class="kind">{p.kind}</span>
              {(user?.role === 'owner' || user?.role === 'manager') && (
                <a
                  class="manage"
                  data-testid="manage-link"
                  href={`/projects/${p.id}`}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(`/projects/${p.id}`);
                  }}
                >
                  {t('projects.manage')}
                </a>
              )}
            </div>
            <progress value={p.counts.done} max={Math.max(1, p.counts.total)} />
            <div class="project-foot">
              <span>{t('projects.progress', { done: p.counts.done, total: p.counts.total })}</span>
              {p.counts.in_progress > 0 && (
                <span class="muted">{t('projects.inProgress', { n: p.counts.in_progress })}</span>
              )}
              <span class="muted" data-testid="overlap">{t('projects.overlap', { n: p.overlap })}</span>
              <span class="muted active" data-testid="active-annotators">
                {t('projects.active', { n: p.active_annotators ?? 0 })}
              </span>
              {Object.prototype.hasOwnProperty.call(tools, p.kind) ? (
                <a
                  class="button primary"
                  href={`/projects/${p.id}/annotate`}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(`/projects/${p.id}/annotate`);
                  }}
                >
                  {t('projects.start')}
                </a>
              ) : (
                <span class="muted">{t('projects.kindNotYet', { kind: p.kind })}</span>
              )}
              {mayReview && Object.prototype.hasOwnProperty.call(tools, p.kind) && (
                <a
                  class="button review-link"
                  data-testid="review-link"
                  href={`/projects/${p.id}/review`}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(`/projects/${p.id}/review`);
                  }}
                >
                  {t('projects.review')}
                  {typeof (p.counts as { to_review?: number }).to_review === 'number' &&
                    ` · ${t('projects.toReview', { n: (p.counts as { to_review?: number }).to_review! })}`}
                </a>
              )}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
