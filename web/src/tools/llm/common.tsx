// Pieces shared by the llm tool's modes.
import { useEffect, useRef } from 'preact/hooks';
import { t } from '../../i18n';
import type { ToolProps } from '../types';
import type { LlmConfig } from './model';

export interface ModeProps extends ToolProps {
  cfg: LlmConfig;
}

/* Keys go to the tool unless the user is typing or holds Ctrl/⌘. */
export function toolKey(ev: KeyboardEvent): boolean {
  if (ev.ctrlKey || ev.metaKey || ev.isComposing) return false;
  const el = ev.target as HTMLElement | null;
  if (!el) return true;
  return !(el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

/*
 * Run `handler` for keydown on the window while mounted. The listener reads
 * the handler of the latest render from a ref: an effect would re-bind it
 * only after paint, and keys pressed quickly would meet a stale state.
 */
export function useKeys(handler: (ev: KeyboardEvent) => void) {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    function onKey(ev: KeyboardEvent) {
      if (toolKey(ev)) ref.current(ev);
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

/* A copy of `r` with `key` set, or removed when `value` is undefined or ''. */
export function withField(r: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const next = { ...r };
  if (value === undefined || value === '') delete next[key];
  else next[key] = value;
  return next;
}

/* Text as text: white-space pre-wrap in the CSS keeps spaces and newlines. */
export function Text({ text, testid }: { text: string; testid?: string }) {
  return (
    <div class="llm-text" data-testid={testid}>
      {text === '' ? <span class="muted">{t('llm.emptyText')}</span> : text}
    </div>
  );
}

