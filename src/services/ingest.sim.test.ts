import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCity, readTruth, type MalformedLabel } from '../sim/generate.ts';
import { DuckDbPresenceStore } from '../stores/presence/duckdb/duckdb-presence-store.ts';
import { FileLinkDecisionLog, IdentityService } from './identity.service.ts';
import { IngestService } from './ingest.service.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-ingest-sim-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The field the ingest must name for each kind of malformed row the generator plants. */
const FIELD_OF: Record<MalformedLabel, RegExp> = {
  bad_date: /^(start|end)$/,
  empty_id: /^id_value$/,
  wrong_column_count: /^\(row\)$/,
  end_before_start: /^end$/,
  unknown_place_kind: /^place_kind$/,
  unknown_id_kind: /^id_kind$/,
};

describe('ingest of the synthetic city', () => {
  it('rejects exactly the rows the truth labels malformed, at their lines, and skips exactly the planted duplicates', async () => {
    const out = path.join(dir, 'city');
    const g = await generateCity({ seed: 11, people: 3000, days: 2, out });
    const truth = readTruth(g.paths.truth);
    const store = await DuckDbPresenceStore.open(':memory:', { threads: 1 });
    const sut = new IngestService(store, { timeZone: 'Asia/Shanghai', rejectsDir: path.join(dir, 'rejects') });
    const found = new Map<string, string>();
    let duplicates = 0;
    let presencesRead = 0;
    for (const entry of sut.planFolder(out)) {
      if (!entry.kind) continue;
      const s = await sut.ingestFile(entry.file);
      if (s.kind === 'presences') {
        duplicates += s.duplicates;
        presencesRead += s.rowsRead;
      }
      if (!s.rejectsPath) continue;
      for (const line of fs.readFileSync(s.rejectsPath, 'utf8').trim().split('\n').slice(1)) {
        const [n, field] = line.split(',');
        found.set(`${path.basename(entry.file)}:${n}`, field);
      }
    }
    const expected = new Map(truth.malformed_rows.map((m) => [`${m.file}:${m.line}`, m.label]));
    expect(expected.size).toBeGreaterThan(5);
    expect([...found.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, label] of expected) expect(found.get(key), `${key} (${label})`).toMatch(FIELD_OF[label]);
    expect(duplicates).toBe(g.duplicateRows);
    expect(presencesRead).toBe(g.presences);
    expect((await store.stats()).presences).toBe(g.presences - g.malformedRows - g.duplicateRows);

    // Every planted wrong link (a phone linked to a second ID card) is flagged, and nothing else is.
    const identity = new IdentityService(store, new FileLinkDecisionLog(path.join(dir, 'decisions.jsonl')));
    const flagged = (await identity.conflicts()).map((c) => [...c.wouldJoin].sort().join(' & ')).sort();
    const planted = truth.wrong_identity_links.map((w) => [`${w.a_kind}:${w.a_value}`, w.true_owner].sort().join(' & ')).sort();
    expect(planted.length).toBeGreaterThan(0);
    expect(flagged).toEqual(planted);
    await store.close();
  });
});
