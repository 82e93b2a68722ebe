// New project (owner, manager): name, overlap, lease and the label config
// editor (every kind, storyboard included: `{}` is a valid storyboard
// config); on create, the project's page, where a storyboard project's
// "小说与角色" tab takes the novel.
import { useState } from 'preact/hooks';
import { ApiError, api, session, type Project as ProjectT } from '../api';
import { t } from '../i18n';
import { navigate } from '../router';
import { errorText } from '../errors';
import { useSignal } from '../signal';
import { ConfigEditor, buildConfig, initialState, type EditorState } from '../components/ConfigEditor';
import './NewProject.css';

type Field = 'name' | 'overlap' | 'lease_seconds';

export function NewProject() {
  const user = useSignal(session);
  const [name, setName] = useState('');
  const [overlap, setOverlap] = useState('1');
  const [lease, setLease] = useState('3600');
  const [editor, setEditor] = useState<EditorState>(initialState());
  const [fieldErrs, setFieldErrs] = useState<Partial<Record<Field, string>>>({});
  const [cfgErrs, setCfgErrs] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState('');
  const [busy, setBusy] = useState(false);

  const back = (
    <a href="/projects" onClick={(e) => { e.preventDefault(); navigate('/projects'); }}>
      {t('proj.back')}
    </a>
  );
  if (user?.role !== 'owner' && user?.role !== 'manager')
    return (
      <section class="newproj">
        <p class="error" role="alert">{t('proj.forbidden')}</p>
        {back}
      </section>
    );

  async function submit(e: Event) {
    e.preventDefault();
    setFieldErrs({});
    setCfgErrs({});
    setFormError('');
    const fe: Partial<Record<Field, string>> = {};
    const ov = Number(overlap);
    const ls = Number(lease);
    if (!name.trim()) fe.name = t('np.err.name');
    if (!Number.isInteger(ov) || ov < 1 || ov > 100) fe.overlap = t('np.err.overlap');
    if (!Number.isInteger(ls) || ls < 1 || ls > 86400) fe.lease_seconds = t('np.err.lease');
    if (Object.keys(fe).length) {
      setFieldErrs(fe);
      return;
    }
    setBusy(true);
    try {
      const p = await api<ProjectT>('POST', '/api/v1/projects', {
        name: name.trim(), kind: editor.kind, config: buildConfig(editor), overlap: ov, lease_seconds: ls,
      });
      if (p) navigate(`/projects/${p.id}`);
    } catch (err) {
      const path = err instanceof ApiError ? err.path ?? '' : '';
      if (err instanceof ApiError && (path === 'config' || path.startsWith('config.') || path.startsWith('config[')))
        setCfgErrs({ [path.replace(/^config\.?/, '')]: err.message });
      else if (err instanceof ApiError && (path === 'name' || path === 'overlap' || path === 'lease_seconds'))
        setFieldErrs({ [path]: err.message });
      else setFormError(t('np.failed', { message: errorText(err) }));
    } finally {
      setBusy(false);
    }
  }

  const fieldErr = (f: Field) =>
    fieldErrs[f] && <span class="field-error" data-testid={`np-err-${f}`}>{fieldErrs[f]}</span>;

  return (
    <section class="newproj" data-testid="new-project">
      <div class="proj-head">
        {back}
        <h1>{t('np.title')}</h1>
      </div>
      <form onSubmit={submit} noValidate>
        <div class="np-fields">
          <label>
            {t('np.name')}
            <input name="name" data-testid="np-name" value={name} aria-invalid={!!fieldErrs.name}
              onInput={(e) => setName((e.target as HTMLInputElement).value)} />
            {fieldErr('name')}
          </label>
          <label>
            {t('np.overlap')}
            <input name="overlap" type="number" min={1} max={100} data-testid="np-overlap" value={overlap}
              aria-invalid={!!fieldErrs.overlap} onInput={(e) => setOverlap((e.target as HTMLInputElement).value)} />
            {fieldErr('overlap')}
          </label>
          <label>
            {t('np.lease')}
            <input name="lease_seconds" type="number" min={1} max={86400} data-testid="np-lease" value={lease}
              aria-invalid={!!fieldErrs.lease_seconds} onInput={(e) => setLease((e.target as HTMLInputElement).value)} />
            {fieldErr('lease_seconds')}
          </label>
        </div>
        <ConfigEditor state={editor} onChange={setEditor} errors={cfgErrs} />
        {editor.kind === 'storyboard' && <p class="muted np-next" data-testid="np-sb-next">{t('np.sbNext')}</p>}
        {formError && <p class="error" role="alert">{formError}</p>}
        <button type="submit" class="primary" disabled={busy} data-testid="np-create">
          {t('np.create')}
        </button>
      </form>
    </section>
  );
}
