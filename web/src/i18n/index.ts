import { signal } from '../signal';
import { en } from './en';
import { zh, type Catalogue, type MessageKey } from './zh';

export type Lang = 'zh' | 'en';
const catalogues: Record<Lang, Catalogue> = { zh, en };
const STORAGE_KEY = 'annotd.lang';

function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === 'zh' || saved === 'en') return saved;
  } catch {
    /* storage disabled: the default */
  }
  return 'zh';
}

/* The current language; components re-render through useLang(). */
export const lang = signal<Lang>(initialLang());
document.documentElement.lang = lang.get() === 'zh' ? 'zh-CN' : 'en';

export function setLang(l: Lang): void {
  try {
    localStorage.setItem(STORAGE_KEY, l);
  } catch {
    /* not persisted */
  }
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
  lang.set(l);
}

/* The message `key` in the current language, {name} replaced from params. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const msg = catalogues[lang.get()][key] ?? zh[key];
  if (!params) return msg;
  return msg.replace(/\{(\w+)\}/g, (m, name: string) =>
    name in params ? String(params[name]) : m,
  );
}

export type { MessageKey };
