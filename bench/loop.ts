/**
 * @module Benchmark of the closed loop: "case confirmed → all leads pushed and visible in the inboxes"
 * for cases with about 50 pushable contacts, on the SQLite and PostgreSQL records stores side by side
 * (same city, same cases, answers checked equal), median and p99, and the ratio.
 * `node bin/run-ts.js bench/loop.ts [--people 20000] [--days 14] [--seed 3] [--cases 15] [--target 50] [--degree 1|2] [--cache DIR]`
 * The generated city and its ingested presence store are kept under `--cache` (default: the OS temp
 * folder) and reused by later runs with the same seed, size and days.
 * Then the inbox read (the service call behind the inbox API) with `--inbox-commands` open commands.
 * PostgreSQL: CORDON_BENCH_POSTGRES_URL (default the local server); skipped when unreachable.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Actor } from '../src/domain/jurisdiction.ts';
import { PostgresConnection } from '../src/stores/records/postgres/postgres-connection.ts';
import { presenceWhereabouts, type RecentPlacesReader, type Whereabouts } from '../src/services/command.service.ts';
import { createLoop } from '../src/services/loop.service.ts';
import { openRecordsStore } from '../src/stores/records/open-records-store.ts';
import type { TraceService } from '../src/trace/types.ts';
import { CITY_COMMANDER, prepareCity, type OutbreakCity } from '../test/loop/synthetic-outbreak.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '20000' },
    days: { type: 'string', default: '14' },
    seed: { type: 'string', default: '3' },
    cases: { type: 'string', default: '15' },
    target: { type: 'string', default: '50' },
    degree: { type: 'string', default: '1' },
    'inbox-commands': { type: 'string', default: '100000' },
    'inbox-calls': { type: 'string', default: '2000' },
    cache: { type: 'string', default: path.join(os.tmpdir(), 'cordon-bench-loop') },
  },
});
const people = Number(values.people);
const days = Number(values.days);
const caseCount = Number(values.cases);
const target = Number(values.target);
// Degree 1 by default: in the synthetic city a degree-2 trace has hundreds of contacts, so "a case with
// about 50 contacts" is a first-degree one. `--degree 2` measures the same path with secondary contacts.
const degree: 1 | 2 = values.degree === '2' ? 2 : 1;
const PUSHABLE = new Set(['close', 'secondary', 'companion']);

function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 5432) });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
};

/** A case of the benchmark: who, onset, and isolation (which bounds the lookback window). */
interface BenchCase {
  id: string;
  onset: string;
  isolatedAt: string;
  contacts: number;
}

/**
 * People whose trace (at the benchmark's degree) has close to `target` pushable contacts (close,
 * secondary, companion), isolated two days after onset, from a sample of residents.
 */
async function pickCases(city: OutbreakCity): Promise<BenchCase[]> {
  const lines = fs.readFileSync(city.city.paths.people, 'utf8').split('\n').slice(1).filter(Boolean);
  const onset = new Date(city.now.getTime() - 4 * 86_400_000).toISOString().slice(0, 10);
  const isolatedAt = new Date(Date.parse(`${onset}T00:00:00+08:00`) + 2 * 86_400_000).toISOString();
  const scored: BenchCase[] = [];
  const step = Math.max(1, Math.floor(lines.length / 300));
  for (let i = 0; i < lines.length; i += step) {
    const [kind, value] = lines[i].split(',');
    const id = `${kind}:${value}`;
    const r = await city.tracer.trace({ id, onset, isolated: isolatedAt, degree, now: city.now.getTime() });
    scored.push({ id, onset, isolatedAt, contacts: r.contacts.filter((c) => PUSHABLE.has(c.category)).length });
  }
  scored.sort((a, b) => Math.abs(a.contacts - target) - Math.abs(b.contacts - target));
  return scored.slice(0, caseCount);
}

interface Sample {
  ms: number;
  /** Of which in the tracer. */
  traceMs: number;
  /** Of which finding where people live (the presence store's people, else their last location). */
  locateMs: number;
  /** Of which reading every receiving unit's inbox. */
  inboxMs: number;
  /** Units that received commands. */
  units: number;
  pushed: string[];
}

/** One measured run: a fresh records store, then confirm the case and read every receiving unit's inbox. */
async function measure(city: OutbreakCity, url: string, c: BenchCase, cleanup: (u: string) => Promise<void>): Promise<Sample> {
  const records = await openRecordsStore(url);
  // The tracer is timed on its own, so the figure splits into the trace and the loop's own work.
  let traceMs = 0;
  const tracer: TraceService & RecentPlacesReader = {
    async trace(req) {
      const t = performance.now();
      try {
        return await city.tracer.trace(req);
      } finally {
        traceMs += performance.now() - t;
      }
    },
    // The trajectory-only read of people the evidence cannot place: part of locating them.
    recentPlaces: (people, before, limit) => city.tracer.recentPlaces(people, before, limit),
  };
  let locateMs = 0;
  // Counts the reads of people's presences from the store (bounded in time, but still a scan of DuckDB's
  // table within that time): what is left of the figure's tail.
  const store = city.presence;
  const counted = new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'presencesOf') {
        return (...args: Parameters<typeof store.presencesOf>) => {
          presenceScans++;
          return target.presencesOf(...args);
        };
      }
      const v: unknown = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const inner = presenceWhereabouts(counted);
  const whereabouts: Whereabouts = {
    async locate(people, opts) {
      const t = performance.now();
      try {
        return await inner.locate(people, opts);
      } finally {
        locateMs += performance.now() - t;
      }
    },
  };
  const loop = createLoop({ store: records, tracer, whereabouts, now: () => city.now, trace: { traceDegree: degree } });
  await loop.jurisdictions.importFile(CITY_COMMANDER, city.city.paths.jurisdictions);
  try {
    // A running server has the tree loaded; loading it is not part of confirming a case.
    await loop.jurisdictions.tree();
    const t0 = performance.now();
    const { trace } = await loop.cases.add(CITY_COMMANDER, { ids: [c.id], classification: 'confirmed', onset: c.onset, isolatedAt: c.isolatedAt });
    const leads = trace?.recorded.newLeads ?? [];
    const units = [...new Set(leads.map((l) => l.jurisdiction as string))];
    const tInbox = performance.now();
    const seen = new Set<string>();
    for (const unit of units) {
      const officer: Actor = { userId: 'bench', role: 'precinct_officer', jurisdiction: unit };
      const inbox = await loop.commands.inbox(officer, { states: ['pushed'], limit: 1000 });
      for (const k of inbox.commands) seen.add(k.leadId);
    }
    const ms = performance.now() - t0;
    const inboxMs = performance.now() - tInbox;
    const missing = leads.filter((l) => !seen.has(l.id));
    if (missing.length) throw new Error(`${missing.length} pushed leads not visible in their unit's inbox`);
    return { ms, traceMs, locateMs, inboxMs, units: units.length, pushed: leads.map((l) => `${l.personKey}@${l.jurisdiction}`).sort() };
  } finally {
    await records.close();
    await cleanup(url);
  }
}

console.log(`loop benchmark: ${people} people × ${days} days, seed ${values.seed}, ${caseCount} cases near ${target} pushable contacts, degree ${degree}`);
const t0 = performance.now();
const city = await prepareCity({ seed: Number(values.seed), people, days, cache: values.cache });
const stats = await city.presence.stats();
console.log(`city ready in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${stats.presences.toLocaleString('en')} presences`);
const picked = await pickCases(city);
console.log(`cases: pushable contacts per trace ${picked.map((p) => p.contacts).join(', ')}`);

const stores: { name: string; url: (i: number) => string; cleanup: (u: string) => Promise<void> }[] = [
  {
    name: 'sqlite',
    url: (i) => `sqlite:${path.join(city.dir, `records-${i}.sqlite`)}`,
    cleanup: async (u) => {
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(u.slice('sqlite:'.length) + suffix, { force: true });
    },
  },
];
const pgBase = process.env.CORDON_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
if (await reachable(pgBase)) {
  stores.push({
    name: 'postgres',
    url: (i) => {
      const u = new URL(pgBase);
      u.searchParams.set('schema', `bench_loop_${process.pid}_${i}`);
      return u.toString();
    },
    cleanup: async (u) => {
      const { openPostgresConnection } = await import('../src/stores/records/postgres/postgres-connection.ts');
      const conn: PostgresConnection = await openPostgresConnection(u, { max: 1 });
      await conn.dropSchema();
      await conn.close();
    },
  });
} else {
  console.log(`PostgreSQL at ${new URL(pgBase).host} not reachable: SQLite only`);
}

let run = 0;
/** Confirms whose locating read people's presences from the store. */
let presenceScans = 0;
// One unmeasured run per store first: the first confirm pays for cold caches and compiling the code.
for (const s of stores) await measure(city, s.url(run++), picked[0], s.cleanup);
presenceScans = 0;
const results = new Map<string, number[]>(stores.map((s) => [s.name, []]));
const traceTimes = new Map<string, number[]>(stores.map((s) => [s.name, []]));
const locateTimes = new Map<string, number[]>(stores.map((s) => [s.name, []]));
const inboxTimes = new Map<string, number[]>(stores.map((s) => [s.name, []]));
const unitCounts: number[] = [];
// Interleaved: each case runs on every store in turn, so machine noise hits both alike.
for (const [i, c] of picked.entries()) {
  const answers: string[][] = [];
  for (const s of stores) {
    const sample = await measure(city, s.url(run++), c, s.cleanup);
    results.get(s.name)?.push(sample.ms);
    traceTimes.get(s.name)?.push(sample.traceMs);
    locateTimes.get(s.name)?.push(sample.locateMs);
    inboxTimes.get(s.name)?.push(sample.inboxMs);
    if (s === stores[0]) unitCounts.push(sample.units);
    answers.push(sample.pushed);
  }
  for (const a of answers.slice(1)) {
    if (JSON.stringify(a) !== JSON.stringify(answers[0])) throw new Error(`case ${i}: the stores pushed different leads`);
  }
}
const medians: Record<string, number> = {};
for (const [name, xs] of results) {
  medians[name] = quantile(xs, 0.5);
  const tr = traceTimes.get(name) ?? [];
  console.log(`${name.padEnd(9)} confirm → pushed → visible: median ${quantile(xs, 0.5).toFixed(1)} ms, p99 ${quantile(xs, 0.99).toFixed(1)} ms, min ${Math.min(...xs).toFixed(1)} ms (n=${xs.length}); of which the trace ${quantile(tr, 0.5).toFixed(1)} ms, locating people ${quantile(locateTimes.get(name) ?? [], 0.5).toFixed(1)} ms, reading the inboxes ${quantile(inboxTimes.get(name) ?? [], 0.5).toFixed(1)} ms (medians)`);
}
console.log(`units receiving commands per case: ${unitCounts.join(', ')}`);
if (medians.postgres !== undefined) console.log(`ratio postgres / sqlite (median): ${(medians.postgres / medians.sqlite).toFixed(2)}×; same leads pushed by both`);
console.log(`reads of people's presences from the presence store (each bounded in time) in the measured confirms: ${presenceScans}; confirms ${picked.length * stores.length}`);

/**
 * The inbox read with many open commands: the service call behind the inbox API, for officers of
 * random precincts (and now and then a district), first page of 50 by deadline with the total.
 */
async function inboxBench(name: string, url: string, cleanup: (u: string) => Promise<void>, n: number, calls: number): Promise<number[]> {
  const records = await openRecordsStore(url);
  try {
    const loop = createLoop({ store: records, now: () => city.now });
    await loop.jurisdictions.importFile(CITY_COMMANDER, city.city.paths.jurisdictions);
    const tree = await loop.jurisdictions.tree();
    const precincts = tree.nodes().filter((j) => j.level === 'precinct').map((j) => j.code);
    const districts = tree.nodes().filter((j) => j.level === 'district').map((j) => j.code);
    const at = city.now.toISOString();
    await records.insertCase({
      id: 'C-bench', personKey: 'id_card:bench', ids: ['id_card:bench'], classification: 'confirmed', onset: null, sampled: at.slice(0, 10),
      isolatedAt: null, jurisdiction: null, sourceCaseId: null, sourceLeadId: null, loopClosed: false, traces: 0, createdAt: at, updatedAt: at,
    });
    const batch = 5000;
    for (let i = 0; i < n; i += batch) {
      const m = Math.min(batch, n - i);
      const ids = Array.from({ length: m }, (_, k) => i + k);
      await records.transaction(async (tx) => {
        await tx.insertLeads(ids.map((k) => ({
          id: `L-${k}`, caseId: 'C-bench', personKey: `id_card:P${k}`, ids: [`id_card:P${k}`], degree: 1 as const, category: 'close' as const,
          viaPersonKey: null, risk: 50, evidence: null, status: 'open' as const, outcome: null, commandId: `K-${k}`,
          jurisdiction: precincts[k % precincts.length], reissueOf: null, createdAt: at, closedAt: null,
        })));
        await tx.insertCommands(ids.map((k) => ({
          id: `K-${k}`, leadId: `L-${k}`, caseId: 'C-bench', personKey: `id_card:P${k}`, type: 'verify_on_site' as const, priority: 'urgent' as const,
          jurisdiction: precincts[k % precincts.length], state: (['pushed', 'accepted', 'in_progress'] as const)[k % 3],
          deadline: new Date(city.now.getTime() + (k % 720) * 60_000).toISOString(), overdue: k % 10 === 0, escalationLevel: k % 10 === 0 ? 1 : 0,
          escalatedTo: k % 10 === 0 ? tree.parentOf(precincts[k % precincts.length]) : null, createdAt: at, updatedAt: at, version: 1,
        })));
      });
    }
    // A live server's tables have statistics and (PostgreSQL) a visibility map, from autovacuum or
    // SQLite's ANALYZE; a bulk load this fast has neither yet, so give it what the server would have.
    await records.connection.exec(records.connection.capabilities.dialect === 'postgres' ? 'VACUUM ANALYZE commands' : 'ANALYZE');
    const times: number[] = [];
    for (let i = 0; i < calls; i++) {
      const unit = i % 20 === 0 ? districts[i % districts.length] : precincts[(i * 7) % precincts.length];
      const t = performance.now();
      const r = await loop.commands.inbox({ userId: 'bench', role: 'precinct_officer', jurisdiction: unit }, { states: ['pushed', 'accepted', 'in_progress'], limit: 50 });
      times.push(performance.now() - t);
      if (!r.commands.length) throw new Error(`${name}: empty inbox for ${unit}`);
    }
    return times;
  } finally {
    await records.close();
    await cleanup(url);
  }
}

const inboxCommands = Number(values['inbox-commands']);
const inboxCalls = Number(values['inbox-calls']);
if (inboxCommands > 0) {
  for (const s of stores) {
    const times = await inboxBench(s.name, s.url(run++), s.cleanup, inboxCommands, inboxCalls);
    const total = times.reduce((a, b) => a + b, 0);
    console.log(`${s.name.padEnd(9)} inbox with ${inboxCommands.toLocaleString('en')} open commands: median ${quantile(times, 0.5).toFixed(2)} ms, ` +
      `p99 ${quantile(times, 0.99).toFixed(2)} ms, ${(times.length / (total / 1000)).toFixed(0)} calls/s one at a time (service call, no HTTP)`);
  }
}
await city.close();
