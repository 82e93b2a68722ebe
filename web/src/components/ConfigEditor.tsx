// The label config editor (new project): a form per kind (image / text /
// llm / storyboard), a live preview of the kind's tool with a sample task,
// and the JSON the server gets. Server errors (path inside "config") show at
// their field. A storyboard config (docs/storyboard.md) may be `{}`: every
// field left empty is the server's default.
import { useEffect, useState } from 'preact/hooks';
import type { ComponentType } from 'preact';
import { t, type MessageKey } from '../i18n';
import { tools, type ToolProps } from '../tools/types';
import './ConfigEditor.css';

export type Kind = 'image' | 'text' | 'llm' | 'storyboard';
export const KINDS: Kind[] = ['image', 'text', 'llm', 'storyboard'];
const IMAGE_TOOLS = ['box', 'polygon', 'polyline', 'keypoints'] as const;
const LLM_MODES = ['sft', 'pairwise', 'ranking', 'rubric'] as const;
const ATTR_TYPES = ['text', 'number', 'boolean', 'select'] as const;
const PALETTE = ['#e53935', '#1e88e5', '#43a047', '#fb8c00', '#8e24aa', '#00897b', '#d81b60', '#6d4c41'];

/* rest: the keys of a stored config the form does not edit (skeleton, options ...), kept as they are */
interface Attr { name: string; type: string; rest?: Record<string, unknown> }
interface ImgLabel { name: string; color: string; hotkey: string; keypoints: string; attrs: Attr[]; rest?: Record<string, unknown> }
interface Criterion { name: string; min: number; max: number }
/* a storyboard custom field; options comma separated (choice only) */
interface SbField { name: string; label: string; type: string; options: string; rest?: Record<string, unknown> }
const SB_FIELD_TYPES = ['text', 'number', 'choice'] as const;
/* the server's defaults (src/schema/schema_storyboard.h), shown as placeholders */
const SB_DEFAULTS = { target: 150, rate: 4, action: 3, timeout: 60 };
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

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
  /* storyboard: numbers as typed ('' = the default) */
  sbTarget: string;
  sbSpeech: string;
  sbAction: string;
  sbFields: SbField[];
  sbDrafter: string; /* rules | llm */
  sbBaseUrl: string;
  sbModel: string;
  sbKeyEnv: string;
  sbTimeout: string;
  /* the stored config named a drafter (kept as {"kind":"rules"} rather than dropped) */
  sbDrafterSet?: boolean;
  sbDrafterRest?: Record<string, unknown>;
  /* the stored config (project settings): buildConfig() keeps its key order */
  orig?: Record<string, unknown>;
  /* top-level keys of a stored config the form does not edit, kept as they are */
  rest?: Record<string, unknown>;
}

export function initialState(kind: Kind = 'image'): EditorState {
  return {
    kind, tools: ['box'], labels: [], imgClasses: '', imgMultiple: false,
    txtClasses: '', txtMultiple: false, spans: '', spanOverlap: false, relations: '',
    mode: 'pairwise', criteria: [{ name: 'helpful', min: 1, max: 5 }], requireReason: false,
    sbTarget: '', sbSpeech: '', sbAction: '', sbFields: [], sbDrafter: 'rules',
    sbBaseUrl: '', sbModel: '', sbKeyEnv: '', sbTimeout: '',
  };
}

const list = (s: string) => s.split(/[,，\n]/).map((x) => x.trim()).filter(Boolean);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
function without(o: Obj, keys: string[]): Obj | undefined {
  const r: Obj = {};
  for (const [k, v] of Object.entries(o)) if (!keys.includes(k)) r[k] = v;
  return Object.keys(r).length ? r : undefined;
}
const MANAGED: Record<Kind, string[]> = {
  image: ['tools', 'labels', 'classes'],
  text: ['classes', 'spans', 'relations'],
  llm: ['mode', 'criteria', 'require_reason'],
  storyboard: ['target_minutes', 'speech_rate', 'action_seconds', 'custom_fields', 'drafter'],
};
const numStr = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : '');
const str = (v: unknown) => (typeof v === 'string' ? v : '');
/* a typed number, or the text as typed (the server names what is wrong with it) */
const numOrText = (x: string): number | string => (x.trim() !== '' && Number.isFinite(Number(x)) ? Number(x) : x.trim());

/* v with its object keys in tpl's order (keys tpl lacks last), so an unchanged form gives back the same JSON */
function like(v: unknown, tpl: unknown): unknown {
  if (Array.isArray(v)) return Array.isArray(tpl) ? v.map((x, i) => like(x, tpl[i])) : v;
  if (!isObj(v) || !isObj(tpl)) return v;
  const r: Obj = {};
  for (const k of Object.keys(tpl)) if (k in v) r[k] = like(v[k], tpl[k]);
  for (const k of Object.keys(v)) if (!(k in r)) r[k] = v[k];
  return r;
}

/* The editor's state for a stored config of `kind` (project settings); buildConfig() gives it back. */
export function stateFromConfig(kind: Kind, config: Obj): EditorState {
  const s = initialState(kind);
  s.rest = without(config, MANAGED[kind]);
  const classes = isObj(config.classes) ? config.classes : null;
  if (kind === 'image') {
    s.tools = strs(config.tools);
    s.labels = (Array.isArray(config.labels) ? config.labels : []).filter(isObj).map((l) => ({
      name: typeof l.name === 'string' ? l.name : '',
      color: typeof l.color === 'string' ? l.color : '',
      hotkey: typeof l.hotkey === 'string' ? l.hotkey : '',
      keypoints: strs(l.keypoints).join(', '),
      attrs: (Array.isArray(l.attributes) ? l.attributes : []).filter(isObj).map((a) => ({
        name: typeof a.name === 'string' ? a.name : '',
        type: typeof a.type === 'string' ? a.type : 'text',
        rest: without(a, ['name', 'type']),
      })),
      rest: without(l, ['name', 'color', 'hotkey', 'keypoints', 'attributes']),
    }));
    if (classes) {
      s.imgClasses = strs(classes.choices).join(', ');
      s.imgMultiple = classes.multiple === true;
    }
  } else if (kind === 'text') {
    if (classes) {
      s.txtClasses = strs(classes.choices).join(', ');
      s.txtMultiple = classes.multiple === true;
    }
    if (isObj(config.spans)) {
      s.spans = strs(config.spans.labels).join(', ');
      s.spanOverlap = config.spans.overlap === true;
    }
    if (isObj(config.relations)) s.relations = strs(config.relations.labels).join(', ');
  } else if (kind === 'storyboard') {
    s.orig = config;
    s.sbTarget = numStr(config.target_minutes);
    s.sbSpeech = numStr(config.speech_rate);
    s.sbAction = numStr(config.action_seconds);
    s.sbFields = (Array.isArray(config.custom_fields) ? config.custom_fields : []).filter(isObj).map((f) => ({
      name: str(f.name),
      label: str(f.label),
      type: str(f.type) || 'text',
      options: strs(f.options).join(', '),
      rest: without(f, ['name', 'label', 'type', 'options']),
    }));
    if (isObj(config.drafter)) {
      const d = config.drafter;
      s.sbDrafterSet = true;
      s.sbDrafter = d.kind === 'llm' ? 'llm' : 'rules';
      s.sbBaseUrl = str(d.base_url);
      s.sbModel = str(d.model);
      s.sbKeyEnv = str(d.api_key_env);
      s.sbTimeout = numStr(d.timeout_seconds);
      s.sbDrafterRest = without(d, ['kind', 'base_url', 'model', 'api_key_env', 'timeout_seconds']);
    }
  } else {
    if (typeof config.mode === 'string') s.mode = config.mode;
    if (Array.isArray(config.criteria))
      s.criteria = config.criteria.filter(isObj).map((k) => ({
        name: typeof k.name === 'string' ? k.name : '',
        min: typeof k.min === 'number' ? k.min : 1,
        max: typeof k.max === 'number' ? k.max : 5,
      }));
    s.requireReason = config.require_reason === true;
  }
  return s;
}

/* The config the server gets for the state's kind. */
export function buildConfig(s: EditorState): Record<string, unknown> {
  if (s.kind === 'image') {
    const c: Record<string, unknown> = {
      ...s.rest,
      tools: IMAGE_TOOLS.filter((x) => s.tools.includes(x)),
      labels: s.labels.map((l) => {
        const o: Record<string, unknown> = { ...l.rest, name: l.name.trim() };
        if (l.color) o.color = l.color;
        if (l.hotkey.trim()) o.hotkey = l.hotkey.trim();
        if (s.tools.includes('keypoints') && list(l.keypoints).length) o.keypoints = list(l.keypoints);
        const attrs = l.attrs.filter((a) => a.name.trim());
        if (attrs.length) o.attributes = attrs.map((a) => ({ ...a.rest, name: a.name.trim(), type: a.type }));
        return o;
      }),
    };
    if (list(s.imgClasses).length) c.classes = { choices: list(s.imgClasses), multiple: s.imgMultiple };
    return c;
  }
  if (s.kind === 'text') {
    const c: Record<string, unknown> = { ...s.rest };
    if (list(s.txtClasses).length) c.classes = { choices: list(s.txtClasses), multiple: s.txtMultiple };
    if (list(s.spans).length) c.spans = { labels: list(s.spans), overlap: s.spanOverlap };
    if (list(s.relations).length) c.relations = { labels: list(s.relations) };
    return c;
  }
  if (s.kind === 'storyboard') {
    const c: Record<string, unknown> = {};
    if (s.sbTarget.trim()) c.target_minutes = numOrText(s.sbTarget);
    if (s.sbSpeech.trim()) c.speech_rate = numOrText(s.sbSpeech);
    if (s.sbAction.trim()) c.action_seconds = numOrText(s.sbAction);
    if (s.sbFields.length)
      c.custom_fields = s.sbFields.map((f) => {
        const o: Record<string, unknown> = { name: f.name.trim() };
        if (f.label.trim()) o.label = f.label.trim();
        o.type = f.type;
        if (f.type === 'choice') o.options = list(f.options);
        return { ...o, ...f.rest };
      });
    if (s.sbDrafter === 'llm') {
      const d: Record<string, unknown> = { kind: 'llm', base_url: s.sbBaseUrl.trim(), model: s.sbModel.trim() };
      if (s.sbKeyEnv.trim()) d.api_key_env = s.sbKeyEnv.trim();
      if (s.sbTimeout.trim()) d.timeout_seconds = numOrText(s.sbTimeout);
      c.drafter = { ...d, ...s.sbDrafterRest };
    } else if (s.sbDrafterSet) c.drafter = { kind: 'rules' };
    const out = { ...c, ...s.rest };
    return s.orig ? (like(out, s.orig) as Record<string, unknown>) : out;
  }
  const c: Record<string, unknown> = { ...s.rest, mode: s.mode };
  if (s.mode === 'rubric') c.criteria = s.criteria.map((k) => ({ name: k.name.trim(), min: k.min, max: k.max }));
  if (s.mode === 'pairwise') c.require_reason = s.requireReason;
  return c;
}

/* The storyboard preview's scene and its shots (what the rules drafter would give, roughly). */
const SB_SAMPLE = '夜色沉沉，长街上只剩一盏灯笼在风中摇晃。\n林冲按刀立在檐下，低声喝道：“来者何人？”\n'
  + '黑影里走出一个少年，拱手笑道：“林教头莫怪，小人奉命前来送信。”';
/* code-point offset of `s` in the sample */
const sbAt = (s: string) => Array.from(SB_SAMPLE.slice(0, SB_SAMPLE.indexOf(s))).length;

/* The effective storyboard settings of a config (defaults for what is missing or out of range). */
function sbSettings(config: Record<string, unknown>) {
  const pick = (v: unknown, lo: number, hi: number, def: number) =>
    typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi ? v : def;
  return {
    target: pick(config.target_minutes, 1, 100000, SB_DEFAULTS.target),
    rate: pick(config.speech_rate, 1, 20, SB_DEFAULTS.rate),
    action: pick(config.action_seconds, 0.5, 60, SB_DEFAULTS.action),
  };
}

/* Three sample shots, their durations from the config's speech rate and action seconds (docs/storyboard.md, drafter step 8). */
function sbSampleResult(config: Record<string, unknown>): Record<string, unknown> {
  const { rate, action } = sbSettings(config);
  const round = (x: number) => Math.min(600, Math.max(1.5, Math.round(x * 2) / 2));
  const speech = (text: string) => round(Array.from(text).length / rate);
  const act = (from: string, to: string) => round(Math.max(action, (sbAt(to) - sbAt(from)) / 8));
  const end = Array.from(SB_SAMPLE).length;
  const line1 = '来者何人？';
  const line2 = '林教头莫怪，小人奉命前来送信。';
  const base = { characters: [], sound: '', notes: '', custom: {} };
  return {
    shots: [
      { ...base, id: 'sample-1', size: 'long', angle: 'eye', move: 'static', transition: 'fade', picture: '夜晚长街，灯笼在风中摇晃',
        dialogue: [], sound: '风声', duration: act('夜色', '林冲'), source: { start: 0, end: sbAt('林冲') } },
      { ...base, id: 'sample-2', size: 'close', angle: 'low', move: 'push', transition: 'cut', picture: '林冲按刀立在檐下',
        dialogue: [{ speaker: null, kind: 'dialogue', text: line1 }], duration: speech(line1),
        source: { start: sbAt('林冲'), end: sbAt('黑影') } },
      { ...base, id: 'sample-3', size: 'medium', angle: 'eye', move: 'track', transition: 'cut', picture: '少年从黑影中走出，拱手而笑',
        dialogue: [{ speaker: null, kind: 'dialogue', text: line2 }], duration: speech(line2),
        source: { start: sbAt('黑影'), end } },
    ],
  };
}

/* A sample's first result: sample shots for a storyboard, else the tool's fresh result. */
const SAMPLE_RESULTS: Partial<Record<Kind, (config: Record<string, unknown>) => Record<string, unknown>>> = {
  storyboard: sbSampleResult,
};

/* id 0 and project 0: a tool makes no server calls for a sample task */
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
  storyboard: () => ({
    id: 0, project: 0, key: 'sample',
    data: { novel: 0, chapter: { index: 1, title: '第一章 夜访', volume: null }, scene: 1, text: SB_SAMPLE },
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
    if (mod) setResult((SAMPLE_RESULTS[kind] ?? mod.emptyResult)(config));
  }, [mod, json]);
  const task = SAMPLE_TASKS[kind]();
  if (!mod || !result) return <p class="muted">{t('cfg.previewLoading')}</p>;
  const Tool = mod.Tool;
  const sb = kind === 'storyboard' ? sbSettings(config) : null;
  return (
    <div class="cfg-preview-body" key={`${kind}:${json}`}>
      {sb && (
        <p class="muted cfg-preview-note" data-testid="cfg-sb-note">
          {t('cfg.sb.previewNote', { target: sb.target, rate: sb.rate, action: sb.action })}
        </p>
      )}
      <Tool task={task} config={config} result={result} onChange={setResult} />
    </div>
  );
}

interface Props {
  state: EditorState;
  onChange(s: EditorState): void;
  /* Server errors by path inside config ("labels[0].name"), "" for the config as a whole. */
  errors: Record<string, string>;
  /* project settings: the kind is shown but cannot change */
  fixedKind?: boolean;
}

export function ConfigEditor({ state: s, onChange, errors, fixedKind }: Props) {
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
  const setField = (i: number, patch: Partial<SbField>) =>
    set({ sbFields: s.sbFields.map((f, j) => (j === i ? { ...f, ...patch } : f)) });
  const shown = new Set(['tools', 'labels', 'classes', 'spans', 'relations', 'mode', 'criteria', 'require_reason', ...MANAGED.storyboard]);
  const keyEnvBad = s.sbKeyEnv.trim() !== '' && !ENV_NAME.test(s.sbKeyEnv.trim());
  const val = (e: Event) => (e.target as HTMLInputElement).value;
  const other = Object.keys(errors).filter((k) => !shown.has(k.split(/[.[]/)[0]));

  return (
    <div class="cfg" data-testid="config-editor">
      <div class="cfg-form">
        <label class="cfg-row">
          {t('cfg.kind')}
          <select data-testid="cfg-kind" value={s.kind} disabled={fixedKind} onChange={(e) => set({ kind: (e.target as HTMLSelectElement).value as Kind })}>
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
        {s.kind === 'storyboard' && (
          <>
            <fieldset data-testid="cfg-sb-timing">
              <legend>{t('cfg.sb.timing')}</legend>
              <label class="cfg-row">
                <span class="cfg-grow">{t('cfg.sb.target')}</span>
                <input type="number" class="num" min={1} max={100000} step="any" data-testid="cfg-sb-target"
                  placeholder={String(SB_DEFAULTS.target)} value={s.sbTarget} onInput={(e) => set({ sbTarget: val(e) })} />
              </label>
              {err('target_minutes')}
              <label class="cfg-row">
                <span class="cfg-grow">{t('cfg.sb.speechRate')}</span>
                <input type="number" class="num" min={1} max={20} step="any" data-testid="cfg-sb-speech"
                  placeholder={String(SB_DEFAULTS.rate)} value={s.sbSpeech} onInput={(e) => set({ sbSpeech: val(e) })} />
              </label>
              {err('speech_rate')}
              <label class="cfg-row">
                <span class="cfg-grow">{t('cfg.sb.actionSeconds')}</span>
                <input type="number" class="num" min={0.5} max={60} step="any" data-testid="cfg-sb-action"
                  placeholder={String(SB_DEFAULTS.action)} value={s.sbAction} onInput={(e) => set({ sbAction: val(e) })} />
              </label>
              {err('action_seconds')}
              <p class="muted hint">{t('cfg.sb.defaultsHint', { target: SB_DEFAULTS.target, rate: SB_DEFAULTS.rate, action: SB_DEFAULTS.action })}</p>
            </fieldset>
            <fieldset data-testid="cfg-sb-fields">
              <legend>{t('cfg.sb.fields')}</legend>
              {s.sbFields.map((f, i) => (
                <div class="cfg-label" key={i} data-testid="cfg-sb-field">
                  <div class="cfg-inline">
                    <input class="name" placeholder={t('cfg.sb.fieldName')} aria-label={t('cfg.sb.fieldName')} data-testid="cfg-sb-field-name"
                      value={f.name} onInput={(e) => setField(i, { name: val(e) })} />
                    <input class="name" placeholder={t('cfg.sb.fieldLabel')} aria-label={t('cfg.sb.fieldLabel')} data-testid="cfg-sb-field-label"
                      value={f.label} onInput={(e) => setField(i, { label: val(e) })} />
                    <select aria-label={t('cfg.sb.fieldType')} data-testid="cfg-sb-field-type" value={f.type}
                      onChange={(e) => setField(i, { type: (e.target as HTMLSelectElement).value })}>
                      {SB_FIELD_TYPES.map((ty) => <option key={ty} value={ty}>{t(`cfg.sb.type.${ty}` as MessageKey)}</option>)}
                    </select>
                    <button type="button" class="link" data-testid="cfg-sb-field-remove"
                      onClick={() => set({ sbFields: s.sbFields.filter((_, j) => j !== i) })}>
                      {t('cfg.remove')}
                    </button>
                  </div>
                  {f.type === 'choice' && (
                    <input placeholder={t('cfg.choices')} aria-label={t('cfg.choices')} data-testid="cfg-sb-field-options"
                      value={f.options} onInput={(e) => setField(i, { options: val(e) })} />
                  )}
                  {err(`custom_fields[${i}]`)}
                </div>
              ))}
              <button type="button" data-testid="cfg-sb-add-field"
                onClick={() => set({ sbFields: [...s.sbFields, { name: '', label: '', type: 'text', options: '' }] })}>
                {t('cfg.sb.addField')}
              </button>
              <p class="muted hint">{t('cfg.sb.fieldsHint')}</p>
              {Object.keys(errors).includes('custom_fields') && err('custom_fields')}
            </fieldset>
            <fieldset data-testid="cfg-sb-drafter">
              <legend>{t('cfg.sb.drafter')}</legend>
              {(['rules', 'llm'] as const).map((k) => (
                <label key={k} class="check">
                  <input type="radio" name="cfg-sb-drafter" value={k} data-testid={`cfg-sb-drafter-${k}`} checked={s.sbDrafter === k}
                    onChange={() => set({ sbDrafter: k })} />
                  {t(`cfg.sb.drafter.${k}` as MessageKey)}
                </label>
              ))}
              {s.sbDrafter === 'llm' && (
                <div class="cfg-llm">
                  <label class="cfg-col">
                    {t('cfg.sb.baseUrl')}
                    <input type="url" data-testid="cfg-sb-base-url" placeholder="https://api.example.com/v1" autocomplete="off"
                      spellcheck={false} value={s.sbBaseUrl} onInput={(e) => set({ sbBaseUrl: val(e) })} />
                  </label>
                  <label class="cfg-col">
                    {t('cfg.sb.model')}
                    <input data-testid="cfg-sb-model" placeholder="qwen2.5-72b-instruct" autocomplete="off" spellcheck={false}
                      value={s.sbModel} onInput={(e) => set({ sbModel: val(e) })} />
                  </label>
                  <label class="cfg-col">
                    {t('cfg.sb.keyEnv')}
                    <input data-testid="cfg-sb-key-env" placeholder="ANNOTD_LLM_KEY" autocomplete="off" spellcheck={false}
                      aria-invalid={keyEnvBad} value={s.sbKeyEnv} onInput={(e) => set({ sbKeyEnv: val(e) })} />
                  </label>
                  {keyEnvBad ? (
                    <span class="field-error" role="alert" data-testid="cfg-sb-key-env-bad">{t('cfg.sb.keyEnvBad')}</span>
                  ) : (
                    <p class="muted hint">{t('cfg.sb.keyEnvHint')}</p>
                  )}
                  <label class="cfg-row">
                    <span class="cfg-grow">{t('cfg.sb.timeout')}</span>
                    <input type="number" class="num" min={1} max={600} step={1} data-testid="cfg-sb-timeout"
                      placeholder={String(SB_DEFAULTS.timeout)} value={s.sbTimeout} onInput={(e) => set({ sbTimeout: val(e) })} />
                  </label>
                  <p class="note cfg-allow" data-testid="cfg-sb-allow">{t('cfg.sb.allowNote')}</p>
                </div>
              )}
              {err('drafter')}
            </fieldset>
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
