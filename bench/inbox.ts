/**
 * @module Benchmark: the inbox API under load. Seeds N open commands spread over the precincts of a
 * city (SQLite and PostgreSQL records stores, same data), logs in one officer per precinct, and runs a
 * bounded keep-alive load on 127.0.0.1 from a worker thread against `GET /api/commands`. Prints
 * requests per second and latency percentiles per store, checks both stores answer the same.
 *
 *   node bin/run-ts.js bench/inbox.ts [--commands 100000] [--seconds 10] [--connections 16] [--limit 50] [--store both|sqlite|postgres] [--client auto|wrk|node] [--writes 5] [--no-vacuum]
 *
 * The load comes from `wrk` (Debian's package, one thread) when installed, as it costs the shared
 * cores least; otherwise from a Node worker thread with keep-alive connections. For each store it also
 * prints what the server's process went through meanwhile (event-loop delay, GC pauses, how long the
 * writes took, queries waiting for a pooled connection), which tells where a latency tail comes from.
 * PostgreSQL is vacuumed and analyzed after the bulk seed, as autovacuum would be shortly after such a
 * load in a running deployment; `--no-vacuum` measures it straight after the load instead.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { constants, monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import type { JurisdictionNode } from '../src/domain/jurisdiction.ts';
import { AuditService } from '../src/services/audit.service.ts';
import { AuthService } from '../src/services/auth.service.ts';
import { createLoop } from '../src/services/loop.service.ts';
import { SYSTEM, UserService } from '../src/services/user.service.ts';
import { PersonRefCodec } from '../src/server/person-ref.ts';
import { loopRoutes } from '../src/server/routes/loop.routes.ts';
import { buildServer } from '../src/server/server.ts';
import { openRecordsStore } from '../src/stores/records/open-records-store.ts';
import type { CaseRecord, CommandRecord, LeadRecord, RecordsStore } from '../src/stores/records/records-store.ts';
import { SqlSecurityStore } from '../src/stores/records/sql-security-store.ts';
import type { PostgresConnection } from '../src/stores/records/postgres/postgres-connection.ts';
import { testPostgresUrl } from '../test/support/services.ts';

const { values: args } = parseArgs({
  options: {
    commands: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    limit: { type: 'string', default: '50' },
    store: { type: 'string', default: 'both' },
    client: { type: 'string', default: 'auto' },
    writes: { type: 'string', default: '5' },
    districts: { type: 'string', default: '10' },
    precincts: { type: 'string', default: '5' },
    /** PostgreSQL: vacuum and analyze after seeding, as autovacuum soon would (--no-vacuum: measure right after the load). */
    vacuum: { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const N = Number(args.commands);
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const LIMIT = Number(args.limit);
const DISTRICTS = Number(args.districts);
const PRECINCTS = Number(args.precincts);
/** Commands accepted per second during the load: each change drops the cached inbox answers. */
const WRITES = Number(args.writes);
const PASSWORD = 'inbox benchmark passphrase';

/** City → districts → precincts → two communities each. */
function tree(): JurisdictionNode[] {
  const out: JurisdictionNode[] = [{ code: 'C', name: '市局', nameEn: 'City', level: 'city', parent: null, geometry: null }];
  for (let d = 0; d < DISTRICTS; d++) {
    const dc = `C-${d}`;
    out.push({ code: dc, name: `分局${d}`, nameEn: null, level: 'district', parent: 'C', geometry: null });
    for (let p = 0; p < PRECINCTS; p++) {
      const pc = `${dc}-${p}`;
      out.push({ code: pc, name: `派出所${d}-${p}`, nameEn: null, level: 'precinct', parent: dc, geometry: null });
      for (let c = 0; c < 2; c++) out.push({ code: `${pc}-${c}`, name: `社区${d}-${p}-${c}`, nameEn: null, level: 'community', parent: pc, geometry: null });
    }
  }
  return out;
}

const precincts = tree().filter((n) => n.level === 'precinct').map((n) => n.code);

/** Deterministic seeding: the same commands in every store. */
async function seed(store: RecordsStore): Promise<void> {
  await store.upsertJurisdictions(tree());
  const at = '2026-03-01T00:00:00.000Z';
  const CASES = Math.max(1, Math.ceil(N / 1000));
  const BATCH = 5000;
  for (let from = 0; from < N; from += BATCH) {
    const cases: CaseRecord[] = [];
    const leads: LeadRecord[] = [];
    const commands: CommandRecord[] = [];
    for (let i = from; i < Math.min(N, from + BATCH); i++) {
      const caseId = `BC${i % CASES}`;
      if (i < CASES) {
        cases.push({
          id: caseId, personKey: `person:case-${i}`, ids: [`person:case-${i}`], classification: 'confirmed', onset: '2026-02-28', sampled: null,
          isolatedAt: null, jurisdiction: precincts[i % precincts.length], sourceCaseId: null, sourceLeadId: null, loopClosed: false, traces: 1,
          createdAt: at, updatedAt: at,
        });
      }
      const unit = precincts[i % precincts.length];
      const personKey = `person:p${i}`;
      leads.push({
        id: `BL${i}`, caseId, personKey, ids: [personKey], degree: 1, category: 'close', viaPersonKey: null, risk: 50, evidence: null,
        status: 'open', outcome: null, commandId: `BK${i}`, jurisdiction: unit, reissueOf: null, createdAt: at, closedAt: null,
      });
      const deadline = new Date(Date.parse(at) + ((i * 7919) % 172800) * 1000).toISOString();
      commands.push({
        id: `BK${i}`, leadId: `BL${i}`, caseId, personKey, type: 'verify_on_site', priority: 'high', jurisdiction: unit,
        state: (['pushed', 'accepted', 'in_progress'] as const)[i % 3], deadline, overdue: false, escalationLevel: 0, escalatedTo: null,
        createdAt: at, updatedAt: at, version: 1,
      });
    }
    // Multi-row inserts: the same rows as one insert each, in a fraction of the time.
    await store.transaction(async (tx) => {
      for (const c of cases) await tx.insertCase(c);
      await tx.insertLeads(leads);
      await tx.insertCommands(commands);
    });
    process.stderr.write(`\r  seeded ${Math.min(N, from + BATCH).toLocaleString('en')} / ${N.toLocaleString('en')} commands`);
  }
  process.stderr.write('\n');
}

/** The load generator: keep-alive HTTP from a worker thread, so it has its own event loop and core. */
const LOAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, cookies, seconds, connections, warmupSeconds } = workerData;
const u = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const lat = [];
let errors = 0, bytes = 0, n = 0, measuring = false;
const stopAt = Date.now() + (warmupSeconds + seconds) * 1000;
setTimeout(() => { measuring = true; t0 = process.hrtime.bigint(); }, warmupSeconds * 1000);
let t0 = 0n;
function one(i) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, agent, headers: { cookie: cookies[i % cookies.length] } }, (res) => {
      let size = 0;
      res.on('data', (c) => { size += c.length; });
      res.on('end', () => {
        if (measuring) {
          lat.push(Number(process.hrtime.bigint() - started) / 1e6);
          bytes += size;
          if (res.statusCode !== 200) errors++;
        }
        resolve();
      });
    });
    req.on('error', () => { if (measuring) errors++; resolve(); });
    req.end();
  });
}
async function loop(k) {
  let i = k;
  while (Date.now() < stopAt) { await one(i); i += connections; n++; }
}
Promise.all(Array.from({ length: connections }, (_, k) => loop(k))).then(() => {
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  parentPort.postMessage({ lat, errors, bytes, elapsed });
});
`;

interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  kbPerResponse: number;
}

function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // wrk prints its version and exits 1; only a missing binary is ENOENT.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** One wrk run; its Lua script rotates the officers' cookies and prints the figures as JSON. */
async function wrkRun(url: string, cookies: string[], seconds: number, dir: string): Promise<LoadResult> {
  const script = path.join(dir, 'inbox.lua');
  fs.writeFileSync(script, `
local cookies = { ${cookies.map((c) => JSON.stringify(c)).join(', ')} }
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", nil, { ["Cookie"] = cookies[(n % #cookies) + 1] })
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('JSON {"requests":%d,"duration":%d,"errors":%d,"non2xx":%d,"p50":%f,"p90":%f,"p99":%f,"max":%f,"bytes":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, summary.bytes))
end
`);
  // Asynchronously: the server answers on this thread's event loop while wrk runs.
  const { stdout: out } = await promisify(execFile)('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', script, url], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.startsWith('JSON '));
  if (!line) throw new Error(`wrk gave no figures:\n${out}`);
  const m = JSON.parse(line.slice(5)) as { requests: number; duration: number; errors: number; non2xx: number; p50: number; p90: number; p99: number; max: number; bytes: number };
  return {
    requests: m.requests, rps: m.requests / (m.duration / 1e6), p50: m.p50 / 1000, p90: m.p90 / 1000, p99: m.p99 / 1000, max: m.max / 1000,
    errors: m.errors + m.non2xx, kbPerResponse: m.requests ? m.bytes / m.requests / 1024 : 0,
  };
}

async function runLoad(url: string, cookies: string[]): Promise<LoadResult> {
  const useWrk = args.client === 'wrk' || (args.client === 'auto' && hasWrk());
  if (useWrk) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-wrk-'));
    try {
      await wrkRun(url, cookies, 2, dir); // warm-up
      return await wrkRun(url, cookies, SECONDS, dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return runNodeLoad(url, cookies);
}

function runNodeLoad(url: string, cookies: string[]): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(LOAD_WORKER, { eval: true, workerData: { url, cookies, seconds: SECONDS, connections: CONNECTIONS, warmupSeconds: 2 } });
    w.once('error', reject);
    w.once('message', (m: { lat: number[]; errors: number; bytes: number; elapsed: number }) => {
      const lat = Float64Array.from(m.lat).sort();
      const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
      resolve({
        requests: lat.length, rps: lat.length / m.elapsed, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: lat[lat.length - 1] ?? NaN,
        errors: m.errors, kbPerResponse: lat.length ? m.bytes / lat.length / 1024 : 0,
      });
    });
  });
}

/**
 * What the server's process did while it was loaded: event-loop delay (how long a ready request waited
 * for the thread), garbage-collection pauses, the time each write took, and (PostgreSQL) how many
 * queries waited for a pooled connection.
 */
function serverDiagnostics(conn: RecordsStore['connection']): { write(ms: number): void; stop(): string } {
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const gc: number[] = [];
  let major = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.push(e.duration);
      if (((e as unknown as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const pool = 'pool' in conn ? (conn as PostgresConnection).pool : null;
  let samples = 0;
  let waitingSum = 0;
  let waitingMax = 0;
  const sampler = pool
    ? setInterval(() => {
        samples++;
        waitingSum += pool.waitingCount;
        waitingMax = Math.max(waitingMax, pool.waitingCount);
      }, 10)
    : null;
  const writes: number[] = [];
  return {
    write: (ms) => writes.push(ms),
    stop: () => {
      loopDelay.disable();
      observer.disconnect();
      if (sampler) clearInterval(sampler);
      const ms = (ns: number): string => (ns / 1e6).toFixed(1);
      const w = Float64Array.from(writes).sort();
      const wq = (p: number): string => (w.length ? w[Math.min(w.length - 1, Math.floor(p * w.length))].toFixed(1) : '-');
      const parts = [
        `event-loop delay p50 ${ms(loopDelay.percentile(50))} / p99 ${ms(loopDelay.percentile(99))} / max ${ms(loopDelay.max)} ms`,
        `GC ${gc.length} pauses (${major} major), ${gc.reduce((a, b) => a + b, 0).toFixed(0)} ms in all, max ${Math.max(0, ...gc).toFixed(1)} ms`,
        `writes p50 ${wq(0.5)} / p99 ${wq(0.99)} / max ${w.length ? w[w.length - 1].toFixed(1) : '-'} ms`,
      ];
      if (pool) parts.push(`queries waiting for a pooled connection: mean ${(waitingSum / Math.max(1, samples)).toFixed(2)}, max ${waitingMax}`);
      return parts.join('; ');
    },
  };
}

async function benchStore(name: string, url: string): Promise<{ result: LoadResult; totals: number[] }> {
  process.stderr.write(`== ${name}\n`);
  const records = await openRecordsStore(url);
  await records.init();
  await seed(records);
  if (records.connection.capabilities.dialect === 'postgres' && args.vacuum) {
    // What autovacuum does within a minute of a bulk load (the commands table is vacuumed after 1%
    // changed): statistics for the planner and the visibility map for index-only scans.
    const t = performance.now();
    await records.connection.exec('VACUUM (ANALYZE) commands, leads, cases, jurisdictions');
    process.stderr.write(`  VACUUM (ANALYZE) after the bulk load: ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  }
  const security = new SqlSecurityStore(records.connection);
  await security.init();
  const audit = new AuditService(security);
  const auth = new AuthService(security, audit);
  const loop = createLoop({ store: records });
  const scope = async () => loop.jurisdictions.tree();
  const users = new UserService(security, auth, audit, scope);
  const { app } = await buildServer({
    auth, users, audit, scope, log: false, webDist: null,
    routes: [loopRoutes({
      loop, tracer: () => null, refs: new PersonRefCodec('bench'),
      // As `cordon serve` wires it: SQLite tells of commits by other processes.
      ...(records.connection.capabilities.dialect === 'sqlite'
        ? { externalChanges: async () => Number((await records.connection.query('PRAGMA data_version'))[0]?.data_version ?? 0) }
        : {}),
    })],
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const cookies: string[] = [];
  for (const unit of precincts) {
    const username = `officer-${unit.toLowerCase()}`;
    await users.create(SYSTEM, { username, role: 'precinct_officer', jurisdiction: unit, password: PASSWORD, mustChangePassword: false });
    const res = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: PASSWORD }) });
    cookies.push((res.headers.get('set-cookie') ?? '').split(';')[0]);
  }
  // The answer each precinct sees, to compare across stores.
  const totals: number[] = [];
  for (const c of cookies.slice(0, 5)) totals.push(((await (await fetch(`${base}/api/commands?limit=${LIMIT}`, { headers: { cookie: c } })).json()) as { total: number }).total);
  const open = await records.countCommands({});
  process.stderr.write(`  ${open.toLocaleString('en')} open commands, ${precincts.length} precincts; load ${SECONDS} s, ${CONNECTIONS} connections, page ${LIMIT}\n`);
  // Field units act while others read: accept pushed commands at a steady rate through the loop.
  let next = 0;
  let writes = 0;
  const system = { userId: 'system', role: 'system', jurisdiction: '*' };
  const writer = WRITES > 0
    ? setInterval(() => {
        const id = `BK${next}`;
        next += 3; // every third seeded command is pushed
        if (next >= N) return;
        const t = performance.now();
        loop.commands.accept(system, id).then(() => {
          writes++;
          diag.write(performance.now() - t);
        }, () => undefined);
      }, 1000 / WRITES)
    : null;
  const diag = serverDiagnostics(records.connection);
  const result = await runLoad(`${base}/api/commands?limit=${LIMIT}`, cookies);
  if (writer) clearInterval(writer);
  const server = diag.stop();
  process.stderr.write(`  ${writes} commands accepted during the load\n`);
  process.stderr.write(`  server during the load (warm-up included): ${server}\n`);
  await app.close();
  if ('dropSchema' in records.connection) await (records.connection as PostgresConnection).dropSchema();
  await records.close();
  return { result, totals };
}

const rows: [string, LoadResult][] = [];
const answers: number[][] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-inbox-'));
try {
  if (args.store === 'both' || args.store === 'sqlite') {
    const r = await benchStore('SQLite', `sqlite:${path.join(tmp, 'records.sqlite')}`);
    rows.push(['sqlite', r.result]);
    answers.push(r.totals);
  }
  if (args.store === 'both' || args.store === 'postgres') {
    const pg = await testPostgresUrl();
    if (!pg) process.stderr.write('== PostgreSQL: not reachable, skipped\n');
    else {
      const u = new URL(pg);
      u.searchParams.set('schema', `cordon_bench_inbox_${process.pid}`);
      const r = await benchStore('PostgreSQL', u.toString());
      rows.push(['postgres', r.result]);
      answers.push(r.totals);
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

if (answers.length === 2 && answers[0].join() !== answers[1].join()) {
  console.error(`stores disagree on inbox totals: sqlite ${answers[0].join(',')} vs postgres ${answers[1].join(',')}`);
  process.exitCode = 1;
}
console.log(`\nInbox API, GET /api/commands?limit=${LIMIT} as ${precincts.length} precinct officers, ${N.toLocaleString('en')} open commands, ${CONNECTIONS} keep-alive connections, ${SECONDS} s (after 2 s warm-up), ${WRITES} commands accepted per second meanwhile`);
console.log('store     requests   req/s    p50 ms  p90 ms  p99 ms  max ms  errors  KB/resp');
for (const [name, r] of rows) {
  console.log(
    `${name.padEnd(9)} ${String(r.requests).padStart(8)} ${r.rps.toFixed(0).padStart(7)} ${r.p50.toFixed(2).padStart(8)} ${r.p90.toFixed(2).padStart(7)} ${r.p99.toFixed(2).padStart(7)} ${r.max.toFixed(1).padStart(7)} ${String(r.errors).padStart(7)} ${r.kbPerResponse.toFixed(1).padStart(8)}`,
  );
}
if (rows.length === 2) console.log(`sqlite / postgres throughput: ${(rows[0][1].rps / rows[1][1].rps).toFixed(2)}×`);
console.log(`targets: ≥ 3000 req/s and p99 ≤ 25 ms; answers equal across stores: ${answers.length === 2 ? answers[0].join() === answers[1].join() : 'n/a'}`);
