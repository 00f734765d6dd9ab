/**
 * @module The analyst's case workspace: run the trace (rule set, degree, purpose; an audited read), see
 * the trajectory as a timeline and as a path on the map, the contacts table, the transmission chain,
 * and push: trace the case again and send its new leads to the units. The purpose given here is
 * remembered for the case and reused by the reads that follow from it (the chain's leads, person pages).
 */
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type LeadOut, type LoopChainNode, type RetraceOutcome, type TraceOut } from '../api/endpoints.ts';
import { useAsync } from '../components/use-async.ts';
import { useBasemap, jurisdictionNamer } from '../components/geo-data.ts';
import { formatTime, maskId } from '../components/format.ts';
import { href, hrefWith } from '../components/router.ts';
import { MIN_PURPOSE, purposeFor, rememberPurpose } from '../components/purpose.ts';
import { Timeline, type TimelineItem } from '../charts/timeline.tsx';
import { MapCanvas } from '../map/map-canvas.tsx';
import { ChainGraph } from '../graph/chain-graph.tsx';
import type { ChainGraphData } from '../graph/chain-layout.ts';
import { ContactsTable } from './contacts-table.tsx';
import { useSession } from '../app.tsx';

/**
 * The chain around a case: the cases linked to it by source, and the traced contacts under this case,
 * each hung from the place of its strongest evidence (degree 2 under the place where it met its contact).
 */
export function chainOf(caseId: string, trace: TraceOut | undefined, chain: readonly LoopChainNode[], leads: readonly LeadOut[] = []): ChainGraphData {
  const nodes: ChainGraphData['nodes'] = [];
  const edges: ChainGraphData['edges'] = [];
  const seen = new Set<string>();
  for (const c of chain) {
    nodes.push({ id: c.caseId, kind: 'case', label: c.caseId, status: c.classification });
    seen.add(c.caseId);
  }
  if (!seen.has(caseId)) { nodes.push({ id: caseId, kind: 'case', label: caseId, status: 'confirmed' }); seen.add(caseId); }
  for (const c of chain) if (c.sourceCaseId && seen.has(c.sourceCaseId)) edges.push({ from: c.sourceCaseId, to: c.caseId });
  // Pushed leads of every case in the chain: the contacts the loop is working on.
  const inChain = new Set(chain.map((c) => c.caseId));
  for (const l of leads) {
    if (!inChain.has(l.caseId) && l.caseId !== caseId) continue;
    const id = `contact:${l.personRef}`;
    if (seen.has(id)) continue;
    seen.add(id);
    nodes.push({ id, kind: 'contact', label: maskId(l.ids[0] ?? '—'), status: l.category });
    edges.push({ from: l.caseId, to: id, place: placeOfEvidence(l.evidence) });
  }
  for (const k of trace?.contacts ?? []) {
    const id = `contact:${k.personRef}`;
    if (seen.has(id)) continue;
    seen.add(id);
    nodes.push({ id, kind: 'contact', label: maskId(k.ids[0] ?? '—'), status: k.category });
    edges.push({ from: caseId, to: id, place: k.evidence[0]?.contact.place });
  }
  return { nodes, edges };
}

/** The place of a lead's strongest evidence pair, as the loop stores it (`{ pairs: [{ contact: { place } }] }`). */
export function placeOfEvidence(evidence: unknown): string | undefined {
  if (!evidence || typeof evidence !== 'object') return undefined;
  const pairs = (evidence as { pairs?: unknown }).pairs;
  if (!Array.isArray(pairs) || pairs.length === 0) return undefined;
  const first = pairs[0] as { contact?: { place?: unknown } } | null;
  return typeof first?.contact?.place === 'string' ? first.contact.place : undefined;
}

/**
 * The pushed leads of every case in the chain through this case, page by page (the API serves at most
 * 5,000 a request), four pages at a time. A contact list: read with the purpose given for the case.
 */
async function chainLeads(caseId: string, purpose: string): Promise<LeadOut[]> {
  const PAGE = 5000;
  const out: LeadOut[] = [];
  for (let offset = 0; offset < 200_000; offset += 4 * PAGE) {
    const pages = await Promise.all([0, 1, 2, 3].map((k) => api.leads({ caseId, purpose, chain: true, limit: PAGE, offset: offset + k * PAGE })));
    for (const page of pages) out.push(...page);
    if (pages.some((page) => page.length < PAGE)) break;
  }
  return out;
}

export function CaseWorkspace({ caseId }: { caseId: string }): React.JSX.Element {
  const { t, i18n } = useTranslation();
  const session = useSession();
  const record = useAsync(() => api.case(caseId), [caseId]);
  const chainNodes = useAsync(() => api.chain(caseId), [caseId]);
  // Leads are asked for once the chain is in: the server answers one request at a time, and the cases
  // should be on screen before the (much larger) list of their contacts.
  const chainLoaded = chainNodes.value !== undefined || chainNodes.error !== undefined;
  // The chain's leads are a contact list: read only once a purpose is given for this case (running the
  // trace, pushing, or "show leads"), or one given earlier in this tab is remembered.
  const [given, setGiven] = useState<string | undefined>(() => purposeFor(caseId));
  const leads = useAsync(() => (chainLoaded && given && session.can('lead:read') ? chainLeads(caseId, given) : Promise.resolve([])), [caseId, chainLoaded, given]);
  const basemap = useBasemap();
  const nameOf = jurisdictionNamer(basemap, i18n.language);
  const [rules, setRules] = useState('v9');
  const [degree, setDegree] = useState<1 | 2>(2);
  const [purpose, setPurpose] = useState(() => purposeFor(caseId) ?? t('case.purposeDefault'));
  /** The purpose in the field is now the one given for this case: remembered, and used by the reads that follow. */
  const give = (): void => {
    rememberPurpose(caseId, purpose);
    setGiven(purpose.trim());
  };
  const [trace, setTrace] = useState<TraceOut | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [pushed, setPushed] = useState<RetraceOutcome | null | undefined>(undefined);
  const [coords, setCoords] = useState<Map<string, { lat: number; lon: number }>>(new Map());

  const run = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      setTrace(await api.trace(caseId, { rules, degree, purpose }));
      setPushed(undefined);
      give();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    // Place coordinates come with the trajectory when the server includes them (lat/lon on a presence).
    if (!trace) return;
    const m = new Map<string, { lat: number; lon: number }>();
    for (const p of trace.trajectory as (TraceOut['trajectory'][number] & { lat?: number; lon?: number })[]) {
      if (typeof p.lat === 'number' && typeof p.lon === 'number') m.set(p.place, { lat: p.lat, lon: p.lon });
    }
    setCoords(m);
  }, [trace]);

  const push = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      setPushed((await api.retrace(caseId, purpose)).trace);
      chainNodes.reload();
      if (given === purpose.trim()) leads.reload();
      else give();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const timeline = useMemo<TimelineItem[]>(() => (trace?.trajectory ?? []).map((p) => ({
    placeKind: p.placeKind, label: p.place, start: Date.parse(p.start) / 1000, end: Date.parse(p.end) / 1000, lowConfidence: p.dateOnly,
  })), [trace]);
  const path = useMemo(() => (trace?.trajectory ?? []).flatMap((p) => {
    const c = coords.get(p.place);
    return c ? [{ lon: c.lon, lat: c.lat, label: p.place }] : [];
  }), [trace, coords]);
  const chain = useMemo(() => chainOf(caseId, trace, chainNodes.value ?? [], leads.value ?? []), [caseId, trace, chainNodes.value, leads.value]);

  const c = record.value?.case;
  return (
    <section aria-labelledby="case-title" className="workspace">
      <div className="view-head">
        <h1 id="case-title">{t('case.title')} · {caseId}</h1>
        {c ? <span className={`tag ${c.classification}`}>{t(`status.${c.classification}`)}</span> : null}
      </div>
      {record.error ? <p role="alert" className="error">{t('app.error', { message: record.error.message })}</p> : null}
      {c ? (
        <dl className="facts">
          <div><dt>{t('case.person')}</dt><dd><a href={hrefWith('person', [c.personRef], { case: caseId })}>{maskId(c.ids[0] ?? '—')}</a></dd></div>
          <div><dt>{t('case.onset')}</dt><dd>{c.onset ?? '—'}</dd></div>
          <div><dt>{t('case.sampled')}</dt><dd>{c.sampled ?? '—'}</dd></div>
          <div><dt>{t('case.isolated')}</dt><dd>{formatTime(c.isolatedAt, i18n.language)}</dd></div>
          <div><dt>{t('case.jurisdiction')}</dt><dd>{nameOf(c.jurisdiction)}</dd></div>
          {c.sourceCaseId ? <div><dt>{t('case.source')}</dt><dd><a href={href('case', c.sourceCaseId)}>{c.sourceCaseId}</a></dd></div> : null}
        </dl>
      ) : null}
      <form className="filters trace-form" onSubmit={(e) => { e.preventDefault(); void run(); }}>
        <label>{t('case.rules')}
          <select value={rules} onChange={(e) => setRules(e.target.value)} data-testid="rules">
            <option value="v8">v8 (2021)</option>
            <option value="v9">v9 (2022)</option>
          </select>
        </label>
        <label>{t('case.degree')}
          <select value={degree} onChange={(e) => setDegree(e.target.value === '1' ? 1 : 2)}>
            <option value="1">1</option>
            <option value="2">2</option>
          </select>
        </label>
        <label className="grow">{t('case.purpose')}<input value={purpose} onChange={(e) => setPurpose(e.target.value)} required minLength={4} /></label>
        <button type="submit" className="primary" disabled={busy || !session.can('trace:run')} data-testid="run-trace">{busy ? t('case.running') : t('case.rerun')}</button>
        <button type="button" onClick={() => void push()} disabled={busy || !session.can('trace:run') || !session.can('case:write')} data-testid="push">{t('case.push')}</button>
      </form>
      {pushed !== undefined ? (
        <p role="status" className="ok" data-testid="pushed">{pushed ? t('case.pushedSummary', { leads: pushed.newLeads, commands: pushed.commands, contacts: pushed.contacts }) : t('case.notTraced')}</p>
      ) : null}
      {error ? <p role="alert" className="error">{t('app.error', { message: error })}</p> : null}
      {!trace ? <p className="muted">{t('case.noTrace')}</p> : (
        <>
          <p className="muted" data-testid="trace-summary">
            {t('case.window', { from: formatTime(trace.window.from, i18n.language), to: formatTime(trace.window.to, i18n.language) })} · {trace.rules.name} · {t('case.presences', { count: trace.trajectory.length })} · {t('contacts.close')} {trace.summary.close} · {t('contacts.secondary')} {trace.summary.secondary} · {t('contacts.companion')} {trace.summary.companion} · {t('contacts.general')} {trace.summary.general}
          </p>
          <div className="grid2">
            <div className="panel"><h2>{t('case.timeline')}</h2><Timeline items={timeline} /></div>
            <div className="panel">
              <h2>{t('case.pathMap')}</h2>
              <MapCanvas jurisdictions={basemap.jurisdictions} roads={basemap.roads} path={path} height={320} testId="path-map" />
              {trace.trajectory.length > 0 && path.length === 0 ? <p className="muted small" data-testid="no-coordinates">{t('case.noCoordinates')}</p> : null}
            </div>
          </div>
          <div className="panel">
            <div className="view-head">
              <h2>{t('case.contacts')}</h2>
              <a className="button" href={api.contactsCsvUrl(caseId, { purpose, rules, degree })} download>{t('case.export')}</a>
            </div>
            <ContactsTable contacts={trace.contacts} caseId={caseId} />
          </div>
        </>
      )}
      <div className="panel">
        <div className="view-head">
          <h2>{t('case.chain')}</h2>
          {!given && session.can('lead:read') ? (
            <button type="button" onClick={give} disabled={purpose.trim().length < MIN_PURPOSE} data-testid="show-leads">{t('case.showLeads')}</button>
          ) : null}
        </div>
        {!given && session.can('lead:read') ? <p className="muted small">{t('case.leadsNeedPurpose')}</p> : null}
        {leads.error ? <p role="alert" className="error">{t('app.error', { message: leads.error.message })}</p> : null}
        <ChainGraph data={chain} initiallyExpanded={[caseId]} />
      </div>
    </section>
  );
}
