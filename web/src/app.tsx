/**
 * @module The shell: who is signed in, the navigation their role allows, the language switch, and the
 * view for the current route.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ROLE_PERMISSIONS, type Permission, type Role } from '../../src/domain/roles.ts';
import { api, type Me } from './api/endpoints.ts';
import { ApiError } from './api/client.ts';
import { changeLanguage, type Language } from './i18n/index.ts';
import { href, navigate, useRoute } from './components/router.ts';
import { ChangePasswordView, LoginView } from './views/login.tsx';
import { loadBasemap } from './components/geo-data.ts';
import { forgetPurposes } from './components/purpose.ts';
import { DashboardView } from './views/dashboard.tsx';
import { CasesView } from './views/cases.tsx';
import { CaseWorkspace } from './views/case-workspace.tsx';
import { InboxView } from './views/inbox.tsx';
import { PersonView } from './views/person.tsx';
import { PeopleView } from './views/people.tsx';
import { DataView } from './views/data.tsx';
import { AdminView } from './views/admin.tsx';

interface Session { me: Me; can: (p: Permission) => boolean; logout: () => void }

/** Set in localStorage while this browser has a session (no secret: the session is the HttpOnly cookie). */
const SIGNED_IN = 'cordon.signedIn';

const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in view');
  return s;
}

function permissionsOf(role: string): readonly Permission[] {
  return (ROLE_PERMISSIONS as Record<string, readonly Permission[] | undefined>)[role] ?? [];
}

/** The view a role lands on after signing in. */
export function homeOf(role: string): string {
  const perms = permissionsOf(role);
  if (role === 'analyst') return 'cases';
  if (perms.includes('dashboard:read') && (role === 'commander')) return 'dashboard';
  if (perms.includes('command:act')) return 'inbox';
  if (perms.includes('users:admin') || perms.includes('audit:read')) return 'admin';
  return 'dashboard';
}

export function App(): React.JSX.Element {
  const { t, i18n } = useTranslation();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const route = useRoute();

  useEffect(() => {
    // Ask the server only when this browser signed in before: a fresh visitor goes straight to the
    // sign-in form instead of provoking a 401 (the session cookie itself is HttpOnly and invisible here).
    if (!localStorage.getItem(SIGNED_IN)) { setMe(null); return; }
    // Every view with a map needs the polygons: fetch them alongside the session check, not after it.
    void loadBasemap();
    api.me().then(setMe, (e: unknown) => {
      if (!(e instanceof ApiError) || (e.status !== 401 && e.status !== 403)) console.warn('session check failed');
      localStorage.removeItem(SIGNED_IN);
      setMe(null);
    });
  }, []);

  const signedIn = useCallback((u: Me) => { localStorage.setItem(SIGNED_IN, '1'); setMe(u); }, []);
  const logout = useCallback(() => {
    localStorage.removeItem(SIGNED_IN);
    forgetPurposes();
    // Signed out locally whatever the server answers: the cookie is cleared by the server or expires.
    void api.logout().catch(() => undefined).finally(() => { setMe(null); navigate('login'); });
  }, []);

  const session = useMemo<Session | undefined>(() => (me ? { me, can: (p) => permissionsOf(me.role).includes(p), logout } : undefined), [me, logout]);

  useEffect(() => {
    if (me && (route.name === '' || route.name === 'login')) navigate(homeOf(me.role));
  }, [me, route.name]);

  if (me === undefined) return <p className="loading">{t('app.loading')}</p>;
  if (!session) return <LoginView onSignedIn={signedIn} />;
  if (session.me.mustChangePassword) return <ChangePasswordView onChanged={() => void api.me().then(setMe, () => setMe(null))} />;

  const nav: { name: string; label: string; permission: Permission }[] = [
    { name: 'dashboard', label: t('nav.dashboard'), permission: 'dashboard:read' },
    { name: 'cases', label: t('nav.cases'), permission: 'case:read' },
    { name: 'inbox', label: t('nav.inbox'), permission: 'command:read' },
    { name: 'people', label: t('nav.people'), permission: 'people:read' },
    { name: 'data', label: t('nav.data'), permission: 'ingest:write' },
    { name: 'admin', label: t('nav.admin'), permission: 'users:admin' },
  ];
  const visible = nav.filter((n) => session.can(n.permission) || (n.name === 'admin' && session.can('audit:read')));

  let view: React.JSX.Element;
  switch (route.name) {
    case 'case': view = <CaseWorkspace key={route.params[0]} caseId={route.params[0] ?? ''} />; break;
    case 'cases': view = <CasesView />; break;
    case 'inbox': view = <InboxView />; break;
    case 'person': view = <PersonView key={route.params[0]} personKey={route.params[0] ?? ''} caseId={route.query.get('case') ?? undefined} />; break;
    case 'people': view = <PeopleView />; break;
    case 'data': view = <DataView />; break;
    case 'admin': view = <AdminView />; break;
    default: view = <DashboardView />;
  }

  return (
    <SessionContext.Provider value={session}>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>{t('app.skip')}</a>
      <header className="topbar">
        <span className="brand" title={t('app.subtitle')}>{t('app.title')}</span>
        <nav aria-label={t('nav.main')}>
          {visible.map((n) => (
            <a key={n.name} href={href(n.name)} aria-current={route.name === n.name || (n.name === 'cases' && route.name === 'case') || (n.name === 'people' && route.name === 'person') ? 'page' : undefined}>{n.label}</a>
          ))}
        </nav>
        <span className="spacer" />
        <span className="who">{session.me.username} · {t(`role.${session.me.role}`, { defaultValue: session.me.role })}</span>
        <label className="lang">
          <span className="sr-only">{t('nav.language')}</span>
          <select value={i18n.language} onChange={(e) => changeLanguage(e.target.value as Language)} aria-label={t('nav.language')}>
            <option value="zh-CN">中文</option>
            <option value="en">English</option>
          </select>
        </label>
        <button type="button" onClick={logout}>{t('nav.logout')}</button>
      </header>
      <main id="main" tabIndex={-1}>{view}</main>
    </SessionContext.Provider>
  );
}

export type { Role };
