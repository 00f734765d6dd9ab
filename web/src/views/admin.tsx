/** @module Admin and audit: users and their roles, the jurisdiction tree, the audit trail searchable. */
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type AuditSearch } from '../api/endpoints.ts';
import { useAsync } from '../components/use-async.ts';
import { formatTime } from '../components/format.ts';
import { useSession } from '../app.tsx';
import { ROLE_PERMISSIONS, ROLES, PERMISSIONS } from '../../../src/domain/roles.ts';

export function AdminView(): React.JSX.Element {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const isAdmin = session.can('users:admin');
  const users = useAsync(() => (isAdmin ? api.users() : Promise.resolve([])), [isAdmin]);
  const units = useAsync(() => api.jurisdictions(), []);
  const [form, setForm] = useState<AuditSearch>({});
  const [search, setSearch] = useState<AuditSearch>({});
  const audit = useAsync(() => (session.can('audit:read') ? api.audit({ ...search, limit: 200 }) : Promise.resolve({ rows: [], total: 0 })), [search]);
  const zh = i18n.language.startsWith('zh');
  const unitName = (code: string | null | undefined): string => {
    const u = units.value?.find((x) => x.code === code);
    return u ? (zh ? u.name : u.nameEn ?? u.name) : code ?? '—';
  };
  const toggle = async (id: string, enabled: boolean): Promise<void> => { await api.setUserEnabled(id, enabled); users.reload(); };

  return (
    <section aria-labelledby="admin-title">
      <div className="view-head"><h1 id="admin-title">{t('admin.title')}</h1></div>
      {isAdmin ? (
        <div className="panel">
          <h2>{t('admin.users')}</h2>
          {users.error ? <p role="alert" className="error">{users.error.message}</p> : null}
          <table data-testid="users-table">
            <thead><tr><th scope="col">{t('admin.username')}</th><th scope="col">{t('admin.role')}</th><th scope="col">{t('admin.jurisdiction')}</th><th scope="col">{t('admin.enabled')}</th><th scope="col">{t('admin.action')}</th></tr></thead>
            <tbody>{(users.value ?? []).map((u) => {
              const enabled = !u.disabled;
              return (
                <tr key={u.id}><td>{u.username}</td><td>{t(`role.${u.role}`, { defaultValue: u.role })}</td><td>{unitName(u.jurisdiction)}</td><td>{enabled ? t('admin.yes') : t('admin.no')}</td>
                  <td className="actions"><button type="button" onClick={() => void toggle(u.id, !enabled)}>{enabled ? t('admin.disable') : t('admin.enable')}</button>{u.locked ? <button type="button" onClick={() => void api.unlockUser(u.id).then(users.reload)}>{t('admin.unlock')}</button> : null}</td></tr>
              );
            })}</tbody>
          </table>
        </div>
      ) : null}
      {session.can('audit:read') ? (
        <div className="panel">
          <h2>{t('admin.audit')}</h2>
          <form className="filters" onSubmit={(e) => { e.preventDefault(); setSearch({ ...form }); }} role="search" aria-label={t('admin.search')}>
            <label>{t('admin.username')}<input value={form.username ?? ''} onChange={(e) => setForm({ ...form, username: e.target.value || undefined })} /></label>
            <label>{t('admin.action')}<input value={form.action ?? ''} onChange={(e) => setForm({ ...form, action: e.target.value || undefined })} placeholder="login, trace.read…" /></label>
            <label>{t('admin.case')}<input value={form.caseId ?? ''} onChange={(e) => setForm({ ...form, caseId: e.target.value || undefined })} /></label>
            <label>{t('admin.outcome')}
              <select value={form.outcome ?? ''} onChange={(e) => setForm({ ...form, outcome: e.target.value || undefined })}>
                <option value="">—</option><option value="ok">ok</option><option value="denied">denied</option><option value="failed">failed</option>
              </select>
            </label>
            <label>{t('admin.from')}<input type="date" value={form.from?.slice(0, 10) ?? ''} onChange={(e) => setForm({ ...form, from: e.target.value ? `${e.target.value}T00:00:00Z` : undefined })} /></label>
            <label>{t('admin.to')}<input type="date" value={form.to?.slice(0, 10) ?? ''} onChange={(e) => setForm({ ...form, to: e.target.value ? `${e.target.value}T23:59:59Z` : undefined })} /></label>
            <button type="submit">{t('admin.search')}</button>
            <span className="muted" data-testid="audit-total">{t('admin.total', { count: audit.value?.total ?? 0 })}</span>
          </form>
          {audit.error ? <p role="alert" className="error">{audit.error.message}</p> : null}
          <div className="table-scroll">
            <table data-testid="audit-table">
              <thead><tr><th scope="col">{t('admin.time')}</th><th scope="col">{t('admin.username')}</th><th scope="col">{t('admin.role')}</th><th scope="col">{t('admin.action')}</th><th scope="col">{t('admin.case')}</th><th scope="col">{t('admin.purpose')}</th><th scope="col">{t('admin.subject')}</th><th scope="col">{t('admin.outcome')}</th></tr></thead>
              <tbody>{(audit.value?.rows ?? []).map((a) => (
                <tr key={a.id} className={a.outcome === 'ok' ? undefined : 'flag'}><td>{formatTime(a.at, i18n.language, 'UTC')}</td><td>{a.username ?? a.userId ?? '—'}</td><td>{a.role ? t(`role.${a.role}`, { defaultValue: a.role }) : '—'}</td><td><code>{a.action}</code></td><td>{a.caseId ?? '—'}</td><td>{a.purpose ?? '—'}</td><td className="subject" title={a.subject ?? undefined}>{a.subject && a.subject.length > 24 ? `${a.subject.slice(0, 24)}…` : a.subject ?? '—'}</td><td>{a.outcome}</td></tr>
              ))}</tbody>
            </table>
          </div>
        </div>
      ) : null}
      <div className="panel">
        <h2>{t('admin.roles')}</h2>
        <div className="table-scroll short">
          <table data-testid="roles-table">
            <thead><tr><th scope="col">{t('admin.role')}</th>{PERMISSIONS.map((p) => <th key={p} scope="col"><code>{p}</code></th>)}</tr></thead>
            <tbody>{ROLES.map((r) => (
              <tr key={r}><th scope="row">{t(`role.${r}`)}</th>{PERMISSIONS.map((p) => <td key={p} className="num">{ROLE_PERMISSIONS[r].includes(p) ? <span aria-label={t('admin.yes')}>✓</span> : <span aria-label={t('admin.no')} className="muted">·</span>}</td>)}</tr>
            ))}</tbody>
          </table>
        </div>
      </div>
      <div className="panel">
        <h2>{t('admin.jurisdictions')}</h2>
        <div className="table-scroll short">
          <table>
            <thead><tr><th scope="col">{t('admin.code')}</th><th scope="col">{t('admin.name')}</th><th scope="col">{t('admin.level')}</th><th scope="col">{t('admin.parent')}</th></tr></thead>
            <tbody>{(units.value ?? []).slice(0, 500).map((u) => (
              <tr key={u.code}><td><code>{u.code}</code></td><td>{zh ? u.name : u.nameEn ?? u.name}</td><td>{t(`map.${u.level}`, { defaultValue: u.level })}</td><td>{unitName(u.parent)}</td></tr>
            ))}</tbody>
          </table>
        </div>
      </div>
    </section>
  );
}
