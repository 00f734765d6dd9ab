/**
 * @module Building the index from a presence store's `scan()` with progress, and keeping it current:
 * `LiveIndex.onPresencesCommitted(chunk)` is the listener the ingest service calls after each
 * committed batch.
 */
import type { PresenceChunk, PresenceStore } from '../../stores/presence/presence-store.ts';
import { isPlaceKind } from '../../domain/formats.ts';
import { parseSub } from '../../domain/contact-rules.ts';
import { PresenceIndex, type BuildProgress, type PresenceIndexOptions } from './presence-index.ts';

/** The store reads the index needs (a subset of the presence store port). */
export type IndexStoreReads = Pick<PresenceStore, 'scan' | 'stats' | 'placeKeys' | 'subValues'>;

/** What a build measured. */
export interface BuildStats {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  bytesPerPresence: number;
}

const LOOKUP_BATCH = 10_000;

/** Learns the kinds of unknown places and the text of unknown subs among these ids. */
async function learnNames(index: PresenceIndex, store: IndexStoreReads, places: Iterable<number>, subs: Iterable<number>): Promise<void> {
  const newPlaces = [...new Set(places)].filter((p) => !index.hasPlaceKind(p));
  for (let i = 0; i < newPlaces.length; i += LOOKUP_BATCH) {
    const ids = newPlaces.slice(i, i + LOOKUP_BATCH);
    const keys = await store.placeKeys(ids);
    ids.forEach((id, k) => {
      const key = keys[k] ?? '';
      const kind = key.slice(0, key.indexOf(':'));
      if (!isPlaceKind(kind)) throw new Error(`presence index: place ${id} has key "${key}" without a known kind`);
      index.setPlaceKind(id, kind);
    });
  }
  const newSubs = [...new Set(subs)].filter((s) => !index.hasSub(s));
  for (let i = 0; i < newSubs.length; i += LOOKUP_BATCH) {
    const ids = newSubs.slice(i, i + LOOKUP_BATCH);
    const texts = await store.subValues(ids);
    ids.forEach((id, k) => index.setSub(id, texts[k] ? parseSub(texts[k]) : null));
  }
}

function distinct(a: Uint32Array, n: number): number[] {
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) seen.add(a[i]);
  return [...seen];
}

/** Reads every presence from the store and builds a sorted index. */
export async function buildIndex(store: IndexStoreReads, opts: { onProgress?: BuildProgress; chunkSize?: number; index?: PresenceIndexOptions } = {}): Promise<{ index: PresenceIndex; stats: BuildStats }> {
  const t0 = performance.now();
  const total = (await store.stats()).presences;
  const index = new PresenceIndex(opts.index);
  let done = 0;
  const places = new Set<number>();
  const subs = new Set<number>();
  // Columns as long as the store says it holds, filled chunk by chunk: one copy of each row into memory
  // written once (fresh memory costs a fault per page on first write), grown only if rows came meanwhile.
  const make = (n: number) => ({ ident: new Uint32Array(n), place: new Uint32Array(n), start: new Uint32Array(n), end: new Uint32Array(n), sub: new Uint32Array(n), flags: new Uint8Array(n) });
  let cols = make(total);
  for await (const chunk of store.scan(opts.chunkSize)) {
    const n = chunk.length;
    if (done + n > cols.ident.length) {
      const next = make(Math.max(done + n, Math.ceil(cols.ident.length * 1.25)));
      for (const k of ['ident', 'place', 'start', 'end', 'sub'] as const) next[k].set(cols[k].subarray(0, done));
      next.flags.set(cols.flags.subarray(0, done));
      cols = next;
    }
    for (const k of ['ident', 'place', 'start', 'end', 'sub'] as const) cols[k].set(chunk[k].subarray(0, n), done);
    cols.flags.set(chunk.flags.subarray(0, n), done);
    for (const p of distinct(chunk.place, n)) places.add(p);
    for (const s of distinct(chunk.sub, n)) subs.add(s);
    done += n;
    opts.onProgress?.(done, total, 'read');
  }
  await learnNames(index, store, places, subs);
  opts.onProgress?.(done, total, 'sort');
  index.load({
    ident: cols.ident.subarray(0, done), place: cols.place.subarray(0, done), start: cols.start.subarray(0, done),
    end: cols.end.subarray(0, done), sub: cols.sub.subarray(0, done), flags: cols.flags.subarray(0, done),
  }, { consume: true });
  const seconds = (performance.now() - t0) / 1000;
  return { index, stats: { rows: done, seconds, rowsPerSecond: seconds > 0 ? done / seconds : 0, bytesPerPresence: index.bytesPerPresence() } };
}

/** An index kept current with the store: new committed batches become visible to queries in order. */
export class LiveIndex {
  private queue: Promise<void> = Promise.resolve();
  constructor(readonly index: PresenceIndex, private readonly store: IndexStoreReads) {}

  /** Resolves when every batch handed in so far is visible to queries. */
  settled(): Promise<void> {
    return this.queue;
  }

  /** The ingest listener: call after each committed batch. Resolves when the rows are visible. */
  onPresencesCommitted(chunk: PresenceChunk): Promise<void> {
    // Chained so batches become visible in commit order even though name lookups are async.
    const next = this.queue.then(async () => {
      await learnNames(this.index, this.store, distinct(chunk.place, chunk.length), distinct(chunk.sub, chunk.length));
      this.index.append(chunk);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}
