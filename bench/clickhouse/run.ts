/**
 * @module Benchmark: the ClickHouse presence store against the embedded one (DuckDB file + in-memory
 * index), in one run on the same synthetic town: ingest throughput, trace latency (median, p99) for
 * first and second degree through the Distributed table, and bytes per presence on disk. Every trace
 * is run on both and the answers are asserted equal.
 *
 *   node bin/run-ts.js bench/clickhouse/run.ts [--presences 1000000] [--days 10] [--cases 25]
 *     [--url clickhouse://127.0.0.1:8123/cordon_bench] [--keep]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isDeepStrictEqual } from 'node:util';
import { LinkedIdentityGroups } from '../../src/trace/identity-groups.ts';
import { buildIndex } from '../../src/trace/index/build-index.ts';
import { IndexCandidateSource } from '../../src/trace/index/index-source.ts';
import { Tracer } from '../../src/trace/tracer.ts';
import type { TraceRequest, TraceResult } from '../../src/trace/types.ts';
import { DuckDbPresenceStore } from '../../src/stores/presence/duckdb/duckdb-presence-store.ts';
import { ClickHouseCandidateSource } from '../../src/stores/presence/clickhouse/clickhouse-candidate-source.ts';
import { ClickHousePresenceStore } from '../../src/stores/presence/clickhouse/clickhouse-presence-store.ts';
import { PER_PERSON_DAY, phoneOf, townDay, townLinks } from './town.ts';

const { values: args } = parseArgs({
  options: {
    presences: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '10' },
    cases: { type: 'string', default: '25' },
    seed: { type: 'string', default: '7' },
    batch: { type: 'string', default: '100000' },
    url: { type: 'string', default: 'clickhouse://127.0.0.1:8123/cordon_bench' },
    keep: { type: 'boolean', default: false },
  },
});
const target = Number(args.presences);
const days = Number(args.days);
const cases = Number(args.cases);
const seed = Number(args.seed);
const batch = Number(args.batch);
const people = Math.max(100, Math.round(target / (days * PER_PERSON_DAY)));

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
const log = (s: string): void => void process.stderr.write(`${s}\n`);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-bench-ch-'));
const duckFile = path.join(dir, 'presence.duckdb');
const duck = await DuckDbPresenceStore.open(duckFile);
const ch = await ClickHousePresenceStore.open(args.url);
await ch.drop();
await ch.init();

// ---- ingest: the same batches into both stores, timed separately ----
log(`town: ${people} people × ${days} days (≈${target} presences), seed ${seed}`);
let rows = 0;
let duckMs = 0;
let chMs = 0;
for (let d = 0; d < days; d++) {
  for (const part of townDay(seed, people, d, batch)) {
    let t = performance.now();
    const a = await duck.insertPresences(part);
    duckMs += performance.now() - t;
    t = performance.now();
    const b = await ch.insertPresences(part);
    chMs += performance.now() - t;
    if (!isDeepStrictEqual(a, b)) throw new Error(`insert counts differ: duckdb ${JSON.stringify(a)} clickhouse ${JSON.stringify(b)}`);
    rows += part.length;
  }
  log(`  day ${d + 1}/${days}: ${rows} presences`);
}
// A retried batch counts once on both.
const retry = [...townDay(seed, people, 0, 5000)][0];
const again = [await duck.insertPresences(retry), await ch.insertPresences(retry)];
if (again.some((r) => r.inserted !== 0 || r.duplicates !== retry.length)) throw new Error(`a re-inserted batch was not all duplicates: ${JSON.stringify(again)}`);
await duck.insertIdentityLinks(townLinks(people));
await ch.insertIdentityLinks(townLinks(people));

const t = performance.now();
const { index, stats: indexStats } = await buildIndex(duck);
const indexMs = performance.now() - t;
await duck.bulk.checkpoint();

const embedded = new Tracer({
  source: new IndexCandidateSource(index), dict: duck, timeZone: 'Asia/Shanghai',
  groups: await LinkedIdentityGroups.fromLinks(duck.identityLinks(), duck),
});
const chSource = new ClickHouseCandidateSource(ch);
const pushed = new Tracer({
  source: chSource, dict: ch, timeZone: 'Asia/Shanghai',
  groups: await LinkedIdentityGroups.fromLinks(ch.identityLinks(), ch),
});

// ---- traces: the same requests on both, answers compared ----
const onsetDay = Math.min(days - 2, 6);
const date = (d: number): string => new Date(Date.UTC(2020, 0, 15 + d)).toISOString().slice(0, 10);
const requests: TraceRequest[] = [];
for (let i = 0; i < cases; i++) {
  const p = Math.floor(((i + 0.5) / cases) * people);
  requests.push({ id: `phone:${phoneOf(p)}`, onset: date(onsetDay), isolated: date(onsetDay + 1), rules: 'v9', now: Date.UTC(2020, 0, 15 + days) });
}
const strip = (r: TraceResult): unknown => ({ ...r, summary: { ...r.summary, elapsedMs: 0 } });
/**
 * Equal answers, except where a secondary contact met two close contacts at the same first moment:
 * the tracer then picks the `via` with the smaller dictionary id, and the two stores number
 * identifiers differently. Such ties are counted (and printed), everything else must be identical.
 */
let viaTies = 0;
const sameTrace = (a: TraceResult, b: TraceResult): boolean => {
  if (isDeepStrictEqual(strip(a), strip(b))) return true;
  const { contacts: ca, ...ra } = strip(a) as TraceResult;
  const { contacts: cb, ...rb } = strip(b) as TraceResult;
  if (!isDeepStrictEqual(ra, rb) || ca.length !== cb.length) return false;
  const close = new Set(ca.filter((c) => c.degree === 1 && c.category === 'close').map((c) => c.key));
  let ties = 0;
  for (let i = 0; i < ca.length; i++) {
    const x = ca[i];
    const y = cb.find((c) => c.key === x.key);
    if (!y) return false;
    if (isDeepStrictEqual(x, y)) continue;
    const tie = x.category === 'secondary' && y.category === 'secondary' && x.via !== y.via
      && close.has(x.via ?? '') && close.has(y.via ?? '') && x.firstExposure === y.firstExposure;
    if (!tie) return false;
    ties++;
  }
  viaTies += ties;
  return true;
};
const timings: Record<string, number[]> = {};
const time = async (name: string, fn: () => Promise<TraceResult>): Promise<TraceResult> => {
  const s = performance.now();
  const r = await fn();
  (timings[name] ??= []).push(performance.now() - s);
  return r;
};
let contacts1 = 0;
let contacts2 = 0;
// One warm-up of each, not timed.
await embedded.trace({ ...requests[0], degree: 2 });
await pushed.trace({ ...requests[0], degree: 2 });
for (const req of requests) {
  for (const degree of [1, 2] as const) {
    const a = await time(`embedded d${degree}`, () => embedded.trace({ ...req, degree }));
    const b = await time(`clickhouse d${degree}`, () => pushed.trace({ ...req, degree }));
    if (!sameTrace(a, b)) {
      const file = path.join(os.tmpdir(), `cordon-bench-ch-diff-${process.pid}.json`);
      fs.writeFileSync(file, JSON.stringify({ request: { ...req, degree }, embedded: strip(a), clickhouse: strip(b) }, null, 1));
      throw new Error(`trace of case ${requests.indexOf(req)} degree ${degree} differs between the stores (both answers in ${file})`);
    }
    if (degree === 1) contacts1 += a.contacts.length;
    else contacts2 += a.contacts.length;
    if (degree === 2) {
      // The second-degree reads of this case in one query (firstDegreeMany), as the tracer could do them.
      const close = a.contacts.filter((c) => c.degree === 1 && c.category === 'close');
      const reads = [];
      for (const c of close) {
        const idents = [...(await ch.identifierIds(c.ids)).values()];
        reads.push({ idents, from: Date.parse(c.firstExposure) / 1000, to: (req.now ?? Date.now()) / 1000 });
      }
      const s = performance.now();
      await chSource.firstDegreeMany(reads);
      (timings['clickhouse d2 reads batched'] ??= []).push(performance.now() - s);
    }
  }
}

// ---- disk ----
const chStats = await ch.stats();
const chDisk = await ch.diskBytes();
await duck.close();
const duckBytes = fs.statSync(duckFile).size + (fs.existsSync(`${duckFile}.wal`) ? fs.statSync(`${duckFile}.wal`).size : 0);
clearInterval(sampler);

const q = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const n = chStats.presences;
const out: string[] = [];
out.push(`ClickHouse presence store vs embedded (DuckDB + index): ${n} presences, ${people} people, ${days} days, ${cases} cases, seed ${seed}`);
out.push(`  answers: all ${cases * 2} traces equal on both stores (${viaTies} secondary contacts with two equally early close contacts named a different via)`);
out.push(`  contacts per case: degree 1 ${(contacts1 / cases).toFixed(1)}, degree 2 ${(contacts2 / cases).toFixed(1)}`);
out.push(`  ingest (insertPresences, ${batch}-row batches, dedup on): embedded ${Math.round(rows / (duckMs / 1000))}/s, clickhouse ${Math.round(rows / (chMs / 1000))}/s (ratio ${(chMs / duckMs).toFixed(2)}× the time)`);
out.push(`  embedded index build: ${Math.round(indexStats.rows / (indexMs / 1000))} presences/s, ${indexStats.bytesPerPresence.toFixed(1)} B/presence in memory`);
for (const degree of [1, 2]) {
  const e = timings[`embedded d${degree}`];
  const c = timings[`clickhouse d${degree}`];
  out.push(`  trace degree ${degree}: embedded median ${ms(q(e, 0.5))} p99 ${ms(q(e, 0.99))}; clickhouse median ${ms(q(c, 0.5))} p99 ${ms(q(c, 0.99))} (median ratio ${(q(c, 0.5) / q(e, 0.5)).toFixed(1)}×)`);
}
const batched = timings['clickhouse d2 reads batched'];
out.push(`  clickhouse second-degree reads of a case in one query (firstDegreeMany, reads only): median ${ms(q(batched, 0.5))} p99 ${ms(q(batched, 0.99))}`);
out.push(`  disk: clickhouse ${(chDisk.presences / n).toFixed(1)} B/presence (place-ordered table) + ${(chDisk.byPerson / n).toFixed(1)} (person-ordered) + ${(chDisk.other / n).toFixed(1)} (dictionaries, links) = ${((chDisk.presences + chDisk.byPerson + chDisk.other) / n).toFixed(1)}; embedded DuckDB file ${(duckBytes / n).toFixed(1)} B/presence`);
out.push(`  peak RSS of this process: ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
console.log(out.join('\n'));

if (!args.keep) await ch.drop();
await ch.close();
fs.rmSync(dir, { recursive: true, force: true });
