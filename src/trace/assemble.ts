/**
 * @module The rule work of a trace, independent of where presences come from: merging records into
 * pieces, applying the rule set to pairs of pieces, deciding each person's degree and category, and
 * rendering the result with names and risk. The tracer and the brute-force reference both use it.
 */
import { evaluatePair, explainPair, type Category, type PairVerdict, type RuleSet, type SubInfo } from '../domain/contact-rules.ts';
import type { PlaceKind } from '../domain/formats.ts';
import { compareIdKeys } from '../domain/identity.ts';
import { scoreRisk } from '../domain/risk.ts';
import { FLAG_DATE_ONLY, FLAG_POINT_EVENT, type Candidate, type IdentityGroups, type TraceDictionary } from './candidate-source.ts';
import type { ContactEvidence, TraceContact, TracedPerson, TracePresence, TraceResult, TraceWindow } from './types.ts';

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
  /** The piece as rendered in this trace's output, once it is (a piece appears in many contacts' evidence). */
  view?: TracePresence;
}

/** A pair of pieces that the rules call a contact. */
export interface PairHit {
  source: Piece;
  contact: Piece;
  verdict: PairVerdict;
}

/** The person of an identifier. */
export function personOf(groups: IdentityGroups, ident: number): number {
  return groups.personOf ? groups.personOf(ident) : groups.groupOf(ident)[0] ?? ident;
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
      p: { person, place: c.place, placeKind: c.placeKind, sub: c.sub, start, end, flags: c.flags, dateOnly: (c.flags & FLAG_DATE_ONLY) !== 0, records: 1, view: undefined },
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

/** `categoryRank` without the table lookup: it runs in every comparison of the sorts below. */
function rank(c: Category): number {
  return c === 'close' ? 0 : c === 'secondary' ? 1 : c === 'companion' ? 2 : 3;
}

/** Code-unit order: the same everywhere, unlike a locale's collation (and much cheaper). */
function textOrder(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

/** Strongest first; a total order so every source gives the same list. */
function compareHits(a: PairHit, b: PairHit): number {
  return rank(a.verdict.category) - rank(b.verdict.category)
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
  for (const h of hits) if (rank(h.verdict.category) < rank(best)) best = h.verdict.category;
  return best;
}

/**
 * Decides each person's single entry: a close contact of the case stays degree 1; otherwise a
 * close-level exposure to a close contact makes them secondary (degree 2, through the close contact
 * they met first); otherwise their degree-1 category (companion or general).
 */
export function decideContacts(first: Map<number, PairHit[]>, second: Map<number, Map<number, PairHit[]>>): ContactDraft[] {
  const out: ContactDraft[] = [];
  const sorted = (hits: readonly PairHit[]): PairHit[] => (hits.length < 2 ? [...hits] : [...hits].sort(compareHits));
  const secondary = (person: number, vias: Map<number, PairHit[]>): ContactDraft => {
    let bestVia = -1;
    let bestStart = Infinity;
    for (const [via, hits] of vias) {
      let start = Infinity;
      for (const h of hits) {
        const t = hitStart(h);
        if (t < start) start = t;
      }
      if (start < bestStart || (start === bestStart && via < bestVia)) {
        bestStart = start;
        bestVia = via;
      }
    }
    return { person, degree: 2, category: 'secondary', via: bestVia, hits: sorted(vias.get(bestVia) ?? []) };
  };
  // First-degree persons first, then those met only through a close contact (the order they were found in).
  for (const [person, h1] of first) {
    const best = bestCategory(h1);
    const vias = best === 'close' ? undefined : second.get(person);
    if (vias && vias.size) out.push(secondary(person, vias));
    else out.push({ person, degree: 1, category: best, hits: sorted(h1) });
  }
  for (const [person, vias] of second) {
    if (!first.has(person) && vias.size) out.push(secondary(person, vias));
  }
  return out;
}

/** First moment of close-level exposure among hits (epoch seconds), for the second-degree window. */
export function firstCloseExposure(hits: readonly PairHit[]): number {
  let t = Infinity;
  for (const h of hits) if (h.verdict.category === 'close') t = Math.min(t, hitStart(h));
  return t;
}

/** Two-digit texts 00–99, for the time of day. */
const TWO = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)));
/** `YYYY-MM-DDT` per UTC day number: a trace's times fall on a handful of days. */
const dayPrefix = new Map<number, string>();
const lastDay = { day: -1, prefix: '' };

/**
 * ISO 8601 UTC of epoch seconds, the same text as `Date#toISOString` (milliseconds always .000):
 * the date part is looked up per day and the time of day is plain arithmetic, which is several
 * times cheaper than a `Date` per value when a trace formats thousands of times.
 */
export function isoSeconds(t: number): string {
  if (!Number.isInteger(t) || t < 0) return new Date(t * 1000).toISOString();
  const day = Math.floor(t / 86_400);
  let prefix: string | undefined;
  // Consecutive times mostly fall on the same day: one remembered day before the map.
  if (day === lastDay.day) prefix = lastDay.prefix;
  else {
    prefix = dayPrefix.get(day);
    if (prefix === undefined) {
      prefix = new Date(day * 86_400_000).toISOString().slice(0, 11);
      if (dayPrefix.size < 100_000) dayPrefix.set(day, prefix);
    }
    lastDay.day = day;
    lastDay.prefix = prefix;
  }
  const sec = t - day * 86_400;
  const h = (sec / 3600) | 0;
  const m = ((sec - h * 3600) / 60) | 0;
  return `${prefix}${TWO[h]}:${TWO[m]}:${TWO[sec - h * 3600 - m * 60]}.000Z`;
}

/**
 * Persons as rendered (key, identifiers in kind order), per identity groups and dictionary. Both are
 * immutable (new links make new groups; a dictionary id never changes its name), so an entry never
 * goes stale; ordering a person's identifiers is the dearest part of naming them, and the same
 * people come back trace after trace. Only persons whose names were all at hand are kept.
 */
const personCache = new WeakMap<IdentityGroups, WeakMap<TraceDictionary, { byPerson: (TracedPerson | undefined)[]; size: number }>>();
/** Past this many persons a cache starts over, so memory stays bounded on a very large population. */
const PERSON_CACHE_MAX = 1_000_000;

function personCacheOf(groups: IdentityGroups, dict: TraceDictionary): { byPerson: (TracedPerson | undefined)[]; size: number } {
  let perDict = personCache.get(groups);
  if (!perDict) personCache.set(groups, (perDict = new WeakMap()));
  let c = perDict.get(dict);
  if (!c || c.size >= PERSON_CACHE_MAX) perDict.set(dict, (c = { byPerson: [], size: 0 }));
  return c;
}

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
  // Names at hand in the dictionary's cache are read as they are used; only the others are fetched, in one call each.
  const knownIdent = dict.knownIdentifierKey?.bind(dict);
  const knownPlace = dict.knownPlaceKey?.bind(dict);
  const idents = new Set<number>();
  const places = new Set<number>();
  const cache = personCacheOf(groups, dict);
  const addPerson = (p: number): void => {
    if (cache.byPerson[p]) return;
    for (const id of groups.groupOf(p)) if (knownIdent?.(id) === undefined) idents.add(id);
  };
  const addPlace = (p: number): void => {
    if (knownPlace?.(p) === undefined) places.add(p);
  };
  if (input.casePerson >= 0) addPerson(input.casePerson);
  for (const p of input.trajectory) addPlace(p.place);
  for (const c of input.contacts) {
    addPerson(c.person);
    if (c.via !== undefined) addPerson(c.via);
    for (const h of c.hits) {
      addPlace(h.source.place);
      addPlace(h.contact.place);
    }
  }
  const identList = [...idents];
  const placeList = [...places];
  const [identKeys, placeKeys] = await Promise.all([
    identList.length ? dict.identifierKeys(identList) : Promise.resolve([]),
    placeList.length ? dict.placeKeys(placeList) : Promise.resolve([]),
  ]);
  const fetchedIdent = new Map(identList.map((id, i) => [id, identKeys[i]]));
  const fetchedPlace = new Map(placeList.map((id, i) => [id, placeKeys[i]]));
  const placeName = (id: number): string | undefined => knownPlace?.(id) ?? fetchedPlace.get(id);
  const people = new Map<number, TracedPerson>();
  /** The person's key and identifiers; the result gets its own copy of the list. */
  const person = (p: number): TracedPerson => {
    const hit = (p >= 0 && p < 2 ** 32 ? cache.byPerson[p] : undefined) ?? people.get(p);
    if (hit) return { key: hit.key, ids: hit.ids.slice() };
    const group = groups.groupOf(p);
    const extra = groups.extraIds?.(p);
    const ids: string[] = [];
    let allKnown = knownIdent !== undefined;
    for (const id of group) {
      const known = knownIdent?.(id);
      if (known === undefined) allKnown = false;
      ids.push(known ?? fetchedIdent.get(id) ?? `?${id}`);
    }
    if (extra?.length) ids.push(...extra);
    // Most people have one identifier: nothing to order.
    if (ids.length > 1) ids.sort(compareIdKeys);
    const who = { key: ids[0] ?? '', ids };
    if (allKnown && Number.isInteger(p) && p >= 0 && p < 2 ** 32) {
      cache.byPerson[p] = who;
      cache.size++;
    } else {
      people.set(p, who);
    }
    return { key: who.key, ids: ids.slice() };
  };
  // The case's pieces appear in many contacts' evidence: render each piece once (kept on the piece).
  const presence = (p: Piece): TracePresence => {
    if (p.view) return p.view;
    const key = placeName(p.place) ?? `${p.placeKind}:?${p.place}`;
    const out: TracePresence = {
      place: key, placeKind: p.placeKind, placeId: key.slice(key.indexOf(':') + 1),
      start: isoSeconds(p.start), end: isoSeconds(p.end),
      dateOnly: (p.flags & FLAG_DATE_ONLY) !== 0, pointEvent: (p.flags & FLAG_POINT_EVENT) !== 0, records: p.records,
    };
    if (p.sub) out.sub = p.sub.text;
    p.view = out;
    return out;
  };
  const contacts: TraceContact[] = [];
  for (const c of input.contacts) {
    const who = person(c.person);
    const evidence: ContactEvidence[] = [];
    // The risk reads the evidence at the pair category that made the contact (close for secondary).
    const pairCat = c.category === 'secondary' ? 'close' : c.category;
    let longest = 0;
    let seat: number | undefined;
    let household = false;
    let sameRoom = false;
    let allLow = true;
    let exposures = 0;
    let first = Infinity;
    let firstAny = Infinity;
    for (const h of c.hits) {
      const v = h.verdict;
      const e: ContactEvidence = {
        rule: v.rule, why: explainPair(rules, h.source, h.contact, v), category: v.category,
        source: presence(h.source), contact: presence(h.contact),
        overlapSeconds: v.overlapSeconds, lowConfidence: v.lowConfidence,
      };
      if (v.seatDistance !== undefined) e.seatDistance = v.seatDistance;
      evidence.push(e);
      const hs = h.source.start > h.contact.start ? h.source.start : h.contact.start;
      if (hs < firstAny) firstAny = hs;
      if (v.category !== pairCat) continue;
      exposures++;
      if (v.overlapSeconds > longest) longest = v.overlapSeconds;
      if (v.seatDistance !== undefined && (seat === undefined || v.seatDistance < seat)) seat = v.seatDistance;
      if (v.rule === 'co-presence') household = true;
      if (v.rule === 'same-room' && v.category === 'close') sameRoom = true;
      if (!v.lowConfidence) allLow = false;
      if (hs < first) first = hs;
    }
    if (exposures === 0) first = firstAny;
    const risk = scoreRisk(rules, {
      category: c.category, longestOverlapSeconds: longest, seatDistance: seat, household, sameRoom,
      lowConfidence: exposures > 0 && allLow, exposures,
    });
    const out: TraceContact = {
      key: who.key, ids: who.ids, degree: c.degree, category: c.category,
      firstExposure: isoSeconds(first),
      evidence, risk,
    };
    if (c.via !== undefined) out.via = person(c.via).key;
    contacts.push(out);
  }
  contacts.sort((a, b) => a.degree - b.degree || rank(a.category) - rank(b.category) || b.risk.score - a.risk.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const summary = { close: 0, secondary: 0, companion: 0, general: 0, elapsedMs: 0 };
  for (const c of contacts) summary[c.category]++;
  const trajectory = [...input.trajectory].sort((a, b) => a.start - b.start || a.end - b.end || a.place - b.place).map(presence);
  const who = input.casePerson >= 0 ? person(input.casePerson) : { key: input.requestedId, ids: [input.requestedId] };
  const casePerson = { key: who.key, ids: who.ids };
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
