/**
 * @module The rule work of a trace, independent of where presences come from: merging records into
 * pieces, applying the rule set to pairs of pieces, deciding each person's degree and category, and
 * rendering the result with names and risk. The tracer and the brute-force reference both use it.
 */
import { evaluateWith, explainWith, pairCategory, reasonsOf, ruleFor, type Category, type KindRule, type PairSide, type PairVerdict, type RuleSet, type SubInfo } from '../domain/contact-rules.ts';
import type { PlaceKind } from '../domain/formats.ts';
import { compareIdKeys } from '../domain/identity.ts';
import { scoreRisk } from '../domain/risk.ts';
import { CandidateColumns, FLAG_DATE_ONLY, FLAG_POINT_EVENT, type Candidate, type IdentityGroups, type TraceDictionary } from './candidate-source.ts';
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

/** Person ids up to this are kept in packed arrays (the name caches below); larger ones in a map. */
const DENSE_PERSON_MAX = 1 << 26;

/**
 * Scratch space of `mergePieces`, reused from call to call (it runs synchronously, so calls never
 * interleave): an open-addressing table from person to their group number in this call (sized to the
 * call's records, so it stays in cache: tables indexed by person id are megabytes at city scale, and
 * one cache miss per record cost more than the rest of the merge); per record, its clipped interval
 * and the next record of the same person.
 */
const scratch = {
  call: 0,
  /** Table slots: the call that last used the slot, its person and that person's group. */
  slotCall: new Uint32Array(1024),
  slotPerson: new Int32Array(1024),
  slotGroup: new Int32Array(1024),
  start: new Float64Array(256),
  end: new Float64Array(256),
  next: new Int32Array(256),
  first: new Int32Array(256),
  last: new Int32Array(256),
  count: new Int32Array(256),
  person: new Float64Array(256),
};

function growRecords(n: number): void {
  if (scratch.start.length < n) {
    let m = scratch.start.length;
    while (m < n) m *= 2;
    scratch.start = new Float64Array(m);
    scratch.end = new Float64Array(m);
    scratch.next = new Int32Array(m);
    scratch.first = new Int32Array(m);
    scratch.last = new Int32Array(m);
    scratch.count = new Int32Array(m);
    scratch.person = new Float64Array(m);
  }
  // At most half full, so probe runs stay short.
  if (scratch.slotCall.length < 2 * n) {
    let m = scratch.slotCall.length;
    while (m < 2 * n) m *= 2;
    scratch.slotCall = new Uint32Array(m);
    scratch.slotPerson = new Int32Array(m);
    scratch.slotGroup = new Int32Array(m);
    scratch.call = 0;
  }
}

/** Whole person ids that fit the table's Int32 slots; others go through a map. */
const SLOT_PERSON_MAX = 0x7fffffff;

/** Piece `k` of merged columns as an object. */
export function pieceAt(m: PieceColumns, k: number): Piece {
  const flags = m.flags[k];
  const rec = m.rec[k];
  return {
    person: small(m.person[k]), place: small(m.place[k]), placeKind: m.records.placeKind[rec], sub: m.records.sub[rec],
    start: small(m.start[k]), end: small(m.end[k]), flags, dateOnly: (flags & FLAG_DATE_ONLY) !== 0, records: m.count[k], view: undefined,
  };
}

/**
 * A whole number that fits 32 bits as a small integer, anything else unchanged. Values read from a
 * Float64Array are doubles: stored as they are, every piece's fields would be boxed numbers (four
 * more allocations per piece, and slower reads); as small integers they are stored in place.
 */
function small(x: number): number {
  const i = x | 0;
  return i === x ? i : x;
}

/** The order of records within a person's group: place, seat or room, clipped interval, then the rest, so duplicates are adjacent. */
function recordOrder(c: CandidateColumns, cs: Float64Array, ce: Float64Array, i: number, j: number): number {
  return c.place[i] - c.place[j] || subOrder(c.sub[i], c.sub[j]) || cs[i] - cs[j] || ce[i] - ce[j]
    || c.ident[i] - c.ident[j] || c.start[i] - c.start[j] || c.end[i] - c.end[j] || c.flags[i] - c.flags[j];
}

/** Columns that arrays of candidates are copied into (`mergePieces` runs synchronously, so calls never share it). */
const arrayColumns = new CandidateColumns();

/** Code-unit order of the seat or room texts ('' for none). */
function subOrder(a: SubInfo | null, b: SubInfo | null): number {
  if (a === b) return 0;
  const x = a?.text ?? '';
  const y = b?.text ?? '';
  return x === y ? 0 : x < y ? -1 : 1;
}

/**
 * Pieces as columns, as `mergePiecesInto` leaves them: a second-degree search merges millions of
 * records and keeps few of the pieces, so it reads them here and makes objects (`pieceAt`) only of
 * those it keeps. Valid until the next merge into the same columns or the next read into `records`.
 */
export class PieceColumns {
  length = 0;
  person = new Float64Array(256);
  place = new Float64Array(256);
  start = new Float64Array(256);
  end = new Float64Array(256);
  flags = new Int32Array(256);
  /** Records merged into each piece. */
  count = new Int32Array(256);
  /** Each piece's first record in `records`: its seat or room and its place kind are that record's. */
  rec = new Int32Array(256);
  /** The records merged. */
  records: CandidateColumns = new CandidateColumns();

  /** Columns of pieces already made (each becomes a record of its own, with its count kept). */
  static from(pieces: readonly Piece[]): PieceColumns {
    const m = new PieceColumns();
    for (const p of pieces) {
      const rec = m.records.length;
      m.records.push(p.person, p.place, p.placeKind, p.start, p.end, p.sub, p.flags);
      m.count[m.push(p.person, p.place, p.start, p.end, p.flags, rec)] = p.records;
    }
    return m;
  }

  /** Appends a piece of one record, returning its number. */
  push(person: number, place: number, start: number, end: number, flags: number, rec: number): number {
    const k = this.length;
    if (k === this.person.length) this.grow();
    this.person[k] = person;
    this.place[k] = place;
    this.start[k] = start;
    this.end[k] = end;
    this.flags[k] = flags;
    this.count[k] = 1;
    this.rec[k] = rec;
    this.length = k + 1;
    return k;
  }

  private grow(): void {
    const m = 2 * this.person.length;
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(m);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(m);
      b.set(a);
      return b;
    };
    this.person = f64(this.person);
    this.place = f64(this.place);
    this.start = f64(this.start);
    this.end = f64(this.end);
    this.flags = i32(this.flags);
    this.count = i32(this.count);
    this.rec = i32(this.rec);
  }
}

/** Columns `mergePieces` merges into before making objects (it runs synchronously, so calls never share them). */
const objectPieces = new PieceColumns();

/**
 * Merges records into pieces: duplicates removed, clipped to [from, to), then per (person, place,
 * sub) the records that overlap or touch joined into one. `skip` drops persons (the case itself).
 * Pieces come per person in the order persons first appear, each person's in (place, sub, start) order.
 */
export function mergePieces(records: readonly Candidate[] | CandidateColumns, from: number, to: number, groups: IdentityGroups, skip?: (person: number) => boolean): Piece[] {
  const m = mergePiecesInto(records, from, to, groups, skip, objectPieces);
  const out = new Array<Piece>(m.length);
  for (let k = 0; k < m.length; k++) out[k] = pieceAt(m, k);
  return out;
}

/** `mergePieces` into columns (`out`, emptied first), without making objects; returns `out`. */
export function mergePiecesInto(records: readonly Candidate[] | CandidateColumns, from: number, to: number, groups: IdentityGroups, skip: ((person: number) => boolean) | undefined, out: PieceColumns): PieceColumns {
  // Objects are copied into columns first: the merge reads one shape whatever the source.
  const cols = records instanceof CandidateColumns ? records : arrayColumns.clear().pushAll(records);
  const n = cols.length;
  const { ident: rIdent, place: rPlace, start: rStart, end: rEnd, flags: rFlags, sub: rSub } = cols;
  growRecords(n);
  // Grouped by person first (a chain of record numbers per person): most people have one or two
  // records here, so most groups need no sort.
  const sc = scratch;
  const call = (sc.call = (sc.call + 1) >>> 0);
  if (call === 0) {
    sc.slotCall.fill(0);
    sc.call = 1;
  }
  const tag = sc.call;
  const { start: cs, end: ce, next, first, last, count, person: gp, slotCall, slotPerson, slotGroup } = sc;
  const mask = slotCall.length - 1;
  let far: Map<number, number> | undefined;
  let groupsN = 0;
  const by = groups.personOf ? groups : undefined;
  for (let i = 0; i < n; i++) {
    const s0 = rStart[i];
    const e0 = rEnd[i];
    const start = s0 > from ? s0 : from;
    const end = e0 < to ? e0 : to;
    if (end <= start) continue;
    const person = by ? by.personOf!(rIdent[i]) : personOf(groups, rIdent[i]);
    cs[i] = start;
    ce[i] = end;
    next[i] = -1;
    let g: number;
    if (person >= 0 && person <= SLOT_PERSON_MAX && Number.isInteger(person)) {
      // Fibonacci hashing spreads consecutive ids; linear probing finds the person or a free slot.
      let h = Math.imul(person, 0x9e3779b1) >>> 0 & mask;
      for (;;) {
        if (slotCall[h] !== tag) {
          slotCall[h] = tag;
          slotPerson[h] = person;
          g = slotGroup[h] = groupsN++;
          gp[g] = person;
          first[g] = -1;
          break;
        }
        if (slotPerson[h] === person) {
          g = slotGroup[h];
          break;
        }
        h = (h + 1) & mask;
      }
    } else {
      far ??= new Map();
      const known = far.get(person);
      if (known !== undefined) g = known;
      else {
        far.set(person, (g = groupsN++));
        gp[g] = person;
        first[g] = -1;
      }
    }
    if (first[g] < 0) {
      first[g] = last[g] = i;
      count[g] = 1;
    } else {
      next[last[g]] = i;
      last[g] = i;
      count[g]++;
    }
  }
  out.length = 0;
  out.records = cols;
  let raw: number[] | undefined;
  for (let g = 0; g < groupsN; g++) {
    const person = gp[g];
    // Persons dropped as a whole group: asked once per person, not once per record.
    if (skip && skip(person)) continue;
    if (count[g] === 1) {
      const i = first[g];
      out.push(person, rPlace[i], cs[i], ce[i], rFlags[i], i);
      continue;
    }
    raw ??= [];
    raw.length = 0;
    for (let i = first[g]; i >= 0; i = next[i]) raw.push(i);
    const k = raw.length;
    if (k <= 16) {
      // A person has a handful of records here: an insertion sort with the order inlined beats a sort call.
      for (let a = 1; a < k; a++) {
        const x = raw[a];
        let b = a - 1;
        while (b >= 0 && recordOrder(cols, cs, ce, raw[b], x) > 0) {
          raw[b + 1] = raw[b];
          b--;
        }
        raw[b + 1] = x;
      }
    } else {
      raw.sort((i, j) => recordOrder(cols, cs, ce, i, j));
    }
    let prev = -1;
    // The piece being grown (-1: none yet for this person).
    let last = -1;
    for (let r = 0; r < k; r++) {
      const i = raw[r];
      // The same stored record read twice (it overlapped two query windows) counts once.
      const same = prev >= 0 && rIdent[prev] === rIdent[i] && rStart[prev] === rStart[i] && rEnd[prev] === rEnd[i] && rPlace[prev] === rPlace[i]
        && rFlags[prev] === rFlags[i] && subOrder(rSub[prev], rSub[i]) === 0;
      prev = i;
      if (same) continue;
      if (last >= 0 && out.place[last] === rPlace[i] && subOrder(rSub[out.rec[last]], rSub[i]) === 0 && cs[i] <= out.end[last]) {
        if (ce[i] > out.end[last]) out.end[last] = ce[i];
        out.flags[last] |= rFlags[i];
        out.count[last] += 1;
      } else {
        last = out.push(person, rPlace[i], cs[i], ce[i], rFlags[i], i);
      }
    }
  }
  return out;
}

/** Pieces grouped by place. */
function piecesByPlace(pieces: readonly Piece[]): Map<number, Piece[]> {
  const byPlace = new Map<number, Piece[]>();
  for (const p of pieces) {
    const l = byPlace.get(p.place);
    if (l) l.push(p);
    else byPlace.set(p.place, [p]);
  }
  return byPlace;
}

/** Applies the rules to every pair (source piece, contact piece) at the same place; hits per contact person. */
export function pairHits(rules: RuleSet, sources: readonly Piece[], contacts: readonly Piece[], keep?: (v: PairVerdict) => boolean): Map<number, PairHit[]> {
  const byPlace = piecesByPlace(sources);
  const hits = new Map<number, PairHit[]>();
  let listPerson = NaN;
  let list: PairHit[] | undefined;
  // The rule of a place kind, looked up once per run of pieces of the same kind.
  let kind: PlaceKind | undefined;
  let rule: KindRule | undefined;
  // A person's pieces come in place order: the sources at a place are looked up once per run of it.
  let herePlace = NaN;
  let here: Piece[] | undefined;
  for (const c of contacts) {
    if (c.place !== herePlace) {
      herePlace = c.place;
      here = byPlace.get(herePlace);
    }
    if (!here) continue;
    for (const s of here) {
      // Most pairs at a place do not overlap at all: reject them before building a verdict.
      if (c.start >= s.end || s.start >= c.end) continue;
      if (s.placeKind !== kind || rule === undefined) {
        kind = s.placeKind;
        rule = ruleFor(rules, kind);
      }
      const verdict = evaluateWith(rule, s, c);
      if (!verdict || (keep !== undefined && !keep(verdict))) continue;
      // A person's pieces mostly come one after another (mergePieces gives them per person): their list is kept at hand.
      if (c.person !== listPerson) {
        listPerson = c.person;
        list = hits.get(listPerson);
        if (!list) hits.set(listPerson, (list = []));
      }
      list!.push({ source: s, contact: c, verdict });
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
  /**
   * Degree 2 when several close contacts exposed the person at the same first moment: each with its
   * hits. The via is the one whose person key comes first in identifier order, decided when names are
   * known (`chooseVia`); until then `via`/`hits` hold the first of them by id.
   */
  tiedVias?: { via: number; hits: PairHit[] }[];
}

/** The strongest category among hits. */
export function bestCategory(hits: readonly PairHit[]): Category {
  let best: Category = 'general';
  for (const h of hits) if (rank(h.verdict.category) < rank(best)) best = h.verdict.category;
  return best;
}

/** Strongest first, in place (the lists belong to the trace). */
function sortHits(hits: PairHit[]): PairHit[] {
  const k = hits.length;
  if (k > 16) return hits.sort(compareHits);
  // Most contacts have a handful of hits: an insertion sort (stable, like the sort) costs less than a sort call.
  for (let a = 1; a < k; a++) {
    const x = hits[a];
    let b = a - 1;
    while (b >= 0 && compareHits(hits[b], x) > 0) {
      hits[b + 1] = hits[b];
      b--;
    }
    hits[b + 1] = x;
  }
  return hits;
}

/** A person's earliest close-level exposure to the case's close contacts, and the close contacts that gave it. */
interface Earliest {
  start: number;
  vias: { via: number; hits: PairHit[] }[];
}

/**
 * The second degree as it is found, close contact by close contact: for each person met, only the
 * close contacts that exposed them first are kept (one of them becomes the via; the others can never
 * be), with their hits. Keeping every close contact's hits instead cost memory and time in proportion
 * to all (person, close contact) pairs, which in a school or a workplace is the square of its size.
 *
 * Close contacts tied at the same first moment are all kept, and the via is chosen among them when
 * names are known (`chooseVia`) — unless each close contact is offered with its rank in identifier
 * order of person keys (`pairSecond`'s `viaRank`, from `viaRanks`): then only the tied close contact
 * that ranks first is kept, as `chooseVia` would choose. Coworkers mostly meet at the same moments,
 * so in a workplace nearly every close contact ties, and keeping them all cost most of the search.
 *
 * Persons are found by an open-addressing table of typed numbers (persons are dictionary ids: whole
 * numbers below 2^32; any other number goes through a map), the earliest start and its rank kept in
 * the slot: a trace of an outbreak's case offers millions of (person, close contact) pairs.
 */
export class SecondExposures {
  /** Table slots of SLOT numbers: the person (-1 when free), the earliest start kept, its rank, and entry × 2^27 + the call that last offered the person. At most half full. */
  private slots = SecondExposures.freeSlots(1024);
  /** Entries of persons that are not whole numbers in [0, 2^32): their slot numbers in `farSlots`. */
  private far: Map<number, number> | undefined;
  private farSlots: number[] = [];
  /** Per entry, in the order persons were first met: the person, and their earliest exposure so far. */
  private readonly persons: number[] = [];
  private readonly earliest: (Earliest | undefined)[] = [];
  /** Where `entryOf` found or made the last person: the slot's first number in `slots` (or in `farSlots`, when `lastFar`). */
  private lastSlot = 0;
  private lastFar = false;
  /** The current pairing call (`pairSecond`); below 2^27. */
  call = 0;

  private static freeSlots(n: number): Float64Array {
    const a = new Float64Array(n * SLOT);
    for (let k = 0; k < a.length; k += SLOT) a[k] = -1;
    return a;
  }

  /** Close-level hits of `person` with close contact `via` (each pair once; an empty list adds nothing). Ties are all kept. */
  add(person: number, via: number, hits: PairHit[]): void {
    if (!hits.length) return;
    let start = Infinity;
    for (const h of hits) {
      const t = hitStart(h);
      if (t < start) start = t;
    }
    this.entryOf(person, true);
    this.keepWanted(person, via, start, UNRANKED, hits);
  }

  /**
   * Whether hits of `person` with a close contact of rank `rank` (UNRANKED: ties all kept) whose
   * earliest start is `start` would be kept, marking the person offered in `call`; then
   * `keepWanted` keeps them. Throws when the person was already offered in this call.
   */
  wants(person: number, call: number, start: number, rank: number): boolean {
    this.entryOf(person, true);
    const a = this.lastFar ? this.farSlots : this.slots;
    const k = this.lastSlot;
    const tag = a[k + 3];
    const entry = Math.floor(tag / CALL_SPAN);
    if (tag - entry * CALL_SPAN === call) throw new Error(`pairSecond: person ${person} came twice in one call (contacts must come person by person)`);
    a[k + 3] = entry * CALL_SPAN + call;
    const known = a[k + 1];
    return start < known || (start === known && (rank === UNRANKED || rank < a[k + 2]));
  }

  /** Keeps hits of the person `wants` (or `entryOf`) found last, when they come first (`pairSecond` calls it right after `wants` said yes). */
  keepWanted(person: number, via: number, start: number, rank: number, hits: PairHit[]): void {
    const a = this.lastFar ? this.farSlots : this.slots;
    const k = this.lastSlot;
    const entry = Math.floor(a[k + 3] / CALL_SPAN);
    const e = this.earliest[entry];
    if (e === undefined) this.earliest[entry] = { start, vias: [{ via, hits }] };
    else if (start < e.start || (rank !== UNRANKED && start === e.start && rank < a[k + 2])) {
      e.start = start;
      e.vias = [{ via, hits }];
    } else if (start === e.start && rank === UNRANKED) e.vias.push({ via, hits });
    else return;
    a[k + 1] = start;
    a[k + 2] = rank;
  }

  /** Starts the calls over when they reach 2^27 (each person's mark of the last call is cleared). */
  nextCall(): number {
    if (++this.call < CALL_SPAN) return this.call;
    for (const a of [this.slots, this.farSlots]) for (let k = 0; k < a.length; k += SLOT) a[k + 3] = Math.floor(a[k + 3] / CALL_SPAN) * CALL_SPAN;
    return (this.call = 1);
  }

  get(person: number): Earliest | undefined {
    if (!this.entryOf(person, false)) return undefined;
    const a = this.lastFar ? this.farSlots : this.slots;
    return this.earliest[Math.floor(a[this.lastSlot + 3] / CALL_SPAN)];
  }

  /** Persons in the order they were first met. */
  *entries(): IterableIterator<[number, Earliest]> {
    for (let i = 0; i < this.persons.length; i++) {
      const e = this.earliest[i];
      if (e !== undefined) yield [this.persons[i], e];
    }
  }

  /** Persons with an exposure. */
  get size(): number {
    let n = 0;
    for (const e of this.earliest) if (e !== undefined) n++;
    return n;
  }

  /** Finds the person's slot (`lastSlot`, `lastFar`), made with no exposure yet when `make`; false when absent and not made. */
  private entryOf(person: number, make: boolean): boolean {
    if (!(person >= 0 && person < 4_294_967_296 && Number.isInteger(person))) {
      this.lastFar = true;
      const known = this.far?.get(person);
      if (known !== undefined) {
        this.lastSlot = known;
        return true;
      }
      if (!make) return false;
      const k = this.farSlots.length;
      this.farSlots.push(person, Infinity, UNRANKED, this.newEntry(person) * CALL_SPAN);
      (this.far ??= new Map()).set(person, k);
      this.lastSlot = k;
      return true;
    }
    this.lastFar = false;
    const a = this.slots;
    const mask = a.length / SLOT - 1;
    // Fibonacci hashing spreads consecutive ids; linear probing finds the person or a free slot.
    let h = Math.imul(person >>> 0, 0x9e3779b1) >>> 0 & mask;
    for (;;) {
      const p = a[h * SLOT];
      if (p === person) {
        this.lastSlot = h * SLOT;
        return true;
      }
      if (p < 0) break;
      h = (h + 1) & mask;
    }
    if (!make) return false;
    const k = h * SLOT;
    a[k] = person;
    a[k + 1] = Infinity;
    a[k + 2] = UNRANKED;
    a[k + 3] = this.newEntry(person) * CALL_SPAN;
    this.lastSlot = k;
    if (2 * this.persons.length > mask + 1) {
      this.grow();
      this.entryOf(person, false);
    }
    return true;
  }

  private newEntry(person: number): number {
    this.persons.push(person);
    this.earliest.push(undefined);
    return this.persons.length - 1;
  }

  /** Twice the slots, every person placed again. */
  private grow(): void {
    const old = this.slots;
    const a = (this.slots = SecondExposures.freeSlots((2 * old.length) / SLOT));
    const mask = a.length / SLOT - 1;
    for (let k = 0; k < old.length; k += SLOT) {
      const p = old[k];
      if (p < 0) continue;
      let h = Math.imul(p >>> 0, 0x9e3779b1) >>> 0 & mask;
      while (a[h * SLOT] >= 0) h = (h + 1) & mask;
      a.set(old.subarray(k, k + SLOT), h * SLOT);
    }
  }
}

/** Numbers per slot of `SecondExposures`' table. */
const SLOT = 4;
/** Calls a slot's last number tells apart (`SecondExposures.nextCall`). */
const CALL_SPAN = 2 ** 27;
/** The rank of a close contact when ties are all kept. */
const UNRANKED = Infinity;

/**
 * Each close contact's rank by person key in identifier order (the smaller id first between equal
 * keys): `chooseVia`'s order, so that ties can be settled as the second degree is found. Names not
 * at hand are fetched (once per result, as rendering would).
 */
export async function viaRanks(groups: IdentityGroups, dict: TraceDictionary, vias: readonly number[]): Promise<Map<number, number>> {
  const cache = personCacheOf(groups, dict);
  let missing: Set<number> | undefined;
  for (const p of vias) {
    if (cache.get(p)) continue;
    for (const id of groups.groupOf(p)) if (dict.knownIdentifierKey?.(id) === undefined) (missing ??= new Set()).add(id);
  }
  let fetched: Fetched | undefined;
  if (missing) {
    const list = [...missing];
    const keys = await dict.identifierKeys(list);
    fetched = { idents: new Map(list.map((id, i) => [id, keys[i]])), places: new Map() };
  }
  const keyed = vias.map((via) => ({ via, key: personOfCache(via, groups, dict, cache, fetched, false).key }));
  keyed.sort((x, y) => compareIdKeys(x.key, y.key) || x.via - y.via);
  return new Map(keyed.map((x, rank) => [x.via, rank]));
}

/** The current person's close hits in `pairSecond`: source pieces, contact piece numbers and rules (reused: it runs synchronously). */
const pairing = { source: [] as Piece[], contact: [] as number[], rule: [] as KindRule[], made: [] as (Piece | undefined)[], madeIn: new Int32Array(256), call: 0 };

/**
 * The close-level pairs of one close contact (`via`) with the persons they met, offered to `second`:
 * what `pairHits` with only close verdicts kept, then `second.add` for each person, keep — without
 * the map and lists of every person met, and without an object per piece or per pair. A person's
 * pairs are gathered as numbers; pieces, verdicts and hits become objects only when no other close
 * contact exposed that person earlier. `contacts` must come person by person (as `mergePiecesInto`
 * gives them); a person seen again in the same call is an error.
 */
export function pairSecond(rules: RuleSet, sources: readonly Piece[], contacts: PieceColumns, via: number, second: SecondExposures, viaRank = UNRANKED): void {
  const byPlace = piecesByPlace(sources);
  const call = second.nextCall();
  const pc = pairing;
  const { source: hs, contact: hk, rule: hr } = pc;
  // Pieces made into objects in this call, by number (a piece in several pairs is one object, as from mergePieces).
  const made = (pc.call = (pc.call + 1) | 0) || (pc.call = 1);
  if (pc.madeIn.length < contacts.length) pc.madeIn = new Int32Array(Math.max(contacts.length, 2 * pc.madeIn.length));
  const madeIn = pc.madeIn;
  const pieceOf = (k: number): Piece => {
    if (madeIn[k] === made) return pc.made[k]!;
    const p = pieceAt(contacts, k);
    madeIn[k] = made;
    pc.made[k] = p;
    return p;
  };
  let n = 0;
  let person = NaN;
  let start = Infinity;
  const flush = (): void => {
    if (n === 0) return;
    if (second.wants(person, call, start, viaRank)) {
      const hits = new Array<PairHit>(n);
      for (let k = 0; k < n; k++) {
        const contact = pieceOf(hk[k]);
        hits[k] = { source: hs[k], contact, verdict: evaluateWith(hr[k], hs[k], contact)! };
      }
      second.keepWanted(person, via, start, viaRank, hits);
    }
    n = 0;
    start = Infinity;
  };
  const { person: cp, place: cpl, start: cst, end: cen, flags: cfl, rec: crec } = contacts;
  const { placeKind: rKind, sub: rSub } = contacts.records;
  // One side object, filled with the contact piece being weighed.
  const side: PairSide = { placeKind: 'venue', start: 0, end: 0, sub: null, dateOnly: false };
  let kind: PlaceKind | undefined;
  let rule: KindRule | undefined;
  let herePlace = NaN;
  let here: Piece[] | undefined;
  for (let k = 0; k < contacts.length; k++) {
    const place = cpl[k];
    if (place !== herePlace) {
      herePlace = place;
      here = byPlace.get(place);
    }
    if (!here) continue;
    const cs = cst[k];
    const ce = cen[k];
    let filled = false;
    for (const s of here) {
      if (cs >= s.end || s.start >= ce) continue;
      if (s.placeKind !== kind || rule === undefined) {
        kind = s.placeKind;
        rule = ruleFor(rules, kind);
      }
      if (!filled) {
        const rec = crec[k];
        side.placeKind = rKind[rec];
        side.start = cs;
        side.end = ce;
        side.sub = rSub[rec];
        side.dateOnly = (cfl[k] & FLAG_DATE_ONLY) !== 0;
        filled = true;
      }
      if (pairCategory(rule, s, side) !== 'close') continue;
      if (cp[k] !== person) {
        flush();
        person = cp[k];
      }
      hs[n] = s;
      hk[n] = k;
      hr[n] = rule;
      n++;
      const t = s.start > cs ? s.start : cs;
      if (t < start) start = t;
    }
  }
  flush();
  // Let go of this call's pieces.
  hs.length = hr.length = pc.made.length = 0;
}

function secondaryDraft(person: number, e: Earliest): ContactDraft {
  // Until names are known (`chooseVia`), the via is the tied close contact with the smallest id.
  let best = e.vias[0];
  for (const v of e.vias) if (v.via < best.via) best = v;
  const draft: ContactDraft = { person, degree: 2, category: 'secondary', via: best.via, hits: sortHits(best.hits) };
  if (e.vias.length > 1) draft.tiedVias = e.vias;
  return draft;
}

/**
 * Decides each person's single entry: a close contact of the case stays degree 1; otherwise a
 * close-level exposure to a close contact makes them secondary (degree 2, through the close contact
 * they met first; at the same moment, the one whose key comes first). Hit lists are sorted in place.
 */
export function decideContacts(first: Map<number, PairHit[]>, second: SecondExposures): ContactDraft[] {
  const out: ContactDraft[] = [];
  // First-degree persons first, then those met only through a close contact (the order they were found in).
  for (const [person, h1] of first) {
    const best = bestCategory(h1);
    const e = best === 'close' ? undefined : second.get(person);
    if (e) out.push(secondaryDraft(person, e));
    else out.push({ person, degree: 1, category: best, hits: sortHits(h1) });
  }
  for (const [person, e] of second.entries()) {
    if (!first.has(person)) out.push(secondaryDraft(person, e));
  }
  return out;
}

/** Settles a draft's via among close contacts tied at the same first moment: the smallest key in identifier order. */
export function chooseVia(draft: ContactDraft, keyOf: (person: number) => string): void {
  const tied = draft.tiedVias;
  if (!tied) return;
  let best = tied[0];
  let bestKey = keyOf(best.via);
  for (let i = 1; i < tied.length; i++) {
    const k = keyOf(tied[i].via);
    const o = compareIdKeys(k, bestKey);
    if (o < 0 || (o === 0 && tied[i].via < best.via)) {
      best = tied[i];
      bestKey = k;
    }
  }
  draft.via = best.via;
  draft.hits = sortHits(best.hits);
  draft.tiedVias = undefined;
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
/** Texts made lately, by minute (a direct-mapped table): a trace formats the same times again and again. */
const ISO_SLOTS = 1 << 14;
const isoTime = new Float64Array(ISO_SLOTS).fill(-1);
const isoText: string[] = new Array<string>(ISO_SLOTS).fill('');

/**
 * ISO 8601 UTC of epoch seconds, the same text as `Date#toISOString` (milliseconds always .000):
 * the date part is looked up per day and the time of day is plain arithmetic, which is several
 * times cheaper than a `Date` per value when a trace formats thousands of times.
 */
export function isoSeconds(t: number): string {
  if (!Number.isInteger(t) || t < 0 || t >= 2 ** 40) return new Date(t * 1000).toISOString();
  const slot = Math.floor(t / 60) % ISO_SLOTS;
  if (isoTime[slot] === t) return isoText[slot];
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
  const text = `${prefix}${TWO[h]}:${TWO[m]}:${TWO[sec - h * 3600 - m * 60]}.000Z`;
  isoTime[slot] = t;
  isoText[slot] = text;
  return text;
}

/** Past this many entries a name cache starts over, so memory stays bounded on a very large population. */
const NAME_CACHE_MAX = 1_000_000;

/**
 * Values by dictionary id: a packed array grown in order (so the engine keeps it a flat array, not a
 * hash table, whatever order ids come in), with a map for ids too large for it.
 */
class ById<T> {
  private readonly dense: (T | undefined)[] = [];
  private readonly far = new Map<number, T>();
  size = 0;

  get(id: number): T | undefined {
    return id >= 0 && id < this.dense.length ? this.dense[id] : this.far.get(id);
  }

  set(id: number, v: T): void {
    if (Number.isInteger(id) && id >= 0 && id < DENSE_PERSON_MAX) {
      while (this.dense.length <= id) this.dense.push(undefined);
      this.dense[id] = v;
    } else {
      this.far.set(id, v);
    }
    this.size++;
  }
}

/** A person as rendered, with their key as numbers for ordering (`keyCodes`). */
interface NamedPerson extends TracedPerson {
  codes: number[];
}

/**
 * The key's UTF-16 code units, three to a number (each unit + 1 in 17 bits, 0 past the end): two
 * keys compare as their number lists do, element by element (a shorter list first when it is a
 * prefix), which is exactly the code-unit order of `<` on the texts, without comparing texts.
 */
export function keyCodes(key: string): number[] {
  const codes: number[] = [];
  const n = key.length;
  for (let i = 0; i < n; i += 3) {
    const a = key.charCodeAt(i) + 1;
    const b = i + 1 < n ? key.charCodeAt(i + 1) + 1 : 0;
    const c = i + 2 < n ? key.charCodeAt(i + 2) + 1 : 0;
    codes.push(a * 17_179_869_184 + b * 131_072 + c);
  }
  return codes;
}

export function compareCodes(a: readonly number[], b: readonly number[]): number {
  return compareCodesFrom(a, b, 0);
}

/** `compareCodes` for lists known to be equal before `from`. */
function compareCodesFrom(a: readonly number[], b: readonly number[], from: number): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let k = from; k < n; k++) {
    const x = a[k];
    const y = b[k];
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * Persons as rendered (key, identifiers in kind order), per identity groups and dictionary. Both are
 * immutable (new links make new groups; a dictionary id never changes its name), so an entry never
 * goes stale; ordering a person's identifiers is the dearest part of naming them, and the same
 * people come back trace after trace. Only persons whose names were all at hand are kept.
 */
const personCache = new WeakMap<IdentityGroups, WeakMap<TraceDictionary, ById<NamedPerson>>>();

function personCacheOf(groups: IdentityGroups, dict: TraceDictionary): ById<NamedPerson> {
  let perDict = personCache.get(groups);
  if (!perDict) personCache.set(groups, (perDict = new WeakMap()));
  let c = perDict.get(dict);
  if (!c || c.size >= NAME_CACHE_MAX) perDict.set(dict, (c = new ById()));
  return c;
}

/** A place as rendered: `kind:id` and the id alone. */
interface PlaceName {
  key: string;
  id: string;
}

/** Places as rendered, per dictionary (names at hand only: they never change). */
const placeCache = new WeakMap<TraceDictionary, ById<PlaceName>>();

function placeCacheOf(dict: TraceDictionary): ById<PlaceName> {
  let c = placeCache.get(dict);
  if (!c || c.size >= NAME_CACHE_MAX) placeCache.set(dict, (c = new ById()));
  return c;
}

function placeName(key: string): PlaceName {
  return { key, id: key.slice(key.indexOf(':') + 1) };
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

/** Names fetched from the dictionary for one result (those not at hand). */
interface Fetched {
  idents: Map<number, string>;
  places: Map<number, string>;
}

/**
 * Thrown by `buildResult` when it is told to use only names at hand and meets one that is not: the
 * names are then fetched and the result built again.
 */
const NAME_NOT_AT_HAND = new Error('a name is not at hand');

/** Attaches names, evidence and risk; orders contacts by degree, category, risk, key. */
export async function renderResult(input: RenderInput): Promise<TraceResult> {
  const { groups, dict } = input;
  const persons = personCacheOf(groups, dict);
  const places = placeCacheOf(dict);
  // Most traces name only people and places whose names are at hand: built at once, without a
  // first pass over every contact and piece of evidence to find what to fetch. Building stops at the
  // first name that is not at hand (having changed nothing that a second build would not redo).
  if (dict.knownIdentifierKey && dict.knownPlaceKey) {
    try {
      return buildResult(input, persons, places, undefined, true);
    } catch (err) {
      if (err !== NAME_NOT_AT_HAND) throw err;
    }
  }
  // Names at hand in the dictionary's cache are read as they are used; only the others are fetched, in one call each.
  let idents: Set<number> | undefined;
  let placeIds: Set<number> | undefined;
  const addPerson = (p: number): void => {
    if (persons.get(p)) return;
    for (const id of groups.groupOf(p)) if (dict.knownIdentifierKey?.(id) === undefined) (idents ??= new Set()).add(id);
  };
  const addPlace = (p: number): void => {
    if (!places.get(p) && dict.knownPlaceKey?.(p) === undefined) (placeIds ??= new Set()).add(p);
  };
  if (input.casePerson >= 0) addPerson(input.casePerson);
  for (const p of input.trajectory) addPlace(p.place);
  for (const c of input.contacts) {
    addPerson(c.person);
    if (c.via !== undefined) addPerson(c.via);
    if (c.tiedVias) for (const t of c.tiedVias) addPerson(t.via);
    for (const h of c.hits) {
      addPlace(h.source.place);
      if (h.contact.place !== h.source.place) addPlace(h.contact.place);
    }
    if (c.tiedVias) for (const t of c.tiedVias) for (const h of t.hits) {
      addPlace(h.source.place);
      if (h.contact.place !== h.source.place) addPlace(h.contact.place);
    }
  }
  let fetched: Fetched | undefined;
  if (idents || placeIds) {
    const identList = idents ? [...idents] : [];
    const placeList = placeIds ? [...placeIds] : [];
    const [identKeys, placeKeys] = await Promise.all([
      identList.length ? dict.identifierKeys(identList) : Promise.resolve([]),
      placeList.length ? dict.placeKeys(placeList) : Promise.resolve([]),
    ]);
    fetched = {
      idents: new Map(identList.map((id, i) => [id, identKeys[i]])),
      places: new Map(placeList.map((id, i) => [id, placeKeys[i]])),
    };
  }
  return buildResult(input, persons, places, fetched, false);
}

/** The key and identifiers of a person (the list is shared and frozen). */
function personOfCache(p: number, groups: IdentityGroups, dict: TraceDictionary, persons: ById<NamedPerson>, fetched: Fetched | undefined, atHandOnly: boolean): NamedPerson {
  const hit = persons.get(p);
  if (hit) return hit;
  const group = groups.groupOf(p);
  const extra = groups.extraIds?.(p);
  const ids: string[] = [];
  let allKnown = dict.knownIdentifierKey !== undefined;
  for (const id of group) {
    const known = dict.knownIdentifierKey?.(id);
    if (known === undefined) {
      if (atHandOnly) throw NAME_NOT_AT_HAND;
      allKnown = false;
    }
    ids.push(known ?? fetched?.idents.get(id) ?? `?${id}`);
  }
  if (extra?.length) ids.push(...extra);
  // Most people have one identifier: nothing to order.
  if (ids.length > 1) ids.sort(compareIdKeys);
  const key = ids[0] ?? '';
  // Frozen: the same list is handed to every result naming this person.
  const who: NamedPerson = { key, ids: Object.freeze(ids), codes: keyCodes(key) };
  // Only names all at hand are kept across traces; the others only for this result.
  if (allKnown) persons.set(p, who);
  return who;
}

/**
 * The synchronous part of rendering, once every name is at hand or fetched. With `atHandOnly`, it
 * throws NAME_NOT_AT_HAND at the first name not at hand, before changing anything that depends on it.
 */
function buildResult(input: RenderInput, persons: ById<NamedPerson>, places: ById<PlaceName>, fetched: Fetched | undefined, atHandOnly: boolean): TraceResult {
  const { rules, groups, dict } = input;
  /** Persons named in this result whose names are not all at hand (not kept across traces). */
  const local = new Map<number, NamedPerson>();
  const person = (p: number): NamedPerson => {
    const hit = persons.get(p) ?? local.get(p);
    if (hit) return hit;
    const who = personOfCache(p, groups, dict, persons, fetched, atHandOnly);
    if (!persons.get(p)) local.set(p, who);
    return who;
  };
  const placeOf = (id: number, kind: string): PlaceName => {
    const known = places.get(id);
    if (known) return known;
    const atHand = dict.knownPlaceKey?.(id);
    if (atHand !== undefined) {
      const name = placeName(atHand);
      places.set(id, name);
      return name;
    }
    if (atHandOnly) throw NAME_NOT_AT_HAND;
    const key = fetched?.places.get(id);
    return placeName(key ?? `${kind}:?${id}`);
  };
  // The case's pieces appear in many contacts' evidence: render each piece once (kept on the piece).
  // `beside`: a piece at the same place already rendered, whose place name is taken as it is (the two
  // sides of a pair are at one place: one name lookup, a cache miss at city scale, instead of two).
  const presence = (p: Piece, beside?: TracePresence): TracePresence => {
    if (p.view) return p.view;
    let key: string;
    let id: string;
    if (beside !== undefined) {
      key = beside.place;
      id = beside.placeId;
    } else {
      const name = placeOf(p.place, p.placeKind);
      key = name.key;
      id = name.id;
    }
    const out: TracePresence = {
      place: key, placeKind: p.placeKind, placeId: id,
      start: isoSeconds(p.start), end: isoSeconds(p.end),
      dateOnly: (p.flags & FLAG_DATE_ONLY) !== 0, pointEvent: (p.flags & FLAG_POINT_EVENT) !== 0, records: p.records,
    };
    if (p.sub) out.sub = p.sub.text;
    p.view = out;
    return out;
  };
  // Worded reasons per rule, looked up once per rule in this result.
  let wordsRule: KindRule | undefined;
  let wordsMap: Map<number, string> | undefined;
  const words = (rule: KindRule): Map<number, string> => {
    if (rule !== wordsRule || !wordsMap) {
      wordsRule = rule;
      wordsMap = reasonsOf(rule);
    }
    return wordsMap;
  };
  let kind: PlaceKind | undefined;
  let rule: KindRule | undefined;
  const contacts: TraceContact[] = [];
  const order: number[] = [];
  const codes: number[][] = [];
  let plainScores = true;
  for (const c of input.contacts) {
    if (c.tiedVias) chooseVia(c, (p) => person(p).key);
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
      const src = h.source;
      if (src.placeKind !== kind || rule === undefined) {
        kind = src.placeKind;
        rule = ruleFor(rules, kind);
      }
      const shown = presence(src);
      const e: ContactEvidence = {
        rule: v.rule, why: explainWith(rule, src, h.contact, v, words), category: v.category,
        source: shown, contact: presence(h.contact, h.contact.place === src.place ? shown : undefined),
        overlapSeconds: v.overlapSeconds, lowConfidence: v.lowConfidence,
      };
      if (v.seatDistance !== undefined) e.seatDistance = v.seatDistance;
      evidence.push(e);
      const hs = src.start > h.contact.start ? src.start : h.contact.start;
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
    const score = risk.score;
    if (!(Number.isInteger(score) && score >= 0 && score <= 100)) plainScores = false;
    order.push(((c.degree - 1) * 4 + rank(c.category)) * 101 + (100 - score));
    codes.push(who.codes);
  }
  const sortedContacts = plainScores ? sortByOrder(contacts, order, codes) : contacts.sort(compareContacts);
  const summary = { close: 0, secondary: 0, companion: 0, general: 0, elapsedMs: 0 };
  // Counted by name, not `summary[c.category]++`: a property looked up by a value is a slow path of its own.
  for (const c of sortedContacts) {
    const k = c.category;
    if (k === 'close') summary.close++;
    else if (k === 'secondary') summary.secondary++;
    else if (k === 'companion') summary.companion++;
    else summary.general++;
  }
  const trajectory = [...input.trajectory].sort((a, b) => a.start - b.start || a.end - b.end || a.place - b.place).map((p) => presence(p));
  const cp = input.casePerson >= 0 ? person(input.casePerson) : undefined;
  const casePerson = cp ? { key: cp.key, ids: cp.ids } : { key: input.requestedId, ids: [input.requestedId] };
  summary.elapsedMs = Math.round((performance.now() - input.startedMs) * 100) / 100;
  return { person: casePerson, window: input.window, rules: { name: rules.name, version: rules.version }, trajectory, contacts: sortedContacts, summary };
}

/** Degree, category, risk (highest first), key. */
function compareContacts(a: TraceContact, b: TraceContact): number {
  return a.degree - b.degree || rank(a.category) - rank(b.category) || b.risk.score - a.risk.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** Numbers of `sortByOrder`: (degree, category) × score 0–100. */
const ORDER_SLOTS = 8 * 101 + 1;
/** Per contact, the first key number its run does not share (`sortByOrder`), reused. */
let lead = new Float64Array(256);
/** Run bounds of `sortByOrder`, reused (it runs synchronously). */
const orderCounts = new Int32Array(ORDER_SLOTS + 1);

/**
 * The order of `compareContacts` when (degree, category, score) is a small whole number per contact
 * (`order`): a counting sort on it, then each run of equal numbers by key. Stable, like the sort it replaces.
 */
function sortByOrder(contacts: TraceContact[], order: readonly number[], codes: readonly (readonly number[])[]): TraceContact[] {
  const n = contacts.length;
  if (n < 2) return contacts;
  const slots = ORDER_SLOTS;
  const at = orderCounts.fill(0);
  for (let i = 0; i < n; i++) at[order[i] + 1]++;
  for (let k = 0; k < slots; k++) at[k + 1] += at[k];
  // Contact numbers in (degree, category, score) order.
  const idx = new Array<number>(n);
  for (let i = 0; i < n; i++) idx[at[order[i]]++] = i;
  // After the pass, at[k] is the end of run k; runs of two or more are ordered by key. Keys of one run
  // mostly share a long start (the same kind, the same region): the numbers they all share are skipped,
  // and the first one after (`lead`, -1 past the end: a prefix comes first) decides most comparisons.
  if (lead.length < n) lead = new Float64Array(Math.max(n, 2 * lead.length));
  const ld = lead;
  let begin = 0;
  for (let k = 0; k < slots && begin < n; k++) {
    const end = at[k];
    if (end - begin > 1) {
      const c0 = codes[idx[begin]];
      let shared = c0.length;
      for (let r = begin + 1; r < end && shared > 0; r++) {
        const c = codes[idx[r]];
        let m = 0;
        while (m < shared && m < c.length && c[m] === c0[m]) m++;
        shared = m;
      }
      for (let r = begin; r < end; r++) {
        const c = codes[idx[r]];
        ld[idx[r]] = shared < c.length ? c[shared] : -1;
      }
      sortRun(idx, begin, end - 1, ld, codes, shared + 1);
    }
    begin = end;
  }
  const out = new Array<TraceContact>(n);
  for (let i = 0; i < n; i++) out[i] = contacts[idx[i]];
  return out;
}

/** `idx[lo..hi]` (inclusive) by `lead`, then by key numbers from `from` on: a quicksort with the order inlined. */
function sortRun(idx: number[], lo: number, hi: number, ld: Float64Array, codes: readonly (readonly number[])[], from: number): void {
  while (hi - lo > 16) {
    // Median of three as the pivot, left at idx[hi].
    const mid = (lo + hi) >>> 1;
    if (runOrder(idx[mid], idx[lo], ld, codes, from) < 0) swap(idx, mid, lo);
    if (runOrder(idx[hi], idx[lo], ld, codes, from) < 0) swap(idx, hi, lo);
    if (runOrder(idx[mid], idx[hi], ld, codes, from) < 0) swap(idx, mid, hi);
    const pivot = idx[hi];
    let store = lo;
    for (let k = lo; k < hi; k++) {
      if (runOrder(idx[k], pivot, ld, codes, from) < 0) swap(idx, k, store++);
    }
    swap(idx, store, hi);
    // The smaller side by recursion, the larger by the loop: the stack stays shallow.
    if (store - lo < hi - store) {
      sortRun(idx, lo, store - 1, ld, codes, from);
      lo = store + 1;
    } else {
      sortRun(idx, store + 1, hi, ld, codes, from);
      hi = store - 1;
    }
  }
  for (let a = lo + 1; a <= hi; a++) {
    const x = idx[a];
    let b = a - 1;
    while (b >= lo && runOrder(idx[b], x, ld, codes, from) > 0) {
      idx[b + 1] = idx[b];
      b--;
    }
    idx[b + 1] = x;
  }
}

function runOrder(i: number, j: number, ld: Float64Array, codes: readonly (readonly number[])[], from: number): number {
  const d = ld[i] - ld[j];
  return d !== 0 ? d : compareCodesFrom(codes[i], codes[j], from);
}

function swap(a: number[], i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/**
 * A person's key, as identity resolution gives it: with identifiers in kind order (ID cards first),
 * the first one — their ID card when they have one.
 */
export function personKey(ids: readonly string[]): string {
  return [...ids].sort(compareIdKeys)[0] ?? '';
}
