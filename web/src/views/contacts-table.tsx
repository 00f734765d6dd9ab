/**
 * @module The contacts of a trace in a table: category, evidence and risk; sortable by any column,
 * filterable by category and text.
 */
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ContactOut } from '../api/endpoints.ts';
import { hrefWith } from '../components/router.ts';
import { maskId } from '../components/format.ts';

type SortKey = 'ids' | 'degree' | 'category' | 'overlap' | 'risk' | 'firstExposure';
const CATEGORY_ORDER: Record<string, number> = { close: 0, secondary: 1, companion: 2, general: 3 };
const PAGE = 200;

function overlapOf(c: ContactOut): number {
  return c.evidence.reduce((a, e) => Math.max(a, e.overlapSeconds), 0);
}

export function ContactsTable({ contacts, caseId }: { contacts: readonly ContactOut[]; caseId: string }): React.JSX.Element {
  const { t } = useTranslation();
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'risk', dir: -1 });
  const [category, setCategory] = useState('');
  const [text, setText] = useState('');
  const [limit, setLimit] = useState(PAGE);

  const rows = useMemo(() => {
    const needle = text.trim().toLowerCase();
    const filtered = contacts.filter((c) => (!category || c.category === category)
      && (!needle || c.ids.some((id) => id.toLowerCase().includes(needle)) || c.evidence.some((e) => e.contact.place.toLowerCase().includes(needle) || e.why.toLowerCase().includes(needle))));
    const value = (c: ContactOut): number | string => {
      switch (sort.key) {
        case 'ids': return c.ids[0] ?? c.personRef;
        case 'degree': return c.degree;
        case 'category': return CATEGORY_ORDER[c.category] ?? 9;
        case 'overlap': return overlapOf(c);
        case 'risk': return c.risk.score;
        case 'firstExposure': return c.firstExposure;
      }
    };
    return [...filtered].sort((a, b) => {
      const va = value(a), vb = value(b);
      return (va < vb ? -1 : va > vb ? 1 : 0) * sort.dir || (a.personRef < b.personRef ? -1 : 1);
    });
  }, [contacts, sort, category, text]);

  const header = (key: SortKey, label: string): React.JSX.Element => (
    <th scope="col" aria-sort={sort.key === key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}>
      <button type="button" className="sort" onClick={() => setSort((s) => ({ key, dir: s.key === key ? (s.dir === 1 ? -1 : 1) : key === 'risk' || key === 'overlap' ? -1 : 1 }))} aria-label={t('contacts.sortBy', { column: label })}>
        {label}{sort.key === key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
      </button>
    </th>
  );

  return (
    <div className="contacts">
      <div className="filters">
        <label>{t('contacts.filter')}<input type="search" value={text} onChange={(e) => setText(e.target.value)} data-testid="contacts-filter" /></label>
        <label>{t('contacts.category')}
          <select value={category} onChange={(e) => setCategory(e.target.value)} data-testid="contacts-category">
            <option value="">{t('contacts.all')}</option>
            {['close', 'secondary', 'companion', 'general'].map((c) => <option key={c} value={c}>{t(`contacts.${c}`)}</option>)}
          </select>
        </label>
        <span className="muted" data-testid="contacts-count">{t('contacts.count', { shown: rows.length, total: contacts.length })}</span>
      </div>
      <div className="table-scroll">
        <table data-testid="contacts-table">
          <thead>
            <tr>
              {header('ids', t('contacts.ids'))}
              {header('degree', t('case.degree'))}
              {header('category', t('contacts.category'))}
              <th scope="col">{t('contacts.evidence')}</th>
              {header('overlap', t('contacts.overlap'))}
              {header('risk', t('contacts.risk'))}
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, limit).map((c) => {
              const e = c.evidence[0];
              return (
                <tr key={c.personRef} className={`cat-${c.category}`}>
                  <td><a href={hrefWith('person', [c.personRef], { case: caseId })}>{maskId(c.ids[0] ?? '—')}</a>{c.ids.length > 1 ? <span className="muted"> +{c.ids.length - 1}</span> : null}</td>
                  <td className="num">{c.degree}</td>
                  <td><span className={`tag ${c.category}`}>{t(`contacts.${c.category}`)}</span></td>
                  <td className="evidence">
                    {e ? <><span>{e.contact.place}{e.contact.sub ? ` (${e.contact.sub})` : ''}</span> — <span>{e.why}</span>{e.lowConfidence ? <em className="muted"> · {t('contacts.lowConfidence')}</em> : null}</> : '—'}
                    {c.evidence.length > 1 ? <span className="muted"> (+{c.evidence.length - 1})</span> : null}
                  </td>
                  <td className="num">{Math.round(overlapOf(c) / 60)}′</td>
                  <td className="num" title={c.risk.parts.map((p) => `${p.factor} ${p.value}: ${p.why}`).join('\n')}><span className="risk" style={{ ['--risk' as string]: `${c.risk.score}%` }}>{c.risk.score}</span></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {rows.length > limit ? <button type="button" onClick={() => setLimit((l) => l + PAGE)}>{t('contacts.more', { count: Math.min(PAGE, rows.length - limit) })}</button> : null}
    </div>
  );
}
