import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlSecurityStore } from '../stores/records/sql-security-store.ts';
import type { SqlConnection } from '../stores/records/sql-connection.ts';
import { openSqliteConnection } from '../stores/records/sqlite/sqlite-connection.ts';
import { AuditService, PurposeRequiredError, checkPurpose } from './audit.service.ts';

const analyst = { userId: 'u1', username: 'ana', role: 'analyst', jurisdiction: 'NB-ZH' };

let conn: SqlConnection;
let store: SqlSecurityStore;
let sut: AuditService;

beforeAll(async () => {
  conn = openSqliteConnection(':memory:');
  store = new SqlSecurityStore(conn);
  await store.init();
  sut = new AuditService(store, () => Date.parse('2026-03-01T08:00:00Z'));
});

afterAll(async () => {
  await conn.close();
});

describe('checkPurpose', () => {
  it('names the field with its place in the request, and lets a case be optional only when asked', () => {
    expect(() => checkPurpose({ caseId: 'C1' }, { where: 'querystring' })).toThrow(/^querystring\.purpose: a purpose is required/);
    expect(() => checkPurpose({ purpose: '  ab ', caseId: 'C1' })).toThrow(/^purpose: must have at least 4 characters/);
    expect(() => checkPurpose({ purpose: 'x'.repeat(501), caseId: 'C1' })).toThrow(/at most 500/);
    expect(() => checkPurpose({ purpose: 'follow-up' }, { where: 'body' })).toThrow(/^body\.caseId: a case is required/);
    expect(checkPurpose({ purpose: ' follow-up ' }, { caseRequired: false })).toEqual({ purpose: 'follow-up', caseId: null });
    expect(checkPurpose({ purpose: 'follow-up', caseId: ' C1 ' })).toEqual({ purpose: 'follow-up', caseId: 'C1' });
  });
});

describe('purpose-bound reads on the trail', () => {
  it('writes a denied row with the attempt and throws a 400 when the purpose is missing', async () => {
    const err = await sut.recordRead(analyst, 'leads.read', { caseId: 'C1' }, 'case:C1', undefined, { where: 'querystring' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PurposeRequiredError);
    expect((err as PurposeRequiredError).statusCode).toBe(400);
    const rows = (await store.searchAudit({ action: 'leads.read' })).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'denied', username: 'ana', role: 'analyst', jurisdiction: 'NB-ZH', caseId: 'C1', purpose: null, subject: 'case:C1', at: '2026-03-01T08:00:00.000Z' });
    expect((rows[0].detail as { refused: string }).refused).toMatch(/^querystring\.purpose/);
  });

  it('checks without writing an ok row (requirePurpose), and writes one with case and purpose (recordRead)', async () => {
    expect(await sut.requirePurpose(analyst, 'person.read', { purpose: 'home visit' }, 'person:p_1', { caseRequired: false })).toEqual({ purpose: 'home visit', caseId: null });
    expect((await store.searchAudit({ action: 'person.read' })).total).toBe(0);
    await sut.recordRead(analyst, 'trace.read', { purpose: 'contact tracing', caseId: 'C2' }, 'person:p_2', { degree: 2 });
    expect((await store.searchAudit({ action: 'trace.read' })).rows[0]).toMatchObject({ outcome: 'ok', caseId: 'C2', purpose: 'contact tracing', detail: { degree: 2 } });
  });
});
