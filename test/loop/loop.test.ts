import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareOutbreak, runLoopOnTruth, type LoopRun, type OutbreakWorld } from './synthetic-outbreak.ts';

// A small city: big enough for chains of infection across jurisdictions, small enough for a test.
const PEOPLE = 6000;
const DAYS = 14;

describe('the whole loop on the synthetic outbreak', () => {
  let world: OutbreakWorld;
  let run: LoopRun;

  beforeAll(async () => {
    // Degree 1 is enough to reach every infection (each is a close co-presence with its infector) and
    // keeps the rounds small: in the synthetic city a degree-2 trace lists thousands of secondary contacts.
    // The records store in memory: thousands of feedback commits, and durability is not what is tested here.
    world = await prepareOutbreak({ seed: 11, people: PEOPLE, days: DAYS, trace: { traceDegree: 1 }, recordsUrl: 'sqlite::memory:' });
    run = await runLoopOnTruth(world);
    console.log(`loop on ${PEOPLE} people × ${DAYS} days: ${JSON.stringify(run)}`);
  }, 300_000);
  afterAll(async () => {
    await world?.close();
  });

  it('runs until no lead is open', () => {
    expect(run.openLeadsAtEnd).toBe(0);
    expect(run.rounds).toBeLessThan(30);
    expect(run.leads).toBeGreaterThan(0);
  });

  it('makes a case of every truly infected person the chain reached', async () => {
    const { truth, records } = world;
    const cases = await records.listCases({});
    const caseIds = new Set(cases.flatMap((c) => c.ids));
    // Reachable: infected by someone who became a case (so their trace could find the exposure),
    // followed from the index cases along the truth's infections.
    const reached = new Set(truth.index_cases.filter((id) => caseIds.has(id)));
    let grew = true;
    while (grew) {
      grew = false;
      for (const inf of truth.infections) {
        if (reached.has(inf.infector) && !reached.has(inf.infectee)) {
          reached.add(inf.infectee);
          grew = true;
        }
      }
    }
    const missed = [...reached].filter((id) => !caseIds.has(id));
    console.log(`infected ${truth.cases.length}, reachable ${reached.size}, became cases ${reached.size - missed.length}, missed ${missed.length}`);
    expect(truth.infections.length).toBeGreaterThan(0);
    expect(missed).toEqual([]);
    // Every case but the index cases came from a lead, linked to the case it came through.
    const index = new Set(truth.index_cases);
    for (const c of cases) {
      if (c.ids.some((id) => index.has(id))) continue;
      expect(c.sourceCaseId).not.toBeNull();
      expect(c.sourceLeadId).not.toBeNull();
    }
  });

  it('closes every case\'s loop once all its leads have a final outcome', async () => {
    const open = await world.records.listCases({ loopClosed: false });
    const withOpenLeads = [];
    for (const c of open) if ((await world.records.listLeads({ caseId: c.id, status: 'open' })).length) withOpenLeads.push(c.id);
    expect(withOpenLeads).toEqual([]);
    await world.loop.status.closeLoops();
    expect(await world.records.listCases({ loopClosed: false })).toEqual([]);
  });

  it('keeps a full history for every command', async () => {
    const commands = await world.records.listCommands({ limit: 50 });
    for (const c of commands) {
      const events = await world.records.commandEvents(c.id);
      expect(events[0].kind).toBe('pushed');
      expect(events.at(-1)?.toState).toBe(c.state);
      expect(c.state).toBe('closed');
    }
  });
});
