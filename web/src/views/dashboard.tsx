/**
 * @module The commander's dashboard: cases by status, open leads, overdue commands per jurisdiction,
 * people under isolation, the epidemic curve and the map, refreshed live from the event stream.
 */
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/endpoints.ts';
import { useAsync } from '../components/use-async.ts';
import { LiveBadge, useLive } from '../components/live.tsx';
import { jurisdictionNamer, useBasemap } from '../components/geo-data.ts';
import { EpiCurve, STATUS_COLORS, type EpiPoint } from '../charts/epi-curve.tsx';
import { MapCanvas } from '../map/map-canvas.tsx';
import { href } from '../components/router.ts';
import { formatTime } from '../components/format.ts';

/** Statuses that count as "under isolation" on the dashboard. */
const ISOLATION_STATUSES = ['home_control', 'centralized_isolation', 'hospital'] as const;

/** How many of the newest cases the dashboard lists. */
const RECENT = 12;

export function DashboardView(): React.JSX.Element {
  const { t, i18n } = useTranslation();
  const summary = useAsync(() => api.dashboard(), []);
  // Only the newest cases are fetched (the list is oldest first): the counts and the curve come with the summary.
  const total = summary.value ? Object.values(summary.value.cases).reduce((a, b) => a + b, 0) : undefined;
  const recentCases = useAsync(() => (total === undefined ? Promise.resolve([]) : api.cases({ limit: RECENT, offset: Math.max(0, total - RECENT) })), [total]);
  const live = useLive(() => { summary.reload(); recentCases.reload(); }, (type) => type !== 'ingest.progress');
  const basemap = useBasemap();
  const nameOf = jurisdictionNamer(basemap, i18n.language);
  const s = summary.value;

  const [picked, setPicked] = useState<string | undefined>(undefined);
  const curve = useMemo<EpiPoint[]>(() => (summary.value?.epidemicCurve ?? []).map((p) => ({ date: p.date, status: 'cases', count: p.cases })), [summary.value]);
  const { caseCounts, leadCounts } = useMemo(() => {
    const caseCounts = new Map<string, number>();
    const leadCounts = new Map<string, number>();
    for (const row of s?.units ?? []) {
      if (!row.jurisdiction) continue;
      if (row.cases) caseCounts.set(row.jurisdiction, row.cases);
      if (row.openLeads) leadCounts.set(row.jurisdiction, row.openLeads);
    }
    return { caseCounts, leadCounts };
  }, [s]);

  if (summary.error && !s) return <p role="alert" className="error">{t('app.error', { message: summary.error.message })} <button type="button" onClick={summary.reload}>{t('app.retry')}</button></p>;
  if (!s) return <p className="loading">{t('app.loading')}</p>;
  const totalCases = total ?? 0;
  const overdueRows = s.units.filter((r) => r.overdueCommands > 0).sort((a, b) => b.overdueCommands - a.overdueCommands);
  const isolated = ISOLATION_STATUSES.reduce((n, k) => n + (s.people[k] ?? 0), 0);
  const recent = [...(recentCases.value ?? [])].sort((a, b) => b.createdAt.localeCompare(a.createdAt));

  return (
    <section aria-labelledby="dash-title" className="dashboard">
      <div className="view-head">
        <h1 id="dash-title">{t('dashboard.title')}</h1>
        <LiveBadge live={live} labels={{ live: t('app.live'), offline: t('app.offline') }} />
      </div>
      <div className="kpis" data-testid="kpis">
        <div className="kpi"><span>{t('dashboard.totalCases')}</span><strong data-testid="kpi-cases">{totalCases}</strong></div>
        <div className="kpi"><span>{t('dashboard.openLeads')}</span><strong data-testid="kpi-leads">{s.openLeads}</strong></div>
        <div className={s.overdueCommands ? 'kpi alert' : 'kpi'}><span>{t('dashboard.overdueCommands')}</span><strong data-testid="kpi-overdue">{s.overdueCommands}</strong></div>
        <div className="kpi"><span>{t('dashboard.underIsolation')}</span><strong data-testid="kpi-isolation">{isolated}</strong></div>
      </div>
      <div className="grid2">
        <div className="panel">
          <h2>{t('dashboard.casesByStatus')}</h2>
          <ul className="bars" data-testid="cases-by-status">
            {Object.entries(s.cases).map(([status, n]) => (
              <li key={status}>
                <span className="bar-label">{t(`status.${status}`, { defaultValue: status })}</span>
                <span className="bar"><i style={{ width: `${totalCases ? (100 * n) / totalCases : 0}%`, background: STATUS_COLORS[status] ?? '#777' }} /></span>
                <strong>{n}</strong>
              </li>
            ))}
          </ul>
          <h2>{t('dashboard.epiCurve')}</h2>
          <EpiCurve data={curve} />
        </div>
        <div className="panel">
          <h2>{t('dashboard.map')}</h2>
          <MapCanvas jurisdictions={basemap.jurisdictions} roads={basemap.roads} caseCounts={caseCounts} leadCounts={leadCounts} height={440} testId="dashboard-map" onSelectJurisdiction={setPicked} />
          {picked ? (() => {
            // The unit clicked on the map, with its own figures (units below it count separately).
            const row = s.units.find((u) => u.jurisdiction === picked);
            return (
              <p role="status" className="picked" data-testid="picked-unit">
                <strong>{nameOf(picked)}</strong> · {t('dashboard.totalCases')} {row?.cases ?? 0} · {t('dashboard.openLeads')} {row?.openLeads ?? 0} · {t('dashboard.overdueCommands')} {row?.overdueCommands ?? 0}
              </p>
            );
          })() : null}
        </div>
      </div>
      <div className="grid2">
        <div className="panel">
          <h2>{t('dashboard.overdueByJurisdiction')}</h2>
          <div className="table-scroll short"><table data-testid="overdue-table">
            <thead><tr><th scope="col">{t('dashboard.jurisdiction')}</th><th scope="col" className="num">{t('dashboard.overdueCommands')}</th><th scope="col" className="num">{t('dashboard.openLeads')}</th></tr></thead>
            <tbody>
              {overdueRows.length === 0 ? <tr><td colSpan={3} className="muted">{t('app.empty')}</td></tr> : overdueRows.map((r) => (
                <tr key={r.jurisdiction ?? '-'}><td>{nameOf(r.jurisdiction)}</td><td className="num overdue">{r.overdueCommands}</td><td className="num">{r.openLeads}</td></tr>
              ))}
            </tbody>
          </table></div>
        </div>
        <div className="panel">
          <h2>{t('dashboard.recent')}</h2>
          <table data-testid="recent-cases">
            <thead><tr><th scope="col">{t('dashboard.case')}</th><th scope="col">{t('case.status')}</th><th scope="col">{t('case.onset')}</th><th scope="col">{t('case.jurisdiction')}</th></tr></thead>
            <tbody>
              {recent.length === 0 ? <tr><td colSpan={4} className="muted">{t('app.empty')}</td></tr> : recent.map((c) => (
                <tr key={c.id}>
                  <td><a href={href('case', c.id)}>{c.id}</a></td>
                  <td><span className={`tag ${c.classification}`}>{t(`status.${c.classification}`)}</span></td>
                  <td>{c.onset ?? c.sampled ?? '—'}</td>
                  <td>{nameOf(c.jurisdiction)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted small">{t('dashboard.updated', { time: formatTime(new Date().toISOString(), i18n.language) })}</p>
        </div>
      </div>
    </section>
  );
}
