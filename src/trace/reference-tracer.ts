/**
 * @module The brute-force reference tracer: every presence compared with every piece of the case (and
 * of each close contact), no index, no pushdown. Slow on purpose; the property test checks the
 * tracer over the index returns exactly what this returns.
 */
import { loadRuleSet } from '../domain/contact-rules.ts';
import { decideContacts, firstCloseExposure, hitStart, mergePieces, pairHits, personOf, renderResult, SecondExposures, type PairHit, type Piece } from './assemble.ts';
import type { Candidate, IdentityGroups, TraceDictionary } from './candidate-source.ts';
import type { TraceRequest, TraceResult } from './types.ts';
import { resolveWindow } from './window.ts';

/** Everything the reference reads: all presences, in memory. */
export interface ReferenceData {
  rows: readonly Candidate[];
  groups: IdentityGroups;
  dict: TraceDictionary;
  timeZone: string;
}

/** Rows of other persons at a piece's place that overlap it, by scanning every row. */
function overlapping(rows: readonly Candidate[], pieces: readonly Piece[]): Candidate[] {
  return rows.filter((r) => pieces.some((p) => p.place === r.place && r.start < p.end && r.end > p.start));
}

export async function referenceTrace(req: TraceRequest, data: ReferenceData): Promise<TraceResult> {
  const startedMs = performance.now();
  const { rows, groups, dict } = data;
  const rules = loadRuleSet(req.rules ?? 'v9');
  const w = resolveWindow(req, rules, data.timeZone);
  const ident = (await dict.identifierIds([req.id])).get(req.id);
  if (ident === undefined) {
    return renderResult({ rules, window: w.window, casePerson: -1, requestedId: req.id, trajectory: [], contacts: [], groups, dict, startedMs });
  }
  const casePerson = personOf(groups, ident);
  const trajectory = mergePieces(rows.filter((r) => personOf(groups, r.ident) === casePerson), w.from, w.to, groups);
  const contactPieces = mergePieces(overlapping(rows, trajectory), w.from, w.to, groups, (p) => p === casePerson);
  const first = pairHits(rules, trajectory, contactPieces);
  const byVia = new Map<number, Map<number, PairHit[]>>();
  if ((req.degree ?? 2) === 2) {
    for (const [contact, hits] of first) {
      if (!hits.some((h) => h.verdict.category === 'close')) continue;
      const from = firstCloseExposure(hits);
      if (!(from < w.now)) continue;
      const theirs = mergePieces(rows.filter((r) => personOf(groups, r.ident) === contact), from, w.now, groups);
      const met = mergePieces(overlapping(rows, theirs), from, w.now, groups, (p) => p === contact || p === casePerson);
      for (const [person, h2] of pairHits(rules, theirs, met, (v) => v.category === 'close')) {
        let vias = byVia.get(person);
        if (!vias) byVia.set(person, (vias = new Map()));
        vias.set(contact, h2);
      }
    }
  }
  // Every close contact's hits were kept; the earliest are chosen here, independently of how the tracer chooses them as it goes.
  const second = new SecondExposures();
  const startOf = (hits: readonly PairHit[]): number => Math.min(...hits.map(hitStart));
  for (const [person, vias] of byVia) {
    const earliest = Math.min(...[...vias.values()].map(startOf));
    for (const [via, hits] of vias) if (startOf(hits) === earliest) second.add(person, via, hits);
  }
  return renderResult({ rules, window: w.window, casePerson, requestedId: req.id, trajectory, contacts: decideContacts(first, second), groups, dict, startedMs });
}
