/** @module The analyst's list of cases, filterable by classification, each opening its workspace. */
import { useState } from 'react';
import { useSession } from '../app.tsx';
import { navigate } from '../components/router.ts';
import { useTranslation } from 'react-i18next';
import { api } from '../api/endpoints.ts';
import { useAsync } from '../components/use-async.ts';
import { useLive } from '../components/live.tsx';
import { href } from '../components/router.ts';
import { jurisdictionNamer, useBasemap } from '../components/geo-data.ts';
import { formatTime, maskId } from '../components/format.ts';

/** Records a case; tracing at once (the default) also pushes its leads, as the loop does for every new case. */
function NewCaseForm(): React.JSX.Element {
  const { t } = useTranslation();
  const [id, setId] = useState('');
  const [classification, setClassification] = useState('confirmed');
  const [onset, setOnset] = useState('');
  const [sampled, setSampled] = useState('');
  const [trace, setTrace] = useState(true);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await api.addCase({ ids: [id.trim()], classification, ...(onset ? { onset } : {}), ...(sampled ? { sampled } : {}), trace });
      navigate('case', r.case.id);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="panel filters" onSubmit={(e) => void submit(e)} aria-labelledby="new-case-title" data-testid="new-case">
      <h2 id="new-case-title" className="full">{t('case.create')}</h2>
      <label className="grow">{t('case.identifier')}<input value={id} onChange={(e) => setId(e.target.value)} required placeholder="id_card:330… / phone:138…" pattern="[a-z_]+:.+" /></label>
      <label>{t('case.status')}
        <select value={classification} onChange={(e) => setClassification(e.target.value)}>
          {['confirmed', 'asymptomatic', 'suspected'].map((s) => <option key={s} value={s}>{t(`status.${s}`)}</option>)}
        </select>
      </label>
      <label>{t('case.onset')}<input type="date" value={onset} onChange={(e) => setOnset(e.target.value)} /></label>
      <label>{t('case.sampled')}<input type="date" value={sampled} onChange={(e) => setSampled(e.target.value)} /></label>
      <label className="toggle"><input type="checkbox" checked={trace} onChange={(e) => setTrace(e.target.checked)} />{t('case.traceNow')}</label>
      <button type="submit" className="primary" disabled={busy}>{t('case.create')}</button>
      {error ? <p role="alert" className="error full">{error}</p> : null}
    </form>
  );
}

export function CasesView(): React.JSX.Element {
  const { t, i18n } = useTranslation();
  const [classification, setClassification] = useState('');
  const [text, setText] = useState('');
  const cases = useAsync(() => api.cases({ classification: classification || undefined, limit: 500 }), [classification]);
  useLive(cases.reload, (type) => type.startsWith('case'));
  const nameOf = jurisdictionNamer(useBasemap(), i18n.language);
  const session = useSession();
  const rows = (cases.value ?? []).filter((c) => !text || c.id.includes(text) || c.ids.some((id) => id.includes(text)));
  return (
    <section aria-labelledby="cases-title">
      <div className="view-head"><h1 id="cases-title">{t('case.list')}</h1></div>
      {session.can('case:write') ? <NewCaseForm /> : null}
      <div className="filters">
        <label>{t('case.search')}<input type="search" value={text} onChange={(e) => setText(e.target.value)} /></label>
        <label>{t('case.status')}
          <select value={classification} onChange={(e) => setClassification(e.target.value)}>
            <option value="">{t('contacts.all')}</option>
            {['confirmed', 'asymptomatic', 'suspected'].map((s) => <option key={s} value={s}>{t(`status.${s}`)}</option>)}
          </select>
        </label>
      </div>
      {cases.error ? <p role="alert" className="error">{t('app.error', { message: cases.error.message })}</p> : null}
      <table data-testid="cases-table">
        <thead><tr><th scope="col">{t('dashboard.case')}</th><th scope="col">{t('case.person')}</th><th scope="col">{t('case.status')}</th><th scope="col">{t('case.onset')}</th><th scope="col">{t('case.isolated')}</th><th scope="col">{t('case.jurisdiction')}</th></tr></thead>
        <tbody>
          {rows.length === 0 ? <tr><td colSpan={6} className="muted">{cases.loading ? t('app.loading') : t('app.empty')}</td></tr> : rows.map((c) => (
            <tr key={c.id}>
              <td><a href={href('case', c.id)}>{c.id}</a></td>
              <td><a href={href('person', c.personRef)}>{maskId(c.ids[0] ?? '—')}</a></td>
              <td><span className={`tag ${c.classification}`}>{t(`status.${c.classification}`)}</span></td>
              <td>{c.onset ?? c.sampled ?? '—'}</td>
              <td>{formatTime(c.isolatedAt, i18n.language)}</td>
              <td>{nameOf(c.jurisdiction)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
