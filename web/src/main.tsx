import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ComponentType } from 'preact';
import { logout, reauthNeeded, session } from './api';
import { lang, setLang, t } from './i18n';
import { location, navigate, parseRoute } from './router';
import { useSignal } from './signal';
import { LoginForm } from './screens/Login';
import { Projects } from './screens/Projects';
import { Project } from './screens/Project';
import { NewProject } from './screens/NewProject';
import './styles.css';

type AnnotateProps = { projectId: number };

/* The annotator is its own chunk (and each tool inside it), loaded on first use. */
function LazyAnnotate(props: AnnotateProps) {
  const [Comp, setComp] = useState<ComponentType<AnnotateProps> | null>(null);
  useEffect(() => {
    import('./screens/Annotate').then((m) => setComp(() => m.Annotate));
  }, []);
  return Comp ? <Comp {...props} /> : null;
}

/* The review screen, its own chunk like the annotator. */
function LazyReview(props: AnnotateProps) {
  const [Comp, setComp] = useState<ComponentType<AnnotateProps> | null>(null);
  useEffect(() => {
    import('./screens/Review').then((m) => setComp(() => m.Review));
  }, []);
  return Comp ? <Comp {...props} /> : null;
}

function Header() {
  const user = useSignal(session);
  const current = useSignal(lang);
  return (
    <header class="top">
      <a
        class="brand"
        href="/"
        onClick={(e) => {
          e.preventDefault();
          navigate('/');
        }}
      >
        {t('app.title')}
      </a>
      {user && (
        <nav>
          <a
            href="/projects"
            onClick={(e) => {
              e.preventDefault();
              navigate('/projects');
            }}
          >
            {t('nav.projects')}
          </a>
        </nav>
      )}
      <span class="spacer" />
      <button
        class="lang"
        aria-label={t('lang.label')}
        data-testid="lang-switch"
        onClick={() => setLang(current === 'zh' ? 'en' : 'zh')}
      >
        {t('lang.switch')}
      </button>
      {user && (
        <>
          <span class="user">{t('nav.user', { name: user.name, role: user.role })}</span>
          <button onClick={() => logout().then(() => navigate('/'))}>{t('nav.logout')}</button>
        </>
      )}
    </header>
  );
}

function App() {
  useSignal(lang); /* re-render everything on a language switch */
  const user = useSignal(session);
  const path = useSignal(location);
  const reauth = useSignal(reauthNeeded);
  const route = parseRoute(path);

  let body;
  if (!user) body = <LoginForm />;
  else if (route.name === 'annotate') body = <LazyAnnotate key={route.project} projectId={route.project} />;
  else if (route.name === 'review') body = <LazyReview key={`review-${route.project}`} projectId={route.project} />;
  else if (route.name === 'new-project') body = <NewProject />;
  else if (route.name === 'project') body = <Project key={`project-${route.project}`} projectId={route.project} />;
  else body = <Projects />;

  return (
    <>
      <Header />
      <main>{body}</main>
      {reauth && (
        <div class="modal" role="dialog" aria-modal="true" data-testid="relogin">
          <div class="modal-box">
            <LoginForm expired fixedLogin={user?.login} />
          </div>
        </div>
      )}
    </>
  );
}

render(<App />, document.getElementById('app')!);
