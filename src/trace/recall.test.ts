import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity, readTruth, type Truth } from '../sim/generate.ts';
import { IngestService } from '../services/ingest.service.ts';
import { PresenceTraceService } from '../services/trace.service.ts';
import { DuckDbPresenceStore, openDuckDbScratch } from '../stores/presence/duckdb/duckdb-presence-store.ts';
import type { TraceResult } from './types.ts';

// The real chain: the synthetic city's files → ingest into DuckDB → index → trace, scored against the truth.
describe('recall against the synthetic outbreak', () => {
  let dir: string;
  let store: DuckDbPresenceStore;
  let truth: Truth;
  let sut: PresenceTraceService;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-recall-'));
    const city = await generateCity({ seed: 3, people: 3000, days: 14, out: path.join(dir, 'city') });
    truth = readTruth(city.paths.truth);
    store = await DuckDbPresenceStore.open(':memory:');
    const ingest = new IngestService(store, { timeZone: truth.options.timeZone, rejectsDir: path.join(dir, 'rejects') }, openDuckDbScratch);
    for (const e of ingest.planFolder(path.join(dir, 'city'))) if (e.kind) await ingest.ingestFile(e.file);
    sut = await PresenceTraceService.start({ store, timeZone: truth.options.timeZone, mode: 'index' });
  });

  afterAll(async () => {
    await store?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists ≥ 99% of the people each case infected inside its window as close or secondary contacts', async () => {
    const end = Date.parse(`${truth.options.start}T00:00:00+08:00`) + truth.options.days * 86_400_000;
    let infected = 0;
    let found = 0;
    let contacts = 0;
    let traced = 0;
    const byCategory = { close: 0, secondary: 0, companion: 0, general: 0 };
    const missed: string[] = [];
    for (const c of truth.cases) {
      const anchor = c.asymptomatic ? c.sampled : c.onset ?? c.sampled;
      // Cases found after the simulated days have no window inside the data.
      if (!anchor || Date.parse(`${anchor}T00:00:00+08:00`) - 2 * 86_400_000 >= end) continue;
      const r: TraceResult = await sut.trace({
        id: c.id, onset: c.onset ?? undefined, sampled: c.sampled ?? undefined, asymptomatic: c.asymptomatic,
        isolated: c.isolated ?? undefined, rules: 'v8', degree: 2,
        // The trace runs when the case is found: "now" is the end of the isolation day.
        now: c.isolated ? Math.min(end, Date.parse(`${c.isolated}T00:00:00+08:00`) + 86_400_000) : end,
      });
      traced++;
      contacts += r.contacts.length;
      for (const k of r.contacts) byCategory[k.category]++;
      const from = Date.parse(r.window.from);
      const to = Date.parse(r.window.to);
      const listed = new Set(r.contacts.filter((k) => k.category === 'close' || k.category === 'secondary').flatMap((k) => k.ids));
      for (const inf of truth.infections) {
        if (inf.infector !== c.id) continue;
        const at = Date.parse(inf.at);
        if (at < from || at >= to) continue;
        infected++;
        if (listed.has(inf.infectee)) found++;
        else missed.push(`${inf.place_kind} ${inf.at}`);
      }
    }
    const recall = infected ? found / infected : 1;
    console.info(`recall ${found}/${infected} = ${(recall * 100).toFixed(1)}% over ${traced} cases; ${(contacts / traced).toFixed(1)} contacts per case (${Object.entries(byCategory).map(([k, v]) => `${k} ${(v / traced).toFixed(1)}`).join(', ')}); missed: ${missed.join('; ') || 'none'}`);
    expect(traced).toBeGreaterThan(10);
    expect(infected).toBeGreaterThanOrEqual(20);
    expect(recall).toBeGreaterThanOrEqual(0.99);
  });
});
