/**
 * @module A person's page: opened only with a purpose (and the case it serves): from a case the purpose
 * given in its workspace is reused, from search or an inbox the page asks for one first; the server
 * refuses and audits a read without. Identifiers stay masked until revealed (the reveal names a purpose
 * and is audited too); the status history, exposures and commands follow.
 */
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client.ts';
import { api, type PersonPage, type RevealOut } from '../api/endpoints.ts';
import { useAsync } from '../components/use-async.ts';
import { formatTime, maskId } from '../components/format.ts';
import { href } from '../components/router.ts';
import { jurisdictionNamer, useBasemap } from '../components/geo-data.ts';
import { MIN_PURPOSE, purposeFor, rememberPurpose } from '../components/purpose.ts';
import { useSession } from '../app.tsx';

interface HistoryRow { at: string; what: string; link?: string }

/** The person's story in time order: the exposures that made leads, their outcomes, the case, every status they had. */
export function historyOf(p: PersonPage, t: (key: string, opts?: Record<string, unknown>) => string): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (const l of p.leads) {
    rows.push({ at: l.createdAt, what: `${t('person.leadOpened')} · ${t(`contacts.${l.category}`, { defaultValue: l.category })}`, link: l.caseId });
    if (l.closedAt) rows.push({ at: l.closedAt, what: `${t('person.leadClosed')} · ${l.outcome ? t(`feedback.${l.outcome}`, { defaultValue: l.outcome }) : '—'}`, link: l.caseId });
  }
  if (p.case) rows.push({ at: p.case.createdAt, what: `${t('person.becameCase')} · ${t(`status.${p.case.classification}`)}`, link: p.case.id });
  let previous: string | undefined;
  for (const h of p.statusHistory) {
    // A put that kept the status (e.g. a new exposure of someone already isolated) is not a change.
    if (h.status === previous) continue;
    previous = h.status;
    rows.push({ at: h.since, what: `${t('person.statusChange')} · ${t(`status.${h.status}`, { defaultValue: h.status })}`, ...(h.caseId ? { link: h.caseId } : {}) });
  }
  return rows.sort((a, b) => a.at.localeCompare(b.at));
}

/** What the page is read for: the purpose and the case it serves (when there is one). */
interface ReadPurpose { purpose: string; caseId?: string }

/** Asks for the purpose (and, when the page was not opened from a case, optionally the case) before any read. */
function PurposeForm({ caseId, onGiven, error }: { caseId?: string; onGiven: (p: ReadPurpose) => void; error?: string }): React.JSX.Element {
  const { t } = useTranslation();
  const [purpose, setPurpose] = useState('');
  const [kase, setKase] = useState(caseId ?? '');
  return (
    <section aria-labelledby="purpose-title">
      <div className="view-head"><h1 id="purpose-title">{t('person.purposeTitle')}</h1></div>
      <form className="panel filters" data-testid="person-purpose" onSubmit={(e) => {
        e.preventDefault();
        const c = kase.trim();
        onGiven({ purpose: purpose.trim(), ...(c ? { caseId: c } : {}) });
      }}>
        <p className="muted small">{t('person.purposeHint')}</p>
        <label className="grow">{t('person.purpose')}<input name="purpose" value={purpose} onChange={(e) => setPurpose(e.target.value)} required minLength={MIN_PURPOSE} maxLength={500} /></label>
        {caseId
          ? <label>{t('person.caseFixed')}<input name="case" value={kase} readOnly /></label>
          : <label>{t('person.case')}<input name="case" value={kase} onChange={(e) => setKase(e.target.value)} maxLength={100} /></label>}
        <button type="submit" className="primary">{t('person.open')}</button>
      </form>
      {error ? <p role="alert" className="error">{error}</p> : null}
    </section>
  );
}

export function PersonView({ personKey: ref, caseId }: { personKey: string; caseId?: string }): React.JSX.Element {
  const remembered = purposeFor(caseId);
  const [why, setWhy] = useState<ReadPurpose | undefined>(() => (remembered ? { purpose: remembered, ...(caseId ? { caseId } : {}) } : undefined));
  const given = (p: ReadPurpose): void => {
    if (p.caseId) rememberPurpose(p.caseId, p.purpose);
    setWhy(p);
  };
  const person = useAsync(() => (why ? api.person(ref, why) : Promise.resolve(undefined)), [ref, why]);
  // No purpose yet, or the server refused the one given: ask (again) before anything is read.
  if (!why) return <PurposeForm caseId={caseId} onGiven={given} />;
  if (person.error instanceof ApiError && person.error.status === 400) {
    return <PurposeForm caseId={caseId} onGiven={given} error={person.error.message} />;
  }
  return <PersonPageView personRef={ref} caseId={why.caseId} page={person.value} error={person.error} />;
}

function PersonPageView({ personRef: ref, caseId, page: p, error: loadError }: { personRef: string; caseId?: string; page: PersonPage | undefined; error: Error | undefined }): React.JSX.Element {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const nameOf = jurisdictionNamer(useBasemap(), i18n.language);
  const [revealed, setRevealed] = useState<RevealOut | undefined>(undefined);
  const [purpose, setPurpose] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const history = useMemo(() => (p ? historyOf(p, t) : []), [p, t]);

  const reveal = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    try { setRevealed(await api.reveal(ref, purpose, caseId ?? p?.case?.id)); } catch (err) { setError(err instanceof Error ? err.message : String(err)); }
  };

  if (loadError) return <p role="alert" className="error">{t('app.error', { message: loadError.message })}</p>;
  if (!p) return <p className="loading">{t('app.loading')}</p>;
  const ids = revealed?.ids ?? p.ids.map(maskId);
  return (
    <section aria-labelledby="person-title">
      <div className="view-head">
        <h1 id="person-title">{t('person.title')} · {maskId(p.ids[0] ?? '—')}</h1>
        {p.status ? <span className="tag">{t(`status.${p.status.status}`, { defaultValue: p.status.status })}</span> : null}
        {p.case ? <a href={href('case', p.case.id)}>{t('dashboard.case')} {p.case.id}</a> : null}
      </div>
      <div className="grid2">
        <div className="panel">
          <h2>{t('person.ids')}</h2>
          <ul className="ids" data-testid="person-ids">{ids.map((id) => <li key={id}><code>{id}</code></li>)}</ul>
          <p>{t('person.residence')}: {nameOf(p.jurisdiction)}</p>
          {revealed?.registered.map((r, i) => (
            <p key={i}>{t('person.name')}: {r.name ?? '—'} · {t('person.address')}: {r.address ?? '—'}</p>
          ))}
          {revealed ? <p role="status" className="ok">{t('person.revealed')}</p> : session.can('people:reveal') ? (
            <form className="filters" onSubmit={(e) => void reveal(e)}>
              <label className="grow">{t('person.revealReason')}<input value={purpose} onChange={(e) => setPurpose(e.target.value)} required minLength={4} /></label>
              <button type="submit">{t('person.reveal')}</button>
            </form>
          ) : null}
          {error ? <p role="alert" className="error">{error}</p> : null}
        </div>
        <div className="panel">
          <h2>{t('person.statusHistory')}</h2>
          <table>
            <thead><tr><th scope="col">{t('person.when')}</th><th scope="col">{t('person.what')}</th><th scope="col">{t('dashboard.case')}</th></tr></thead>
            <tbody>{history.length === 0 ? <tr><td colSpan={3} className="muted">{t('app.empty')}</td></tr> : history.map((h, i) => (
              <tr key={i}><td>{formatTime(h.at, i18n.language)}</td><td>{h.what}</td><td>{h.link ? <a href={href('case', h.link)}>{h.link}</a> : '—'}</td></tr>
            ))}</tbody>
          </table>
        </div>
      </div>
      <div className="panel">
        <h2>{t('person.exposures')}</h2>
        <table>
          <thead><tr><th scope="col">{t('dashboard.case')}</th><th scope="col">{t('contacts.category')}</th><th scope="col" className="num">{t('case.degree')}</th><th scope="col" className="num">{t('contacts.risk')}</th><th scope="col">{t('person.when')}</th></tr></thead>
          <tbody>{p.exposures.length === 0 ? <tr><td colSpan={5} className="muted">{t('app.empty')}</td></tr> : p.exposures.map((x) => (
            <tr key={x.id}><td><a href={href('case', x.caseId)}>{x.caseId}</a></td><td>{t(`contacts.${x.category}`, { defaultValue: x.category })}</td><td className="num">{x.degree}</td><td className="num">{x.risk}</td><td>{formatTime(x.createdAt, i18n.language)}</td></tr>
          ))}</tbody>
        </table>
      </div>
      <div className="panel">
        <h2>{t('person.commands')}</h2>
        <table>
          <thead><tr><th scope="col">{t('inbox.type')}</th><th scope="col">{t('case.status')}</th><th scope="col">{t('case.jurisdiction')}</th><th scope="col">{t('person.deadline')}</th></tr></thead>
          <tbody>{p.commands.length === 0 ? <tr><td colSpan={4} className="muted">{t('app.empty')}</td></tr> : p.commands.map((c) => (
            <tr key={c.id} className={c.overdue ? 'flag' : undefined}><td>{t(`command.${c.type}`)}</td><td>{t(`status.${c.state}`)}</td><td>{nameOf(c.jurisdiction)}</td><td>{formatTime(c.deadline, i18n.language)}</td></tr>
          ))}</tbody>
        </table>
      </div>
    </section>
  );
}
