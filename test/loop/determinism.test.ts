import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLoopOn, prepareCity, runLoopOnTruth, type OutbreakCity } from './synthetic-outbreak.ts';

/**
 * What the loop made, independent of record ids: each case (by person) with the case it came through,
 * and each lead (by person and case person) with its outcome.
 */
async function shape(city: OutbreakCity, url: string): Promise<{ run: unknown; cases: string[]; leads: string[] }> {
  const { records, loop } = await openLoopOn(city, url, { traceDegree: 1 });
  try {
    const run = await runLoopOnTruth({ ...city, records, loop, close: async () => undefined });
    const cases = await records.listCases({});
    const personOf = new Map(cases.map((c) => [c.id, c.personKey]));
    const leads = await records.listLeads({});
    return {
      run,
      cases: cases.map((c) => `${c.personKey}<${c.sourceCaseId ? personOf.get(c.sourceCaseId) : '-'}`).sort(),
      leads: leads.map((l) => `${l.personKey}@${personOf.get(l.caseId)}:${l.outcome}`).sort(),
    };
  } finally {
    await records.close();
  }
}

// The same city and truth answered twice, each time into a fresh records store: the loop must make the
// same cases and leads. (Commands are answered in inbox order — deadline, then id — so ids made in one
// millisecond must still sort in the order they were made.)
describe('the whole loop is deterministic', () => {
  let city: OutbreakCity;
  beforeAll(async () => {
    city = await prepareCity({ seed: 5, people: 2500, days: 14 });
  }, 300_000);
  afterAll(async () => {
    await city?.close();
  });

  it('makes the same cases and leads on every run', async () => {
    const first = await shape(city, 'sqlite::memory:');
    const second = await shape(city, 'sqlite::memory:');
    expect(first.leads.length).toBeGreaterThan(100);
    expect(second.run).toEqual(first.run);
    expect(second.cases).toEqual(first.cases);
    expect(second.leads).toEqual(first.leads);
  }, 300_000);
});
