/**
 * @module `npm run bench`: the contact-tracing benchmark. On the synthetic city at a named size, the
 * same tracer (rules, evidence, risk) runs over each peer's reads side by side in one process —
 * the in-memory index, DuckDB (SQL self-join; the same on a table sorted by (place, start)), SQLite
 * and PostgreSQL (btree (place, start) plus the max-duration bound) — asserts every peer returns the
 * same answer, and prints medians, p99s and ratios.
 *
 *   node bin/run-ts.js bench/run.ts [--size 1m|20m|100m|0.1m] [--people N] [--cases 40] [--rounds 3] [--seed 1] [--peers index,sqlite,postgres,duckdb-join,duckdb-sorted] [--order fixed|turns] [--keep-peers] [--interleave]
 *
 * `npm run bench -- …` runs it with `--max-semi-space-size=64`, the young generation the server runs with
 * (bin/cordon.js); run directly, pass the same flag to node for figures that match the server's.
 *
 * `--keep-peers` keeps the SQLite file and the PostgreSQL schema of this city for the next run (they
 * are reused only when they hold exactly the same rows): at 100M loading them takes a quarter of an hour.
 *
 * Every peer first traces every case once untimed (compiled code, caches and names warm, as in a
 * server that has been answering), then `--rounds` timed rounds follow; in each round every peer runs
 * all cases in a block of its own (see step 5); medians and p99s are over all timed traces.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateCity } from '../src/sim/generate.ts';
import { readTruth } from '../src/sim/truth.ts';
import { IngestService } from '../src/services/ingest.service.ts';
import { DuckDbPresenceStore, openDuckDbScratch } from '../src/stores/presence/duckdb/duckdb-presence-store.ts';
import { buildIndex } from '../src/trace/index/build-index.ts';
import { IndexCandidateSource } from '../src/trace/index/index-source.ts';
import { LinkedIdentityGroups } from '../src/trace/identity-groups.ts';
import { CachedDictionary } from '../src/trace/store-source.ts';
import { Tracer } from '../src/trace/tracer.ts';
import { mergePieces, personOf } from '../src/trace/assemble.ts';
import { resolveWindow } from '../src/trace/window.ts';
import { loadRuleSet } from '../src/domain/contact-rules.ts';
import { CandidateColumns, type CandidateSource } from '../src/trace/candidate-source.ts';
import type { TraceRequest, TraceResult } from '../src/trace/types.ts';
import { DuckDbPeer, PostgresPeer, SqlitePeer, fingerprint, type Peer, type PeerData } from './trace/peers.ts';
import { TimedSource } from './trace/timed-source.ts';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '1m' },
    /** Residents to generate, overriding the size (e.g. to reuse a city generated earlier). */
    people: { type: 'string' },
    cases: { type: 'string', default: '40' },
    seed: { type: 'string', default: '1' },
    days: { type: 'string', default: '14' },
    peers: { type: 'string', default: 'index,sqlite,postgres,duckdb-join,duckdb-sorted' },
    postgres: { type: 'string', default: process.env.CORDON_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    cache: { type: 'string', default: path.join(os.tmpdir(), 'cordon-bench-city') },
    fresh: { type: 'boolean', default: false },
    /** Keep the SQLite and PostgreSQL peers' tables for the next run on the same rows (cache folder / schema named by city). */
    'keep-peers': { type: 'boolean', default: false },
    /** Interleave peers case by case, both degrees back to back, instead of a block per peer. */
    interleave: { type: 'boolean', default: false },
    /** With --interleave — `fixed`: peers trace each case in --peers order; `turns`: the peer tracing a case first changes with each case. */
    order: { type: 'string', default: 'fixed' },
    /** Timed rounds over all cases, after one untimed round that warms every peer on every case. */
    rounds: { type: 'string', default: '3' },
  },
});

/** Presences per resident over 14 days in the synthetic city (measured: about 109). */
const PRESENCES_PER_PERSON_14D = 109;
const SIZES: Record<string, number> = { '0.1m': 100_000, '1m': 1_000_000, '20m': 20_000_000, '100m': 100_000_000 };
const target = SIZES[args.size];
if (!target) throw new Error(`--size "${args.size}" must be one of ${Object.keys(SIZES).join(', ')}`);
if (args.order !== 'turns' && args.order !== 'fixed') throw new Error(`--order "${args.order}" must be fixed or turns`);
const days = Number(args.days);
const seed = Number(args.seed);
const people = args.people ? Number(args.people) : Math.round(target / (PRESENCES_PER_PERSON_14D * days / 14));
const caseCount = Number(args.cases);
const rounds = Number(args.rounds);
if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`--rounds "${args.rounds}" must be a whole number ≥ 1`);
const peerNames = args.peers.split(',').map((s) => s.trim()).filter(Boolean);
const log = (s: string): void => void process.stderr.write(s + '\n');

// 1. The city (shared with bench/ingest.ts's cache) and the durable store.
const cityDir = path.join(args.cache, `city-${seed}-${people}-${days}`);
if (!fs.existsSync(path.join(cityDir, 'truth.json'))) {
  log(`generating the city: ${people} people, ${days} days → ${cityDir}`);
  await generateCity({ seed, people, days, out: cityDir });
}
const storeFile = path.join(args.cache, `trace-store-${seed}-${people}-${days}.duckdb`);
const ingestFile = `${storeFile}.ingest.json`;
if (args.fresh || !fs.existsSync(ingestFile)) {
  for (const f of [storeFile, `${storeFile}.wal`, ingestFile]) fs.rmSync(f, { force: true });
  const store = await DuckDbPresenceStore.open(storeFile, { owner: 'bench/run.ts' });
  const ingest = new IngestService(store, { timeZone: 'Asia/Shanghai', rejectsDir: path.join(args.cache, 'rejects') }, openDuckDbScratch);
  let read = 0;
  let seconds = 0;
  for (const e of ingest.planFolder(cityDir)) {
    if (!e.kind) continue;
    const s = await ingest.ingestFile(e.file);
    if (e.kind === 'presences') {
      read += s.rowsRead;
      seconds += s.seconds;
    }
  }
  await store.close();
  fs.writeFileSync(ingestFile, JSON.stringify({ read, seconds, rate: read / seconds }));
}
const ingestStats = JSON.parse(fs.readFileSync(ingestFile, 'utf8')) as { read: number; seconds: number; rate: number };
const store = await DuckDbPresenceStore.open(storeFile, { owner: 'bench/run.ts' });
const truth = readTruth(path.join(cityDir, 'truth.json'));

// 2. The index, built from the store's scan.
const rssBefore = process.memoryUsage().rss;
const { index, stats: build } = await buildIndex(store);
log(`index: ${build.rows} presences in ${build.seconds.toFixed(2)} s`);

// 3. The peers, loaded with the same rows.
const parts: { ident: Uint32Array; place: Uint32Array; start: Uint32Array; end: Uint32Array; sub: Uint32Array; flags: Uint8Array }[] = [];
for await (const c of store.scan()) parts.push({ ident: c.ident.slice(0, c.length), place: c.place.slice(0, c.length), start: c.start.slice(0, c.length), end: c.end.slice(0, c.length), sub: c.sub.slice(0, c.length), flags: c.flags.slice(0, c.length) });
const n = parts.reduce((s, p) => s + p.ident.length, 0);
const join = <T extends Uint32Array | Uint8Array>(pick: (p: (typeof parts)[number]) => T, make: (n: number) => T): T => {
  const out = make(n);
  let o = 0;
  for (const p of parts) {
    out.set(pick(p), o);
    o += pick(p).length;
  }
  return out;
};
const data: PeerData = {
  n, ident: join((p) => p.ident, (k) => new Uint32Array(k)), place: join((p) => p.place, (k) => new Uint32Array(k)),
  start: join((p) => p.start, (k) => new Uint32Array(k)), end: join((p) => p.end, (k) => new Uint32Array(k)),
  sub: join((p) => p.sub, (k) => new Uint32Array(k)), flags: join((p) => p.flags, (k) => new Uint8Array(k)),
  placeKind: (p) => index.placeKind(p), subInfo: (s) => index.subInfo(s),
};
parts.length = 0;

const sources: { name: string; source: CandidateSource; peer?: Peer; loadSeconds?: number }[] = [];
const keep = args['keep-peers'];
const print = keep ? fingerprint(data) : '';
const csv = path.join(args.cache, `trace-peer-${seed}-${people}-${days}.csv`);
for (const name of peerNames) {
  const t0 = performance.now();
  try {
    let peer: Peer | undefined;
    if (name === 'index') sources.push({ name, source: new IndexCandidateSource(index) });
    else if (name === 'sqlite') {
      peer = keep ? SqlitePeer.load(path.join(args.cache, `trace-peer-${seed}-${people}-${days}.sqlite`), data, true, print)
        : SqlitePeer.load(path.join(args.cache, `trace-peer-${process.pid}.sqlite`), data);
    } else if (name === 'postgres') {
      peer = keep ? await PostgresPeer.load(args.postgres, `cordon_bench_trace_s${seed}_p${people}_d${days}`, data, true, print)
        : await PostgresPeer.load(args.postgres, `cordon_bench_trace_${process.pid}`, data);
    }
    else if (name === 'duckdb-join') peer = await DuckDbPeer.load(data, false, csv);
    else if (name === 'duckdb-sorted') peer = await DuckDbPeer.load(data, true, csv);
    else throw new Error(`unknown peer "${name}"`);
    if (peer) sources.push({ name, source: peer, peer, loadSeconds: (performance.now() - t0) / 1000 });
    log(`peer ${name} ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    log(`peer ${name} skipped: ${(err as Error).message}`);
  }
}

// 4. The cases: the outbreak's cases first, then random residents with an onset mid-period.
const dict = new CachedDictionary(store);
const groups = await LinkedIdentityGroups.fromLinks(store.identityLinks(), dict);
// Every name in memory before timing, so no peer waits on the store for names (they all share this dictionary).
await dict.preload(data.ident, data.place);
const endMs = Date.parse(`${truth.options.start}T00:00:00+08:00`) + days * 86_400_000;
const day = (d: number): string => new Date(Date.parse(`${truth.options.start}T00:00:00Z`) + d * 86_400_000).toISOString().slice(0, 10);
const requests: TraceRequest[] = [];
for (const c of truth.cases) {
  const anchor = c.asymptomatic ? c.sampled : c.onset;
  if (!anchor || Date.parse(`${anchor}T00:00:00+08:00`) > endMs - 86_400_000 || requests.length >= caseCount / 2) continue;
  requests.push({ id: c.id, onset: c.onset ?? undefined, sampled: c.sampled ?? undefined, asymptomatic: c.asymptomatic, isolated: c.isolated ?? undefined, rules: 'v8' });
}
const peopleCsv = fs.readFileSync(path.join(cityDir, 'people.csv'), 'utf8').split('\n').slice(1).filter(Boolean);
let rng = seed * 2654435761 >>> 0;
const rand = (k: number): number => {
  rng = (rng * 1664525 + 1013904223) >>> 0;
  return rng % k;
};
while (requests.length < caseCount && peopleCsv.length) {
  const [kind, value] = peopleCsv[rand(peopleCsv.length)].split(',');
  requests.push({ id: `${kind}:${value}`, onset: day(Math.floor(days / 2) + rand(3)), isolated: day(Math.floor(days / 2) + 3), rules: 'v8' });
}
// A trace runs when the case is found: "now" is the end of the isolation day (or the end of the data).
for (const r of requests) r.now = r.isolated ? Math.min(endMs, Date.parse(`${r.isolated}T00:00:00+08:00`) + 86_400_000) : endMs;

for (const s of sources) s.source = new TimedSource(s.source);

// 5. Timed runs. A round gives each peer every case in a block of its own — trajectories and
// first-degree traces of every case, then their second-degree traces — so each peer is timed in its own
// steady state: interleaved case by case, one peer's reads would evict the caches of the next (a SQLite
// read sweeps its page cache through the processor's), and a second-degree trace leaves tens of
// megabytes of garbage that the next first-degree trace pays to collect. The order of the peers turns
// from round to round, so slow drift of the machine falls on all of them. Round 0 warms every peer on
// every case and is not timed. Every peer's answer for a case must equal the first peer's.
// `--interleave` runs the former way instead: per case, each peer in turn, both degrees back to back.
type Query = 'trajectory' | 'first-degree' | 'second-degree' | 'first-degree reads' | 'second-degree reads';
const times = new Map<string, number[]>();
const counts = { contacts1: 0, contacts2: 0, traj: 0 };
const record = (peer: string, q: Query, ms: number): void => {
  const k = `${peer}|${q}`;
  times.set(k, [...(times.get(k) ?? []), ms]);
};
/** A result as canonical text, its timing zeroed, for comparing peers. */
const canonical = (r: TraceResult): string => JSON.stringify({ ...r, summary: { ...r.summary, elapsedMs: 0 } });
let mismatches = 0;
const rules = loadRuleSet('v8');
/** The first answer per case and degree (`${case}|${degree}`), and the peer that gave it. */
const answers = new Map<string, { text: string; from: string }>();
const check = (peer: string, ri: number, degree: 1 | 2, r: TraceResult): void => {
  const k = `${ri}|${degree}`;
  const text = canonical(r);
  const want = answers.get(k);
  if (!want) answers.set(k, { text, from: peer });
  else if (want.text !== text) {
    mismatches++;
    log(`MISMATCH: ${peer} differs from ${want.from} on case #${ri} (degree ${degree})`);
  }
};
/** Columns a source that answers in this process writes a trajectory read into (as the tracer does). */
const trajColumns = new CandidateColumns();
/** Trajectory and first-degree trace of one case by one peer (timed from round 1). */
const runFirst = async (s: (typeof sources)[number], ri: number, req: TraceRequest, round: number): Promise<void> => {
  const tracer = new Tracer({ source: s.source, dict, groups, timeZone: 'Asia/Shanghai' });
  const timed = s.source as TimedSource;
  // Trajectory: the person's presences in the window, merged, through the same source.
  const t0 = performance.now();
  const ident = (await dict.identifierIds([req.id])).get(req.id);
  const w = resolveWindow(req, rules, 'Asia/Shanghai');
  const idents = ident === undefined ? [] : groups.groupOf(personOf(groups, ident));
  const into = s.source.presencesOfInto?.bind(s.source);
  const traj = ident === undefined ? [] : into ? mergePieces((into(idents, w.from, w.to, trajColumns.clear()), trajColumns), w.from, w.to, groups)
    : mergePieces(await s.source.presencesOf(idents, w.from, w.to), w.from, w.to, groups);
  const t1 = performance.now();
  timed.readMs = 0;
  const r1 = await tracer.trace({ ...req, degree: 1 });
  const reads1 = timed.readMs;
  const t2 = performance.now();
  if (round >= 1) {
    record(s.name, 'trajectory', t1 - t0);
    record(s.name, 'first-degree', t2 - t1);
    record(s.name, 'first-degree reads', reads1);
    if (s.name === sources[0].name && round === 1) {
      counts.contacts1 += r1.contacts.length;
      counts.traj += traj.length;
    }
  }
  check(s.name, ri, 1, r1);
};
/** Second-degree trace of one case by one peer (timed from round 1). */
const runSecond = async (s: (typeof sources)[number], ri: number, req: TraceRequest, round: number): Promise<void> => {
  const tracer = new Tracer({ source: s.source, dict, groups, timeZone: 'Asia/Shanghai' });
  const timed = s.source as TimedSource;
  const t2 = performance.now();
  timed.readMs = 0;
  const r2 = await tracer.trace({ ...req, degree: 2 });
  const reads2 = timed.readMs;
  const t3 = performance.now();
  if (round >= 1) {
    record(s.name, 'second-degree', t3 - t2);
    record(s.name, 'second-degree reads', reads2);
    if (s.name === sources[0].name && round === 1) counts.contacts2 += r2.contacts.length;
  }
  check(s.name, ri, 2, r2);
};
for (let round = 0; round <= rounds; round++) {
  const label = round === 0 ? 'warm-up' : `round ${round}/${rounds}`;
  if (args.interleave) {
    for (const [ri, req] of requests.entries()) {
      if (ri % 10 === 0) log(`${label}: case ${ri + 1}/${requests.length}`);
      const order = args.order === 'fixed' ? sources : sources.map((_, k) => sources[(k + ri) % sources.length]);
      for (const s of order) {
        await runFirst(s, ri, req, round);
        await runSecond(s, ri, req, round);
      }
    }
    continue;
  }
  // Peers in turns from round to round.
  const order = sources.map((_, k) => sources[(k + round) % sources.length]);
  for (const s of order) {
    log(`${label}: ${s.name}`);
    for (const [ri, req] of requests.entries()) await runFirst(s, ri, req, round);
    for (const [ri, req] of requests.entries()) await runSecond(s, ri, req, round);
  }
}

// 6. Report.
/** The semi-space limit this process runs with (`npm run bench` and the server pass 64 MiB), as given on the command line or in NODE_OPTIONS. */
function youngGeneration(): string {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const given = flags.filter((f) => /^--max-semi-space-size(=|$)/.test(f)).pop();
  return given ? `${given} (as the server runs)` : "V8's default semi-spaces (the server runs with --max-semi-space-size=64)";
}
const q = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
};
const fmt = (ms: number): string => (ms < 1 ? ms.toFixed(3) : ms < 100 ? ms.toFixed(2) : ms.toFixed(0));
const peakRss = process.resourceUsage().maxRSS * 1024;
const lines: string[] = [];
lines.push(`# cordon trace benchmark — size ${args.size}: ${n.toLocaleString('en')} presences (${people} residents, ${days} days, seed ${seed}); ${requests.length} cases × ${rounds} timed rounds after a warm-up round, v8 rules`);
lines.push(`ingest (CSV → durable DuckDB store, the ingest service): ${Math.round(ingestStats.rate).toLocaleString('en')} presences/s (${ingestStats.read.toLocaleString('en')} rows in ${ingestStats.seconds.toFixed(1)} s)`);
lines.push(`index build from the store's scan: ${Math.round(build.rowsPerSecond).toLocaleString('en')} presences/s (${build.seconds.toFixed(2)} s); ${build.bytesPerPresence.toFixed(1)} bytes/presence in memory`);
lines.push(`ingest + index (durable and indexed): ${Math.round(n / (ingestStats.seconds + build.seconds)).toLocaleString('en')} presences/s`);
lines.push(`V8 young generation: ${youngGeneration()}`);
lines.push(`peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB (process, all peers loaded); RSS before the index ${(rssBefore / 2 ** 20).toFixed(0)} MiB`);
lines.push(`per case: ${(counts.traj / requests.length).toFixed(1)} trajectory pieces, ${(counts.contacts1 / requests.length).toFixed(1)} first-degree contacts, ${(counts.contacts2 / requests.length).toFixed(1)} contacts with second degree`);
lines.push(args.interleave
  ? `peers interleaved case by case, both degrees back to back; peer order per case: ${args.order === 'fixed' ? 'fixed (--peers order)' : 'in turns'}`
  : 'each peer runs every case in a block of its own (first degree, then second), peer order turning from round to round');
lines.push(`answers equal across peers: ${mismatches === 0 ? 'yes' : `NO (${mismatches} mismatches)`}`);
lines.push('');
lines.push('Full traces (reads + rules + evidence + risk), milliseconds, median / p99:');
lines.push('');
lines.push('| peer | bytes/presence | trajectory | first-degree | second-degree | first-degree vs index | second-degree vs index |');
lines.push('|---|---|---|---|---|---|---|');
const get = (peer: string, qq: Query): number[] => times.get(`${peer}|${qq}`) ?? [NaN];
const mp = (peer: string, qq: Query): string => `${fmt(q(get(peer, qq), 0.5))} / ${fmt(q(get(peer, qq), 0.99))}`;
const ratio = (peer: string, qq: Query): string => (peer === 'index' ? '1×' : `${(q(get(peer, qq), 0.5) / q(get('index', qq), 0.5)).toFixed(1)}×`);
for (const s of sources) {
  const bpp = s.name === 'index' ? build.bytesPerPresence : await s.peer?.bytesPerPresence();
  lines.push(`| ${s.name} | ${bpp === undefined ? '–' : bpp.toFixed(1)} | ${mp(s.name, 'trajectory')} | ${mp(s.name, 'first-degree')} | ${mp(s.name, 'second-degree')} | ${ratio(s.name, 'first-degree')} | ${ratio(s.name, 'second-degree')} |`);
}
lines.push('');
lines.push('The reads alone inside those traces (candidate fetching: the part each peer does differently), milliseconds, median / p99:');
lines.push('');
lines.push('| peer | first-degree reads | second-degree reads | first-degree vs index | second-degree vs index |');
lines.push('|---|---|---|---|---|');
for (const s of sources) {
  lines.push(`| ${s.name} | ${mp(s.name, 'first-degree reads')} | ${mp(s.name, 'second-degree reads')} | ${ratio(s.name, 'first-degree reads')} | ${ratio(s.name, 'second-degree reads')} |`);
}
console.log(lines.join('\n'));
for (const s of sources) await s.peer?.close();
await store.close();
if (mismatches) process.exitCode = 1;
