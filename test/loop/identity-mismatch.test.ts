import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Presence } from '../../src/domain/formats.ts';
import type { Actor } from '../../src/domain/jurisdiction.ts';
import { presenceWhereabouts } from '../../src/services/command.service.ts';
import { IdentityService, type LinkDecisionRecord } from '../../src/services/identity.service.ts';
import { createLoop, type Loop } from '../../src/services/loop.service.ts';
import { PresenceTraceService } from '../../src/services/trace.service.ts';
import { DuckDbPresenceStore } from '../../src/stores/presence/duckdb/duckdb-presence-store.ts';
import type { RecordsStore } from '../../src/stores/records/records-store.ts';
import { openSqliteRecordsStore } from '../../src/stores/records/sqlite/sqlite-records-store.ts';
import { box, feature, geoJson } from '../support/jurisdictions.ts';

const GEOJSON = geoJson([
  feature('CITY', 'city', null, box(121, 29, 123, 30)),
  feature('P1', 'precinct', 'CITY', box(121, 29, 122, 30)),
  feature('P2', 'precinct', 'CITY', box(122, 29, 123, 30)),
]);
const at = (iso: string): number => Date.parse(iso) / 1000;
const p = (id: string, start: string, end: string): Presence => {
  const [idKind, idValue] = id.split(':') as [Presence['idKind'], string];
  return { idKind, idValue, placeKind: 'venue', placeId: 'V1', start: at(start), end: at(end), dateOnly: false, pointEvent: false };
};
const CITY: Actor = { userId: 'u-cmd', role: 'commander', jurisdiction: 'CITY' };
// A met B, F and G at V1 (in P1). The phone 13900000009 belongs to id_card K, who lives in P2.
const K_PHONE = 'phone:13900000009';

/** A loop over a small world: these presences, links and residences, all at venue V1 in P1; clock 2020-01-24. */
async function world(presences: Presence[], links: { aKind: 'phone'; aValue: string; bKind: 'id_card'; bValue: string }[], homes: Record<string, string>):
  Promise<{ presence: DuckDbPresenceStore; records: RecordsStore; loop: Loop }> {
  const presence = await DuckDbPresenceStore.open(':memory:');
  await presence.insertPresences(presences);
  await presence.insertIdentityLinks(links);
  await presence.upsertPeople(Object.entries(homes).map(([idValue, jurisdiction]) => ({ idKind: 'id_card' as const, idValue, jurisdiction })));
  await presence.upsertPlaces([{ placeKind: 'venue', placeId: 'V1', jurisdiction: 'P1' }]);
  const decisions: LinkDecisionRecord[] = [];
  const identity = new IdentityService(presence, { all: async () => decisions, append: async (d) => void decisions.push(d) });
  const tracer = await PresenceTraceService.start({ store: presence, timeZone: 'Asia/Shanghai', identity });
  const records = await openSqliteRecordsStore(':memory:');
  const clock = new Date('2020-01-24T00:00:00Z');
  const loop = createLoop({ store: records, tracer, whereabouts: presenceWhereabouts(presence), identity, now: () => clock, trace: { traceDegree: 1 } });
  await loop.jurisdictions.importGeoJson(CITY, GEOJSON, 'test.geojson');
  return { presence, records, loop };
}

describe('identity mismatch: the corrected identifiers are resolved to their person and the lead reissued', () => {
  let presence: DuckDbPresenceStore;
  let records: RecordsStore;
  let loop: Loop;
  let caseId: string;

  beforeAll(async () => {
    ({ presence, records, loop } = await world([
      p('id_card:A', '2020-01-22T10:00:00+08:00', '2020-01-22T11:00:00+08:00'),
      p('id_card:B', '2020-01-22T10:05:00+08:00', '2020-01-22T10:45:00+08:00'),
      p('id_card:F', '2020-01-22T10:10:00+08:00', '2020-01-22T10:50:00+08:00'),
      p('id_card:G', '2020-01-22T10:15:00+08:00', '2020-01-22T10:55:00+08:00'),
    ], [{ aKind: 'phone', aValue: '13900000009', bKind: 'id_card', bValue: 'K' }], { A: 'P1', B: 'P1', K: 'P2' }));
    const made = await loop.cases.add(CITY, { ids: ['id_card:A'], classification: 'confirmed', onset: '2020-01-23' });
    caseId = made.case.id;
    expect((await records.listLeads({ caseId })).map((l) => l.personKey).sort()).toEqual(['id_card:B', 'id_card:F', 'id_card:G']);
  });
  afterAll(async () => {
    await records?.close();
    await presence?.close();
  });

  it('keys, deduplicates and pushes the reissued lead as the person the corrected identifier belongs to', async () => {
    const leadF = (await records.openLeadOf('id_card:F'))!;
    const r = await loop.feedback.file(CITY, leadF.commandId!, { outcome: 'identity_mismatch', correctedIds: [K_PHONE] });
    expect(r.newLeads).toBe(1);
    const reissued = (await records.openLeadOf('id_card:K'))!;
    expect(reissued).toMatchObject({ personKey: 'id_card:K', reissueOf: leadF.id, caseId, jurisdiction: 'P2' });
    expect(reissued.ids).toEqual(expect.arrayContaining(['id_card:K', K_PHONE]));
    expect((await records.getCommand(reissued.commandId!))?.jurisdiction).toBe('P2');
    // One person, one open lead: the phone is no separate person.
    expect(await records.openLeadOf(K_PHONE)).toBeNull();
  });

  it('joins the corrected person\'s open lead instead of a second one, and the case\'s loop still closes', async () => {
    const leadG = (await records.openLeadOf('id_card:G'))!;
    const leadB = (await records.openLeadOf('id_card:B'))!;
    const r = await loop.feedback.file(CITY, leadG.commandId!, { outcome: 'identity_mismatch', correctedIds: ['id_card:B'] });
    expect(r.newLeads).toBe(0);
    expect((await records.openLeadOf('id_card:B'))?.id).toBe(leadB.id);
    expect((await records.listExposures({ leadId: leadB.id })).length).toBe(2);
    await loop.feedback.file(CITY, leadB.commandId!, { outcome: 'tested_negative' });
    const leadK = (await records.openLeadOf('id_card:K'))!;
    const last = await loop.feedback.file(CITY, leadK.commandId!, { outcome: 'tested_negative' });
    expect(last.closedLoops).toEqual([caseId]);
  });
});

describe('identity mismatch naming the case\'s own person', () => {
  it('leaves nobody to reissue to, and the case\'s loop still closes', async () => {
    // The case's own phone: the "contact" the field found is the case.
    const { presence, records, loop } = await world([
      p('id_card:A', '2020-01-22T10:00:00+08:00', '2020-01-22T11:00:00+08:00'),
      p('id_card:B', '2020-01-22T10:05:00+08:00', '2020-01-22T10:45:00+08:00'),
    ], [{ aKind: 'phone', aValue: '13900000001', bKind: 'id_card', bValue: 'A' }], { A: 'P1', B: 'P1' });
    try {
      const made = await loop.cases.add(CITY, { ids: ['id_card:A'], classification: 'confirmed', onset: '2020-01-23' });
      const leadB = (await records.openLeadOf('id_card:B'))!;
      const r = await loop.feedback.file(CITY, leadB.commandId!, { outcome: 'identity_mismatch', correctedIds: ['phone:13900000001'] });
      expect(r.newLeads).toBe(0);
      expect(await records.listLeads({ caseId: made.case.id, status: 'open' })).toEqual([]);
      expect(r.closedLoops).toEqual([made.case.id]);
    } finally {
      await records.close();
      await presence.close();
    }
  });
});
