/**
 * @module Sign-in: user name and password, then the authenticator code when the role needs one; a user
 * still on a one-time password sets a new one before anything else.
 */
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type Me } from '../api/endpoints.ts';
import { ApiError } from '../api/client.ts';
import { changeLanguage, type Language } from '../i18n/index.ts';

function errorCode(err: unknown): string | undefined {
  return err instanceof ApiError && err.body && typeof err.body === 'object' ? String((err.body as { error?: unknown }).error ?? '') : undefined;
}

function LanguageSelect(): React.JSX.Element {
  const { t, i18n } = useTranslation();
  return (
    <label className="lang-inline">{t('nav.language')}
      <select value={i18n.language} onChange={(e) => changeLanguage(e.target.value as Language)}>
        <option value="zh-CN">中文</option>
        <option value="en">English</option>
      </select>
    </label>
  );
}

/** Shown while `mustChangePassword` is set: the server allows nothing else until it is done. */
export function ChangePasswordView({ onChanged }: { onChanged: () => void }): React.JSX.Element {
  const { t } = useTranslation();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault();
    if (next !== again) { setError(t('login.mismatch')); return; }
    try { await api.changePassword(current, next); onChanged(); } catch (err) { setError(err instanceof Error ? err.message : String(err)); }
  };
  return (
    <main className="login" id="main">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="pw-title">
        <h1 id="pw-title">{t('login.changePassword')}</h1>
        <p className="muted">{t('login.changePasswordHint')}</p>
        <label>{t('login.currentPassword')}<input name="current" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required /></label>
        <label>{t('login.newPassword')}<input name="new" type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required minLength={12} /></label>
        <label>{t('login.repeatPassword')}<input name="again" type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} required minLength={12} /></label>
        {error ? <p role="alert" className="error">{error}</p> : null}
        <button type="submit" className="primary">{t('login.save')}</button>
        <LanguageSelect />
      </form>
    </main>
  );
}

export function LoginView({ onSignedIn }: { onSignedIn: (me: Me) => void }): React.JSX.Element {
  const { t } = useTranslation();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  // The code field is always there (optional for roles without a second factor), so a TOTP role signs in
  // with one request instead of being refused first.
  const [needTotp, setNeedTotp] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api.login(username, password, totp.trim() || undefined);
      onSignedIn(answer.user);
    } catch (err) {
      const code = errorCode(err);
      if (code === 'totp_required' && !needTotp) { setNeedTotp(true); return; }
      setError(code === 'account_locked' ? t('login.locked') : t('login.failed', { message: err instanceof Error ? err.message : String(err) }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login" id="main">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">{t('app.title')}</h1>
        <p className="muted">{t('app.subtitle')}</p>
        <h2>{t('login.title')}</h2>
        <label>{t('login.username')}<input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus /></label>
        <label>{t('login.password')}<input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required /></label>
        <label>{t('login.totp')}
          <input name="totp" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} value={totp} onChange={(e) => setTotp(e.target.value)} required={needTotp} aria-describedby="totp-hint" aria-invalid={needTotp && !totp ? true : undefined} autoFocus={needTotp} />
          <small id="totp-hint" className={needTotp ? 'error' : 'muted'}>{needTotp ? t('login.totpNeeded') : t('login.totpHint')}</small>
        </label>
        {error ? <p role="alert" className="error">{error}</p> : null}
        <button type="submit" className="primary" disabled={busy}>{t('login.submit')}</button>
        <LanguageSelect />
      </form>
    </main>
  );
}
