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
  const cols = { ident: [] as Uint32Array[], place: [] as Uint32Array[], start: [] as Uint32Array[], end: [] as Uint32Array[], sub: [] as Uint32Array[], flags: [] as Uint8Array[] };
  for await (const chunk of store.scan(opts.chunkSize)) {
    const n = chunk.length;
    cols.ident.push(chunk.ident.slice(0, n));
    cols.place.push(chunk.place.slice(0, n));
    cols.start.push(chunk.start.slice(0, n));
    cols.end.push(chunk.end.slice(0, n));
    cols.sub.push(chunk.sub.slice(0, n));
    cols.flags.push(chunk.flags.slice(0, n));
    for (const p of distinct(chunk.place, n)) places.add(p);
    for (const s of distinct(chunk.sub, n)) subs.add(s);
    done += n;
    opts.onProgress?.(done, total, 'read');
  }
  const join32 = (parts: Uint32Array[]): Uint32Array => {
    const out = new Uint32Array(done);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  const flags = new Uint8Array(done);
  let o = 0;
  for (const p of cols.flags) {
    flags.set(p, o);
    o += p.length;
  }
  await learnNames(index, store, places, subs);
  opts.onProgress?.(done, total, 'sort');
  index.load({ ident: join32(cols.ident), place: join32(cols.place), start: join32(cols.start), end: join32(cols.end), sub: join32(cols.sub), flags });
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
