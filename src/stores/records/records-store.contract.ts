/**
 * @module The records store contract: one suite every adapter runs (`runRecordsStoreContract`), so
 * SQLite and PostgreSQL behave the same — round trips, filters, the one-open-lead rule, optimistic
 * command updates, append-only histories, and transactions that commit all or nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseRecord, CommandEventRecord, CommandRecord, LeadRecord, RecordsStore } from './records-store.ts';
import { RECORDS_MIGRATIONS } from './records-migrations.ts';
import { SqlConstraintError } from './sql-connection.ts';

export interface ContractTarget {
  /** Opens a fresh, empty, migrated store. */
  open(): Promise<RecordsStore>;
  /** Removes what `open` created (closes the store). */
  cleanup(store: RecordsStore): Promise<void>;
}

const T0 = '2020-01-25T06:00:00.000Z';

function aCase(id: string, personKey: string, jurisdiction = 'P1'): CaseRecord {
  return {
    id, personKey, ids: [personKey, 'phone:13800000000'], classification: 'confirmed', onset: '2020-01-24', sampled: null,
    isolatedAt: null, jurisdiction, sourceCaseId: null, sourceLeadId: null, loopClosed: false, traces: 0, createdAt: T0, updatedAt: T0,
  };
}

function aLead(id: string, caseId: string, personKey: string, jurisdiction = 'P1'): LeadRecord {
  return {
    id, caseId, personKey, ids: [personKey], degree: 1, category: 'close', viaPersonKey: null, risk: 0.8,
    evidence: { rule: 'venue≥15min', overlapSeconds: 1800, places: ['venue:V1'] }, status: 'open', outcome: null,
    commandId: null, jurisdiction, reissueOf: null, createdAt: T0, closedAt: null,
  };
}

function aCommand(id: string, lead: LeadRecord, deadline: string, jurisdiction = 'P1'): CommandRecord {
  return {
    id, leadId: lead.id, caseId: lead.caseId, personKey: lead.personKey, type: 'verify_on_site', priority: 'urgent',
    jurisdiction, state: 'pushed', deadline, overdue: false, escalationLevel: 0, escalatedTo: null, createdAt: T0,
    updatedAt: T0, version: 1,
  };
}

function anEvent(commandId: string, seq: number): CommandEventRecord {
  return {
    commandId, seq, at: T0, kind: seq === 1 ? 'pushed' : 'accepted', actorUserId: 'u1', actorRole: 'analyst',
    actorJurisdiction: 'CITY', fromState: seq === 1 ? null : 'pushed', toState: seq === 1 ? 'pushed' : 'accepted',
    fromJurisdiction: null, toJurisdiction: 'P1', reason: null, data: { note: '测试' },
  };
}

export function runRecordsStoreContract(name: string, target: ContractTarget | undefined): void {
  describe.skipIf(!target)(`records store contract: ${name}`, () => {
    let sut: RecordsStore;
    beforeAll(async () => {
      sut = await (target as ContractTarget).open();
    });
    afterAll(async () => {
      if (sut) await (target as ContractTarget).cleanup(sut);
    });

    it('is migrated once: init again changes nothing', async () => {
      await sut.init();
      const rows = await sut.connection.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM schema_migrations WHERE area = 'records'");
      expect(Number(rows[0].n)).toBe(RECORDS_MIGRATIONS.migrations.length);
    });

    it('round-trips jurisdictions with their polygons, and upserts by code', async () => {
      const geometry = { type: 'Polygon' as const, coordinates: [[[121, 29], [122, 29], [122, 30], [121, 29]] as [number, number][]] };
      await sut.upsertJurisdictions([
        { code: 'CITY', name: '宁波市公安局', nameEn: 'Ningbo', level: 'city', parent: null, geometry: null },
        { code: 'D1', name: '海曙分局', nameEn: 'Haishu', level: 'district', parent: 'CITY', geometry },
      ]);
      await sut.upsertJurisdictions([{ code: 'D1', name: '海曙区分局', nameEn: 'Haishu', level: 'district', parent: 'CITY', geometry }]);
      const all = await sut.listJurisdictions();
      expect(all.map((j) => j.code)).toEqual(['CITY', 'D1']);
      expect(all[1].name).toBe('海曙区分局');
      expect(all[1].geometry).toEqual(geometry);
    });

    it('keeps people\'s status and lists it by status and jurisdiction', async () => {
      await sut.putPersonStatus({ personKey: 'id_card:A', ids: ['id_card:A'], status: 'contact', jurisdiction: 'P1', caseId: null, since: T0, updatedAt: T0 });
      await sut.putPersonStatus({ personKey: 'id_card:A', ids: ['id_card:A', 'phone:1'], status: 'home_control', jurisdiction: 'P1', caseId: null, since: '2020-01-25T09:00:00.000Z', updatedAt: '2020-01-25T09:00:00.000Z' });
      await sut.putPersonStatus({ personKey: 'id_card:B', ids: ['id_card:B'], status: 'contact', jurisdiction: 'P2', caseId: null, since: T0, updatedAt: T0 });
      expect((await sut.getPersonStatus('id_card:A'))?.ids).toEqual(['id_card:A', 'phone:1']);
      expect(await sut.getPersonStatus('id_card:none')).toBeNull();
      expect((await sut.listPersonStatuses(['home_control'])).map((p) => p.personKey)).toEqual(['id_card:A']);
      expect((await sut.listPersonStatuses([], ['P2'])).map((p) => p.personKey)).toEqual(['id_card:B']);
      expect((await sut.personStatusHistory('id_card:A')).map((h) => h.status)).toEqual(['contact', 'home_control']);
      const found = await sut.findPersonKeys(['phone:1', 'id_card:B', 'phone:unknown']);
      expect([...found].sort()).toEqual([['id_card:B', 'id_card:B'], ['phone:1', 'id_card:A']]);
      await expect(sut.connection.execute("DELETE FROM person_status_history WHERE person_key = 'id_card:A'")).rejects.toThrow(/append-only/);
    });

    it('refuses a second case for the same person', async () => {
      await sut.insertCase(aCase('c1', 'id_card:X'));
      await expect(sut.insertCase(aCase('c2', 'id_card:X'))).rejects.toBeInstanceOf(SqlConstraintError);
      const c = await sut.getCaseByPerson('id_card:X');
      expect(c?.id).toBe('c1');
      await sut.updateCase({ ...(c as CaseRecord), classification: 'confirmed', loopClosed: true, traces: 2 });
      expect(await sut.getCase('c1')).toMatchObject({ loopClosed: true, traces: 2, ids: ['id_card:X', 'phone:13800000000'] });
      expect((await sut.listCases({ jurisdictions: ['P2'] })).length).toBe(0);
    });

    it('keeps one open lead per person, enforced by the store', async () => {
      const l1 = aLead('l1', 'c1', 'id_card:Y');
      await sut.insertLead(l1);
      await expect(sut.insertLead(aLead('l2', 'c1', 'id_card:Y'))).rejects.toBeInstanceOf(SqlConstraintError);
      expect((await sut.openLeadOf('id_card:Y'))?.evidence).toEqual(l1.evidence);
      await sut.updateLead({ ...l1, status: 'closed', outcome: 'tested_negative', closedAt: T0 });
      await sut.insertLead(aLead('l2', 'c1', 'id_card:Y'));
      expect((await sut.listLeads({ personKey: 'id_card:Y' })).map((l) => [l.id, l.status])).toEqual([
        ['l1', 'closed'],
        ['l2', 'open'],
      ]);
      expect((await sut.listLeads({ status: 'open', jurisdictions: ['P1'] })).map((l) => l.id)).toEqual(['l2']);
    });

    it('records exposures against cases and leads', async () => {
      await sut.insertExposure({
        id: 'x1', caseId: 'c1', personKey: 'id_card:Y', ids: ['id_card:Y'], degree: 2, category: 'secondary',
        viaPersonKey: 'id_card:Z', risk: 0.4, evidence: [{ rule: 'household' }], disposition: 'joined_open_lead', leadId: 'l2', createdAt: T0,
      });
      const [x] = await sut.listExposures({ leadId: 'l2' });
      expect(x).toMatchObject({ degree: 2, category: 'secondary', viaPersonKey: 'id_card:Z', disposition: 'joined_open_lead' });
    });

    it('updates a command only from the version it read (optimistic concurrency)', async () => {
      const lead = (await sut.getLead('l2')) as LeadRecord;
      await sut.insertCommand(aCommand('k1', lead, '2020-01-25T08:00:00.000Z'));
      const k = (await sut.getCommand('k1')) as CommandRecord;
      expect(await sut.updateCommand({ ...k, state: 'accepted', version: 2 })).toBe(true);
      // A second writer that also read version 1 loses.
      expect(await sut.updateCommand({ ...k, state: 'closed', version: 2 })).toBe(false);
      expect((await sut.getCommand('k1'))?.state).toBe('accepted');
    });

    it('lists inboxes by unit or escalation target, state, deadline, with counts and paging', async () => {
      const lead = (await sut.getLead('l2')) as LeadRecord;
      await sut.insertCommand({ ...aCommand('k2', lead, '2020-01-25T07:00:00.000Z', 'P2'), escalatedTo: 'D1', escalationLevel: 1, overdue: true });
      await sut.insertCommand({ ...aCommand('k3', lead, '2020-01-25T09:00:00.000Z', 'P2'), state: 'closed' });
      expect((await sut.listCommands({ jurisdictions: ['P1'] })).map((c) => c.id)).toEqual(['k1']);
      expect((await sut.listCommands({ jurisdictions: ['D1'] })).map((c) => c.id)).toEqual(['k2']);
      expect((await sut.listCommands({ jurisdictions: ['P2'], states: ['pushed'] })).map((c) => c.id)).toEqual(['k2']);
      expect((await sut.listCommands({ openDeadlineBefore: '2020-01-25T08:30:00.000Z' })).map((c) => c.id)).toEqual(['k2', 'k1']);
      expect((await sut.listCommands({ limit: 1, offset: 1 })).map((c) => c.id)).toEqual(['k1']);
      expect(await sut.countCommands({ overdue: true })).toBe(1);
      expect(await sut.countCommands({ jurisdictions: [] })).toBe(0);
      const counts = await sut.countsByJurisdiction();
      expect(counts.find((c) => c.jurisdiction === 'P2')).toMatchObject({ openCommands: 1, overdueCommands: 1 });
    });

    it('keeps command history in order and append-only (the store refuses update and delete)', async () => {
      await sut.appendCommandEvent(anEvent('k1', 1));
      await sut.appendCommandEvent(anEvent('k1', 2));
      await expect(sut.appendCommandEvent(anEvent('k1', 2))).rejects.toBeInstanceOf(SqlConstraintError);
      const events = await sut.commandEvents('k1');
      expect(events.map((e) => [e.seq, e.kind, e.toState])).toEqual([[1, 'pushed', 'pushed'], [2, 'accepted', 'accepted']]);
      expect(events[0].data).toEqual({ note: '测试' });
      await expect(sut.connection.execute("UPDATE command_events SET reason = 'x' WHERE command_id = 'k1'")).rejects.toThrow(/append-only/);
      await expect(sut.connection.execute("DELETE FROM command_events WHERE command_id = 'k1'")).rejects.toThrow(/append-only/);
      await sut.appendCaseEvent({ caseId: 'c1', seq: 1, at: T0, kind: 'created', actorUserId: 'u1', actorRole: 'analyst', from: null, to: 'confirmed', reason: null, data: null });
      await expect(sut.connection.execute("DELETE FROM case_events WHERE case_id = 'c1'")).rejects.toThrow(/append-only/);
      expect((await sut.caseEvents('c1')).map((e) => e.kind)).toEqual(['created']);
    });

    it('stores feedback with temperature, named contacts and corrected identifiers', async () => {
      await sut.insertFeedback({
        id: 'f1', commandId: 'k1', leadId: 'l2', outcome: 'identity_mismatch', temperature: 37.4, notes: '电话号码错误',
        namedContacts: ['phone:13900000000'], correctedIds: ['id_card:Y2'], actorUserId: 'u2', actorRole: 'precinct_officer', at: T0,
      });
      const [f] = await sut.listFeedback({ commandId: 'k1' });
      expect(f).toMatchObject({ temperature: 37.4, notes: '电话号码错误', namedContacts: ['phone:13900000000'], correctedIds: ['id_card:Y2'] });
    });

    it('writes and reads in batches: many leads, commands, events, exposures and statuses at once', async () => {
      const n = 700; // more than one statement's worth of rows on either backend
      await sut.insertCase(aCase('cb', 'id_card:BATCH'));
      const leads = Array.from({ length: n }, (_, i) => ({ ...aLead(`bl${i}`, 'cb', `id_card:B${i}`), commandId: `bk${i}` }));
      await sut.transaction(async (tx) => {
        await tx.insertLeads(leads);
        await tx.insertCommands(leads.map((l, i) => aCommand(`bk${i}`, l, '2020-01-26T00:00:00.000Z', i % 2 ? 'P1' : 'P2')));
        await tx.appendCommandEvents(leads.map((_, i) => anEvent(`bk${i}`, 1)));
        await tx.insertExposures(leads.map((l, i) => ({
          id: `bx${i}`, caseId: 'cb', personKey: l.personKey, ids: l.ids, degree: 1 as const, category: 'close' as const, viaPersonKey: null,
          risk: 10, evidence: { i }, disposition: 'new_lead' as const, leadId: l.id, createdAt: T0,
        })));
        await tx.putPersonStatuses(leads.map((l) => ({ personKey: l.personKey, ids: l.ids, status: 'contact' as const, jurisdiction: 'P1', caseId: null, since: T0, updatedAt: T0 })));
      });
      const keys = leads.map((l) => l.personKey);
      expect((await sut.openLeadsOf([...keys, 'id_card:nobody'])).size).toBe(n);
      expect((await sut.getPersonStatuses(keys)).get('id_card:B699')?.status).toBe('contact');
      expect((await sut.findPersonKeys(['id_card:B42'])).get('id_card:B42')).toBe('id_card:B42');
      expect(await sut.countCommands({ caseId: 'cb' })).toBe(n);
      expect(await sut.countCommands({ caseId: 'cb', jurisdictions: ['P2'] })).toBe(n / 2);
      expect((await sut.listExposures({ caseId: 'cb' })).length).toBe(n);
      expect((await sut.commandEvents('bk699'))[0].kind).toBe('pushed');
      // The one-open-lead rule holds for batches too, and a failed batch writes nothing.
      await expect(sut.transaction((tx) => tx.insertLeads([aLead('dup1', 'cb', 'id_card:NEW'), aLead('dup2', 'cb', 'id_card:B1')]))).rejects.toBeInstanceOf(SqlConstraintError);
      expect(await sut.getLead('dup1')).toBeNull();
    });

    it('commits a transaction all or nothing', async () => {
      await expect(
        sut.transaction(async (tx) => {
          await tx.insertCase(aCase('c9', 'id_card:T'));
          await tx.insertCase(aCase('c10', 'id_card:T'));
        }),
      ).rejects.toBeInstanceOf(SqlConstraintError);
      expect(await sut.getCase('c9')).toBeNull();
      await sut.transaction(async (tx) => {
        await tx.insertCase(aCase('c9', 'id_card:T'));
        expect((await tx.getCase('c9'))?.id).toBe('c9');
      });
      expect((await sut.getCase('c9'))?.personKey).toBe('id_card:T');
    });

    it('runs concurrent transactions without losing either', async () => {
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          sut.transaction(async (tx) => {
            await tx.insertCase(aCase(`cc${i}`, `id_card:CC${i}`));
            await tx.appendCaseEvent({ caseId: `cc${i}`, seq: 1, at: T0, kind: 'created', actorUserId: 'u', actorRole: 'analyst', from: null, to: 'confirmed', reason: null, data: null });
          }),
        ),
      );
      expect((await sut.listCases({})).filter((c) => c.id.startsWith('cc')).length).toBe(8);
    });
  });
}
