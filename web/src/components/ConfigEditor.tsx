// The label config editor (new project): a form per kind (image / text /
// llm), a live preview of the kind's tool with a sample task, and the JSON
// the server gets. Server errors (path inside "config") show at their field.
import { useEffect, useState } from 'preact/hooks';
import type { ComponentType } from 'preact';
import { t } from '../i18n';
import { tools, type ToolProps } from '../tools/types';
import './ConfigEditor.css';

export type Kind = 'image' | 'text' | 'llm';
export const KINDS: Kind[] = ['image', 'text', 'llm'];
const IMAGE_TOOLS = ['box', 'polygon', 'polyline', 'keypoints'] as const;
const LLM_MODES = ['sft', 'pairwise', 'ranking', 'rubric'] as const;
const ATTR_TYPES = ['text', 'number', 'boolean', 'select'] as const;
const PALETTE = ['#e53935', '#1e88e5', '#43a047', '#fb8c00', '#8e24aa', '#00897b', '#d81b60', '#6d4c41'];

interface Attr { name: string; type: string }
interface ImgLabel { name: string; color: string; hotkey: string; keypoints: string; attrs: Attr[] }
interface Criterion { name: string; min: number; max: number }

/* The editor's form state (all kinds kept, so switching kind loses nothing). */
export interface EditorState {
  kind: Kind;
  tools: string[];
  labels: ImgLabel[];
  imgClasses: string;
  imgMultiple: boolean;
  txtClasses: string;
  txtMultiple: boolean;
  spans: string;
  spanOverlap: boolean;
  relations: string;
  mode: string;
  criteria: Criterion[];
  requireReason: boolean;
}

export function initialState(kind: Kind = 'image'): EditorState {
  return {
    kind, tools: ['box'], labels: [], imgClasses: '', imgMultiple: false,
    txtClasses: '', txtMultiple: false, spans: '', spanOverlap: false, relations: '',
    mode: 'pairwise', criteria: [{ name: 'helpful', min: 1, max: 5 }], requireReason: false,
  };
}

const list = (s: string) => s.split(/[,，\n]/).map((x) => x.trim()).filter(Boolean);

/* The config the server gets for the state's kind. */
export function buildConfig(s: EditorState): Record<string, unknown> {
  if (s.kind === 'image') {
    const c: Record<string, unknown> = {
      tools: IMAGE_TOOLS.filter((x) => s.tools.includes(x)),
      labels: s.labels.map((l) => {
        const o: Record<string, unknown> = { name: l.name.trim() };
        if (l.color) o.color = l.color;
        if (l.hotkey.trim()) o.hotkey = l.hotkey.trim();
        if (s.tools.includes('keypoints') && list(l.keypoints).length) o.keypoints = list(l.keypoints);
        const attrs = l.attrs.filter((a) => a.name.trim());
        if (attrs.length) o.attributes = attrs.map((a) => ({ name: a.name.trim(), type: a.type }));
        return o;
      }),
    };
    if (list(s.imgClasses).length) c.classes = { choices: list(s.imgClasses), multiple: s.imgMultiple };
    return c;
  }
  if (s.kind === 'text') {
    const c: Record<string, unknown> = {};
    if (list(s.txtClasses).length) c.classes = { choices: list(s.txtClasses), multiple: s.txtMultiple };
    if (list(s.spans).length) c.spans = { labels: list(s.spans), overlap: s.spanOverlap };
    if (list(s.relations).length) c.relations = { labels: list(s.relations) };
    return c;
  }
  const c: Record<string, unknown> = { mode: s.mode };
  if (s.mode === 'rubric') c.criteria = s.criteria.map((k) => ({ name: k.name.trim(), min: k.min, max: k.max }));
  if (s.mode === 'pairwise') c.require_reason = s.requireReason;
  return c;
}

const SAMPLE_TASKS: Record<Kind, () => ToolProps['task']> = {
  image: () => ({ id: 0, project: 0, key: 'sample', data: { image: `${window.location.origin}/config-sample.svg`, width: 640, height: 400 } }),
  text: () => ({ id: 0, project: 0, key: 'sample', data: { text: '张三在北京的清华大学工作，他说今天天气很好。' } }),
  llm: () => ({
    id: 0, project: 0, key: 'sample',
    data: {
      prompt: '用一句话介绍长城。',
      responses: [
        { id: 'a', text: '长城是中国古代修建的军事防御工程，全长两万多公里。' },
        { id: 'b', text: '长城是一座很长的墙。' },
        { id: 'c', text: '长城位于中国北方，是世界文化遗产。' },
      ],
    },
  }),
};

/* The kind's tool with a sample task and a fresh result (what annotators see). */
function Preview({ kind, config }: { kind: Kind; config: Record<string, unknown> }) {
  const [mod, setMod] = useState<{ Tool: ComponentType<ToolProps>; emptyResult: (c: Record<string, unknown>) => Record<string, unknown> } | null>(null);
  const [result, setResult] = useState<Record<string, unknown> | null>(null);
  const json = JSON.stringify(config);
  useEffect(() => {
    let alive = true;
    setMod(null);
    tools[kind]().then((m) => alive && setMod(() => m));
    return () => { alive = false; };
  }, [kind]);
  useEffect(() => {
    if (mod) setResult(mod.emptyResult(config));
  }, [mod, json]);
  const task = SAMPLE_TASKS[kind]();
  if (!mod || !result) return <p class="muted">{t('cfg.previewLoading')}</p>;
  const Tool = mod.Tool;
  return (
    <div class="cfg-preview-body" key={`${kind}:${json}`}>
      <Tool task={task} config={config} result={result} onChange={setResult} />
    </div>
  );
}

interface Props {
  state: EditorState;
  onChange(s: EditorState): void;
  /* Server errors by path inside config ("labels[0].name"), "" for the config as a whole. */
  errors: Record<string, string>;
}

export function ConfigEditor({ state: s, onChange, errors }: Props) {
  const set = (patch: Partial<EditorState>) => onChange({ ...s, ...patch });
  const config = buildConfig(s);
  const err = (p: string) => {
    const keys = Object.keys(errors).filter((k) => k === p || k.startsWith(p + '.') || k.startsWith(p + '['));
    return keys.length ? (
      <span class="field-error" data-testid={`cfg-err-${p}`} role="alert">
        {keys.map((k) => errors[k]).join('; ')}
      </span>
    ) : null;
  };
  const setLabel = (i: number, patch: Partial<ImgLabel>) =>
    set({ labels: s.labels.map((l, j) => (j === i ? { ...l, ...patch } : l)) });
  const setCrit = (i: number, patch: Partial<Criterion>) =>
    set({ criteria: s.criteria.map((l, j) => (j === i ? { ...l, ...patch } : l)) });
  const shown = new Set(['tools', 'labels', 'classes', 'spans', 'relations', 'mode', 'criteria', 'require_reason']);
  const other = Object.keys(errors).filter((k) => !shown.has(k.split(/[.[]/)[0]));

  return (
    <div class="cfg" data-testid="config-editor">
      <div class="cfg-form">
        <label class="cfg-row">
          {t('cfg.kind')}
          <select data-testid="cfg-kind" value={s.kind} onChange={(e) => set({ kind: (e.target as HTMLSelectElement).value as Kind })}>
            {KINDS.map((k) => (
              <option key={k} value={k}>{t(`cfg.kind.${k}` as any)}</option>
            ))}
          </select>
        </label>

        {s.kind === 'image' && (
          <>
            <fieldset>
              <legend>{t('cfg.tools')}</legend>
              {IMAGE_TOOLS.map((x) => (
                <label key={x} class="check">
                  <input type="checkbox" data-testid={`cfg-tool-${x}`} checked={s.tools.includes(x)}
                    onChange={(e) => set({ tools: (e.target as HTMLInputElement).checked ? [...s.tools, x] : s.tools.filter((y) => y !== x) })} />
                  {t(`img.tool.${x}` as any)}
                </label>
              ))}
              {err('tools')}
            </fieldset>
            <fieldset>
              <legend>{t('cfg.labels')}</legend>
              {s.labels.map((l, i) => (
                <div class="cfg-label" key={i} data-testid="cfg-label">
                  <div class="cfg-inline">
                    <input class="name" placeholder={t('cfg.labelName')} aria-label={t('cfg.labelName')} data-testid="cfg-label-name"
                      value={l.name} onInput={(e) => setLabel(i, { name: (e.target as HTMLInputElement).value })} />
                    <input type="color" aria-label={t('cfg.color')} data-testid="cfg-label-color" value={l.color}
                      onInput={(e) => setLabel(i, { color: (e.target as HTMLInputElement).value })} />
                    <input class="hotkey" maxLength={1} placeholder={t('cfg.hotkey')} aria-label={t('cfg.hotkey')} data-testid="cfg-label-hotkey"
                      value={l.hotkey} onInput={(e) => setLabel(i, { hotkey: (e.target as HTMLInputElement).value })} />
                    <button type="button" class="link" onClick={() => set({ labels: s.labels.filter((_, j) => j !== i) })}>
                      {t('cfg.remove')}
                    </button>
                  </div>
                  {s.tools.includes('keypoints') && (
                    <input placeholder={t('cfg.keypoints')} aria-label={t('cfg.keypoints')} value={l.keypoints}
                      onInput={(e) => setLabel(i, { keypoints: (e.target as HTMLInputElement).value })} />
                  )}
                  {l.attrs.map((a, k) => (
                    <div class="cfg-inline attr" key={k}>
                      <input placeholder={t('cfg.attrName')} aria-label={t('cfg.attrName')} value={a.name}
                        onInput={(e) => setLabel(i, { attrs: l.attrs.map((x, m) => (m === k ? { ...x, name: (e.target as HTMLInputElement).value } : x)) })} />
                      <select value={a.type} aria-label={t('cfg.attrType')}
                        onChange={(e) => setLabel(i, { attrs: l.attrs.map((x, m) => (m === k ? { ...x, type: (e.target as HTMLSelectElement).value } : x)) })}>
                        {ATTR_TYPES.map((ty) => <option key={ty} value={ty}>{ty}</option>)}
                      </select>
                      <button type="button" class="link" onClick={() => setLabel(i, { attrs: l.attrs.filter((_, m) => m !== k) })}>
                        {t('cfg.remove')}
                      </button>
                    </div>
                  ))}
                  <button type="button" class="link" onClick={() => setLabel(i, { attrs: [...l.attrs, { name: '', type: 'text' }] })}>
                    {t('cfg.addAttr')}
                  </button>
                  {err(`labels[${i}]`)}
                </div>
              ))}
              <button type="button" data-testid="cfg-add-label"
                onClick={() => set({ labels: [...s.labels, { name: '', color: PALETTE[s.labels.length % PALETTE.length], hotkey: '', keypoints: '', attrs: [] }] })}>
                {t('cfg.addLabel')}
              </button>
              {Object.keys(errors).includes('labels') && err('labels')}
            </fieldset>
            <fieldset>
              <legend>{t('cfg.classes')}</legend>
              <input data-testid="cfg-img-classes" placeholder={t('cfg.choices')} aria-label={t('cfg.choices')} value={s.imgClasses}
                onInput={(e) => set({ imgClasses: (e.target as HTMLInputElement).value })} />
              <label class="check">
                <input type="checkbox" checked={s.imgMultiple} onChange={(e) => set({ imgMultiple: (e.target as HTMLInputElement).checked })} />
                {t('cfg.multiple')}
              </label>
              {err('classes')}
            </fieldset>
          </>
        )}

        {s.kind === 'text' && (
          <>
            <fieldset>
              <legend>{t('cfg.classes')}</legend>
              <input data-testid="cfg-txt-classes" placeholder={t('cfg.choices')} aria-label={t('cfg.choices')} value={s.txtClasses}
                onInput={(e) => set({ txtClasses: (e.target as HTMLInputElement).value })} />
              <label class="check">
                <input type="checkbox" checked={s.txtMultiple} onChange={(e) => set({ txtMultiple: (e.target as HTMLInputElement).checked })} />
                {t('cfg.multiple')}
              </label>
              {err('classes')}
            </fieldset>
            <fieldset>
              <legend>{t('cfg.spans')}</legend>
              <input data-testid="cfg-spans" placeholder={t('cfg.choices')} aria-label={t('cfg.spans')} value={s.spans}
                onInput={(e) => set({ spans: (e.target as HTMLInputElement).value })} />
              <label class="check">
                <input type="checkbox" checked={s.spanOverlap} onChange={(e) => set({ spanOverlap: (e.target as HTMLInputElement).checked })} />
                {t('cfg.overlapAllowed')}
              </label>
              {err('spans')}
            </fieldset>
            <fieldset>
              <legend>{t('cfg.relations')}</legend>
              <input data-testid="cfg-relations" placeholder={t('cfg.choices')} aria-label={t('cfg.relations')} value={s.relations}
                onInput={(e) => set({ relations: (e.target as HTMLInputElement).value })} />
              {err('relations')}
            </fieldset>
          </>
        )}

        {s.kind === 'llm' && (
          <>
            <label class="cfg-row">
              {t('cfg.mode')}
              <select data-testid="cfg-mode" value={s.mode} onChange={(e) => set({ mode: (e.target as HTMLSelectElement).value })}>
                {LLM_MODES.map((m) => <option key={m} value={m}>{m}</option>)}
              </select>
              {err('mode')}
            </label>
            {s.mode === 'rubric' && (
              <fieldset>
                <legend>{t('cfg.criteria')}</legend>
                {s.criteria.map((k, i) => (
                  <div class="cfg-inline" key={i}>
                    <input class="name" placeholder={t('cfg.labelName')} aria-label={t('cfg.labelName')} value={k.name}
                      onInput={(e) => setCrit(i, { name: (e.target as HTMLInputElement).value })} />
                    <input type="number" class="num" aria-label="min" value={k.min}
                      onInput={(e) => setCrit(i, { min: Number((e.target as HTMLInputElement).value) })} />
                    <input type="number" class="num" aria-label="max" value={k.max}
                      onInput={(e) => setCrit(i, { max: Number((e.target as HTMLInputElement).value) })} />
                    <button type="button" class="link" onClick={() => set({ criteria: s.criteria.filter((_, j) => j !== i) })}>
                      {t('cfg.remove')}
                    </button>
                  </div>
                ))}
                <button type="button" onClick={() => set({ criteria: [...s.criteria, { name: '', min: 1, max: 5 }] })}>
                  {t('cfg.addCriterion')}
                </button>
                {err('criteria')}
              </fieldset>
            )}
            {s.mode === 'pairwise' && (
              <label class="check">
                <input type="checkbox" checked={s.requireReason} onChange={(e) => set({ requireReason: (e.target as HTMLInputElement).checked })} />
                {t('cfg.requireReason')}
              </label>
            )}
          </>
        )}
        {other.length > 0 && (
          <p class="field-error" role="alert" data-testid="cfg-err-other">
            {other.map((k) => (k ? `${k}: ${errors[k]}` : errors[k])).join('; ')}
          </p>
        )}
        <details class="cfg-json">
          <summary>{t('cfg.json')}</summary>
          <pre data-testid="cfg-json">{JSON.stringify(config, null, 2)}</pre>
        </details>
      </div>
      <div class="cfg-preview" data-testid="cfg-preview">
        <h2>{t('cfg.preview')}</h2>
        <Preview kind={s.kind} config={config} />
      </div>
    </div>
  );
}
