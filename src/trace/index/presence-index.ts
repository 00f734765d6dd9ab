/**
 * @module The in-memory spatio-temporal index of presences: typed arrays sorted by (place, start)
 * with per-place offsets and a per-place maximum duration (so "who overlaps [from, to) here" is a
 * binary search and a short scan), and per-identifier postings in start order (trajectories). New
 * rows go to a small tail, visible to queries at once, merged into the sorted arrays on a threshold.
 *
 * Steady-state memory per presence: start, end, ident, sub (4 bytes each), flags (1) and one posting
 * (4) = 21 bytes, plus per-place and per-identifier offsets.
 */
import { PLACE_KINDS, type PlaceKind } from '../../domain/formats.ts';
import type { SubInfo } from '../../domain/contact-rules.ts';
import type { PresenceChunk } from '../../stores/presence/presence-store.ts';
import type { CandidateColumns } from '../candidate-source.ts';

/** Growable typed column. */
class Column<T extends Uint32Array | Uint8Array> {
  length = 0;
  constructor(public data: T, private readonly make: (n: number) => T) {}
  push(v: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = v;
  }
  pushAll(src: T, n: number): void {
    if (this.length + n > this.data.length) this.grow(this.length + n);
    this.data.set(src.subarray(0, n), this.length);
    this.length += n;
  }
  private grow(min: number): void {
    const next = this.make(Math.max(min, this.data.length * 2, 1024));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

const u32 = (n: number): Uint32Array => new Uint32Array(n);
const u8 = (n: number): Uint8Array => new Uint8Array(n);

/** Unsorted rows: the builder's input and the live tail. */
class Rows {
  ident = new Column(u32(0), u32);
  place = new Column(u32(0), u32);
  start = new Column(u32(0), u32);
  end = new Column(u32(0), u32);
  sub = new Column(u32(0), u32);
  flags = new Column(u8(0), u8);
  get length(): number {
    return this.ident.length;
  }
  pushChunk(c: PresenceChunk): void {
    this.ident.pushAll(c.ident, c.length);
    this.place.pushAll(c.place, c.length);
    this.start.pushAll(c.start, c.length);
    this.end.pushAll(c.end, c.length);
    this.sub.pushAll(c.sub, c.length);
    this.flags.pushAll(c.flags, c.length);
  }
}

/** End of a tail chain, and an empty slot of `TailChains`. */
const NONE = 0xffffffff;

/**
 * The tail's chains: per key (a place or an identifier), its latest tail row, and per row the previous
 * tail row with the same key (-1 at the end). An open-addressing table over typed arrays: a million
 * appended rows cost a few tens of milliseconds, where a map of arrays cost seconds.
 */
class TailChains {
  private keys = new Uint32Array(1024).fill(NONE);
  private heads = new Uint32Array(1024);
  private used = 0;
  readonly prev = new Column(new Uint32Array(0), u32);

  /** Links `row` (the next row number, in order) under `key` (a dictionary id below 2^32 - 1). */
  add(key: number, row: number): void {
    if (2 * (this.used + 1) > this.keys.length) this.grow();
    const slot = this.slot(key);
    if (this.keys[slot] === NONE) {
      this.keys[slot] = key;
      this.used++;
      this.prev.push(NONE);
    } else {
      this.prev.push(this.heads[slot]);
    }
    this.heads[slot] = row;
  }

  /** Latest row under `key`, or -1. */
  head(key: number): number {
    if (!(key >= 0 && key < NONE)) return -1;
    const slot = this.slot(key);
    return this.keys[slot] === NONE ? -1 : this.heads[slot];
  }

  /** The row before `row` under the same key, or -1. */
  before(row: number): number {
    const p = this.prev.data[row];
    return p === NONE ? -1 : p;
  }

  bytes(): number {
    return this.keys.byteLength + this.heads.byteLength + this.prev.data.byteLength;
  }

  private slot(key: number): number {
    const mask = this.keys.length - 1;
    let h = (Math.imul(key, 0x9e3779b1) >>> 0) & mask;
    while (this.keys[h] !== NONE && this.keys[h] !== key) h = (h + 1) & mask;
    return h;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldHeads = this.heads;
    this.keys = new Uint32Array(oldKeys.length * 2).fill(NONE);
    this.heads = new Uint32Array(oldKeys.length * 2);
    for (let i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] === NONE) continue;
      const slot = this.slot(oldKeys[i]);
      this.keys[slot] = oldKeys[i];
      this.heads[slot] = oldHeads[i];
    }
  }
}

/** Place kinds by place dictionary id: 0 unknown, else index in PLACE_KINDS + 1. */
const KIND_CODE = new Map<PlaceKind, number>(PLACE_KINDS.map((k, i) => [k, i + 1]));

/** Sorted, immutable part of the index. */
interface Sorted {
  n: number;
  /** Rows of place p are [placeOffsets[p], placeOffsets[p+1]). */
  placeOffsets: Uint32Array;
  /**
   * The place of row k·2^BLOCK_SHIFT, per block of rows (and of the last row, at the end): a row's place
   * lies between its block's and the next block's, so finding it searches a few offsets, not all of them.
   */
  blockPlace: Uint32Array;
  /** Longest duration of any row at the place: how far before `from` an overlapping row can start. */
  maxDur: Uint32Array;
  start: Uint32Array;
  end: Uint32Array;
  ident: Uint32Array;
  sub: Uint32Array;
  flags: Uint8Array;
  /** Postings of identifier i are postings[identOffsets[i] .. identOffsets[i+1]], row numbers in start order. */
  identOffsets: Uint32Array;
  postings: Uint32Array;
  /** Longest duration of any row: the bound for the per-identifier search. */
  globalMaxDur: number;
}

const EMPTY: Sorted = {
  n: 0, placeOffsets: u32(1), blockPlace: u32(1), maxDur: u32(0), start: u32(0), end: u32(0), ident: u32(0), sub: u32(0),
  flags: u8(0), identOffsets: u32(1), postings: u32(0), globalMaxDur: 0,
};

/** Rows per block of `Sorted.blockPlace`: 2^8, so the table costs 1/64 byte per presence. */
const BLOCK_SHIFT = 8;

/** `Sorted.blockPlace` of place offsets over `n` rows. */
export function blockPlaces(placeOffsets: Uint32Array, n: number): Uint32Array {
  const blocks = ((n + (1 << BLOCK_SHIFT) - 1) >>> BLOCK_SHIFT) + 1;
  const out = new Uint32Array(blocks);
  const nPlaces = placeOffsets.length - 1;
  let k = 0;
  for (let p = 0; p < nPlaces && k < blocks; p++) {
    const end = placeOffsets[p + 1];
    // Blocks whose first row is a row of place p (empty places have none).
    while (k < blocks && k * (1 << BLOCK_SHIFT) < end) out[k++] = p;
  }
  // Blocks past the last row (the end entry) take the last place, the place of the last row.
  let last = nPlaces - 1;
  while (last > 0 && placeOffsets[last] === placeOffsets[last + 1]) last--;
  while (k < blocks) out[k++] = Math.max(0, last);
  return out;
}

/** Rows a sort step handles between two yields of `sortRowsSteps` (tens of milliseconds of work). */
const SORT_SLICE = 1 << 20;

/** Sorts row numbers by a 32-bit key, stable (LSD radix, two 16-bit passes); yields every slice of rows. */
function* radixByKey(key: Uint32Array, n: number): Generator<void, Uint32Array> {
  let a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  let b = new Uint32Array(n);
  const count = new Uint32Array(65537);
  for (const shift of [0, 16]) {
    count.fill(0);
    for (let lo = 0; lo < n; lo += SORT_SLICE) {
      const hi = Math.min(n, lo + SORT_SLICE);
      for (let i = lo; i < hi; i++) count[((key[a[i]] >>> shift) & 0xffff) + 1]++;
      yield;
    }
    for (let i = 0; i < 65536; i++) count[i + 1] += count[i];
    for (let lo = 0; lo < n; lo += SORT_SLICE) {
      const hi = Math.min(n, lo + SORT_SLICE);
      for (let i = lo; i < hi; i++) {
        const r = a[i];
        b[count[(key[r] >>> shift) & 0xffff]++] = r;
      }
      yield;
    }
    const t = a;
    a = b;
    b = t;
  }
  return a;
}

/**
 * Sorts raw rows by (place, start) and builds offsets and postings, as steps: it yields after every
 * slice of rows, so a caller can run it in one go (`sortRows`) or let other work run between slices
 * (`PresenceIndex.append`'s background merge).
 */
function* sortRowsSteps(ident: Uint32Array, place: Uint32Array, start: Uint32Array, end: Uint32Array, sub: Uint32Array, flags: Uint8Array): Generator<void, Sorted> {
  const n = ident.length;
  if (n === 0) return EMPTY;
  let nPlaces = 0;
  let nIdents = 0;
  for (let lo = 0; lo < n; lo += SORT_SLICE) {
    const hi = Math.min(n, lo + SORT_SLICE);
    for (let i = lo; i < hi; i++) {
      if (place[i] >= nPlaces) nPlaces = place[i] + 1;
      if (ident[i] >= nIdents) nIdents = ident[i] + 1;
    }
    yield;
  }
  const byStart = yield* radixByKey(start, n);
  // Stable counting sort by place over the start order gives (place, start) order.
  const placeOffsets = new Uint32Array(nPlaces + 1);
  for (let lo = 0; lo < n; lo += SORT_SLICE) {
    const hi = Math.min(n, lo + SORT_SLICE);
    for (let i = lo; i < hi; i++) placeOffsets[place[i] + 1]++;
    yield;
  }
  for (let p = 0; p < nPlaces; p++) placeOffsets[p + 1] += placeOffsets[p];
  const cursor = placeOffsets.slice(0, nPlaces);
  const pos = new Uint32Array(n);
  for (let lo = 0; lo < n; lo += SORT_SLICE) {
    const hi = Math.min(n, lo + SORT_SLICE);
    for (let k = lo; k < hi; k++) {
      const r = byStart[k];
      pos[r] = cursor[place[r]]++;
    }
    yield;
  }
  const s: Sorted = {
    n, placeOffsets, blockPlace: blockPlaces(placeOffsets, n), maxDur: new Uint32Array(nPlaces),
    start: new Uint32Array(n), end: new Uint32Array(n), ident: new Uint32Array(n), sub: new Uint32Array(n), flags: new Uint8Array(n),
    identOffsets: new Uint32Array(nIdents + 1), postings: new Uint32Array(n), globalMaxDur: 0,
  };
  for (let lo = 0; lo < n; lo += SORT_SLICE) {
    const hi = Math.min(n, lo + SORT_SLICE);
    for (let r = lo; r < hi; r++) {
      const j = pos[r];
      s.start[j] = start[r];
      s.end[j] = end[r];
      s.ident[j] = ident[r];
      s.sub[j] = sub[r];
      s.flags[j] = flags[r];
      const d = end[r] > start[r] ? end[r] - start[r] : 0;
      if (d > s.maxDur[place[r]]) s.maxDur[place[r]] = d;
      if (d > s.globalMaxDur) s.globalMaxDur = d;
    }
    yield;
  }
  for (let lo = 0; lo < n; lo += SORT_SLICE) {
    const hi = Math.min(n, lo + SORT_SLICE);
    for (let r = lo; r < hi; r++) s.identOffsets[ident[r] + 1]++;
    yield;
  }
  for (let i = 0; i < nIdents; i++) s.identOffsets[i + 1] += s.identOffsets[i];
  const icur = s.identOffsets.slice(0, nIdents);
  // Walking rows in start order fills each identifier's postings in start order.
  for (let lo = 0; lo < n; lo += SORT_SLICE) {
    const hi = Math.min(n, lo + SORT_SLICE);
    for (let k = lo; k < hi; k++) {
      const r = byStart[k];
      s.postings[icur[ident[r]]++] = pos[r];
    }
    yield;
  }
  return s;
}

/** `sortRowsSteps` run to the end at once. */
function sortRows(ident: Uint32Array, place: Uint32Array, start: Uint32Array, end: Uint32Array, sub: Uint32Array, flags: Uint8Array): Sorted {
  const steps = sortRowsSteps(ident, place, start, end, sub, flags);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** First index in [lo, hi) with arr[i] >= v. */
function lowerBound(arr: Uint32Array, lo: number, hi: number, v: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Progress of a build: rows read so far and the total when known. */
export type BuildProgress = (done: number, total: number | undefined, phase: 'read' | 'sort') => void;

/** Options of the index. */
export interface PresenceIndexOptions {
  /** The tail is merged when it holds at least this many rows… */
  tailMinRows?: number;
  /** …and at least this share of the sorted rows (keeps merges amortised O(1) per row). */
  tailShare?: number;
}

/** The index. Queries are synchronous and see every appended row. */
export class PresenceIndex {
  private sorted: Sorted = EMPTY;
  private tail = new Rows();
  private tailByPlace = new TailChains();
  private tailByIdent = new TailChains();
  private kinds = new Column(u8(0), u8);
  private subs: (SubInfo | null)[] = [null];
  private readonly tailMinRows: number;
  private readonly tailShare: number;
  /** How many tail merges ran (for tests and stats). */
  merges = 0;
  /** The background merge under way, if any. */
  private merging: Promise<void> | undefined;
  /** Bumped whenever the sorted part is replaced outside a background merge: a merge begun before is dropped. */
  private generation = 0;

  constructor(opts: PresenceIndexOptions = {}) {
    this.tailMinRows = opts.tailMinRows ?? 65536;
    this.tailShare = opts.tailShare ?? 0.125;
  }

  /** Rows in the index (sorted and tail). */
  get size(): number {
    return this.sorted.n + this.tail.length;
  }

  /** Rows waiting in the tail. */
  get tailSize(): number {
    return this.tail.length;
  }

  /** Records the kind of place dictionary ids (needed before rows at them are queried). */
  setPlaceKind(place: number, kind: PlaceKind): void {
    while (this.kinds.length <= place) this.kinds.push(0);
    this.kinds.data[place] = KIND_CODE.get(kind) ?? 0;
  }

  /** Whether the kind of a place is known. */
  hasPlaceKind(place: number): boolean {
    return place < this.kinds.length && this.kinds.data[place] !== 0;
  }

  /** The kind of a place dictionary id. */
  placeKind(place: number): PlaceKind {
    const code = place < this.kinds.length ? this.kinds.data[place] : 0;
    if (!code) throw new Error(`presence index: place ${place} has no known kind`);
    return PLACE_KINDS[code - 1];
  }

  /** Records the parsed seat or room of a sub dictionary id (0 means none). */
  setSub(id: number, info: SubInfo | null): void {
    while (this.subs.length <= id) this.subs.push(null);
    this.subs[id] = id === 0 ? null : info;
  }

  /** The parsed seat or room of a sub dictionary id (null for none). */
  subInfo(id: number): SubInfo | null {
    return this.subs[id] ?? null;
  }

  /** Whether a sub dictionary id is known. */
  hasSub(id: number): boolean {
    return id === 0 || (id < this.subs.length && this.subs[id] !== null);
  }

  /** Replaces the contents with these rows, sorted (the build from a store's scan). */
  load(rows: { ident: Uint32Array; place: Uint32Array; start: Uint32Array; end: Uint32Array; sub: Uint32Array; flags: Uint8Array }): void {
    this.generation++;
    this.sorted = sortRows(rows.ident, rows.place, rows.start, rows.end, rows.sub, rows.flags);
    this.tail = new Rows();
    this.tailByPlace = new TailChains();
    this.tailByIdent = new TailChains();
  }

  /**
   * Makes new rows visible to queries at once. Past the threshold the tail is merged into the sorted
   * arrays in the background: the sort runs in slices with other work (requests, ingest) between them,
   * queries keep reading the old arrays and the tail until the new arrays are swapped in, and rows that
   * arrive meanwhile stay in the tail.
   */
  append(chunk: PresenceChunk): void {
    const base = this.tail.length;
    this.tail.pushChunk(chunk);
    this.indexTailRows(base, this.tail.length);
    if (!this.merging && this.tail.length >= Math.max(this.tailMinRows, this.sorted.n * this.tailShare)) {
      this.merging = this.mergeInBackground()
        .catch((err: unknown) => {
          // The tail stays as it is, still answering queries; the next append past the threshold tries again.
          console.error(`cordon: the index tail merge failed: ${err instanceof Error ? err.message : String(err)}`);
        })
        .finally(() => {
          this.merging = undefined;
        });
    }
  }

  /** Resolves when no background merge is under way. */
  async settled(): Promise<void> {
    while (this.merging) await this.merging;
  }

  /** Whether a background merge is under way. */
  get mergeUnderWay(): boolean {
    return this.merging !== undefined;
  }

  private indexTailRows(from: number, to: number): void {
    const t = this.tail;
    for (let row = from; row < to; row++) {
      const p = t.place.data[row];
      const id = t.ident.data[row];
      this.tailByPlace.add(p, row);
      this.tailByIdent.add(id, row);
    }
  }

  /**
   * The sorted rows followed by the first `cut` tail rows, as fresh columns (the current arrays keep
   * answering queries meanwhile); yields between slices.
   */
  private *mergeInput(cut: number): Generator<void, { ident: Uint32Array; place: Uint32Array; start: Uint32Array; end: Uint32Array; sub: Uint32Array; flags: Uint8Array }> {
    const s = this.sorted;
    const t = this.tail;
    const n = s.n + cut;
    const cat32 = (a: Uint32Array, b: Uint32Array): Uint32Array => {
      const out = new Uint32Array(n);
      out.set(a);
      out.set(b.subarray(0, cut), a.length);
      return out;
    };
    const place = new Uint32Array(n);
    for (let p = 0; p + 1 < s.placeOffsets.length; p++) {
      place.fill(p, s.placeOffsets[p], s.placeOffsets[p + 1]);
      if (p % 65_536 === 65_535) yield;
    }
    place.set(t.place.view().subarray(0, cut), s.n);
    yield;
    const flags = new Uint8Array(n);
    flags.set(s.flags);
    flags.set(t.flags.view().subarray(0, cut), s.n);
    const ident = cat32(s.ident, t.ident.view());
    yield;
    const start = cat32(s.start, t.start.view());
    yield;
    const end = cat32(s.end, t.end.view());
    yield;
    const sub = cat32(s.sub, t.sub.view());
    yield;
    return { ident, place, start, end, sub, flags };
  }

  /** Keeps only tail rows from `cut` on (the others are in the sorted arrays now). */
  private dropTail(cut: number): void {
    const old = this.tail;
    const rest = old.length - cut;
    this.tail = new Rows();
    this.tailByPlace = new TailChains();
    this.tailByIdent = new TailChains();
    if (rest > 0) {
      this.tail.pushChunk({
        length: rest, ident: old.ident.view().subarray(cut), place: old.place.view().subarray(cut), start: old.start.view().subarray(cut),
        end: old.end.view().subarray(cut), sub: old.sub.view().subarray(cut), flags: old.flags.view().subarray(cut),
      });
      this.indexTailRows(0, rest);
    }
  }

  private async mergeInBackground(): Promise<void> {
    const generation = this.generation;
    const cut = this.tail.length;
    const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const input = this.mergeInput(cut);
    let rows: ReturnType<typeof input.next>;
    while (!(rows = input.next()).done) {
      await pause();
      if (generation !== this.generation) return;
    }
    const r = rows.value;
    const steps = sortRowsSteps(r.ident, r.place, r.start, r.end, r.sub, r.flags);
    let sorted: ReturnType<typeof steps.next>;
    while (!(sorted = steps.next()).done) {
      await pause();
      if (generation !== this.generation) return;
    }
    this.sorted = sorted.value;
    this.dropTail(cut);
    this.merges++;
  }

  /** Merges the whole tail into the sorted arrays now, in one go (a full re-sort: radix, O(rows)). */
  mergeTail(): void {
    if (this.tail.length === 0) return;
    // A background merge under way is dropped: this one takes every row.
    this.generation++;
    const input = this.mergeInput(this.tail.length);
    let rows: ReturnType<typeof input.next>;
    while (!(rows = input.next()).done);
    const r = rows.value;
    this.sorted = sortRows(r.ident, r.place, r.start, r.end, r.sub, r.flags);
    this.dropTail(this.tail.length);
    this.merges++;
  }

  /** Appends to `out` the presences at `place` whose [start, end) overlaps [from, to) (no object per presence). */
  collectAt(place: number, from: number, to: number, out: CandidateColumns): CandidateColumns {
    const s = this.sorted;
    if (place + 1 < s.placeOffsets.length) {
      const a = s.placeOffsets[place];
      const b = s.placeOffsets[place + 1];
      // A row overlapping [from, to) starts before `to` and no earlier than from - (longest duration here).
      const lo = lowerBound(s.start, a, b, Math.max(0, from - s.maxDur[place]));
      const hi = lowerBound(s.start, lo, b, to);
      if (lo < hi) {
        // Every row here is at this one place: its kind is looked up once, not per row.
        const placeKind = this.placeKind(place);
        const { ident, start, end, sub, flags } = s;
        const subs = this.subs;
        for (let j = lo; j < hi; j++) {
          if (end[j] > from) out.push(ident[j], place, placeKind, start[j], end[j], subs[sub[j]] ?? null, flags[j]);
        }
      }
    }
    const byPlace = this.tailByPlace;
    if (this.tail.length) {
      const t = this.tail;
      for (let r = byPlace.head(place); r >= 0; r = byPlace.before(r)) {
        if (t.start.data[r] < to && t.end.data[r] > from) {
          out.push(t.ident.data[r], place, this.placeKind(place), t.start.data[r], t.end.data[r], this.subs[t.sub.data[r]] ?? null, t.flags.data[r]);
        }
      }
    }
    return out;
  }

  /** Appends to `out` the presences of `ident` overlapping [from, to), in start order within each part. */
  collectOf(ident: number, from: number, to: number, out: CandidateColumns): CandidateColumns {
    const s = this.sorted;
    if (ident + 1 < s.identOffsets.length) {
      const a = s.identOffsets[ident];
      const b = s.identOffsets[ident + 1];
      const minStart = Math.max(0, from - s.globalMaxDur);
      // Postings are in start order: binary search on the start of the row each posting points at.
      let lo = a;
      let hi = b;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (s.start[s.postings[mid]] < minStart) lo = mid + 1;
        else hi = mid;
      }
      for (let k = lo; k < b; k++) {
        const j = s.postings[k];
        if (s.start[j] >= to) break;
        if (s.end[j] > from) {
          const place = this.placeOfRow(j);
          out.push(ident, place, this.placeKind(place), s.start[j], s.end[j], this.subs[s.sub[j]] ?? null, s.flags[j]);
        }
      }
    }
    const byIdent = this.tailByIdent;
    if (this.tail.length) {
      const t = this.tail;
      for (let r = byIdent.head(ident); r >= 0; r = byIdent.before(r)) {
        if (t.start.data[r] < to && t.end.data[r] > from) {
          const place = t.place.data[r];
          out.push(ident, place, this.placeKind(place), t.start.data[r], t.end.data[r], this.subs[t.sub.data[r]] ?? null, t.flags.data[r]);
        }
      }
    }
    return out;
  }

  /** The place of a sorted row: binary search in the place offsets (rows carry no place column), between the places of its block's ends. */
  private placeOfRow(j: number): number {
    const s = this.sorted;
    const o = s.placeOffsets;
    const k = j >>> BLOCK_SHIFT;
    let lo = s.blockPlace[k];
    let hi = s.blockPlace[k + 1];
    // Largest p in [lo, hi] with o[p] <= j (and o[p+1] > j).
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (o[mid] <= j) lo = mid;
      else hi = mid - 1;
    }
    while (lo + 1 < o.length && o[lo + 1] <= j) lo++;
    return lo;
  }

  /** Bytes held by the sorted arrays, offsets and postings (the tail counted at its typed-array size). */
  bytes(): number {
    const s = this.sorted;
    const arrays = [s.placeOffsets, s.blockPlace, s.maxDur, s.start, s.end, s.ident, s.sub, s.flags, s.identOffsets, s.postings];
    let total = arrays.reduce((sum, a) => sum + a.byteLength, 0) + this.kinds.data.byteLength;
    const t = this.tail;
    total += t.ident.data.byteLength * 5 + t.flags.data.byteLength + this.tailByPlace.bytes() + this.tailByIdent.bytes();
    return total;
  }

  /** Bytes per presence (see `bytes`). */
  bytesPerPresence(): number {
    return this.size ? this.bytes() / this.size : 0;
  }
}
