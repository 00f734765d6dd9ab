/**
 * @module How long a live upload holds the server's event loop while the in-memory index takes the
 * rows in: a synthetic index of N presences, then a batch past the merge threshold appended as the
 * ingest service does. Prints the append (rows visible at once in the tail), the background merge's
 * duration and the longest the event loop waited meanwhile, next to the same merge done in one go.
 *
 *   node bin/run-ts.js bench/index-merge.ts [--presences 20000000] [--batch 1000000]
 */
import { parseArgs } from 'node:util';
import { PresenceIndex } from '../src/trace/index/presence-index.ts';
import type { PresenceChunk } from '../src/stores/presence/presence-store.ts';

const { values: args } = parseArgs({ options: { presences: { type: 'string', default: '20000000' }, batch: { type: 'string', default: '1000000' } } });
const n = Number(args.presences);
const batch = Number(args.batch);
const places = Math.ceil(n / 30);

/** Rows shaped like the synthetic city's: ~100 presences per identifier, ~30 per place, over 14 days. */
function rows(m: number, seed: number): PresenceChunk {
  let x = seed >>> 0;
  const r = (k: number): number => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x % k;
  };
  const c: PresenceChunk = { length: m, ident: new Uint32Array(m), place: new Uint32Array(m), start: new Uint32Array(m), end: new Uint32Array(m), sub: new Uint32Array(m), flags: new Uint8Array(m) };
  for (let i = 0; i < m; i++) {
    c.ident[i] = r(Math.ceil(n / 100));
    c.place[i] = r(places);
    c.start[i] = 1_579_449_600 + r(14 * 86_400);
    c.end[i] = c.start[i] + 60 + r(7200);
  }
  return c;
}

const index = new PresenceIndex();
for (let p = 0; p < places; p++) index.setPlaceKind(p, p % 2 ? 'venue' : 'cell');
let t = performance.now();
index.load(rows(n, 1));
console.log(`index of ${n.toLocaleString('en')} presences loaded (sorted in one go) in ${((performance.now() - t) / 1000).toFixed(2)} s`);

// Batches as the ingest service hands them over, until the tail passes the merge threshold (1/8 of the sorted rows).
const threshold = Math.ceil(n * 0.125);
let appendMax = 0;
let appended = 0;
let seed = 2;
while (appended < threshold) {
  const c = rows(Math.min(batch, threshold - appended + 1), seed++);
  t = performance.now();
  index.append(c);
  appendMax = Math.max(appendMax, performance.now() - t);
  appended += c.length;
}
console.log(`appended ${appended.toLocaleString('en')} rows in batches of ${batch.toLocaleString('en')}: longest append ${appendMax.toFixed(0)} ms (rows visible at once)`);

// The merge began with the last batch; measure the event loop until it ends.
let longest = 0;
let last = performance.now();
let ticking = true;
const tick = (): void => {
  const now = performance.now();
  longest = Math.max(longest, now - last);
  last = now;
  if (ticking) setImmediate(tick);
};
setImmediate(tick);
t = performance.now();
await index.settled();
ticking = false;
console.log(`background merge of ${index.size.toLocaleString('en')} rows: ${((performance.now() - t) / 1000).toFixed(2)} s; longest event-loop wait meanwhile ${longest.toFixed(0)} ms; merges ${index.merges}`);

index.append(rows(10, seed));
t = performance.now();
index.mergeTail();
console.log(`the same merge in one go (the event loop held throughout): ${((performance.now() - t) / 1000).toFixed(2)} s`);
