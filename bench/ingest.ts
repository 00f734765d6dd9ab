/**
 * @module Ingest benchmark: presences per second from the synthetic city's CSV files to the durable
 * DuckDB store (validated, deduplicated, dictionary-encoded, checkpointed, each committed batch handed
 * to listeners as the in-memory index would get it), side by side with a plain
 * DuckDB load of the same files (typed read_csv into a table, no checks) as the floor to compare with.
 *
 *   node bin/run-ts.js bench/ingest.ts --people 50000 --days 14 [--seed 1] [--threads N] [--again] [--engine auto|sql|both]
 *     [--batch-rows N] [--worker auto|on|off] [--commit-rows N]
 *
 * `--engine`: `auto` (default) lets the service pick (the fast CSV engine for presence CSVs), `sql`
 * forces the SQL engine, `both` runs the SQL engine and then the fast one on fresh stores and checks
 * they agree on every count. `--worker on` has the fast engine parse files of 4 MiB and more in a
 * worker thread while the main thread commits, `off` parses them in the main thread; `auto` (default)
 * keeps the engine's own choice (the worker where the machine has two cores or more, free enough).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateCity } from '../src/sim/generate.ts';
import { fastIngestSettings } from '../src/ingest/fast-presences.ts';
import { IngestService, type IngestPhases } from '../src/services/ingest.service.ts';
import { DuckDbPresenceStore, openDuckDbScratch } from '../src/stores/presence/duckdb/duckdb-presence-store.ts';
import { PresenceIndex } from '../src/trace/index/presence-index.ts';

/** Figures of one benchmark run. */
export interface IngestBenchResult {
  /** The engine the service was told to use. */
  engine: 'auto' | 'sql';
  people: number;
  days: number;
  presenceFiles: number;
  /** Presence records read (malformed and duplicate rows included). */
  presencesRead: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  /** Whether a live in-memory index took every committed batch, as the server's does (`index` option). */
  indexed: boolean;
  /** With `indexed`: merges of the index's tail into its sorted arrays, rows left in the tail, and its bytes per presence. */
  indexStats?: { merges: number; tailRows: number; bytesPerPresence: number };
  /** Wall time of the presence files, CSV to durable (and, with `indexed`, until the index has merged what it took). */
  seconds: number;
  /** presencesRead / seconds. */
  rate: number;
  /** CPU seconds (all threads of this process) spent on the presence files: less sensitive to a busy machine than wall time. */
  cpuSeconds: number;
  /** Pages of memory the process touched for the first time during the presence files (each costs the system a fault). */
  pageFaults: number;
  /** The same files loaded by DuckDB's read_csv into a typed table in a file, no validation. */
  floorSeconds: number;
  floorRate: number;
  floorCpuSeconds: number;
  /** Bytes of the store file per stored presence (after checkpoint). */
  bytesPerPresence: number;
  peakRssMb: number;
  /** Wall seconds per ingest phase, summed over the presence files. */
  phases: IngestPhases;
  /** With `again`: the same files ingested a second time (everything a duplicate). */
  again?: { seconds: number; cpuSeconds: number; duplicates: number; accepted: number };
}

/** Generates (or reuses) the city, then ingests its presences into a fresh store file and measures. */
export async function runIngestBench(opts: {
  people: number;
  days: number;
  seed: number;
  threads?: number;
  cacheDir?: string;
  again?: boolean;
  engine?: 'auto' | 'sql';
  /** Presences per atomic batch (the service's default when absent). */
  batchRows?: number;
  /** A live in-memory index takes every committed batch, as in the server; timing ends when its merges have settled. */
  index?: boolean;
}): Promise<IngestBenchResult> {
  const engine = opts.engine ?? 'auto';
  const cache = opts.cacheDir ?? path.join(os.tmpdir(), 'cordon-bench-city');
  const cityDir = path.join(cache, `city-${opts.seed}-${opts.people}-${opts.days}`);
  if (!fs.existsSync(path.join(cityDir, 'truth.json'))) {
    process.stderr.write(`generating the city (${opts.people} people, ${opts.days} days) into ${cityDir}…\n`);
    await generateCity({ seed: opts.seed, people: opts.people, days: opts.days, out: cityDir });
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-bench-ingest-'));
  try {
    const storeFile = path.join(work, 'presence.duckdb');
    const store = await DuckDbPresenceStore.open(storeFile, { threads: opts.threads });
    const service = new IngestService(store, { timeZone: 'Asia/Shanghai', rejectsDir: path.join(work, 'rejects'), engine, batchRows: opts.batchRows });
    const plan = service.planFolder(cityDir).filter((e) => e.kind);
    for (const e of plan.filter((x) => x.kind !== 'presences')) await service.ingestFile(e.file);
    const presenceFiles = plan.filter((e) => e.kind === 'presences').map((e) => e.file);
    // As in the server: every committed batch comes back as an integer chunk for the in-memory index.
    let chunked = 0;
    const index = opts.index ? new PresenceIndex() : undefined;
    service.onPresencesCommitted((chunk) => {
      chunked += chunk.length;
      index?.append(chunk);
    });
    let read = 0;
    let accepted = 0;
    let rejected = 0;
    let duplicates = 0;
    const phases: IngestPhases = { read: 0, validate: 0, store: 0, listeners: 0, checkpoint: 0, rejects: 0 };
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const pf0 = process.resourceUsage().minorPageFault;
    for (const file of presenceFiles) {
      const s = await service.ingestFile(file);
      read += s.rowsRead;
      accepted += s.accepted;
      rejected += s.rejected;
      duplicates += s.duplicates;
      for (const k of Object.keys(phases) as (keyof IngestPhases)[]) phases[k] += s.phases[k];
    }
    if (index) {
      await index.settled();
      if (index.size !== accepted) throw new Error(`the index holds ${index.size} presences, the ingest stored ${accepted}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const pageFaults = process.resourceUsage().minorPageFault - pf0;
    if (chunked !== accepted) throw new Error(`listeners saw ${chunked} presences, the ingest stored ${accepted}`);
    let again: IngestBenchResult['again'];
    if (opts.again) {
      const a0 = performance.now();
      const ac0 = process.cpuUsage();
      again = { seconds: 0, cpuSeconds: 0, duplicates: 0, accepted: 0 };
      for (const file of presenceFiles) {
        const s = await service.ingestFile(file);
        again.duplicates += s.duplicates;
        again.accepted += s.accepted;
      }
      again.seconds = (performance.now() - a0) / 1000;
      const acpu = process.cpuUsage(ac0);
      again.cpuSeconds = (acpu.user + acpu.system) / 1e6;
      if (again.accepted !== 0 || again.duplicates !== accepted + duplicates) {
        throw new Error(`ingesting the files again stored ${again.accepted} and skipped ${again.duplicates}, expected 0 and ${accepted + duplicates}`);
      }
    }
    await store.close();
    const bytes = fs.statSync(storeFile).size;

    // The floor: DuckDB reading the same CSV files into a typed table in a file, nothing checked.
    const floorFile = path.join(work, 'floor.duckdb');
    const scratch = await openDuckDbScratch();
    const list = presenceFiles.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ');
    const f0 = performance.now();
    const fc0 = process.cpuUsage();
    await scratch.sql.run(`ATTACH '${floorFile}' AS floor;
${opts.threads ? `SET threads = ${opts.threads};` : ''}
CREATE TABLE floor.p AS SELECT * FROM read_csv([${list}], header = true, ignore_errors = true,
  columns = {'id_kind': 'VARCHAR', 'id_value': 'VARCHAR', 'place_kind': 'VARCHAR', 'place_id': 'VARCHAR', 'start': 'TIMESTAMPTZ',
             'end': 'TIMESTAMPTZ', 'sub': 'VARCHAR', 'lat': 'DOUBLE', 'lon': 'DOUBLE', 'source': 'VARCHAR'});
CHECKPOINT floor;`);
    const floorSeconds = (performance.now() - f0) / 1000;
    const fcpu = process.cpuUsage(fc0);
    const floorCpuSeconds = (fcpu.user + fcpu.system) / 1e6;
    scratch.close();
    return {
      engine,
      indexed: index !== undefined,
      ...(index ? { indexStats: { merges: index.merges, tailRows: index.tailSize, bytesPerPresence: index.bytesPerPresence() } } : {}),
      people: opts.people,
      days: opts.days,
      presenceFiles: presenceFiles.length,
      presencesRead: read,
      accepted,
      rejected,
      duplicates,
      seconds,
      rate: read / seconds,
      cpuSeconds,
      pageFaults,
      floorSeconds,
      floorRate: read / floorSeconds,
      floorCpuSeconds,
      bytesPerPresence: accepted > 0 ? bytes / accepted : 0,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      phases,
      ...(again ? { again } : {}),
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const { values } = parseArgs({
    options: {
      people: { type: 'string', default: '50000' },
      days: { type: 'string', default: '14' },
      seed: { type: 'string', default: '1' },
      threads: { type: 'string' },
      json: { type: 'boolean', default: false },
      again: { type: 'boolean', default: false },
      engine: { type: 'string', default: 'auto' },
      'batch-rows': { type: 'string' },
      worker: { type: 'string', default: 'auto' },
      'commit-rows': { type: 'string' },
      /** A live in-memory index takes every committed batch (durable and indexed). */
      index: { type: 'boolean', default: false },
    },
  });
  // `--worker on` parses presence files of 4 MiB and more in a worker thread whatever the machine's load,
  // `off` parses every file in the main thread, `auto` keeps the engine's choice (a worker where the
  // machine has two cores or more and other processes leave them free enough).
  if (values.worker === 'on') Object.assign(fastIngestSettings, { workerMinBytes: 4 << 20, workerFreeCores: 0 });
  else if (values.worker === 'off') fastIngestSettings.workerMinBytes = Number.POSITIVE_INFINITY;
  else if (values.worker !== 'auto') throw new Error(`--worker must be auto, on or off, not ${values.worker}`);
  // `--commit-rows N`: rows per committed batch of the fast engine (it stores one while parsing the next).
  if (values['commit-rows']) fastIngestSettings.commitRows = fastIngestSettings.workerCommitRows = Number(values['commit-rows']);
  const engineArg = values.engine;
  if (engineArg !== 'auto' && engineArg !== 'sql' && engineArg !== 'both') throw new Error(`--engine must be auto, sql or both, not ${engineArg}`);
  const engines: ('auto' | 'sql')[] = engineArg === 'both' ? ['sql', 'auto'] : [engineArg];
  const results: IngestBenchResult[] = [];
  for (const engine of engines) {
    results.push(await runIngestBench({
      people: Number(values.people),
      days: Number(values.days),
      seed: Number(values.seed),
      threads: values.threads ? Number(values.threads) : undefined,
      again: values.again,
      engine,
      batchRows: values['batch-rows'] ? Number(values['batch-rows']) : undefined,
      index: values.index,
    }));
  }
  if (results.length === 2) {
    const [a, b] = results;
    for (const k of ['presencesRead', 'accepted', 'rejected', 'duplicates'] as const) {
      if (a[k] !== b[k]) throw new Error(`the engines disagree on ${k}: sql ${a[k]}, auto ${b[k]}`);
    }
  }
  for (const r of results) {
    if (values.json) {
      console.log(JSON.stringify(r, null, 2));
      continue;
    }
    const n = (x: number): string => Math.round(x).toLocaleString('en-US');
    console.log(`ingest: ${n(r.presencesRead)} presences in ${r.presenceFiles} CSV files (${r.people} people, ${r.days} days), ${os.cpus().length} cores`);
    const what = r.indexed ? 'durable and indexed: a live index took every batch' : 'durable, chunks to listeners';
    console.log(`  cordon ingest, engine ${r.engine} (validated, deduplicated, ${what}): ${r.seconds.toFixed(2)} s  ${n(r.rate)} presences/s`);
    console.log(`    accepted ${n(r.accepted)}  rejected ${n(r.rejected)}  duplicates ${n(r.duplicates)}  ${r.bytesPerPresence.toFixed(1)} bytes/presence on disk`);
    if (r.indexStats) {
      console.log(`    index: ${r.indexStats.merges} merges of its tail, ${n(r.indexStats.tailRows)} rows left in the tail, ${r.indexStats.bytesPerPresence.toFixed(1)} bytes/presence in memory`);
    }
    const ph = Object.entries(r.phases).map(([k, v]) => `${k} ${(v as number).toFixed(2)}`).join('  ');
    console.log(`    phases (wall s): ${ph}`);
    if (r.again) {
      console.log(`  the same files again (idempotent): ${r.again.seconds.toFixed(2)} s  ${n(r.presencesRead / r.again.seconds)} presences/s, CPU ${r.again.cpuSeconds.toFixed(1)} s, ${n(r.again.duplicates)} duplicates skipped, ${n(r.again.accepted)} stored`);
    }
    console.log(`  floor: DuckDB read_csv into a typed table, no checks: ${r.floorSeconds.toFixed(2)} s  ${n(r.floorRate)} presences/s`);
    console.log(`  ratio cordon / floor: wall ${(r.seconds / r.floorSeconds).toFixed(2)}×  CPU ${(r.cpuSeconds / r.floorCpuSeconds).toFixed(2)}×   peak RSS ${n(r.peakRssMb)} MB`);
    const cores = os.cpus().length;
    console.log(`  CPU: cordon ${r.cpuSeconds.toFixed(1)} s (${n(r.presencesRead / r.cpuSeconds)} presences per CPU-second; ${n((r.presencesRead / r.cpuSeconds) * cores)}/s if ${cores} idle cores were all ours), floor ${r.floorCpuSeconds.toFixed(1)} s; ${n(r.pageFaults)} page faults`);
  }
  if (results.length === 2 && !values.json) console.log('  the engines agree on presences read, accepted, rejected and duplicates');
}
