import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Presence } from '../domain/formats.ts';
import type { Actor } from '../domain/jurisdiction.ts';
import { DuckDbPresenceStore } from '../stores/presence/duckdb/duckdb-presence-store.ts';
import type { RecordsStore } from '../stores/records/records-store.ts';
import { openSqliteRecordsStore } from '../stores/records/sqlite/sqlite-records-store.ts';
import { presenceWhereabouts } from './command.service.ts';
import type { LoopEvent } from './events.ts';
import { LoopInputError, NotFoundError } from './jurisdiction.service.ts';
import { createLoop, readPushRulesFile, type Loop } from './loop.service.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PresenceTraceService } from './trace.service.ts';
import { box, feature, geoJson } from '../../test/support/jurisdictions.ts';

// CITY → D1 (west: P1 south, P2 north, community C1 in P1) and D2 (east: P3).
const GEOJSON = geoJson([
  feature('CITY', 'city', null, box(121, 29, 123, 30)),
  feature('D1', 'district', 'CITY', box(121, 29, 122, 30)),
  feature('D2', 'district', 'CITY', box(122, 29, 123, 30)),
  feature('P1', 'precinct', 'D1', box(121, 29, 122, 29.5)),
  feature('P2', 'precinct', 'D1', box(121, 29.5, 122, 30)),
  feature('P3', 'precinct', 'D2', box(122, 29, 123, 30)),
  feature('C1', 'community', 'P1', box(121, 29, 121.5, 29.5)),
]);

const at = (iso: string): number => Date.parse(iso) / 1000;
const p = (id: string, placeKind: Presence['placeKind'], placeId: string, start: string, end: string, extra: Partial<Presence> = {}): Presence => {
  const [idKind, idValue] = id.split(':') as [Presence['idKind'], string];
  return { idKind, idValue, placeKind, placeId, start: at(start), end: at(end), dateOnly: false, pointEvent: false, ...extra };
};

// The case A; B met A for 30 min (close); C for 5 min (general); D lives with B (secondary through B);
// E met A but is already isolated; F met A and is known only by where it was last seen (in D2).
const PRESENCES: Presence[] = [
  p('id_card:A', 'venue', 'V1', '2020-01-22T10:00:00+08:00', '2020-01-22T11:00:00+08:00'),
  p('id_card:B', 'venue', 'V1', '2020-01-22T10:10:00+08:00', '2020-01-22T10:40:00+08:00'),
  p('id_card:C', 'venue', 'V1', '2020-01-22T10:50:00+08:00', '2020-01-22T10:55:00+08:00'),
  p('id_card:E', 'venue', 'V1', '2020-01-22T10:00:00+08:00', '2020-01-22T10:45:00+08:00'),
  p('id_card:F', 'venue', 'V1', '2020-01-22T10:20:00+08:00', '2020-01-22T10:50:00+08:00'),
  p('id_card:F', 'venue', 'V9', '2020-01-23T09:00:00+08:00', '2020-01-23T10:00:00+08:00', { lat: 29.5, lon: 122.5 }),
  p('id_card:B', 'household', 'H1', '2020-01-22T19:00:00+08:00', '2020-01-23T07:00:00+08:00'),
  p('id_card:D', 'household', 'H1', '2020-01-22T19:00:00+08:00', '2020-01-23T07:00:00+08:00'),
];

const CITY: Actor = { userId: 'u-cmd', role: 'commander', jurisdiction: 'CITY' };
const P1: Actor = { userId: 'u-p1', role: 'precinct_officer', jurisdiction: 'P1' };
const P2: Actor = { userId: 'u-p2', role: 'precinct_officer', jurisdiction: 'P2' };
const D1: Actor = { userId: 'u-d1', role: 'commander', jurisdiction: 'D1' };

describe('the loop services on a small world (real tracer, DuckDB, SQLite)', () => {
  let presence: DuckDbPresenceStore;
  let records: RecordsStore;
  let sut: Loop;
  let clock = new Date('2020-01-26T00:00:00Z');
  const events: LoopEvent[] = [];

  beforeAll(async () => {
    presence = await DuckDbPresenceStore.open(':memory:');
    await presence.insertPresences(PRESENCES);
    await presence.upsertPeople([
      { idKind: 'id_card', idValue: 'A', jurisdiction: 'P1' },
      { idKind: 'id_card', idValue: 'B', jurisdiction: 'P1' },
      { idKind: 'id_card', idValue: 'D', lat: 29.7, lon: 121.5 },
      { idKind: 'id_card', idValue: 'E', jurisdiction: 'P2' },
    ]);
    const tracer = await PresenceTraceService.start({ store: presence, timeZone: 'Asia/Shanghai' });
    records = await openSqliteRecordsStore(':memory:');
    sut = createLoop({ store: records, tracer, whereabouts: presenceWhereabouts(presence), now: () => clock });
    sut.bus.subscribe((e) => events.push(e));
    await sut.jurisdictions.importGeoJson(CITY, GEOJSON, 'test.geojson');
    await records.putPersonStatus({ personKey: 'id_card:E', ids: ['id_card:E'], status: 'centralized_isolation', jurisdiction: 'P2', caseId: null, since: clock.toISOString(), updatedAt: clock.toISOString() });
  });
  afterAll(async () => {
    await records?.close();
    await presence?.close();
  });

  it('refuses a malformed jurisdiction file, naming feature and field', async () => {
    const bad = JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { code: 'X', name: 'x', level: 'ward', parent: 'CITY' }, geometry: null }] });
    await expect(sut.jurisdictions.importGeoJson(CITY, bad, 'bad.geojson')).rejects.toThrow('bad.geojson: features[0].properties.level: "ward" is not one of city, district, precinct, community');
    await expect(sut.jurisdictions.importGeoJson(P1, GEOJSON, 'x.geojson')).rejects.toBeInstanceOf(LoopInputError);
  });

  it('adding a case traces it and pushes each lead to the unit responsible', async () => {
    const { case: kase, trace } = await sut.cases.add(CITY, { ids: ['id_card:A'], classification: 'confirmed', onset: '2020-01-24' });
    expect(kase.jurisdiction).toBe('P1');
    expect(trace?.recorded.byDisposition).toMatchObject({ new_lead: 3, linked_to_status: 1, recorded: 1 });
    const leads = await sut.leads.list(CITY, { caseId: kase.id });
    const byPerson = Object.fromEntries(leads.map((l) => [l.personKey, l]));
    expect(Object.keys(byPerson).sort()).toEqual(['id_card:B', 'id_card:D', 'id_card:F']);
    expect(byPerson['id_card:B']).toMatchObject({ category: 'close', degree: 1, jurisdiction: 'P1' });
    expect(byPerson['id_card:D']).toMatchObject({ category: 'secondary', degree: 2, viaPersonKey: 'id_card:B', jurisdiction: 'P2' });
    expect(byPerson['id_card:F']).toMatchObject({ category: 'close', jurisdiction: 'P3' });
    const cmdB = await sut.commands.get(CITY, byPerson['id_card:B'].commandId!);
    expect(cmdB).toMatchObject({ type: 'verify_on_site', priority: 'urgent', state: 'pushed', deadline: '2020-01-26T02:00:00.000Z' });
    const cmdD = await sut.commands.get(CITY, byPerson['id_card:D'].commandId!);
    expect(cmdD.deadline).toBe('2020-01-26T12:00:00.000Z');
    // The isolated person got no command; the exposure is linked to them.
    const exposuresE = await records.listExposures({ personKey: 'id_card:E' });
    expect(exposuresE.map((x) => x.disposition)).toEqual(['linked_to_status']);
    expect(await records.openLeadOf('id_card:E')).toBeNull();
    expect(events.filter((e) => e.type === 'command.changed' && e.kind === 'pushed')).toHaveLength(3);
  });

  it('refuses a case for a person of another unit as not found, before tracing them', async () => {
    let traced = false;
    const spyLoop = createLoop({
      store: records, whereabouts: presenceWhereabouts(presence), now: () => clock,
      tracer: { trace: async () => { traced = true; throw new Error('must not trace'); } },
    });
    await expect(spyLoop.cases.add(P2, { ids: ['id_card:C'], classification: 'confirmed', onset: '2020-01-24', jurisdiction: 'P1' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(spyLoop.cases.add(P2, { ids: ['id_card:B'], classification: 'confirmed', onset: '2020-01-24' })).rejects.toThrow('person with these identifiers not found');
    expect(traced).toBe(false);
  });

  it('shows each unit its subtree only; another unit\'s command is not found', async () => {
    const p1 = await sut.commands.inbox(P1);
    expect(p1.commands.map((c) => c.personKey)).toEqual(['id_card:B']);
    const d1 = await sut.commands.inbox(D1);
    expect(d1.commands.map((c) => c.personKey).sort()).toEqual(['id_card:B', 'id_card:D']);
    const f = (await sut.commands.inbox(CITY)).commands.find((c) => c.personKey === 'id_card:F')!;
    await expect(sut.commands.get(P1, f.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(sut.commands.accept(P1, f.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(sut.leads.get(P1, f.leadId)).rejects.toBeInstanceOf(NotFoundError);
    expect((await sut.cases.list(P2)).length).toBe(0);
    expect((await sut.commands.inbox(P1, { jurisdiction: 'P3' })).commands).toEqual([]);
  });

  it('records every step of a command; a refused step says why', async () => {
    const [cmd] = (await sut.commands.inbox(P1)).commands;
    await expect(sut.commands.start(P1, cmd.id)).rejects.toThrow(/cannot start — it is pushed; allowed: accept, transfer, escalate/);
    await sut.commands.accept(P1, cmd.id);
    await expect(sut.commands.transfer(P1, cmd.id, 'P2', '  ')).rejects.toThrow(/needs a reason/);
    const moved = await sut.commands.transfer(P1, cmd.id, 'P2', '住在北所辖区');
    expect(moved).toMatchObject({ jurisdiction: 'P2', state: 'pushed' });
    await expect(sut.commands.get(P1, cmd.id)).rejects.toBeInstanceOf(NotFoundError);
    const { events: history } = await sut.commands.history(P2, cmd.id);
    expect(history.map((e) => [e.kind, e.actorUserId, e.toState, e.toJurisdiction, e.reason])).toEqual([
      ['pushed', 'u-cmd', 'pushed', 'P1', expect.stringContaining('close contact')],
      ['accepted', 'u-p1', 'accepted', 'P1', null],
      ['transferred', 'u-p1', 'pushed', 'P2', '住在北所辖区'],
    ]);
    await expect(sut.commands.accept(P2, cmd.id, 1)).rejects.toThrow(/changed since you loaded it/);
  });

  it('acts on a command from a fresh start, before anything has loaded the tree', async () => {
    // A new process (the CLI) first touches the tree inside its transaction: that must not wait on itself.
    const cold = createLoop({ store: records, now: () => clock });
    const f = (await sut.commands.inbox(CITY)).commands.find((c) => c.personKey === 'id_card:F')!;
    await expect(cold.commands.start({ userId: 'u', role: 'commander', jurisdiction: 'P3' }, f.id)).rejects.toThrow(/cannot start — it is pushed/);
    await expect(records.transaction(async () => records.getCase('none'))).rejects.toThrow(/inside one of its own transactions/);
  });

  it('escalates overdue commands to the parent unit, once per SLA window', async () => {
    clock = new Date('2020-01-26T03:00:00Z');
    const first = await sut.commands.sweepOverdue({ userId: 'system', role: 'system', jurisdiction: '*' });
    expect(first.escalated).toBe(2); // B (now at P2) and F (at P3), both past their 2 h deadline
    const again = await sut.commands.sweepOverdue({ userId: 'system', role: 'system', jurisdiction: '*' });
    expect(again).toEqual({ overdue: 0, escalated: 0 });
    const d2 = await sut.commands.inbox({ userId: 'u', role: 'commander', jurisdiction: 'D2' }, { overdue: true });
    expect(d2.commands.map((c) => [c.personKey, c.escalatedTo, c.escalationLevel])).toEqual([['id_card:F', 'D2', 1]]);
    clock = new Date('2020-01-26T05:00:00Z');
    await sut.commands.sweepOverdue({ userId: 'system', role: 'system', jurisdiction: '*' });
    const f = (await sut.commands.inbox(CITY)).commands.find((c) => c.personKey === 'id_card:F')!;
    expect([f.escalatedTo, f.escalationLevel]).toEqual(['CITY', 2]);
  });

  it('a positive test makes a new case, traced at once and linked into the chain', async () => {
    const cmdB = (await sut.commands.inbox(P2)).commands.find((c) => c.personKey === 'id_card:B')!;
    await expect(sut.feedback.file(P2, cmdB.id, { outcome: 'tested_positive', temperature: 99 })).rejects.toThrow(/temperature 99/);
    const r = await sut.feedback.file(P2, cmdB.id, { outcome: 'tested_positive', temperature: 38.1, onset: '2020-01-25', namedContacts: ['phone:13900000001'] });
    expect(r.newCase).toMatchObject({ personKey: 'id_card:B', classification: 'confirmed' });
    const caseA = (await records.getCaseByPerson('id_card:A'))!;
    expect(r.newCase?.sourceCaseId).toBe(caseA.id);
    // D was already on an open lead (secondary of A); as B's household contact it joins that lead.
    const xD = await records.listExposures({ personKey: 'id_card:D' });
    expect(xD.map((x) => x.disposition)).toEqual(['new_lead', 'joined_open_lead']);
    expect((await records.openLeadOf('id_card:D'))?.category).toBe('close');
    // The named contact became a lead of B's case.
    const named = await records.openLeadOf('phone:13900000001');
    expect(named).toMatchObject({ caseId: r.newCase!.id, category: 'named' });
    const history = await sut.commands.history(CITY, cmdB.id);
    expect(history.events.map((e) => e.kind)).toEqual(['pushed', 'accepted', 'transferred', 'escalated', 'escalated', 'accepted', 'started', 'feedback', 'closed']);
    expect((await sut.status.chain(CITY, caseA.id)).map((n) => [n.caseId, n.sourceCaseId])).toEqual([[caseA.id, null], [r.newCase!.id, caseA.id]]);
    expect(await records.getPersonStatus('id_card:B')).toMatchObject({ status: 'case', caseId: r.newCase!.id });
  });

  it('identity mismatch reissues the lead; not found widens the search; the loop closes when every lead is final', async () => {
    const caseA = (await records.getCaseByPerson('id_card:A'))!;
    const leadF = (await records.openLeadOf('id_card:F'))!;
    await expect(sut.feedback.file(CITY, leadF.commandId!, { outcome: 'identity_mismatch' })).rejects.toThrow(/corrected identifiers/);
    await sut.feedback.file(CITY, leadF.commandId!, { outcome: 'identity_mismatch', correctedIds: ['id_card:F2'] });
    const reissued = (await records.openLeadOf('id_card:F2'))!;
    expect(reissued).toMatchObject({ reissueOf: leadF.id, caseId: caseA.id });
    const leadD = (await records.openLeadOf('id_card:D'))!;
    const cmdD = (await records.getCommand(leadD.commandId!))!;
    await sut.feedback.file(P2, cmdD.id, { outcome: 'not_found' });
    const widened = (await records.openLeadOf('id_card:D'))!;
    expect((await records.getCommand(widened.commandId!))?.jurisdiction).toBe('D1');
    expect((await records.getCase(caseA.id))?.loopClosed).toBe(false);
    await sut.feedback.file(D1, widened.commandId!, { outcome: 'centralized_isolation' });
    expect((await records.getCase(caseA.id))?.loopClosed).toBe(false);
    const r = await sut.feedback.file(CITY, reissued.commandId!, { outcome: 'verified_home_control' });
    expect(r.closedLoops).toEqual([caseA.id]);
    expect((await records.caseEvents(caseA.id)).map((e) => e.kind)).toContain('loop_closed');
    expect(events.some((e) => e.type === 'case.loop_closed' && e.caseId === caseA.id)).toBe(true);
    const summary = await sut.status.summary(CITY);
    expect(summary.cases.confirmed).toBe(2);
    expect(summary.people.centralized_isolation).toBe(2);
  });

  it('links a person already made a case into the chain when their command comes back positive', async () => {
    const named = (await records.openLeadOf('phone:13900000001'))!;
    const direct = await sut.cases.add(CITY, { ids: ['phone:13900000001'], classification: 'confirmed', onset: '2020-01-25', jurisdiction: 'P1', trace: false });
    expect(direct.case.sourceCaseId).toBeNull();
    const r = await sut.feedback.file(CITY, named.commandId!, { outcome: 'tested_positive' });
    expect(r.newCase).toBeNull();
    expect(await records.getCase(direct.case.id)).toMatchObject({ sourceCaseId: named.caseId, sourceLeadId: named.id });
  });

  it('reads push rules from a file, naming the file and field of each mistake', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-rules-'));
    try {
      const good = path.join(dir, 'rules.json');
      fs.writeFileSync(good, JSON.stringify({ version: 'city-2', rules: [{ id: 'close', categories: ['close'], type: 'test', priority: 'high', withinMinutes: 60 }] }));
      expect(readPushRulesFile(good)).toMatchObject({ version: 'city-2', maxEscalationLevels: 2, rules: [{ id: 'close', withinMinutes: 60 }] });
      const bad = path.join(dir, 'bad.json');
      fs.writeFileSync(bad, JSON.stringify({ version: 'x', rules: [{ id: 'c', categories: ['close'], type: 'test', priority: 'soon', withinMinutes: 60 }] }));
      expect(() => readPushRulesFile(bad)).toThrow(`${bad}: rules[0].priority "soon"`);
      expect(() => readPushRulesFile(path.join(dir, 'none.json'))).toThrow(/cannot read push rules/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
