// A shot's stored versions (GET /api/v1/tasks/{id}/shots/{shot}/history):
// machine drafts and annotations (human, review edits, sync re-anchoring),
// oldest first, each with the fields that changed from the version before
// it highlighted (old → new), and "restore this version's fields", which
// the card applies as one undoable edit (the id and the source range stay).
// A shot never stored (inserted in this browser, not submitted) answers 404:
// "not saved yet". Text is rendered as text nodes only.
import { useEffect, useState } from 'preact/hooks';
import { errorText } from '../../errors';
import { t, type MessageKey } from '../../i18n';
import * as sbApi from './api';
import type { ShotVersion } from './api';
import { changedFields, normalShot, sameContent, type Shot } from './model';

const LABELS: Record<string, MessageKey> = {
  size: 'sb.size',
  angle: 'sb.angle',
  move: 'sb.move',
  transition: 'sb.transition',
  duration: 'sb.duration',
  picture: 'sb.picture',
  characters: 'sb.characters',
  dialogue: 'sb.dialogue',
  sound: 'sb.sound',
  notes: 'sb.notes',
  source: 'sb.range',
  custom: 'sbh.field.custom',
  image_prompt: 'sbm.imagePrompt',
  video_prompt: 'sbm.videoPrompt',
};

export const fieldLabel = (k: string) => (LABELS[k] ? t(LABELS[k]) : k);

const SOURCES = ['prediction', 'human', 'review', 'sync'];
export const sourceLabel = (s: string) => (SOURCES.includes(s) ? t(`sbh.source.${s}` as MessageKey) : s);

/* Local time, MM-DD HH:MM:SS. */
export function when(at: string): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return at;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const cut = (s: string, n = 32) => (Array.from(s).length > n ? `${Array.from(s).slice(0, n).join('')}…` : s);

/* A field's value in a few words. */
function show(k: string, s: Shot, nameOf: (id: string) => string): string {
  const v = s[k];
  let out: string;
  if (['size', 'angle', 'move', 'transition'].includes(k) && typeof v === 'string' && v)
    out = t(`sb.${k}.${v}` as MessageKey) ?? v;
  else if (k === 'duration') out = `${v}s`;
  else if (k === 'characters') out = s.characters.map(nameOf).join('、');
  else if (k === 'dialogue')
    out = s.dialogue.map((l) => (l.speaker ? `${nameOf(l.speaker)}：${l.text}` : l.text)).join(' / ');
  else if (k === 'source') out = `[${s.source.start}, ${s.source.end})`;
  else if (typeof v === 'string') out = v;
  else if (v && typeof v === 'object' && !Array.isArray(v))
    out = Object.entries(v)
      .map(([a, b]) => `${a}=${typeof b === 'string' ? b : JSON.stringify(b)}`)
      .join('，');
  else out = v === undefined ? '' : JSON.stringify(v);
  return out ? cut(out) : t('sbh.empty');
}

interface Props {
  task: number;
  shot: Shot;
  nameOf(id: string): string;
  onRestore(version: Shot, source: string, time: string): void;
  onClose(): void;
}

export function ShotHistory({ task, shot, nameOf, onRestore, onClose }: Props) {
  const [versions, setVersions] = useState<ShotVersion[] | null | undefined>(undefined); /* undefined: loading; null: never saved */
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let live = true;
    setError('');
    setVersions(undefined);
    sbApi
      .shotHistory(task, shot.id)
      .then((v) => live && setVersions(v))
      .catch((e) => {
        if (!live) return;
        setError(errorText(e));
        setVersions([]);
      });
    return () => {
      live = false;
    };
  }, [task, shot.id, tick]);

  const now = normalShot(shot);
  const list = (versions ?? []).map((v) => ({ v, s: normalShot(v.shot) }));
  return (
    <div class="sb-hist" data-testid="sb-history">
      <div class="sb-hist-head">
        <b>{t('sbh.historyTitle')}</b>
        <span class="spacer" />
        <button type="button" onClick={() => setTick(tick + 1)}>
          {t('sbh.reload')}
        </button>
        <button type="button" onClick={onClose}>
          {t('sbh.close')}
        </button>
      </div>
      {versions === undefined && <p class="muted">{t('sbh.loading')}</p>}
      {versions === null && (
        <p class="muted" data-testid="sb-history-unsaved">
          {t('sbh.notSaved')}
        </p>
      )}
      {error && <p class="error">{t('sbh.error', { message: error })}</p>}
      {list.length > 0 && (
        <>
          <ol class="sb-hist-list">
            {list.map(({ v, s }, k) => {
              const prev = k > 0 ? list[k - 1].s : null;
              const changed = prev ? changedFields(prev, s) : [];
              const label = sourceLabel(v.source);
              const current = sameContent(now, s);
              return (
                <li key={k} data-source={v.source} data-version={k} class={current ? 'sb-hist-now' : undefined}>
                  <div class="sb-hist-meta">
                    <span class="sb-hist-time">{when(v.at)}</span>
                    <span class={`sb-hist-src sb-hist-${v.source}`}>{label}</span>
                    {v.source === 'prediction' ? (
                      v.model && <span class="muted">{t('sbh.model', { model: v.model })}</span>
                    ) : (
                      <span class="muted">
                        {v.version !== undefined && t('sbh.version', { n: v.version })}
                        {v.user !== undefined && ` · ${t('sbh.user', { id: v.user })}`}
                      </span>
                    )}
                    {current && <span class="sb-hist-cur">{t('sbh.current')}</span>}
                    <span class="spacer" />
                    {!current && (
                      <button type="button" data-testid="sb-restore" onClick={() => onRestore(s, label, when(v.at))}>
                        {t('sbh.restore')}
                      </button>
                    )}
                  </div>
                  <div class="sb-hist-changes">
                    {!prev ? (
                      <span class="muted">
                        {t('sbh.first')} · {fieldLabel('picture')}：{show('picture', s, nameOf)}
                      </span>
                    ) : changed.length === 0 ? (
                      <span class="muted">{t('sbh.noChange')}</span>
                    ) : (
                      changed.map((f) => (
                        <span key={f} class="sb-hist-f" data-field={f}>
                          <mark>{fieldLabel(f)}</mark> <del>{show(f, prev, nameOf)}</del> → <ins>{show(f, s, nameOf)}</ins>
                        </span>
                      ))
                    )}
                  </div>
                </li>
              );
            })}
          </ol>
          <p class="hint muted">{t('sbh.restoreHint')}</p>
        </>
      )}
    </div>
  );
}
