import { ApiError, NetworkError } from './api';
import { t } from './i18n';

/* A short human text for a failed call. */
export function errorText(e: unknown): string {
  if (e instanceof NetworkError) return t('err.unreachable');
  if (e instanceof ApiError) return e.message || t('err.generic', { status: e.status });
  return String(e);
}
