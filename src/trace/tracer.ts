/**
 * @module The tracer: a case's window, trajectory and contacts (first and second degree) by the
 * rule set, over any `CandidateSource` (the in-memory index, a store that pushes the reads down, or a
 * benchmark peer). The rule work itself is in assemble.ts, shared with the brute-force reference.
 */
import { canGiveClose, loadRuleSet, type RuleSet } from '../domain/contact-rules.ts';
import { parseIdKey } from '../domain/formats.ts';
import { decideContacts, firstCloseExposure, mergePieces, mergePiecesInto, pairHits, pairSecond, personOf, PieceColumns, renderResult, SecondExposures, viaRanks, type Piece } from './assemble.ts';
import { CandidateColumns, type CandidateSource, type IdentityGroups, type PlaceWindow, type TraceDictionary } from './candidate-source.ts';
import type { TraceRequest, TraceResult, TraceService } from './types.ts';
import { resolveWindow, TraceRequestError } from './window.ts';

/** What a tracer reads from. */
export interface TracerDeps {
  source: CandidateSource;
  dict: TraceDictionary;
  groups: IdentityGroups;
  /** IANA time zone of the deployment (dates in requests are local dates). */
  timeZone: string;
  /** Rule set when the request names none. */
  defaultRules?: string;
}

function windows(pieces: readonly Piece[]): PlaceWindow[] {
  return pieces.map((p) => ({ place: p.place, placeKind: p.placeKind, from: p.start, to: p.end }));
}

/**
 * Columns a source that answers in this process (the index) writes its reads into: each is filled
 * and merged in one synchronous step, so concurrent traces never see each other's rows.
 */
const readColumns = new CandidateColumns();

/** A person's presences in [from, to), merged into pieces. */
async function piecesOf(source: CandidateSource, idents: readonly number[], from: number, to: number, groups: IdentityGroups, skip?: (person: number) => boolean): Promise<Piece[]> {
  if (source.presencesOfInto) {
    source.presencesOfInto(idents, from, to, readColumns.clear());
    return mergePieces(readColumns, from, to, groups, skip);
  }
  return mergePieces(await source.presencesOf(idents, from, to), from, to, groups, skip);
}

/** The presences overlapping these pieces at their places, merged into pieces within [from, to). */
async function piecesAt(source: CandidateSource, at: readonly Piece[], from: number, to: number, groups: IdentityGroups, skip?: (person: number) => boolean): Promise<Piece[]> {
  if (source.presencesAtInto) {
    source.presencesAtInto(windows(at), readColumns.clear());
    return mergePieces(readColumns, from, to, groups, skip);
  }
  return mergePieces(await source.presencesAt(windows(at)), from, to, groups, skip);
}

/** Columns the persons a close contact met are merged into (used at once by `pairSecond`, before the next read). */
const metColumns = new PieceColumns();

/** `piecesAt` into `metColumns`, without making objects. */
async function piecesAtInto(source: CandidateSource, at: readonly Piece[], from: number, to: number, groups: IdentityGroups, skip?: (person: number) => boolean): Promise<PieceColumns> {
  if (source.presencesAtInto) {
    source.presencesAtInto(windows(at), readColumns.clear());
    return mergePiecesInto(readColumns, from, to, groups, skip, metColumns);
  }
  return mergePiecesInto(await source.presencesAt(windows(at)), from, to, groups, skip, metColumns);
}

/**
 * Membership in a set of persons, asked once per person of every merge of a second-degree search
 * (millions of times for an outbreak's case): persons are dictionary ids, so whole numbers up to the
 * largest member are looked up in a bitset, which stays in cache; any other number in a `Set`.
 */
export function memberOf(persons: readonly number[]): (p: number) => boolean {
  // A whole number in [0, 2^31): what the bitset holds.
  const small = (p: number): boolean => (p | 0) === p && p >= 0;
  const max = persons.reduce((m, p) => (small(p) && p > m ? p : m), -1);
  const bits = new Uint32Array((max >>> 5) + 1);
  const odd = new Set<number>();
  for (const p of persons) {
    if (small(p)) bits[p >>> 5] |= 1 << (p & 31);
    else odd.add(p);
  }
  return (p) => (small(p) && p <= max ? (bits[p >>> 5] & (1 << (p & 31))) !== 0 : odd.size !== 0 && odd.has(p));
}

/** Runs traces over one candidate source. */
export class Tracer implements TraceService {
  constructor(private readonly deps: TracerDeps) {}

  async trace(req: TraceRequest): Promise<TraceResult> {
    const startedMs = performance.now();
    const { source, dict, groups } = this.deps;
    try {
      parseIdKey(req.id);
    } catch (err) {
      throw new TraceRequestError((err as Error).message);
    }
    const degree = req.degree ?? 2;
    if (degree !== 1 && degree !== 2) throw new TraceRequestError(`degree ${String(degree)} must be 1 or 2`);
    let rules: RuleSet;
    try {
      rules = loadRuleSet(req.rules ?? this.deps.defaultRules ?? 'v9');
    } catch (err) {
      throw new TraceRequestError((err as Error).message);
    }
    const w = resolveWindow(req, rules, this.deps.timeZone);
    const ident = (await dict.identifierIds([req.id])).get(req.id);
    if (ident === undefined) {
      // Nothing is known about this identifier: an empty trace, not an error, so a new case still gets a record.
      return renderResult({ rules, window: w.window, casePerson: -1, requestedId: req.id, trajectory: [], contacts: [], groups, dict, startedMs });
    }
    const casePerson = personOf(groups, ident);
    const caseIdents = groups.groupOf(casePerson);
    const isCase = (p: number): boolean => p === casePerson;

    let trajectory: Piece[];
    let contactPieces: Piece[];
    if (source.firstDegree) {
      const read = await source.firstDegree(caseIdents, w.from, w.to);
      trajectory = mergePieces(read.trajectory, w.from, w.to, groups);
      contactPieces = mergePieces(read.candidates, w.from, w.to, groups, isCase);
    } else {
      trajectory = await piecesOf(source, caseIdents, w.from, w.to, groups);
      contactPieces = await piecesAt(source, trajectory, w.from, w.to, groups, isCase);
    }
    const first = pairHits(rules, trajectory, contactPieces);

    const second = new SecondExposures();
    if (degree === 2) {
      const close = [...first.entries()].filter(([, hits]) => hits.some((h) => h.verdict.category === 'close')).sort((a, b) => a[0] - b[0]);
      // The case and its close contacts stay first-degree whatever else they met: no need to merge their records.
      const alreadyContact = memberOf([casePerson, ...close.map(([p]) => p)]);
      // A store that pays per query reads every close contact's side in one round trip.
      // Close contacts ranked by person key, so that one tied at the same first moment as another is settled at once.
      const ranks = await viaRanks(groups, dict, close.map(([p]) => p));
      const batched = source.firstDegreeMany
        ? await source.firstDegreeMany(close.map(([contact, hits]) => ({ idents: groups.groupOf(contact), from: firstCloseExposure(hits), to: w.now })))
        : undefined;
      for (const [i, [contact, hits]] of close.entries()) {
        const from = firstCloseExposure(hits);
        const to = w.now;
        if (!(from < to)) continue;
        let theirs: Piece[];
        let met: PieceColumns;
        if (batched) {
          theirs = mergePieces(batched[i].trajectory, from, to, groups);
          if (!theirs.length) continue;
          met = mergePiecesInto(batched[i].candidates, from, to, groups, alreadyContact, metColumns);
        } else {
          theirs = await piecesOf(source, groups.groupOf(contact), from, to, groups);
          if (!theirs.length) continue;
          // Only close-level exposure makes a secondary contact: places that cannot give one need no read.
          const closeCapable = theirs.filter((p) => canGiveClose(rules, p.placeKind));
          met = await piecesAtInto(source, closeCapable, from, to, groups, alreadyContact);
        }
        pairSecond(rules, theirs, met, contact, second, ranks.get(contact));
      }
    }
    return renderResult({
      rules, window: w.window, casePerson, requestedId: req.id, trajectory, contacts: decideContacts(first, second), groups, dict, startedMs,
    });
  }
}
