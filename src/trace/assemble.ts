/**
 * @module The rule work of a trace, independent of where presences come from: merging records into
 * pieces, applying the rule set to pairs of pieces, deciding each person's degree and category, and
 * rendering the result with names and risk. The tracer and the brute-force reference both use it.
 */
import { categoryRank, evaluatePair, explainPair, type Category, type PairVerdict, type RuleSet, type SubInfo } from '../domain/contact-rules.ts';
import type { PlaceKind } from '../domain/formats.ts';
import { compareIdKeys } from '../domain/identity.ts';
import { scoreRisk } from '../domain/risk.ts';
import { FLAG_DATE_ONLY, FLAG_POINT_EVENT, type Candidate, type IdentityGroups, type TraceDictionary } from './candidate-source.ts';
import type { ContactEvidence, TraceContact, TracePresence, TraceResult, TraceWindow } from './types.ts';

/** One person's records at one place (and seat or room), merged where they overlap or touch, clipped to a window. */
export interface Piece {
  /** Person: the smallest identifier dictionary id of their group. */
  person: number;
  place: number;
  placeKind: PlaceKind;
  sub: SubInfo | null;
  start: number;
  end: number;
  flags: number;
  /** Some merged record was date-only (flags has FLAG_DATE_ONLY); kept as a field for the rule evaluation. */
  dateOnly: boolean;
  records: number;
}

/** A pair of pieces that the rules call a contact. */
export interface PairHit {
  source: Piece;
  contact: Piece;
  verdict: PairVerdict;
}

/** The person of an identifier. */
export function personOf(groups: IdentityGroups, ident: number): number {
  return groups.groupOf(ident)[0] ?? ident;
}

/** A record clipped to the window, with what identifies the stored record. */
interface RawRecord {
  p: Piece;
  /** Seat or room text ('' for none), compared when person and place are equal. */
  subKey: string;
  ident: number;
  rawStart: number;
  rawEnd: number;
}

/**
 * Merges records into pieces: duplicates removed, clipped to [from, to), then per (person, place,
 * sub) the records that overlap or touch joined into one. `skip` drops persons (the case itself).
 */
export function mergePieces(records: readonly Candidate[], from: number, to: number, groups: IdentityGroups, skip?: (person: number) => boolean): Piece[] {
  // Grouped by person first: most people have one or two records here, so most groups need no sort.
  const byPerson = new Map<number, RawRecord[]>();
  for (const c of records) {
    const start = c.start > from ? c.start : from;
    const end = c.end < to ? c.end : to;
    if (end <= start) continue;
    const person = personOf(groups, c.ident);
    if (skip?.(person)) continue;
    const r: RawRecord = {
      p: { person, place: c.place, placeKind: c.placeKind, sub: c.sub, start, end, flags: c.flags, dateOnly: (c.flags & FLAG_DATE_ONLY) !== 0, records: 1 },
      subKey: c.sub?.text ?? '', ident: c.ident, rawStart: c.start, rawEnd: c.end,
    };
    const g = byPerson.get(person);
    if (g) g.push(r);
    else byPerson.set(person, [r]);
  }
  const out: Piece[] = [];
  for (const raw of byPerson.values()) {
    if (raw.length === 1) {
      out.push(raw[0].p);
      continue;
    }
    raw.sort((x, y) => {
      const a = x.p;
      const b = y.p;
      return a.place - b.place || (x.subKey === y.subKey ? 0 : x.subKey < y.subKey ? -1 : 1)
        || a.start - b.start || a.end - b.end || x.ident - y.ident || x.rawStart - y.rawStart || x.rawEnd - y.rawEnd || a.flags - b.flags;
    });
    let prev: RawRecord | undefined;
    let last: Piece | undefined;
    let lastSub = '';
    for (const r of raw) {
      const p = r.p;
      // The same stored record read twice (it overlapped two query windows) counts once.
      const same = prev && prev.ident === r.ident && prev.rawStart === r.rawStart && prev.rawEnd === r.rawEnd && prev.p.place === p.place
        && prev.p.flags === p.flags && prev.subKey === r.subKey;
      prev = r;
      if (same) continue;
      if (last && last.place === p.place && lastSub === r.subKey && p.start <= last.end) {
        if (p.end > last.end) last.end = p.end;
        last.flags |= p.flags;
        last.dateOnly ||= p.dateOnly;
        last.records += 1;
      } else {
        last = p;
        lastSub = r.subKey;
        out.push(p);
      }
    }
  }
  return out;
}

/** Applies the rules to every pair (source piece, contact piece) at the same place; hits per contact person. */
export function pairHits(rules: RuleSet, sources: readonly Piece[], contacts: readonly Piece[], keep: (v: PairVerdict) => boolean = () => true): Map<number, PairHit[]> {
  const byPlace = new Map<number, Piece[]>();
  for (const s of sources) {
    let l = byPlace.get(s.place);
    if (!l) byPlace.set(s.place, (l = []));
    l.push(s);
  }
  const hits = new Map<number, PairHit[]>();
  for (const c of contacts) {
    const here = byPlace.get(c.place);
    if (!here) continue;
    for (const s of here) {
      // Most pairs at a place do not overlap at all: reject them before building a verdict.
      if (c.start >= s.end || s.start >= c.end) continue;
      const verdict = evaluatePair(rules, s, c);
      if (!verdict || !keep(verdict)) continue;
      let l = hits.get(c.person);
      if (!l) hits.set(c.person, (l = []));
      l.push({ source: s, contact: c, verdict });
    }
  }
  return hits;
}

/** Start of the shared interval of a hit. */
export function hitStart(h: PairHit): number {
  return Math.max(h.source.start, h.contact.start);
}

/** Code-unit order: the same everywhere, unlike a locale's collation (and much cheaper). */
function textOrder(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

/** Strongest first; a total order so every source gives the same list. */
function compareHits(a: PairHit, b: PairHit): number {
  return categoryRank(a.verdict.category) - categoryRank(b.verdict.category)
    || b.verdict.overlapSeconds - a.verdict.overlapSeconds
    || a.source.start - b.source.start || a.contact.start - b.contact.start
    || a.source.place - b.source.place || a.source.end - b.source.end || a.contact.end - b.contact.end
    || textOrder(a.contact.sub?.text ?? '', b.contact.sub?.text ?? '')
    || textOrder(a.source.sub?.text ?? '', b.source.sub?.text ?? '');
}

/** A contact before names are attached. */
export interface ContactDraft {
  person: number;
  degree: 1 | 2;
  category: Category;
  via?: number;
  hits: PairHit[];
}

/** The strongest category among hits. */
export function bestCategory(hits: readonly PairHit[]): Category {
  let best: Category = 'general';
  for (const h of hits) if (categoryRank(h.verdict.category) < categoryRank(best)) best = h.verdict.category;
  return best;
}

/**
 * Decides each person's single entry: a close contact of the case stays degree 1; otherwise a
 * close-level exposure to a close contact makes them secondary (degree 2, through the close contact
 * they met first); otherwise their degree-1 category (companion or general).
 */
export function decideContacts(first: Map<number, PairHit[]>, second: Map<number, Map<number, PairHit[]>>): ContactDraft[] {
  const out: ContactDraft[] = [];
  const firstClose = new Set<number>();
  for (const [person, hits] of first) {
    if (bestCategory(hits) === 'close') firstClose.add(person);
  }
  const persons = new Set<number>([...first.keys(), ...second.keys()]);
  for (const person of persons) {
    const h1 = first.get(person);
    if (h1 && firstClose.has(person)) {
      out.push({ person, degree: 1, category: 'close', hits: [...h1].sort(compareHits) });
      continue;
    }
    const vias = second.get(person);
    if (vias && vias.size) {
      let bestVia = -1;
      let bestStart = Infinity;
      for (const [via, hits] of vias) {
        const start = Math.min(...hits.map(hitStart));
        if (start < bestStart || (start === bestStart && via < bestVia)) {
          bestStart = start;
          bestVia = via;
        }
      }
      out.push({ person, degree: 2, category: 'secondary', via: bestVia, hits: [...(vias.get(bestVia) ?? [])].sort(compareHits) });
      continue;
    }
    if (h1) out.push({ person, degree: 1, category: bestCategory(h1), hits: [...h1].sort(compareHits) });
  }
  return out;
}

/** First moment of close-level exposure among hits (epoch seconds), for the second-degree window. */
export function firstCloseExposure(hits: readonly PairHit[]): number {
  let t = Infinity;
  for (const h of hits) if (h.verdict.category === 'close') t = Math.min(t, hitStart(h));
  return t;
}

const iso = (s: number): string => new Date(s * 1000).toISOString();

/** Everything needed to render a result. */
export interface RenderInput {
  rules: RuleSet;
  window: TraceWindow;
  casePerson: number;
  /** The identifier asked for, shown when the store does not know it. */
  requestedId: string;
  trajectory: readonly Piece[];
  contacts: readonly ContactDraft[];
  groups: IdentityGroups;
  dict: TraceDictionary;
  startedMs: number;
}

/** Attaches names, evidence and risk; orders contacts by degree, category, risk, key. */
export async function renderResult(input: RenderInput): Promise<TraceResult> {
  const { rules, groups, dict } = input;
  const idents = new Set<number>();
  const places = new Set<number>();
  const addPerson = (p: number): void => {
    for (const id of groups.groupOf(p)) idents.add(id);
  };
  if (input.casePerson >= 0) addPerson(input.casePerson);
  for (const p of input.trajectory) places.add(p.place);
  for (const c of input.contacts) {
    addPerson(c.person);
    if (c.via !== undefined) addPerson(c.via);
    for (const h of c.hits) {
      places.add(h.source.place);
      places.add(h.contact.place);
    }
  }
  const identList = [...idents];
  const placeList = [...places];
  const [identKeys, placeKeys] = await Promise.all([
    identList.length ? dict.identifierKeys(identList) : Promise.resolve([]),
    placeList.length ? dict.placeKeys(placeList) : Promise.resolve([]),
  ]);
  const identName = new Map(identList.map((id, i) => [id, identKeys[i]]));
  const placeName = new Map(placeList.map((id, i) => [id, placeKeys[i]]));
  const people = new Map<number, { key: string; ids: string[] }>();
  const person = (p: number): { key: string; ids: string[] } => {
    const known = people.get(p);
    if (known) return { key: known.key, ids: known.ids };
    const group = groups.groupOf(p);
    const extra = groups.extraIds?.(p) ?? [];
    const ids = group.map((id) => identName.get(id) ?? `?${id}`);
    if (extra.length) ids.push(...extra);
    // Most people have one identifier: nothing to order.
    if (ids.length > 1) ids.sort(compareIdKeys);
    const who = { key: ids[0] ?? '', ids };
    people.set(p, who);
    return { key: who.key, ids: who.ids };
  };
  const isoCache = new Map<number, string>();
  const isoOf = (t: number): string => {
    let v = isoCache.get(t);
    if (v === undefined) isoCache.set(t, (v = iso(t)));
    return v;
  };
  // The case's pieces appear in many contacts' evidence: render each piece once.
  const rendered = new Map<Piece, TracePresence>();
  const presence = (p: Piece): TracePresence => {
    const hit = rendered.get(p);
    if (hit) return hit;
    const key = placeName.get(p.place) ?? `${p.placeKind}:?${p.place}`;
    const out: TracePresence = {
      place: key, placeKind: p.placeKind, placeId: key.slice(key.indexOf(':') + 1),
      start: isoOf(p.start), end: isoOf(p.end),
      dateOnly: (p.flags & FLAG_DATE_ONLY) !== 0, pointEvent: (p.flags & FLAG_POINT_EVENT) !== 0, records: p.records,
    };
    if (p.sub) out.sub = p.sub.text;
    rendered.set(p, out);
    return out;
  };
  const contacts: TraceContact[] = input.contacts.map((c) => {
    const who = person(c.person);
    const evidence: ContactEvidence[] = c.hits.map((h) => {
      const e: ContactEvidence = {
        rule: h.verdict.rule, why: explainPair(rules, h.source, h.contact, h.verdict), category: h.verdict.category,
        source: presence(h.source), contact: presence(h.contact),
        overlapSeconds: h.verdict.overlapSeconds, lowConfidence: h.verdict.lowConfidence,
      };
      if (h.verdict.seatDistance !== undefined) e.seatDistance = h.verdict.seatDistance;
      return e;
    });
    // The risk reads the evidence at the pair category that made the contact (close for secondary).
    const pairCat = c.category === 'secondary' ? 'close' : c.category;
    let longest = 0;
    let seat: number | undefined;
    let household = false;
    let sameRoom = false;
    let allLow = true;
    let exposures = 0;
    let first = Infinity;
    for (const h of c.hits) {
      const v = h.verdict;
      if (v.category !== pairCat) continue;
      exposures++;
      if (v.overlapSeconds > longest) longest = v.overlapSeconds;
      if (v.seatDistance !== undefined && (seat === undefined || v.seatDistance < seat)) seat = v.seatDistance;
      if (v.rule === 'co-presence') household = true;
      if (v.rule === 'same-room' && v.category === 'close') sameRoom = true;
      if (!v.lowConfidence) allLow = false;
      const hs = hitStart(h);
      if (hs < first) first = hs;
    }
    if (exposures === 0) for (const h of c.hits) first = Math.min(first, hitStart(h));
    const risk = scoreRisk(rules, {
      category: c.category, longestOverlapSeconds: longest, seatDistance: seat, household, sameRoom,
      lowConfidence: exposures > 0 && allLow, exposures,
    });
    const out: TraceContact = {
      ...who, degree: c.degree, category: c.category,
      firstExposure: isoOf(first),
      evidence, risk,
    };
    if (c.via !== undefined) out.via = person(c.via).key;
    return out;
  });
  contacts.sort((a, b) => a.degree - b.degree || categoryRank(a.category) - categoryRank(b.category) || b.risk.score - a.risk.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const summary = { close: 0, secondary: 0, companion: 0, general: 0, elapsedMs: 0 };
  for (const c of contacts) summary[c.category]++;
  const trajectory = [...input.trajectory].sort((a, b) => a.start - b.start || a.end - b.end || a.place - b.place).map(presence);
  const casePerson = input.casePerson >= 0 ? person(input.casePerson) : { key: input.requestedId, ids: [input.requestedId] };
  summary.elapsedMs = Math.round((performance.now() - input.startedMs) * 100) / 100;
  return { person: casePerson, window: input.window, rules: { name: rules.name, version: rules.version }, trajectory, contacts, summary };
}

/**
 * A person's key, as identity resolution gives it: with identifiers in kind order (ID cards first),
 * the first one — their ID card when they have one.
 */
export function personKey(ids: readonly string[]): string {
  return [...ids].sort(compareIdKeys)[0] ?? '';
}
