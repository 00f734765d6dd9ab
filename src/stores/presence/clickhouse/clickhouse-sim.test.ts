import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClickHouseUrl } from '../../../../test/support/services.ts';
import { IngestService } from '../../../services/ingest.service.ts';
import { generateCity, readTruth, type Truth } from '../../../sim/generate.ts';
import { LinkedIdentityGroups } from '../../../trace/identity-groups.ts';
import { buildIndex } from '../../../trace/index/build-index.ts';
import { IndexCandidateSource } from '../../../trace/index/index-source.ts';
import { Tracer } from '../../../trace/tracer.ts';
import type { TraceResult } from '../../../trace/types.ts';
import { DuckDbPresenceStore, openDuckDbScratch } from '../duckdb/duckdb-presence-store.ts';
import { ClickHousePresenceStore } from './clickhouse-presence-store.ts';

const base = await testClickHouseUrl();

/** The answer without its timing, which differs from run to run. */
function comparable(r: TraceResult): unknown {
  return { ...r, summary: { ...r.summary, elapsedMs: 0 } };
}

describe.skipIf(!base)('the synthetic city on ClickHouse and on the embedded store', () => {
  if (!base) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-ch-sim-'));
  let duck: DuckDbPresenceStore;
  let ch: ClickHousePresenceStore;
  let truth: Truth;

  beforeAll(async () => {
    const out = path.join(dir, 'city');
    const g = await generateCity({ seed: 8, people: 1500, days: 5, out });
    truth = readTruth(g.paths.truth);
    duck = await DuckDbPresenceStore.open(':memory:', { threads: 1 });
    ch = await ClickHousePresenceStore.open(`${base.replace(/^http:/, 'clickhouse:')}/cordon_test_sim_${process.pid}`);
    await ch.drop();
    await ch.init();
    const config = { timeZone: 'Asia/Shanghai', rejectsDir: path.join(dir, 'rejects'), batchRows: 20_000 };
    const intoDuck = new IngestService(duck, config);
    const intoCh = new IngestService(ch, config, openDuckDbScratch);
    for (const entry of intoDuck.planFolder(out)) {
      if (!entry.kind) continue;
      const a = await intoDuck.ingestFile(entry.file);
      const b = await intoCh.ingestFile(entry.file);
      expect({ file: entry.file, accepted: b.accepted, rejected: b.rejected, duplicates: b.duplicates }).toEqual({
        file: entry.file, accepted: a.accepted, rejected: a.rejected, duplicates: a.duplicates,
      });
    }
  }, 300_000);

  afterAll(async () => {
    await duck?.close();
    if (ch) {
      await ch.drop();
      await ch.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stores the same city', async () => {
    const [a, b] = await Promise.all([duck.stats(), ch.stats()]);
    expect(b).toEqual(a);
    expect(a.presences).toBeGreaterThan(10_000);
    expect(a.identityLinks).toBeGreaterThan(100);
  });

  it('traces the outbreak cases the same way as the embedded store over its index', async () => {
    const { index } = await buildIndex(duck);
    const embedded = new Tracer({
      source: new IndexCandidateSource(index), dict: duck, timeZone: 'Asia/Shanghai',
      groups: await LinkedIdentityGroups.fromLinks(duck.identityLinks(), duck),
    });
    const pushed = new Tracer({
      source: ch.candidateSource(), dict: ch, timeZone: 'Asia/Shanghai',
      groups: await LinkedIdentityGroups.fromLinks(ch.identityLinks(), ch),
    });
    const cases = truth.cases.filter((c) => c.onset ?? c.sampled).slice(0, 6);
    expect(cases.length).toBeGreaterThan(0);
    let contacts = 0;
    for (const c of cases) {
      const req = {
        id: c.id, onset: c.onset ?? undefined, sampled: c.sampled ?? undefined, asymptomatic: c.asymptomatic,
        isolated: c.isolated ?? undefined, rules: 'v8', degree: 2 as const, now: Date.UTC(2020, 0, 26),
      };
      const a = await embedded.trace(req);
      const b = await pushed.trace(req);
      expect(comparable(b)).toEqual(comparable(a));
      contacts += a.contacts.length;
    }
    expect(contacts).toBeGreaterThan(0);
  }, 300_000);
});
