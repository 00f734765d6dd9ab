/**
 * @module The in-memory spatio-temporal index of presences: typed arrays sorted by (place, start)
 * with per-place offsets and a per-place maximum duration (so "who overlaps [from, to) here" is a
 * binary search and a short scan), and per-identifier postings in start order (trajectories). New
 * rows go to a tail, visible to queries at once, merged into the sorted arrays on a threshold: the
 * tail is sorted on its own and merged with the sorted rows in one linear pass, in the background.
 * While rows stream in (a bulk load), the tail may grow to the size of the sorted rows before a merge,
 * so a load of N rows merges about log2(N) times, not every eighth; once rows stop, the tail is merged
 * down to an eighth again.
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
  /** Room for at least `n` rows, made at once (not by doubling, each step a copy into fresh memory). */
  reserve(n: number): void {
    if (n > this.data.length) this.grow(n);
  }
  private grow(min: number): void {
    const next = this.make(Math.max(min, this.data.length * 2, 1024));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
  /** Lets go of memory past the rows held (and a little room) when most of it is unused. */
  trim(): void {
    const keep = Math.max(1024, this.length);
    if (this.data.length <= 2 * keep) return;
    const next = this.make(keep);
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
}

const u32 = (n: number): Uint32Array => new Uint32Array(n);
const u8 = (n: number): Uint8Array => new Uint8Array(n);

/** Arrays shorter than this are not kept for reuse. */
const POOLED_MIN_BYTES = 1 << 20;

/**
 * Buffers of the big row-sized arrays, kept for reuse from one merge to the next. The first write to
 * freshly allocated memory costs far more than the merge's own work on it (the system maps each page
 * on first touch: measured here, 480 MB took 1.3 s to fill fresh and 20 ms to fill again), so a merge
 * writes into the arrays the merge before it let go of. A new buffer can be made longer than asked
 * for (`headroom`), so a later, larger merge still fits: the spare part costs address space only, as
 * the system maps no page of it before it is written.
 * Arrays taken here are not zeroed: every caller writes each element before reading it.
 */
class ArrayPool {
  private free: ArrayBuffer[] = [];

  constructor(private readonly headroom: number) {}

  u32(n: number): Uint32Array {
    return new Uint32Array(this.take(4 * n), 0, n);
  }

  u8(n: number): Uint8Array {
    return new Uint8Array(this.take(n), 0, n);
  }

  /** Gives the arrays' buffers back for reuse (none may be read or written afterwards). */
  give(...arrays: (Uint32Array | Uint8Array)[]): void {
    for (const a of arrays) {
      const b = a.buffer as ArrayBuffer;
      if (b.byteLength >= POOLED_MIN_BYTES && !this.free.includes(b)) this.free.push(b);
    }
  }

  /** Lets go of every buffer kept (for the garbage collector to return to the system). */
  clear(): void {
    this.free = [];
  }

  /** Bytes of the buffers kept. */
  bytes(): number {
    return this.free.reduce((sum, b) => sum + b.byteLength, 0);
  }

  private take(bytes: number): ArrayBuffer {
    if (bytes < POOLED_MIN_BYTES) return new ArrayBuffer(bytes);
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = this.free[i].byteLength;
      if (len >= bytes && (best < 0 || len < this.free[best].byteLength)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0];
    try {
      return new ArrayBuffer(Math.ceil((bytes * this.headroom) / 8) * 8);
    } catch {
      // A system that will not lend the spare address space (strict overcommit): exactly what is asked.
      return new ArrayBuffer(bytes);
    }
  }
}

/** A pool lets go of its buffers once no merge has run for this long. */
const POOL_IDLE_MS = 30_000;

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
  trim(): void {
    for (const c of this.columns()) c.trim();
  }
  reserve(n: number): void {
    for (const c of this.columns()) c.reserve(n);
  }
  get capacity(): number {
    return this.ident.data.length;
  }
  private columns(): Column<Uint32Array | Uint8Array>[] {
    return [this.ident, this.place, this.start, this.end, this.sub, this.flags];
  }
  /** Drops rows before `cut`, moving the rest to the front (the columns keep their memory). */
  keepFrom(cut: number): void {
    for (const c of [this.ident, this.place, this.start, this.end, this.sub] as Column<Uint32Array>[]) {
      c.data.copyWithin(0, cut, c.length);
      c.length -= cut;
    }
    this.flags.data.copyWithin(0, cut, this.flags.length);
    this.flags.length -= cut;
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

  trim(): void {
    this.prev.trim();
  }

  reserve(n: number): void {
    this.prev.reserve(n);
  }

  /** Forgets every key and row (the table keeps its memory). */
  reset(): void {
    this.keys.fill(NONE);
    this.used = 0;
    this.prev.length = 0;
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

/** Rows a sort or merge step handles between two yields (tens of milliseconds of work). */
const SORT_SLICE = 1 << 20;

/** Runs sorted by insertion before `sortPairs` merges them. */
const RUN = 16;

/**
 * Sorts the pairs (key[i], val[i]) for i in [a, b) by key, stable; `tk` and `tv` are scratch of at least
 * b - a. Already sorted input (rows that arrive in time order) costs one look at each key.
 */
export function sortPairs(key: Uint32Array, val: Uint32Array, a: number, b: number, tk: Uint32Array, tv: Uint32Array): void {
  const n = b - a;
  if (n < 2) return;
  let i = a + 1;
  while (i < b && key[i - 1] <= key[i]) i++;
  if (i === b) return;
  for (let lo = a; lo < b; lo += RUN) {
    const hi = Math.min(b, lo + RUN);
    for (let x = lo + 1; x < hi; x++) {
      const k = key[x];
      const v = val[x];
      let y = x;
      while (y > lo && key[y - 1] > k) {
        key[y] = key[y - 1];
        val[y] = val[y - 1];
        y--;
      }
      key[y] = k;
      val[y] = v;
    }
  }
  // Bottom-up merges of runs, back and forth between the range and the scratch.
  let sk = key;
  let sv = val;
  let so = a;
  let dk = tk;
  let dv = tv;
  let dO = 0;
  for (let w = RUN; w < n; w *= 2) {
    for (let lo = 0; lo < n; lo += 2 * w) {
      const mid = Math.min(n, lo + w);
      const hi = Math.min(n, lo + 2 * w);
      let x = lo;
      let y = mid;
      let o = lo;
      while (x < mid && y < hi) {
        if (sk[so + y] < sk[so + x]) {
          dk[dO + o] = sk[so + y];
          dv[dO + o] = sv[so + y];
          y++;
        } else {
          dk[dO + o] = sk[so + x];
          dv[dO + o] = sv[so + x];
          x++;
        }
        o++;
      }
      for (; x < mid; x++, o++) {
        dk[dO + o] = sk[so + x];
        dv[dO + o] = sv[so + x];
      }
      for (; y < hi; y++, o++) {
        dk[dO + o] = sk[so + y];
        dv[dO + o] = sv[so + y];
      }
    }
    const k0 = sk;
    const v0 = sv;
    const o0 = so;
    sk = dk;
    sv = dv;
    so = dO;
    dk = k0;
    dv = v0;
    dO = o0;
  }
  if (sk !== key) {
    key.set(sk.subarray(so, so + n), a);
    val.set(sv.subarray(so, so + n), a);
  }
}

/** The end of the group range that starts at `from` and holds at least a slice of rows (or the last group). */
function sliceEnd(offsets: Uint32Array, from: number, groups: number): number {
  const want = offsets[from] + SORT_SLICE;
  let to = from + 1;
  while (to < groups && offsets[to] < want) to++;
  return Math.min(to, groups);
}

/** Largest difference between neighbouring offsets over `groups` groups (the longest group). */
function longestGroup(offsets: Uint32Array, groups: number): number {
  let most = 0;
  for (let g = 0; g < groups; g++) if (offsets[g + 1] - offsets[g] > most) most = offsets[g + 1] - offsets[g];
  return most;
}

/** The larger of `was` and one more than the largest of a[lo..hi). */
function bound(a: Uint32Array, lo: number, hi: number, was: number): number {
  let m = was;
  for (let i = lo; i < hi; i++) if (a[i] >= m) m = a[i] + 1;
  return m;
}

function countGroups(of: Uint32Array, lo: number, hi: number, offsets: Uint32Array): void {
  for (let i = lo; i < hi; i++) offsets[of[i] + 1]++;
}

function prefixSums(offsets: Uint32Array, groups: number): void {
  for (let g = 0; g < groups; g++) offsets[g + 1] += offsets[g];
}

/** Sorts each group's pairs by key (stable), for groups [gLo, gHi) of `offsets`. */
function sortGroups(offsets: Uint32Array, gLo: number, gHi: number, key: Uint32Array, val: Uint32Array, tk: Uint32Array, tv: Uint32Array): void {
  for (let g = gLo; g < gHi; g++) sortPairs(key, val, offsets[g], offsets[g + 1], tk, tv);
}

/** First-pass buckets of a grouping: few enough (2^10) that each bucket's write position stays in cache. */
const BUCKET_BITS = 10;

/** Shift of a group number (place or identifier) to its first-pass bucket, for `groups` groups. */
function bucketShift(groups: number): number {
  const bits = groups <= 1 ? 0 : 32 - Math.clz32(groups - 1);
  return Math.max(0, bits - BUCKET_BITS);
}

/** Row offsets of the first-pass buckets: bucket h holds groups [h << shift, (h + 1) << shift). */
function bucketOffsets(offsets: Uint32Array, groups: number, shift: number): Uint32Array {
  const buckets = groups === 0 ? 0 : ((groups - 1) >>> shift) + 1;
  const out = new Uint32Array(buckets + 1);
  for (let h = 0; h <= buckets; h++) out[h] = offsets[Math.min(h << shift, groups)];
  return out;
}

/** Scratch for sorting one place's rows or one identifier's postings, as long as the longest. */
class Scratch {
  end = u32(0);
  ident = u32(0);
  sub = u32(0);
  flags = u8(0);
  key = u32(0);
  idx = u32(0);
  tk = u32(0);
  tv = u32(0);
  ensure(n: number): void {
    if (this.key.length >= n) return;
    this.end = u32(n);
    this.ident = u32(n);
    this.sub = u32(n);
    this.flags = u8(n);
    this.key = u32(n);
    this.idx = u32(n);
    this.tk = u32(n);
    this.tv = u32(n);
  }
}

/** Words per row in the first pass of the rows: place, start, end, ident, sub, flags (one array, so each bucket is one write position). */
const ROW_WORDS = 6;

/** First pass: input rows [lo, hi) into `rec`, grouped by their place's bucket, in input order. */
function rowsToBuckets(
  place: Uint32Array, start: Uint32Array, end: Uint32Array, ident: Uint32Array, sub: Uint32Array, flags: Uint8Array,
  lo: number, hi: number, shift: number, cursor: Uint32Array, rec: Uint32Array,
): void {
  for (let r = lo; r < hi; r++) {
    const p = place[r];
    const w = ROW_WORDS * cursor[p >>> shift]++;
    rec[w] = p;
    rec[w + 1] = start[r];
    rec[w + 2] = end[r];
    rec[w + 3] = ident[r];
    rec[w + 4] = sub[r];
    rec[w + 5] = flags[r];
  }
}

/** Second pass: the rows of one bucket, [a, b) of `rec`, to their places within it in the columns of `s`, in the order they had. */
function bucketToPlaces(s: Sorted, rec: Uint32Array, a: number, b: number, cursor: Uint32Array): void {
  const { start, end, ident, sub, flags } = s;
  for (let w = ROW_WORDS * a, stop = ROW_WORDS * b; w < stop; w += ROW_WORDS) {
    const j = cursor[rec[w]]++;
    start[j] = rec[w + 1];
    end[j] = rec[w + 2];
    ident[j] = rec[w + 3];
    sub[j] = rec[w + 4];
    flags[j] = rec[w + 5];
  }
}

/** Sorts the rows of places [pLo, pHi) by start (stable) and notes each place's longest duration. */
function sortPlaces(s: Sorted, pLo: number, pHi: number, sc: Scratch): void {
  const o = s.placeOffsets;
  const { start, end, ident, sub, flags } = s;
  let most = s.globalMaxDur;
  for (let p = pLo; p < pHi; p++) {
    const a = o[p];
    const b = o[p + 1];
    let i = a + 1;
    while (i < b && start[i - 1] <= start[i]) i++;
    if (i < b) {
      const n = b - a;
      const { key, idx } = sc;
      key.set(start.subarray(a, b));
      for (let x = 0; x < n; x++) idx[x] = x;
      sortPairs(key, idx, 0, n, sc.tk, sc.tv);
      for (let x = 0; x < n; x++) {
        const r = a + idx[x];
        sc.end[x] = end[r];
        sc.ident[x] = ident[r];
        sc.sub[x] = sub[r];
        sc.flags[x] = flags[r];
      }
      start.set(key.subarray(0, n), a);
      end.set(sc.end.subarray(0, n), a);
      ident.set(sc.ident.subarray(0, n), a);
      sub.set(sc.sub.subarray(0, n), a);
      flags.set(sc.flags.subarray(0, n), a);
    }
    let md = 0;
    for (let j = a; j < b; j++) {
      const d = end[j] > start[j] ? end[j] - start[j] : 0;
      if (d > md) md = d;
    }
    s.maxDur[p] = md;
    if (md > most) most = md;
  }
  s.globalMaxDur = most;
}

/** First pass of the postings: positions [lo, hi) into `rec` (identifier, start, position), grouped by their identifier's bucket, in position order. */
function positionsToBuckets(s: Sorted, lo: number, hi: number, shift: number, cursor: Uint32Array, rec: Uint32Array): void {
  const { ident, start } = s;
  for (let j = lo; j < hi; j++) {
    const id = ident[j];
    const w = 3 * cursor[id >>> shift]++;
    rec[w] = id;
    rec[w + 1] = start[j];
    rec[w + 2] = j;
  }
}

/** Second pass of the postings: one bucket's, [a, b) of `rec`, to their identifiers within it, in the order they had, each start in `startOf`. */
function bucketToIdents(s: Sorted, rec: Uint32Array, a: number, b: number, cursor: Uint32Array, startOf: Uint32Array): void {
  const postings = s.postings;
  for (let w = 3 * a, stop = 3 * b; w < stop; w += 3) {
    const k = cursor[rec[w]]++;
    startOf[k] = rec[w + 1];
    postings[k] = rec[w + 2];
  }
}

/** The end of the bucket range that starts at `from` and holds at least a slice of rows (or the last bucket). */
function bucketSliceEnd(offsets: Uint32Array, from: number): number {
  return sliceEnd(offsets, from, offsets.length - 1);
}

/**
 * Sorts raw rows by (place, start) and builds offsets and postings, as steps: it yields after every
 * slice of rows, so a caller can run it in one go (`sortRows`) or let other work run between slices
 * (`PresenceIndex.append`'s background merge).
 *
 * Rows go to their places in two passes, first to one of at most 2^10 buckets of places and then,
 * bucket by bucket, to their places (each pass writes to few enough places at once to stay in cache);
 * then each place's rows are sorted by start, stable, so equal starts keep the input order. Postings
 * go to their identifiers the same way from the rows in position order, then are sorted by start: an
 * identifier's postings are in (start, position) order.
 */
function* sortRowsSteps(
  ident: Uint32Array, place: Uint32Array, start: Uint32Array, end: Uint32Array, sub: Uint32Array, flags: Uint8Array, pool: ArrayPool,
  consume = false,
): Generator<void, Sorted> {
  const n = ident.length;
  if (n === 0) return EMPTY;
  let nPlaces = 0;
  let nIdents = 0;
  for (let lo = 0; lo < n; lo += SORT_SLICE) {
    const hi = Math.min(n, lo + SORT_SLICE);
    nPlaces = bound(place, lo, hi, nPlaces);
    nIdents = bound(ident, lo, hi, nIdents);
    yield;
  }
  const placeOffsets = new Uint32Array(nPlaces + 1);
  for (let lo = 0; lo < n; lo += SORT_SLICE) {
    countGroups(place, lo, Math.min(n, lo + SORT_SLICE), placeOffsets);
    yield;
  }
  prefixSums(placeOffsets, nPlaces);
  const s: Sorted = {
    n, placeOffsets, blockPlace: blockPlaces(placeOffsets, n), maxDur: new Uint32Array(nPlaces),
    // Consumed input columns are read once, into `rec`, and then hold the sorted rows (the place column the postings).
    start: consume ? start : pool.u32(n), end: consume ? end : pool.u32(n), ident: consume ? ident : pool.u32(n), sub: consume ? sub : pool.u32(n),
    flags: consume ? flags : pool.u8(n), identOffsets: new Uint32Array(nIdents + 1), postings: consume ? place : pool.u32(n), globalMaxDur: 0,
  };
  const sc = new Scratch();
  // Rows to their places' buckets, then bucket by bucket to their places.
  const rec = pool.u32(ROW_WORDS * n);
  const pShift = bucketShift(nPlaces);
  const pBuckets = bucketOffsets(placeOffsets, nPlaces, pShift);
  const bCursor = pBuckets.slice(0, pBuckets.length - 1);
  for (let lo = 0; lo < n; lo += SORT_SLICE) {
    rowsToBuckets(place, start, end, ident, sub, flags, lo, Math.min(n, lo + SORT_SLICE), pShift, bCursor, rec);
    yield;
  }
  const cursor = placeOffsets.slice(0, nPlaces);
  for (let h = 0; h + 1 < pBuckets.length; ) {
    const to = bucketSliceEnd(pBuckets, h);
    for (; h < to; h++) bucketToPlaces(s, rec, pBuckets[h], pBuckets[h + 1], cursor);
    yield;
  }
  sc.ensure(longestGroup(placeOffsets, nPlaces));
  for (let p = 0; p < nPlaces; ) {
    const to = sliceEnd(placeOffsets, p, nPlaces);
    sortPlaces(s, p, to, sc);
    p = to;
    yield;
  }
  // Postings: positions to their identifiers' buckets, then to their identifiers, then sorted by start.
  for (let lo = 0; lo < n; lo += SORT_SLICE) {
    countGroups(s.ident, lo, Math.min(n, lo + SORT_SLICE), s.identOffsets);
    yield;
  }
  prefixSums(s.identOffsets, nIdents);
  const iShift = bucketShift(nIdents);
  const iBuckets = bucketOffsets(s.identOffsets, nIdents, iShift);
  const iCursor = iBuckets.slice(0, iBuckets.length - 1);
  for (let lo = 0; lo < n; lo += SORT_SLICE) {
    positionsToBuckets(s, lo, Math.min(n, lo + SORT_SLICE), iShift, iCursor, rec);
    yield;
  }
  // The starts of the postings, beside them while they are sorted by start.
  const startOf = rec.subarray(3 * n, 4 * n);
  const icur = s.identOffsets.slice(0, nIdents);
  for (let h = 0; h + 1 < iBuckets.length; ) {
    const to = bucketSliceEnd(iBuckets, h);
    for (; h < to; h++) bucketToIdents(s, rec, iBuckets[h], iBuckets[h + 1], icur, startOf);
    yield;
  }
  sc.ensure(longestGroup(s.identOffsets, nIdents));
  for (let i = 0; i < nIdents; ) {
    const to = sliceEnd(s.identOffsets, i, nIdents);
    sortGroups(s.identOffsets, i, to, startOf, s.postings, sc.tk, sc.tv);
    i = to;
    yield;
  }
  pool.give(rec);
  return s;
}

/** `sortRowsSteps` run to the end at once. */
function sortRows(rows: RowColumns, pool: ArrayPool, consume: boolean): Sorted {
  return runSteps(sortRowsSteps(rows.ident, rows.place, rows.start, rows.end, rows.sub, rows.flags, pool, consume));
}

/** Runs steps to the end at once. */
function runSteps<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Offset `g` of offsets over `groups` groups, or the total past the last group. */
function offsetAt(offsets: Uint32Array, g: number): number {
  return offsets[g < offsets.length ? g : offsets.length - 1];
}

/**
 * Merges places [pLo, pHi) of the sorted rows `s` and the sorted tail `t` into `out` (old rows first
 * among equal starts, so the result is the sort of the old rows followed by the tail's), noting where
 * each old and each tail row went, its start beside (`oldTo[2j]`, `oldTo[2j + 1]`: the postings' merge
 * then finds both in one read). A run of places with no tail rows is copied as it stands.
 */
function mergePlaces(s: Sorted, t: Sorted, out: Sorted, pLo: number, pHi: number, oldTo: Uint32Array, tailTo: Uint32Array): void {
  const sP = s.placeOffsets.length - 1;
  const tP = t.placeOffsets.length - 1;
  let runFrom = offsetAt(s.placeOffsets, pLo);
  let runTo = runFrom;
  let runOut = out.placeOffsets[pLo];
  let most = out.globalMaxDur;
  for (let p = pLo; p < pHi; p++) {
    const a = offsetAt(s.placeOffsets, p);
    const b = offsetAt(s.placeOffsets, p + 1);
    const ta = offsetAt(t.placeOffsets, p);
    const tb = offsetAt(t.placeOffsets, p + 1);
    const md = Math.max(p < sP ? s.maxDur[p] : 0, p < tP ? t.maxDur[p] : 0);
    out.maxDur[p] = md;
    if (md > most) most = md;
    if (ta === tb) {
      runTo = b;
      continue;
    }
    copyRun(s, out, runFrom, runTo, runOut, oldTo);
    let i = a;
    let k = ta;
    let w = out.placeOffsets[p];
    while (i < b && k < tb) {
      if (t.start[k] < s.start[i]) {
        takeRow(t, k, out, w);
        tailTo[2 * k] = w++;
        tailTo[2 * k + 1] = t.start[k++];
      } else {
        takeRow(s, i, out, w);
        oldTo[2 * i] = w++;
        oldTo[2 * i + 1] = s.start[i++];
      }
    }
    for (; i < b; i++) {
      takeRow(s, i, out, w);
      oldTo[2 * i] = w++;
      oldTo[2 * i + 1] = s.start[i];
    }
    for (; k < tb; k++) {
      takeRow(t, k, out, w);
      tailTo[2 * k] = w++;
      tailTo[2 * k + 1] = t.start[k];
    }
    runFrom = b;
    runTo = b;
    runOut = out.placeOffsets[p + 1];
  }
  copyRun(s, out, runFrom, runTo, runOut, oldTo);
  out.globalMaxDur = most;
}

function takeRow(from: Sorted, i: number, out: Sorted, w: number): void {
  out.start[w] = from.start[i];
  out.end[w] = from.end[i];
  out.ident[w] = from.ident[i];
  out.sub[w] = from.sub[i];
  out.flags[w] = from.flags[i];
}

/** Copies old rows [from, to) to `at` on, as they stand. */
function copyRun(s: Sorted, out: Sorted, from: number, to: number, at: number, oldTo: Uint32Array): void {
  if (to <= from) return;
  out.start.set(s.start.subarray(from, to), at);
  out.end.set(s.end.subarray(from, to), at);
  out.ident.set(s.ident.subarray(from, to), at);
  out.sub.set(s.sub.subarray(from, to), at);
  out.flags.set(s.flags.subarray(from, to), at);
  const shift = at - from;
  const start = s.start;
  for (let j = from; j < to; j++) {
    oldTo[2 * j] = j + shift;
    oldTo[2 * j + 1] = start[j];
  }
}

/** Merges the postings of identifiers [iLo, iHi) of `s` and `t` into `out`, by (start, new position). */
function mergePostings(s: Sorted, t: Sorted, out: Sorted, iLo: number, iHi: number, oldTo: Uint32Array, tailTo: Uint32Array): void {
  const sp = s.postings;
  const tp = t.postings;
  const post = out.postings;
  for (let id = iLo; id < iHi; id++) {
    let i = offsetAt(s.identOffsets, id);
    const b = offsetAt(s.identOffsets, id + 1);
    let k = offsetAt(t.identOffsets, id);
    const tb = offsetAt(t.identOffsets, id + 1);
    let w = out.identOffsets[id];
    if (k === tb) {
      for (; i < b; i++) post[w++] = oldTo[2 * sp[i]];
      continue;
    }
    while (i < b && k < tb) {
      const oi = 2 * sp[i];
      const ti = 2 * tp[k];
      const so = oldTo[oi + 1];
      const st = tailTo[ti + 1];
      if (st < so || (st === so && tailTo[ti] < oldTo[oi])) {
        post[w++] = tailTo[ti];
        k++;
      } else {
        post[w++] = oldTo[oi];
        i++;
      }
    }
    for (; i < b; i++) post[w++] = oldTo[2 * sp[i]];
    for (; k < tb; k++) post[w++] = tailTo[2 * tp[k]];
  }
}

/**
 * Merges the sorted tail `t` into the sorted rows `s`, as steps: equal to sorting the old rows
 * followed by the tail's from scratch, at the cost of a copy and a pass over the postings instead of
 * a sort of every row.
 */
function* mergeSortedSteps(s: Sorted, t: Sorted, pool: ArrayPool): Generator<void, Sorted> {
  if (t.n === 0) return s;
  if (s.n === 0) return t;
  const n = s.n + t.n;
  const nPlaces = Math.max(s.placeOffsets.length, t.placeOffsets.length) - 1;
  const nIdents = Math.max(s.identOffsets.length, t.identOffsets.length) - 1;
  const placeOffsets = new Uint32Array(nPlaces + 1);
  for (let p = 0; p <= nPlaces; p++) placeOffsets[p] = offsetAt(s.placeOffsets, p) + offsetAt(t.placeOffsets, p);
  const identOffsets = new Uint32Array(nIdents + 1);
  for (let i = 0; i <= nIdents; i++) identOffsets[i] = offsetAt(s.identOffsets, i) + offsetAt(t.identOffsets, i);
  const out: Sorted = {
    n, placeOffsets, blockPlace: blockPlaces(placeOffsets, n), maxDur: new Uint32Array(nPlaces),
    start: pool.u32(n), end: pool.u32(n), ident: pool.u32(n), sub: pool.u32(n), flags: pool.u8(n),
    identOffsets, postings: pool.u32(n), globalMaxDur: 0,
  };
  yield;
  const oldTo = pool.u32(2 * s.n);
  const tailTo = pool.u32(2 * t.n);
  for (let p = 0; p < nPlaces; ) {
    const to = sliceEnd(placeOffsets, p, nPlaces);
    mergePlaces(s, t, out, p, to, oldTo, tailTo);
    p = to;
    yield;
  }
  for (let i = 0; i < nIdents; ) {
    const to = sliceEnd(identOffsets, i, nIdents);
    mergePostings(s, t, out, i, to, oldTo, tailTo);
    i = to;
    yield;
  }
  pool.give(oldTo, tailTo);
  return out;
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

/** Rows as columns, one entry per row in each (a chunk without its count: each column's length is it). */
export type RowColumns = Omit<PresenceChunk, 'length'>;

/** Options of the index. */
export interface PresenceIndexOptions {
  /** The tail is merged when it holds at least this many rows… */
  tailMinRows?: number;
  /** …and at least this share of the sorted rows (keeps merges amortised O(1) per row). */
  tailShare?: number;
  /**
   * While rows stream in (the tail passes its threshold during a merge, or within `streamGapMs` of the
   * last merge's end), the tail may grow to this share of the sorted rows before the next merge: a bulk
   * load then merges a few times, each doubling the sorted rows, instead of every eighth.
   */
  streamShare?: number;
  streamGapMs?: number;
  /** Once no rows have come for this long, a tail past the `tailShare` threshold is merged. */
  idleMergeMs?: number;
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
  private readonly streamShare: number;
  private readonly streamGapMs: number;
  private readonly idleMergeMs: number;
  /** Whether rows passed the merge threshold while a merge was under way (they are streaming in). */
  private streaming = false;
  /** When the last merge ended (performance.now()). */
  private lastMergeEnd = -Infinity;
  private idle: ReturnType<typeof setTimeout> | undefined;
  /** Whether the last merge failed (`settled` does not retry it). */
  private mergeFailed = false;
  /** How many tail merges ran (for tests and stats). */
  merges = 0;
  /** The background merge under way, if any. */
  private merging: Promise<void> | undefined;
  /** Bumped whenever the sorted part is replaced outside a background merge: a merge begun before is dropped. */
  private generation = 0;
  /** Buffers merges let go of, for the next merge to write into. */
  private readonly pool = new ArrayPool(4);
  private poolRelease: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: PresenceIndexOptions = {}) {
    this.tailMinRows = opts.tailMinRows ?? 65536;
    this.tailShare = opts.tailShare ?? 0.125;
    this.streamShare = opts.streamShare ?? 1;
    this.streamGapMs = opts.streamGapMs ?? 2000;
    this.idleMergeMs = opts.idleMergeMs ?? 2000;
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

  /**
   * Replaces the contents with these rows, sorted (the build from a store's scan). With `consume`, the
   * index takes the columns over and sorts into them (the caller must not use them again): a build then
   * writes to far less fresh memory.
   */
  load(rows: RowColumns, opts: { consume?: boolean } = {}): void {
    this.generation++;
    this.pool.clear();
    this.sorted = sortRows(rows, new ArrayPool(1), opts.consume === true);
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
    if (base + chunk.length > this.tail.capacity) {
      // While rows stream in, the tail will grow to the stream share of the sorted rows: room for that at once.
      const streaming = this.merging !== undefined || performance.now() - this.lastMergeEnd < this.streamGapMs;
      const rows = streaming ? Math.max(base + chunk.length, Math.ceil(this.sorted.n * this.streamShare) + chunk.length) : base + chunk.length;
      this.tail.reserve(rows);
      this.tailByPlace.reserve(rows);
      this.tailByIdent.reserve(rows);
    }
    this.tail.pushChunk(chunk);
    this.indexTailRows(base, this.tail.length);
    // Once rows stop coming: a due merge that waited for the stream to end, and the tail's spare memory let go of.
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.onIdle(), this.idleMergeMs);
    this.idle.unref();
    if (!this.mergeDue()) return;
    if (this.merging) {
      this.streaming = true;
      return;
    }
    const streaming = this.streaming || performance.now() - this.lastMergeEnd < this.streamGapMs;
    // While rows stream in, the merge waits until the tail is larger, or until they stop.
    if (!streaming || this.tail.length >= Math.max(this.tailMinRows, this.sorted.n * this.streamShare)) this.startMerge();
  }

  private onIdle(): void {
    if (this.merging) {
      // Rows are still being merged: look again when that is done.
      this.idle = setTimeout(() => this.onIdle(), this.idleMergeMs);
      this.idle.unref();
    } else if (this.mergeDue()) {
      this.startMerge();
    } else {
      this.trimTail();
    }
  }

  /** Lets go of the tail's memory beyond its rows (grown during a bulk load, idle after it). */
  private trimTail(): void {
    this.tail.trim();
    this.tailByPlace.trim();
    this.tailByIdent.trim();
  }

  /** Whether the tail is past the steady threshold. */
  private mergeDue(): boolean {
    return this.tail.length > 0 && this.tail.length >= Math.max(this.tailMinRows, this.sorted.n * this.tailShare);
  }

  private startMerge(): void {
    this.streaming = false;
    this.mergeFailed = false;
    this.merging = this.mergeInBackground()
      .catch((err: unknown) => {
        // The tail stays as it is, still answering queries; the next append past the threshold tries again.
        this.mergeFailed = true;
        console.error(`cordon: the index tail merge failed: ${err instanceof Error ? err.message : String(err)}`);
      })
      .finally(() => {
        this.merging = undefined;
        this.lastMergeEnd = performance.now();
      });
  }

  /** Resolves when no background merge is under way and none is due (one due is started now rather than when rows stop). */
  async settled(): Promise<void> {
    for (;;) {
      if (this.merging) await this.merging;
      else if (this.mergeDue() && !this.mergeFailed) this.startMerge();
      else {
        this.trimTail();
        return;
      }
    }
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

  /** The first `cut` tail rows, sorted (the tail's columns keep answering queries meanwhile). */
  private tailSortSteps(cut: number): Generator<void, Sorted> {
    const t = this.tail;
    return sortRowsSteps(t.ident.view().subarray(0, cut), t.place.view().subarray(0, cut), t.start.view().subarray(0, cut),
      t.end.view().subarray(0, cut), t.sub.view().subarray(0, cut), t.flags.view().subarray(0, cut), this.pool);
  }

  /** Keeps only tail rows from `cut` on (the others are in the sorted arrays now). */
  private dropTail(cut: number): void {
    // In place: the tail's columns and tables keep their memory for the rows still to come.
    this.tail.keepFrom(cut);
    this.tailByPlace.reset();
    this.tailByIdent.reset();
    this.indexTailRows(0, this.tail.length);
  }

  /**
   * Puts `next` in place of the sorted part `old` and of the sorted tail rows `tail` merged into it,
   * whose big arrays go to the pool for the next merge; the pool is let go of once merges stop.
   */
  private swapIn(next: Sorted, old: Sorted, tail: Sorted, cut: number): void {
    this.sorted = next;
    this.dropTail(cut);
    this.merges++;
    for (const s of [old, tail]) {
      if (s !== next) this.pool.give(s.start, s.end, s.ident, s.sub, s.flags, s.postings);
    }
    clearTimeout(this.poolRelease);
    this.poolRelease = setTimeout(() => this.pool.clear(), POOL_IDLE_MS);
    this.poolRelease.unref();
  }

  /**
   * Sorts the tail rows there are now and merges them with the sorted rows, in slices with a pause
   * between them; the old arrays and the tail answer queries until the new arrays are swapped in.
   */
  private async mergeInBackground(): Promise<void> {
    const generation = this.generation;
    const cut = this.tail.length;
    const old = this.sorted;
    const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const run = async <T>(steps: Generator<void, T>): Promise<T | undefined> => {
      for (;;) {
        const r = steps.next();
        if (r.done) return r.value;
        await pause();
        if (generation !== this.generation) return undefined;
      }
    };
    const tail = await run(this.tailSortSteps(cut));
    if (!tail) return;
    const merged = await run(mergeSortedSteps(old, tail, this.pool));
    if (!merged) return;
    this.swapIn(merged, old, tail, cut);
  }

  /** Merges the whole tail into the sorted arrays now, in one go (the tail sorted, then merged: O(rows)). */
  mergeTail(): void {
    if (this.tail.length === 0) return;
    // A background merge under way is dropped: this one takes every row.
    this.generation++;
    const old = this.sorted;
    const cut = this.tail.length;
    const tail = runSteps(this.tailSortSteps(cut));
    this.swapIn(runSteps(mergeSortedSteps(old, tail, this.pool)), old, tail, cut);
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
