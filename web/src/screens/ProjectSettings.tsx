// The Settings tab of a project (owner, manager): name, overlap, lease and
// the label config (the config editor with its live preview, the kind
// fixed), saved with PATCH /api/v1/projects/{id}: only what changed is sent.
import { useState } from 'preact/hooks';
import { ApiError, patchProject, type Project as ProjectT, type ProjectPatch } from '../api';
import { t } from '../i18n';
import { errorText } from '../errors';
import { ConfigEditor, KINDS, buildConfig, stateFromConfig, type EditorState, type Kind } from '../components/ConfigEditor';

type Field = 'name' | 'overlap' | 'lease_seconds' | 'config';

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function SettingsPanel({ project, onSaved }: { project: ProjectT; onSaved(p: ProjectT): void }) {
  const editable = (KINDS as string[]).includes(project.kind);
  const [name, setName] = useState(project.name);
  const [overlap, setOverlap] = useState(String(project.overlap));
  const [lease, setLease] = useState(String(project.lease_seconds));
  const [editor, setEditor] = useState<EditorState | null>(() =>
    editable ? stateFromConfig(project.kind as Kind, project.config) : null,
  );
  const [rawConfig, setRawConfig] = useState(() => JSON.stringify(project.config, null, 2));
  const [fieldErrs, setFieldErrs] = useState<Partial<Record<Field, string>>>({});
  const [cfgErrs, setCfgErrs] = useState<Record<string, string>>({});
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  async function save(e: Event) {
    e.preventDefault();
    setFieldErrs({});
    setCfgErrs({});
    setStatus(null);
    const fe: Partial<Record<Field, string>> = {};
    const ov = Number(overlap);
    const ls = Number(lease);
    if (!name.trim()) fe.name = t('np.err.name');
    if (!Number.isInteger(ov) || ov < 1 || ov > 100) fe.overlap = t('np.err.overlap');
    if (!Number.isInteger(ls) || ls < 1 || ls > 86400) fe.lease_seconds = t('np.err.lease');
    let config: Record<string, unknown> | undefined;
    if (editor) config = buildConfig(editor);
    else {
      try {
        const v = JSON.parse(rawConfig);
        if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
        config = v;
      } catch {
        fe.config = t('set.err.json');
      }
    }
    if (Object.keys(fe).length) {
      setFieldErrs(fe);
      return;
    }
    const patch: ProjectPatch = {};
    if (name.trim() !== project.name) patch.name = name.trim();
    if (ov !== project.overlap) patch.overlap = ov;
    if (ls !== project.lease_seconds) patch.lease_seconds = ls;
    if (config && !sameJson(config, project.config)) patch.config = config;
    if (!Object.keys(patch).length) {
      setStatus({ ok: true, text: t('set.unchanged') });
      return;
    }
    setBusy(true);
    try {
      const p = await patchProject(project.id, patch);
      if (p) {
        onSaved(p);
        setStatus({ ok: true, text: t('set.saved') });
      }
    } catch (err) {
      const path = err instanceof ApiError ? err.path ?? '' : '';
      if (err instanceof ApiError && (path === 'config' || path.startsWith('config.') || path.startsWith('config['))) {
        if (editor) setCfgErrs({ [path.replace(/^config\.?/, '')]: err.message });
        else setFieldErrs({ config: err.message });
      } else if (err instanceof ApiError && err.status === 409 && path === 'overlap')
        setFieldErrs({ overlap: t('set.err.overlapBusy', { message: err.message }) });
      else if (err instanceof ApiError && (path === 'name' || path === 'overlap' || path === 'lease_seconds'))
        setFieldErrs({ [path]: err.message });
      else setStatus({ ok: false, text: t('set.failed', { message: errorText(err) }) });
    } finally {
      setBusy(false);
    }
  }

  const fieldErr = (f: Field) =>
    fieldErrs[f] && (
      <span class="field-error" role="alert" data-testid={`set-err-${f}`}>
        {fieldErrs[f]}
      </span>
    );

  return (
    <form class="panel settings" data-testid="settings" onSubmit={save} noValidate>
      <h2>{t('set.title')}</h2>
      <div class="np-fields">
        <label>
          {t('np.name')}
          <input data-testid="set-name" value={name} aria-invalid={!!fieldErrs.name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          {fieldErr('name')}
        </label>
        <label>
          {t('np.overlap')}
          <input type="number" min={1} max={100} data-testid="set-overlap" value={overlap} aria-invalid={!!fieldErrs.overlap}
            onInput={(e) => setOverlap((e.target as HTMLInputElement).value)} />
          {fieldErr('overlap')}
        </label>
        <label>
          {t('np.lease')}
          <input type="number" min={1} max={86400} data-testid="set-lease" value={lease} aria-invalid={!!fieldErrs.lease_seconds}
            onInput={(e) => setLease((e.target as HTMLInputElement).value)} />
          {fieldErr('lease_seconds')}
        </label>
      </div>
      <p class="muted hint">{t('set.overlapHint')}</p>
      {editor ? (
        <ConfigEditor state={editor} onChange={setEditor} errors={cfgErrs} fixedKind />
      ) : (
        <label class="raw-config">
          {t('set.rawConfig', { kind: project.kind })}
          <textarea data-testid="set-config-json" rows={12} spellcheck={false} value={rawConfig}
            onInput={(e) => setRawConfig((e.target as HTMLTextAreaElement).value)} />
          {fieldErr('config')}
        </label>
      )}
      {status && (
        <p class={status.ok ? 'ok' : 'error'} role={status.ok ? 'status' : 'alert'} data-testid="set-status">
          {status.text}
        </p>
      )}
      <button type="submit" class="primary" disabled={busy} data-testid="set-save">
        {busy ? t('set.saving') : t('set.save')}
      </button>
    </form>
  );
}
