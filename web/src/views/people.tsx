/** @module Find a person by a whole identifier (the server searches within the user's subtree; identifiers come back masked). */
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/endpoints.ts';
import { href } from '../components/router.ts';
import { jurisdictionNamer, useBasemap } from '../components/geo-data.ts';

export function PeopleView(): React.JSX.Element {
  const { t, i18n } = useTranslation();
  const nameOf = jurisdictionNamer(useBasemap(), i18n.language);
  const [q, setQ] = useState('');
  const [found, setFound] = useState<Awaited<ReturnType<typeof api.searchPeople>> | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const search = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    try { setFound(await api.searchPeople(q.trim())); } catch (err) { setError(err instanceof Error ? err.message : String(err)); }
  };
  return (
    <section aria-labelledby="people-title">
      <div className="view-head"><h1 id="people-title">{t('people.title')}</h1></div>
      <form className="panel filters" role="search" aria-label={t('people.title')} onSubmit={(e) => void search(e)}>
        <label className="grow">{t('people.query')}<input value={q} onChange={(e) => setQ(e.target.value)} required placeholder="phone:138… / id_card:330…" /></label>
        <button type="submit" className="primary">{t('people.search')}</button>
      </form>
      {error ? <p role="alert" className="error">{error}</p> : null}
      {found ? (
        <table data-testid="people-table">
          <thead><tr><th scope="col">{t('person.ids')}</th><th scope="col">{t('case.status')}</th><th scope="col">{t('case.jurisdiction')}</th></tr></thead>
          <tbody>{found.length === 0 ? <tr><td colSpan={3} className="muted">{t('people.none')}</td></tr> : found.map((p) => (
            <tr key={p.personRef}>
              <td><a href={href('person', p.personRef)}>{p.ids.join(', ')}</a></td>
              <td>{p.status ? t(`status.${p.status}`, { defaultValue: p.status }) : '—'}</td>
              <td>{nameOf(p.jurisdiction)}</td>
            </tr>
          ))}</tbody>
        </table>
      ) : null}
    </section>
  );
}
