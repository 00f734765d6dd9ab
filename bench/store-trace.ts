/**
 * @module The store-mode trace against the index-mode trace, side by side on one presence store: the
 * same cases (the outbreak's cases from truth.json, then random residents) traced by a service that
 * asks the store for each read (`cordon trace`'s default) and by one over the in-memory index. Asserts
 * both give the same answer (ignoring `summary.elapsedMs`) and prints median and p99 per mode, the time
 * spent in the store's reads, and the ratio.
 *
 *   node bin/run-ts.js bench/store-trace.ts --store FILE.duckdb --city CITY_DIR [--cases 20] [--degree 1,2] [--seed 1] [--rounds 1]
 *
 * The store is opened read-write (DuckDB allows one process per file): point it at a copy when another
 * process may use the original.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { readTruth } from '../src/sim/truth.ts';
import { PresenceTraceService } from '../src/services/trace.service.ts';
import { DuckDbPresenceStore } from '../src/stores/presence/duckdb/duckdb-presence-store.ts';
import { TimedSource } from './trace/timed-source.ts';
import { CachedDictionary, StoreCandidateSource } from '../src/trace/store-source.ts';
import type { TraceRequest, TraceResult } from '../src/trace/types.ts';

const { values: args } = parseArgs({
  options: {
    store: { type: 'string' },
    city: { type: 'string' },
    cases: { type: 'string', default: '20' },
    /** Trace degrees to time, each on every case: `1`, `2` or `1,2`. */
    degree: { type: 'string', default: '1,2' },
    seed: { type: 'string', default: '1' },
    /** Timed rounds over all cases (a first, untimed round over three cases warms caches). */
    rounds: { type: 'string', default: '1' },
    rules: { type: 'string', default: 'v8' },
    timeZone: { type: 'string', default: 'Asia/Shanghai' },
  },
});
if (!args.store || !args.city) throw new Error('--store FILE.duckdb and --city CITY_DIR are required');
if (!fs.existsSync(args.store)) throw new Error(`no store at ${args.store}`);
const degrees = [...new Set(args.degree.split(',').map((d) => Number(d.trim())))];
if (!degrees.length || degrees.some((d) => d !== 1 && d !== 2)) throw new Error(`--degree "${args.degree}" must be 1, 2 or 1,2`);
const caseCount = Number(args.cases);
const rounds = Math.max(1, Number(args.rounds));
const log = (s: string): void => void process.stderr.write(s + '\n');

// 1. The store and both services over it (the index is built once, before timing).
const store = await DuckDbPresenceStore.open(args.store, { owner: 'bench store-trace' });
const truth = readTruth(path.join(args.city, 'truth.json'));
const stats = await store.stats();
log(`store: ${stats.presences} presences, ${stats.identifiers} identifiers, ${stats.places} places`);
const timed = new TimedSource(new StoreCandidateSource(store, new CachedDictionary(store), 'duckdb'));
const storeMode = await PresenceTraceService.start({ store, timeZone: args.timeZone, mode: 'store', storeSource: timed });
let t = performance.now();
const indexMode = await PresenceTraceService.start({ store, timeZone: args.timeZone, mode: 'index' });
log(`index built in ${((performance.now() - t) / 1000).toFixed(1)} s`);

// 2. The cases: the outbreak's cases first (half), then random residents with an onset mid-period.
const days = truth.options.days;
const endMs = Date.parse(`${truth.options.start}T00:00:00+08:00`) + days * 86_400_000;
const day = (d: number): string => new Date(Date.parse(`${truth.options.start}T00:00:00Z`) + d * 86_400_000).toISOString().slice(0, 10);
const requests: TraceRequest[] = [];
for (const c of truth.cases) {
  const anchor = c.asymptomatic ? c.sampled : c.onset;
  if (!anchor || Date.parse(`${anchor}T00:00:00+08:00`) > endMs - 86_400_000 || requests.length >= Math.ceil(caseCount / 2)) continue;
  requests.push({ id: c.id, onset: c.onset ?? undefined, sampled: c.sampled ?? undefined, asymptomatic: c.asymptomatic, isolated: c.isolated ?? undefined, rules: args.rules });
}
const peopleCsv = fs.readFileSync(path.join(args.city, 'people.csv'), 'utf8').split('\n').slice(1).filter(Boolean);
let rng = (Number(args.seed) * 2654435761) >>> 0;
const rand = (k: number): number => {
  rng = (rng * 1664525 + 1013904223) >>> 0;
  return rng % k;
};
while (requests.length < caseCount && peopleCsv.length) {
  const [kind, value] = peopleCsv[rand(peopleCsv.length)].split(',');
  requests.push({ id: `${kind}:${value}`, onset: day(Math.floor(days / 2) + rand(3)), isolated: day(Math.floor(days / 2) + 3), rules: args.rules });
}
for (const r of requests) r.now = r.isolated ? Math.min(endMs, Date.parse(`${r.isolated}T00:00:00+08:00`) + 86_400_000) : endMs;

// 3. Interleaved runs: each case in both modes, the mode going first alternating with each case.
const strip = (r: TraceResult): TraceResult => ({ ...r, summary: { ...r.summary, elapsedMs: 0 } });
type Series = { store: number[]; index: number[]; reads: number[]; readCount: number[]; contacts: number };
const series = new Map<number, Series>(degrees.map((d) => [d, { store: [], index: [], reads: [], readCount: [], contacts: 0 }]));
let mismatches = 0;
for (let round = 0; round <= rounds; round++) {
  for (const [ri, base] of requests.entries()) {
    if (round === 0 && ri >= 3) break;
    for (const degree of degrees) {
      const req: TraceRequest = { ...base, degree: degree as 1 | 2 };
      const times = series.get(degree)!;
      const results: Partial<Record<'store' | 'index', TraceResult>> = {};
      const order: ('store' | 'index')[] = ri % 2 === 0 ? ['store', 'index'] : ['index', 'store'];
      for (const mode of order) {
        timed.readMs = 0;
        timed.reads = 0;
        t = performance.now();
        results[mode] = await (mode === 'store' ? storeMode : indexMode).trace(req);
        const ms = performance.now() - t;
        if (round > 0) {
          times[mode].push(ms);
          if (mode === 'store') {
            times.reads.push(timed.readMs);
            times.readCount.push(timed.reads);
          }
        }
      }
      const a = results.store;
      const b = results.index;
      if (!a || !b || !isDeepStrictEqual(strip(a), strip(b))) {
        mismatches++;
        log(`case ${ri + 1}, degree ${degree}: store and index results differ`);
      }
      if (round === 1) times.contacts += b?.contacts.length ?? 0;
      if (round > 0) log(`case ${ri + 1}/${requests.length} degree ${degree}: store ${times.store.at(-1)?.toFixed(1)} ms (${times.readCount.at(-1)} reads), index ${times.index.at(-1)?.toFixed(1)} ms`);
    }
  }
}

// 4. Figures.
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : NaN;
};
const line = (name: string, xs: number[]): string => `${name.padEnd(26)} median ${quantile(xs, 0.5).toFixed(1).padStart(9)} ms   p99 ${quantile(xs, 0.99).toFixed(1).padStart(9)} ms`;
console.log(`${requests.length} cases × ${rounds} round(s), rules ${args.rules}, ${stats.presences} presences`);
for (const [degree, times] of series) {
  console.log(`degree ${degree} (${times.contacts} contacts in round 1)`);
  console.log(line('  store mode (duckdb)', times.store));
  console.log(line('    of which store reads', times.reads));
  console.log(line('  index mode', times.index));
  console.log(`  reads per store trace: median ${quantile(times.readCount, 0.5)}, max ${Math.max(...times.readCount)}`);
  console.log(`  ratio store/index (medians): ${(quantile(times.store, 0.5) / quantile(times.index, 0.5)).toFixed(1)}×`);
}
console.log(mismatches === 0 ? 'results: identical in both modes' : `results: ${mismatches} trace(s) DIFFER`);
await store.close();
if (mismatches > 0) process.exitCode = 1;
