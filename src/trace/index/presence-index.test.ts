import { describe, expect, it } from 'vitest';
import { CandidateColumns, type Candidate } from '../candidate-source.ts';
import type { PresenceChunk } from '../../stores/presence/presence-store.ts';
import { blockPlaces, PresenceIndex, sortPairs } from './presence-index.ts';

/** A deterministic city-like chunk: about 100 presences per identifier and 30 per place, as in the synthetic city. */
function chunk(n: number, seed: number, idents = Math.ceil(n / 100), places = Math.ceil(n / 30)): PresenceChunk {
  let x = seed >>> 0;
  const r = (k: number): number => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x % k;
  };
  const c: PresenceChunk = { length: n, ident: new Uint32Array(n), place: new Uint32Array(n), start: new Uint32Array(n), end: new Uint32Array(n), sub: new Uint32Array(n), flags: new Uint8Array(n) };
  for (let i = 0; i < n; i++) {
    c.ident[i] = r(idents);
    c.place[i] = r(places);
    c.start[i] = 1_579_449_600 + r(14 * 86400);
    c.end[i] = c.start[i] + 60 + r(r(10) === 0 ? 86400 : 7200);
    c.sub[i] = 0;
  }
  return c;
}

function sut(rows: PresenceChunk, places: number, opts = {}): PresenceIndex {
  const idx = new PresenceIndex(opts);
  for (let p = 0; p < places; p++) idx.setPlaceKind(p, p % 2 ? 'venue' : 'cell');
  idx.load(rows);
  return idx;
}

const key = (c: Candidate): string => `${c.ident}/${c.place}/${c.start}/${c.end}`;

/** Asks `queries` place and identifier windows of the index and expects exactly what a scan of all `parts` gives. */
function expectWindowsAsScan(idx: PresenceIndex, parts: readonly PresenceChunk[], queries: number, places: number, idents: number, step: number): void {
  for (let q = 0; q < queries; q++) {
    const place = (q * 37) % places;
    const ident = (q * 13) % idents;
    const from = 1_579_449_600 + q * step;
    const to = from + 3600 * (1 + (q % 30));
    const at = idx.collectAt(place, from, to, new CandidateColumns()).toArray();
    const of = idx.collectOf(ident, from, to, new CandidateColumns()).toArray();
    const wantAt: string[] = [];
    const wantOf: string[] = [];
    for (const rows of parts) {
      for (let i = 0; i < rows.length; i++) {
        const overlaps = rows.start[i] < to && rows.end[i] > from;
        const k = `${rows.ident[i]}/${rows.place[i]}/${rows.start[i]}/${rows.end[i]}`;
        if (overlaps && rows.place[i] === place) wantAt.push(k);
        if (overlaps && rows.ident[i] === ident) wantOf.push(k);
      }
    }
    expect(at.map(key).sort()).toEqual(wantAt.sort());
    expect(of.map(key).sort()).toEqual(wantOf.sort());
  }
}

describe('PresenceIndex', () => {
  it('holds at most 24 bytes per presence', () => {
    const n = 300_000;
    const idx = sut(chunk(n, 1), Math.ceil(n / 30));
    expect(idx.size).toBe(n);
    expect(idx.bytesPerPresence()).toBeLessThanOrEqual(24);
  });

  it('answers place windows and identifier windows exactly as a scan of all rows does', () => {
    const rows = chunk(20_000, 7, 200, 500);
    const idx = sut(rows, 500);
    expectWindowsAsScan(idx, [rows], 200, 500, 200, 5000);
  });

  it('gives every row its place, whatever the sizes of places: empty ones, ones spanning many blocks of rows', () => {
    const rows = chunk(10_037, 11, 60, 400);
    // A third of the rows at one place (several blocks of rows), the rest only at even places (odd ones empty).
    for (let i = 0; i < rows.length; i++) rows.place[i] = i % 3 === 0 ? 7 : (rows.place[i] & ~1) + 10;
    const idx = sut(rows, 420);
    for (let ident = 0; ident < 60; ident++) {
      const got = idx.collectOf(ident, 0, 2 ** 32 - 1, new CandidateColumns()).toArray();
      const want: string[] = [];
      for (let i = 0; i < rows.length; i++) if (rows.ident[i] === ident) want.push(`${rows.ident[i]}/${rows.place[i]}/${rows.start[i]}/${rows.end[i]}`);
      expect(got.map(key).sort()).toEqual(want.sort());
    }
  });

  it('knows the place of the first row of every block of 256 rows, and of the last row at the end', () => {
    for (const sizes of [[0], [5], [256], [300, 0, 0, 1, 255, 256, 0, 700], [0, 0, 1000], [3, 0, 0], [1, 1, 1, 1]]) {
      const offsets = new Uint32Array(sizes.length + 1);
      sizes.forEach((k, p) => { offsets[p + 1] = offsets[p] + k; });
      const n = offsets[sizes.length];
      const placeOf = (row: number): number => sizes.findIndex((_, p) => offsets[p] <= row && row < offsets[p + 1]);
      const lastPlace = n === 0 ? 0 : placeOf(n - 1);
      const want: number[] = [];
      for (let k = 0; k <= Math.ceil(n / 256); k++) want.push(k * 256 < n ? placeOf(k * 256) : lastPlace);
      expect([...blockPlaces(offsets, n)]).toEqual(want);
    }
  });

  it('appended rows are visible at once and survive the merge into the sorted arrays', async () => {
    const first = chunk(1000, 3, 50, 40);
    const idx = sut(first, 80, { tailMinRows: 500, tailShare: 0 });
    const more = chunk(400, 4, 50, 80);
    idx.append(more);
    expect(idx.tailSize).toBe(400);
    const before = idx.collectAt(79, 0, 2 ** 32 - 1, new CandidateColumns()).toArray();
    idx.append(chunk(200, 5, 50, 80));
    // Past the threshold the merge starts in the background; until it ends the tail answers as before.
    expect(idx.mergeUnderWay).toBe(true);
    expect(idx.merges).toBe(0);
    expect(idx.tailSize).toBe(600);
    await idx.settled();
    expect(idx.merges).toBe(1);
    expect(idx.tailSize).toBe(0);
    const after = idx.collectAt(79, 0, 2 ** 32 - 1, new CandidateColumns()).toArray();
    expect(after.length).toBeGreaterThanOrEqual(before.length);
    expect(new Set(after.map(key))).toEqual(new Set([...before.map(key), ...after.map(key)]));
    expect(idx.size).toBe(1600);
  });

  it('merges in slices with other work between them, and rows appended meanwhile stay visible and in the tail', async () => {
    const all = [chunk(20_000, 11, 300, 400), chunk(6000, 12, 300, 400), chunk(3000, 13, 300, 400), chunk(700, 14, 300, 400)];
    const idx = sut(all[0], 400, { tailMinRows: 5000, tailShare: 0 });
    let ticks = 0;
    let ticking = true;
    const tick = (): void => {
      ticks++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    idx.append(all[1]);
    expect(idx.mergeUnderWay).toBe(true);
    const ticksAtStart = ticks;
    // Rows arriving while the merge runs: visible at once, and the merge does not take them.
    await new Promise((resolve) => setImmediate(resolve));
    idx.append(all[2]);
    idx.append(all[3]);
    await idx.settled();
    ticking = false;
    expect(ticks - ticksAtStart).toBeGreaterThan(5);
    expect(idx.merges).toBe(1);
    expect(idx.tailSize).toBe(3700);
    expect(idx.size).toBe(29_700);
    // Every place and identifier window answers exactly as a scan of all the rows appended.
    expectWindowsAsScan(idx, all, 60, 400, 300, 17_000);
  });

  it('a full reload drops a background merge begun before it', async () => {
    const idx = sut(chunk(5000, 21, 100, 200), 200, { tailMinRows: 1000, tailShare: 0 });
    idx.append(chunk(1500, 22, 100, 200));
    expect(idx.mergeUnderWay).toBe(true);
    const fresh = chunk(800, 23, 100, 200);
    idx.load(fresh);
    await idx.settled();
    expect(idx.merges).toBe(0);
    expect(idx.size).toBe(800);
    expect(idx.tailSize).toBe(0);
  });

  it('merging appended rows gives exactly what a fresh build of all the rows gives, answer for answer and in the same order', () => {
    // Thousands of places and identifiers (several first-pass buckets of each) and starts on quarter
    // hours, so many rows share a start: the merge must keep the order a build gives them.
    const parts = [chunk(30_000, 31, 3000, 5000), chunk(9000, 32, 3000, 5200), chunk(4000, 33, 3100, 5000)];
    for (const p of parts) {
      for (let i = 0; i < p.length; i++) {
        p.start[i] -= p.start[i] % 900;
        if (p.end[i] <= p.start[i]) p.end[i] = p.start[i] + 60;
      }
    }
    const merged = sut(parts[0], 5200, { tailMinRows: 1e9 });
    for (const p of parts.slice(1)) {
      merged.append(p);
      merged.mergeTail();
    }
    expect(merged.tailSize).toBe(0);
    expect(merged.merges).toBe(2);
    const fresh = sut(concat(parts), 5200);
    expect(merged.size).toBe(fresh.size);
    const all = (c: CandidateColumns): string[] => c.toArray().map(key);
    for (let place = 0; place < 5200; place++) {
      expect(all(merged.collectAt(place, 0, 2 ** 32 - 1, new CandidateColumns()))).toEqual(all(fresh.collectAt(place, 0, 2 ** 32 - 1, new CandidateColumns())));
    }
    for (let ident = 0; ident < 3100; ident++) {
      const got = all(merged.collectOf(ident, 0, 2 ** 32 - 1, new CandidateColumns()));
      expect(got).toEqual(all(fresh.collectOf(ident, 0, 2 ** 32 - 1, new CandidateColumns())));
      // And windows: the postings' start order is what the window search relies on.
      expect(all(merged.collectOf(ident, 1_579_449_600 + 86400 * 3, 1_579_449_600 + 86400 * 5, new CandidateColumns())))
        .toEqual(all(fresh.collectOf(ident, 1_579_449_600 + 86400 * 3, 1_579_449_600 + 86400 * 5, new CandidateColumns())));
    }
  });

  it('a load that takes over its input columns answers exactly as one that copies them', () => {
    const rows = chunk(1_200_000, 61, 9000, 30_000);
    const copied = sut(rows, 30_000);
    const taken = new PresenceIndex();
    for (let p = 0; p < 30_000; p++) taken.setPlaceKind(p, p % 2 ? 'venue' : 'cell');
    taken.load(concat([rows]), { consume: true });
    const all = (c: CandidateColumns): string[] => c.toArray().map(key);
    for (let q = 0; q < 300; q++) {
      const place = (q * 97) % 30_000;
      const ident = (q * 31) % 9000;
      expect(all(taken.collectAt(place, 0, 2 ** 32 - 1, new CandidateColumns()))).toEqual(all(copied.collectAt(place, 0, 2 ** 32 - 1, new CandidateColumns())));
      expect(all(taken.collectOf(ident, 0, 2 ** 32 - 1, new CandidateColumns()))).toEqual(all(copied.collectOf(ident, 0, 2 ** 32 - 1, new CandidateColumns())));
    }
    expect(taken.bytes()).toBe(copied.bytes());
  });

  it('builds and merges more rows than one slice of work (a million) as a scan of them answers', async () => {
    const parts = [chunk(1_100_000, 51, 9000, 30_000), chunk(200_000, 52, 9000, 30_000)];
    const idx = sut(parts[0], 30_000, { tailMinRows: 150_000, tailShare: 0, streamShare: 0 });
    idx.append(parts[1]);
    expect(idx.mergeUnderWay).toBe(true);
    await idx.settled();
    expect(idx.merges).toBe(1);
    expect(idx.tailSize).toBe(0);
    expectWindowsAsScan(idx, parts, 12, 30_000, 9000, 60_000);
  });

  it('while rows stream in, the tail grows to the stream share before the next merge; once they stop, what is due is merged', async () => {
    const idx = sut(chunk(10_000, 41, 100, 200), 200, { tailMinRows: 100, tailShare: 0.125, streamShare: 1, streamGapMs: 60_000, idleMergeMs: 40 });
    const whileMerging = async (): Promise<void> => {
      while (idx.mergeUnderWay) await new Promise((resolve) => setImmediate(resolve));
    };
    idx.append(chunk(2000, 42, 100, 200));
    // Past an eighth of the sorted rows, and no merge lately: it starts at once.
    expect(idx.mergeUnderWay).toBe(true);
    await whileMerging();
    expect(idx.merges).toBe(1);
    // Within the stream gap of that merge, a tail past an eighth waits to reach the stream share (all of the sorted rows)…
    idx.append(chunk(2000, 43, 100, 200));
    expect(idx.mergeUnderWay).toBe(false);
    idx.append(chunk(2000, 44, 100, 200));
    expect(idx.mergeUnderWay).toBe(false);
    expect(idx.tailSize).toBe(4000);
    // …and is merged once no rows have come for the idle time.
    await new Promise((resolve) => setTimeout(resolve, 120));
    await whileMerging();
    expect(idx.merges).toBe(2);
    expect(idx.tailSize).toBe(0);
    // A tail that reaches the stream share is merged at once.
    idx.append(chunk(16_500, 45, 100, 200));
    expect(idx.mergeUnderWay).toBe(true);
    await whileMerging();
    // `settled` merges a due tail rather than wait for the rows to stop.
    idx.append(chunk(5000, 46, 100, 200));
    expect(idx.mergeUnderWay).toBe(false);
    await idx.settled();
    expect(idx.merges).toBe(4);
    expect(idx.tailSize).toBe(0);
    expect(idx.size).toBe(37_500);
  });
});

function concat(parts: readonly PresenceChunk[]): PresenceChunk {
  const n = parts.reduce((sum, p) => sum + p.length, 0);
  const out: PresenceChunk = { length: n, ident: new Uint32Array(n), place: new Uint32Array(n), start: new Uint32Array(n), end: new Uint32Array(n), sub: new Uint32Array(n), flags: new Uint8Array(n) };
  let at = 0;
  for (const p of parts) {
    for (const k of ['ident', 'place', 'start', 'end', 'sub'] as const) out[k].set(p[k].subarray(0, p.length), at);
    out.flags.set(p.flags.subarray(0, p.length), at);
    at += p.length;
  }
  return out;
}

describe('sortPairs', () => {
  it('sorts pairs by key within the range, keeping the input order of equal keys and leaving the rest alone', () => {
    let x = 99;
    const r = (k: number): number => {
      x = (x * 1664525 + 1013904223) >>> 0;
      return x % k;
    };
    for (const n of [0, 1, 2, 15, 16, 17, 31, 32, 33, 47, 100, 257, 1000]) {
      for (const shape of ['random', 'sorted', 'reversed', 'few keys', 'runs'] as const) {
        const a = 3;
        const key = new Uint32Array(n + 6).fill(7);
        const val = new Uint32Array(n + 6).fill(7);
        for (let i = 0; i < n; i++) {
          key[a + i] = shape === 'random' ? r(1e9) : shape === 'sorted' ? i * 2 : shape === 'reversed' ? n - i : shape === 'few keys' ? r(3) : (i % 40) + r(5);
          val[a + i] = i;
        }
        const want = Array.from({ length: n }, (_, i) => [key[a + i], val[a + i]]).sort((p, q) => p[0] - q[0]);
        sortPairs(key, val, a, a + n, new Uint32Array(n), new Uint32Array(n));
        expect(Array.from({ length: n }, (_, i) => [key[a + i], val[a + i]])).toEqual(want);
        for (const i of [0, 1, 2, a + n, a + n + 1, a + n + 2]) expect([key[i], val[i]]).toEqual([7, 7]);
      }
    }
  });
});
