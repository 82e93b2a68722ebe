import { useState } from 'preact/hooks';
import { ApiError, NetworkError, login } from '../api';
import { t } from '../i18n';

function loginError(e: unknown): string {
  if (e instanceof NetworkError) return t('login.unreachable');
  if (e instanceof ApiError) {
    if (e.status === 401) return t('login.wrong');
    if (e.status === 429) return t('login.locked', { minutes: Math.max(1, Math.ceil((e.retryAfter ?? 900) / 60)) });
    if (e.status >= 502 || e.status === 0) return t('login.unreachable');
    return t('login.failed', { message: e.message });
  }
  return t('login.failed', { message: String(e) });
}

/* The login form; also shown in place (a dialog) when a session expires. */
export function LoginForm({ expired, fixedLogin }: { expired?: boolean; fixedLogin?: string }) {
  const [name, setName] = useState(fixedLogin ?? '');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function onSubmit(ev: Event) {
    ev.preventDefault();
    if (!name || !password) {
      setError(t('login.missing'));
      return;
    }
    setBusy(true);
    setError('');
    try {
      await login(name, password);
    } catch (e) {
      setError(loginError(e));
      setBusy(false);
    }
  }

  return (
    <form class="login" onSubmit={onSubmit} data-testid="login-form">
      <h1>{t('login.title')}</h1>
      {expired && <p class="note">{t('login.expired')}</p>}
      <label>
        {t('login.login')}
        <input
          name="login"
          autocomplete="username"
          value={name}
          readOnly={!!fixedLogin}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
      </label>
      <label>
        {t('login.password')}
        <input
          name="password"
          type="password"
          autocomplete="current-password"
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
        />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="primary" disabled={busy}>
        {busy ? t('login.busy') : t('login.submit')}
      </button>
    </form>
  );
}
