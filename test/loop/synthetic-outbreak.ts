/**
 * @module The closed loop run on a synthetic outbreak, shared by the loop test and the loop benchmark:
 * generate a small city (with its ground truth), ingest it, build the trace index, import the
 * jurisdictions, then confirm the index cases and answer every command from the truth — infected
 * people test positive, everyone else tests negative — round after round until no lead is open.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Actor } from '../../src/domain/jurisdiction.ts';
import { generateCity, readTruth, type GenerateSummary, type Truth } from '../../src/sim/generate.ts';
import type { CaseServiceOptions } from '../../src/services/case.service.ts';
import { presenceWhereabouts } from '../../src/services/command.service.ts';
import { IngestService } from '../../src/services/ingest.service.ts';
import { createLoop, type Loop } from '../../src/services/loop.service.ts';
import { PresenceTraceService } from '../../src/services/trace.service.ts';
import { DuckDbPresenceStore, openDuckDbScratch } from '../../src/stores/presence/duckdb/duckdb-presence-store.ts';
import { openRecordsStore } from '../../src/stores/records/open-records-store.ts';
import type { RecordsStore } from '../../src/stores/records/records-store.ts';

/** The commander who confirms the index cases and the units that answer: the whole city. */
export const CITY_COMMANDER: Actor = { userId: 'sim-commander', role: 'commander', jurisdiction: '*' };

export interface OutbreakWorld {
  dir: string;
  city: GenerateSummary;
  truth: Truth;
  presence: DuckDbPresenceStore;
  tracer: PresenceTraceService;
  records: RecordsStore;
  loop: Loop;
  /** The simulated clock: the end of the generated period. */
  now: Date;
  close(): Promise<void>;
}

/** The data plane of a generated city: generated, ingested and indexed once, shared by any number of records stores. */
export interface OutbreakCity {
  dir: string;
  city: GenerateSummary;
  truth: Truth;
  presence: DuckDbPresenceStore;
  tracer: PresenceTraceService;
  /** The simulated clock: the end of the generated period. */
  now: Date;
  close(): Promise<void>;
}

/**
 * Generates a city into a folder, ingests it into DuckDB and builds the trace index. With `cache`, the
 * generated files and the ingested store are kept in that folder (one subfolder per seed, size and
 * days) and reused by later runs: only the index is built again.
 */
export async function prepareCity(opts: { seed: number; people: number; days: number; dir?: string; cache?: string }): Promise<OutbreakCity> {
  const cached = opts.cache ? path.join(opts.cache, `loop-city-${opts.seed}-${opts.people}-${opts.days}`) : undefined;
  const dir = cached ?? opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-outbreak-'));
  const keep = cached !== undefined || opts.dir !== undefined;
  const cityDir = path.join(dir, 'city');
  const ready = path.join(dir, 'ready.json');
  let presence: DuckDbPresenceStore | undefined;
  let city: GenerateSummary;
  let truth: Truth;
  let tracer: PresenceTraceService;
  try {
    if (cached && fs.existsSync(ready)) {
      city = JSON.parse(fs.readFileSync(ready, 'utf8')) as GenerateSummary;
      truth = readTruth(city.paths.truth);
      presence = await DuckDbPresenceStore.open(path.join(dir, 'presence.duckdb'));
    } else {
      if (cached) fs.rmSync(dir, { recursive: true, force: true });
      city = await generateCity({ seed: opts.seed, people: opts.people, days: opts.days, out: cityDir });
      truth = readTruth(city.paths.truth);
      presence = await DuckDbPresenceStore.open(path.join(dir, 'presence.duckdb'));
      const ingest = new IngestService(presence, { timeZone: truth.options.timeZone, rejectsDir: path.join(dir, 'rejects') }, openDuckDbScratch);
      for (const entry of ingest.planFolder(cityDir)) if (!entry.skipped) await ingest.ingestFile(entry.file);
      // Written last: a run cut short leaves no marker, and the next run starts over.
      if (cached) fs.writeFileSync(ready, JSON.stringify(city));
    }
    tracer = await PresenceTraceService.start({ store: presence, timeZone: truth.options.timeZone });
  } catch (err) {
    // A failed setup leaves nothing behind: the caller never gets a world to close.
    await presence?.close();
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const store = presence;
  const now = new Date(Date.parse(`${truth.options.start}T00:00:00+08:00`) + opts.days * 86_400_000);
  return {
    dir, city, truth, presence: store, tracer, now,
    async close() {
      await store.close();
      if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Opens a records store at `url`, wires the loop over the city's tracer, and imports the city's jurisdictions. */
export async function openLoopOn(city: OutbreakCity, url: string, trace: CaseServiceOptions = {}): Promise<{ records: RecordsStore; loop: Loop }> {
  const records = await openRecordsStore(url);
  const loop = createLoop({ store: records, tracer: city.tracer, whereabouts: presenceWhereabouts(city.presence), now: () => city.now, trace });
  await loop.jurisdictions.importFile(CITY_COMMANDER, city.city.paths.jurisdictions);
  return { records, loop };
}

/** Generates, ingests and indexes a city; opens the records store at `recordsUrl` (default SQLite in the folder). */
export async function prepareOutbreak(opts: { seed: number; people: number; days: number; recordsUrl?: string; dir?: string; trace?: CaseServiceOptions }): Promise<OutbreakWorld> {
  const c = await prepareCity(opts);
  const { records, loop } = await openLoopOn(c, opts.recordsUrl ?? `sqlite:${path.join(c.dir, 'records.sqlite')}`, opts.trace);
  return {
    dir: c.dir, city: c.city, truth: c.truth, presence: c.presence, tracer: c.tracer, records, loop, now: c.now,
    async close() {
      await records.close();
      await c.close();
    },
  };
}

/** The end of a local day, as an ISO time (the truth gives isolation as a day). */
function endOfDay(date: string): string {
  return new Date(Date.parse(`${date}T23:59:59+08:00`)).toISOString();
}

export interface LoopRun {
  rounds: number;
  indexCases: number;
  cases: number;
  leads: number;
  commands: number;
  feedback: number;
  positives: number;
  openLeadsAtEnd: number;
}

/**
 * Confirms the truth's index cases, then answers every open command from the truth, round by round,
 * until no command is open (at most `maxRounds`).
 */
export async function runLoopOnTruth(world: OutbreakWorld, maxRounds = 30): Promise<LoopRun> {
  const { loop, truth, records } = world;
  const infected = new Map(truth.cases.map((c) => [c.id, c]));
  for (const id of truth.index_cases) {
    const c = infected.get(id);
    if (!c) continue;
    await loop.cases.add(CITY_COMMANDER, {
      ids: [id], classification: c.asymptomatic ? 'asymptomatic' : 'confirmed', onset: c.onset, sampled: c.sampled,
      isolatedAt: c.isolated ? endOfDay(c.isolated) : null,
    });
  }
  let rounds = 0;
  let feedback = 0;
  let positives = 0;
  for (; rounds < maxRounds; rounds++) {
    const open = await records.listCommands({ states: ['pushed', 'accepted', 'in_progress'] });
    if (!open.length) break;
    for (const cmd of open) {
      const lead = await records.getLead(cmd.leadId);
      if (!lead) throw new Error(`command ${cmd.id} has no lead`);
      const truthCase = lead.ids.map((id) => infected.get(id)).find((c) => c !== undefined);
      if (truthCase) {
        // Found by the loop before the truth's onset or sampling day: the test today is what finds them.
        const today = new Date(world.now.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
        const onset = truthCase.onset && truthCase.onset <= today ? truthCase.onset : null;
        const sampled = onset ? null : truthCase.sampled && truthCase.sampled <= today ? truthCase.sampled : today;
        await loop.feedback.file(CITY_COMMANDER, cmd.id, {
          outcome: 'tested_positive', onset, sampled,
          isolatedAt: truthCase.isolated && truthCase.isolated <= today ? endOfDay(truthCase.isolated) : null,
        });
        positives++;
      } else {
        await loop.feedback.file(CITY_COMMANDER, cmd.id, { outcome: 'tested_negative' });
      }
      feedback++;
    }
  }
  const [cases, leads, commands] = await Promise.all([records.listCases({}), records.listLeads({}), records.countCommands({})]);
  return {
    rounds, indexCases: truth.index_cases.length, cases: cases.length, leads: leads.length, commands, feedback, positives,
    openLeadsAtEnd: leads.filter((l) => l.status === 'open').length,
  };
}
