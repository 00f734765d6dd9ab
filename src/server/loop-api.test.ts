import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Presence } from '../domain/formats.ts';
import { presenceWhereabouts } from '../services/command.service.ts';
import { createLoop, type Loop } from '../services/loop.service.ts';
import { PresenceTraceService } from '../services/trace.service.ts';
import { DuckDbPresenceStore } from '../stores/presence/duckdb/duckdb-presence-store.ts';
import type { RecordsStore } from '../stores/records/records-store.ts';
import { openSqliteRecordsStore } from '../stores/records/sqlite/sqlite-records-store.ts';
import { loopEventSource } from './loop-events.ts';
import { PersonRefCodec } from './person-ref.ts';
import { ingestRoutes } from './routes/ingest.routes.ts';
import { loopRoutes } from './routes/loop.routes.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IngestService } from '../services/ingest.service.ts';
import { openDuckDbScratch } from '../stores/presence/duckdb/duckdb-presence-store.ts';
import { LocalEventSource } from './live-events.ts';
import { peopleRoutes } from './routes/people.routes.ts';
import { FIXTURE_TREE, startFixture, type Fixture } from './test-fixture.ts';

// Personal identifiers of the test world: none of them may appear in a log line.
const CASE_PHONE = '13800000001';
const CONTACT_PHONE = '13900000002';
const CONTACT_ID_CARD = '330211199001011234';

const t = (iso: string): number => Date.parse(iso) / 1000;
function presence(phone: string, place: string, from: string, to: string): Presence {
  return { idKind: 'phone', idValue: phone, placeKind: 'venue', placeId: place, start: t(from), end: t(to), dateOnly: false, pointEvent: false };
}

let fx: Fixture;
let records: RecordsStore;
let presenceStore: DuckDbPresenceStore;
let loop: Loop;
let caseId: string;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-loop-api-'));
const uploadEvents = new LocalEventSource();
const refs = new PersonRefCodec('test secret for person references');

beforeAll(async () => {
  records = await openSqliteRecordsStore(':memory:');
  await records.upsertJurisdictions(FIXTURE_TREE);
  presenceStore = await DuckDbPresenceStore.open(':memory:');
  await presenceStore.init();
  await presenceStore.insertPresences([
    presence(CASE_PHONE, 'V1', '2026-02-27T10:00:00+08:00', '2026-02-27T11:00:00+08:00'),
    presence(CONTACT_PHONE, 'V1', '2026-02-27T10:10:00+08:00', '2026-02-27T10:50:00+08:00'),
    // The contact's ID card is seen too (a hotel check-in elsewhere), so identity resolution lists it.
    { ...presence(CONTACT_ID_CARD, 'H9', '2026-02-26T20:00:00+08:00', '2026-02-26T22:00:00+08:00'), idKind: 'id_card', placeKind: 'hotel' },
  ]);
  await presenceStore.insertIdentityLinks([{ aKind: 'phone', aValue: CONTACT_PHONE, bKind: 'id_card', bValue: CONTACT_ID_CARD }]);
  await presenceStore.upsertPeople([
    { idKind: 'phone', idValue: CASE_PHONE, jurisdiction: 'NB-ZH-01' },
    { idKind: 'phone', idValue: CONTACT_PHONE, name: '张三', address: '骆驼街道 1 号', jurisdiction: 'NB-ZH-01' },
  ]);
  const tracer = await PresenceTraceService.start({ store: presenceStore, timeZone: 'Asia/Shanghai' });
  loop = createLoop({ store: records, tracer, whereabouts: presenceWhereabouts(presenceStore) });
  fx = await startFixture({
    conn: records.connection,
    routes: [
      loopRoutes({ loop, tracer: () => tracer, refs }),
      peopleRoutes({ records, loop, presence: presenceStore, refs }),
      ingestRoutes({
        ingest: new IngestService(presenceStore, { timeZone: 'Asia/Shanghai', rejectsDir: path.join(dataDir, 'rejects') }, openDuckDbScratch),
        dataDir,
        events: uploadEvents,
      }),
    ],
  });
  // The fixture's live events come from its own source; the loop's bus feeds the same hub here.
  loopEventSource(loop.bus).subscribe((e) => fx.events.publish(e));
  uploadEvents.subscribe((e) => fx.events.publish(e));
});

afterAll(async () => {
  await fx?.close();
  await presenceStore?.close();
  await records?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function post(path: string, body: unknown, cookie: string): Promise<Response> {
  return fetch(`${fx.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(body) });
}
async function get(path: string, cookie: string): Promise<Response> {
  return fetch(`${fx.url}${path}`, { headers: { cookie } });
}

describe('the loop over HTTP', () => {
  let zhAnalyst: string;
  let hsAnalyst: string;
  let zhOfficer: string;
  let hsOfficer: string;

  beforeAll(async () => {
    const a = await fx.addUser('zh-analyst', 'analyst', 'NB-ZH');
    const b = await fx.addUser('hs-analyst', 'analyst', 'NB-HS');
    await fx.addUser('zh-officer', 'precinct_officer', 'NB-ZH-01');
    await fx.addUser('hs-officer', 'precinct_officer', 'NB-HS-01');
    zhAnalyst = await fx.login('zh-analyst', a.totpSecret);
    hsAnalyst = await fx.login('hs-analyst', b.totpSecret);
    zhOfficer = await fx.login('zh-officer');
    hsOfficer = await fx.login('hs-officer');
  });

  it('adds a case, traces it and pushes the contact to the precinct inbox', async () => {
    const res = await post('/api/cases', { ids: [`phone:${CASE_PHONE}`], classification: 'confirmed', onset: '2026-02-28', jurisdiction: 'NB-ZH-01' }, zhAnalyst);
    expect(res.status).toBe(201);
    const body = await res.json();
    caseId = body.case.id;
    expect(body.case.ids).toEqual(['phone:138****0001']);
    expect(body.case).not.toHaveProperty('personKey');
    expect(body.trace.newLeads).toBe(1);
    const inbox = await (await get('/api/commands', zhOfficer)).json();
    expect(inbox.total).toBe(1);
    expect(inbox.commands[0]).toMatchObject({ caseId, jurisdiction: 'NB-ZH-01', state: 'pushed' });
    expect(inbox.commands[0].personRef).toMatch(/^p_/);
    const other = await (await get('/api/commands', hsOfficer)).json();
    expect(other.total).toBe(0);
  });

  it('refuses a trace read without a purpose, and audits every read with user, role, jurisdiction, case and purpose', async () => {
    const none = await post('/api/trace', { caseId }, zhAnalyst);
    expect(none.status).toBe(400);
    expect((await none.json()).message).toMatch(/body\.purpose/);
    // The refusal is on the trail, as denied, with the case it was for.
    const refused = await fx.store.searchAudit({ action: 'trace.read', caseId });
    expect(refused.total).toBe(1);
    expect(refused.rows[0]).toMatchObject({ username: 'zh-analyst', outcome: 'denied', purpose: null });
    const noCase = await post('/api/trace', { purpose: 'contact tracing of a confirmed case' }, zhAnalyst);
    expect(noCase.status).toBe(400);
    expect((await noCase.json()).message).toMatch(/body\.caseId/);
    const retrace = await post(`/api/cases/${caseId}/trace`, {}, zhAnalyst);
    expect(retrace.status).toBe(400);
    expect((await fx.store.searchAudit({ action: 'case.retrace', caseId })).rows[0]).toMatchObject({ outcome: 'denied' });
    const res = await post('/api/trace', { caseId, purpose: 'contact tracing of a confirmed case' }, zhAnalyst);
    expect(res.status).toBe(200);
    const trace = await res.json();
    expect(trace.trajectory).toHaveLength(1);
    expect(trace.contacts).toHaveLength(1);
    expect(trace.contacts[0]).toMatchObject({ degree: 1, category: 'close' });
    expect(trace.contacts[0].ids).toEqual(expect.arrayContaining(['phone:139****0002', 'id_card:330211********1234']));
    expect(JSON.stringify(trace)).not.toContain(CONTACT_PHONE);
    const audit = await fx.store.searchAudit({ action: 'trace.read', caseId });
    expect(audit.total).toBe(2);
    expect(audit.rows[0]).toMatchObject({ username: 'zh-analyst', role: 'analyst', jurisdiction: 'NB-ZH', caseId, purpose: 'contact tracing of a confirmed case', outcome: 'ok' });
    expect(audit.rows[0].at).toMatch(/Z$/);
  });

  it('exports the contact list as CSV with a purpose, audited; without one refuses it, audited as denied', async () => {
    const none = await get(`/api/cases/${caseId}/contacts.csv`, zhAnalyst);
    expect(none.status).toBe(400);
    expect((await none.json()).message).toMatch(/querystring\.purpose/);
    expect((await fx.store.searchAudit({ action: 'trace.export', caseId })).rows[0]).toMatchObject({ outcome: 'denied', username: 'zh-analyst' });
    const res = await get(`/api/cases/${caseId}/contacts.csv?purpose=${encodeURIComponent('hand-over to health department')}`, zhAnalyst);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/csv/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const lines = (await res.text()).trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('139****0002');
    expect((await fx.store.searchAudit({ action: 'trace.export', caseId })).rows[0]).toMatchObject({ purpose: 'hand-over to health department', username: 'zh-analyst' });
  });

  it('answers 404 for another jurisdiction\'s case, trace, export, command and person — by id and by search', async () => {
    expect((await get(`/api/cases/${caseId}`, hsAnalyst)).status).toBe(404);
    expect((await post('/api/trace', { caseId, purpose: 'curiosity is no purpose' }, hsAnalyst)).status).toBe(404);
    expect((await get(`/api/cases/${caseId}/contacts.csv?purpose=export+attempt`, hsAnalyst)).status).toBe(404);
    expect((await fx.store.searchAudit({ action: 'trace.read', userId: undefined, username: 'hs-analyst' })).total).toBe(0);
    const cmd = (await (await get('/api/commands', zhOfficer)).json()).commands[0];
    expect((await get(`/api/commands/${cmd.id}`, hsOfficer)).status).toBe(404);
    expect((await post(`/api/commands/${cmd.id}/accept`, {}, hsOfficer)).status).toBe(404);
    // The same person: found inside the subtree, invisible outside it.
    const mine = await (await get(`/api/people?q=${CONTACT_PHONE}`, zhAnalyst)).json();
    expect(mine.people).toHaveLength(1);
    expect(mine.people[0].ids).toContain('phone:139****0002');
    const theirs = await (await get(`/api/people?q=${CONTACT_PHONE}`, hsAnalyst)).json();
    expect(theirs.people).toEqual([]);
    const ref = mine.people[0].personRef as string;
    const why = `purpose=${encodeURIComponent('check the contact before the visit')}&caseId=${caseId}`;
    expect((await get(`/api/people/${ref}?${why}`, zhAnalyst)).status).toBe(200);
    expect((await fx.store.searchAudit({ action: 'person.read', username: 'zh-analyst' })).rows[0]).toMatchObject({ subject: `person:${ref}`, role: 'analyst', outcome: 'ok', caseId, purpose: 'check the contact before the visit' });
    expect((await get(`/api/people/${ref}?${why}`, hsAnalyst)).status).toBe(404);
    expect((await get(`/api/people/p_${'A'.repeat(40)}?${why}`, zhAnalyst)).status).toBe(404);
    const denied = await fx.store.searchAudit({ username: 'hs-analyst', action: 'authz.denied' });
    expect(denied.total).toBeGreaterThan(0);
  });

  it('reveals identifiers only with a purpose, and audits the reveal', async () => {
    const found = await (await get(`/api/people?q=phone:${CONTACT_PHONE}`, zhOfficer)).json();
    const ref = found.people[0].personRef as string;
    const none = await post(`/api/people/${ref}/reveal`, {}, zhOfficer);
    expect(none.status).toBe(400);
    expect((await none.json()).message).toMatch(/^body\.purpose: a purpose is required/);
    expect((await fx.store.searchAudit({ action: 'person.reveal', outcome: 'denied' })).rows[0]).toMatchObject({ username: 'zh-officer', subject: `person:${ref}`, purpose: null });
    const res = await post(`/api/people/${ref}/reveal`, { purpose: 'on-site verification', caseId }, zhOfficer);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.ids).toEqual(expect.arrayContaining([`phone:${CONTACT_PHONE}`, `id_card:${CONTACT_ID_CARD}`]));
    expect(body.registered[0]).toMatchObject({ name: '张三', address: '骆驼街道 1 号' });
    const audit = await fx.store.searchAudit({ action: 'person.reveal' });
    expect(audit.rows[0]).toMatchObject({ username: 'zh-officer', purpose: 'on-site verification', caseId, subject: `person:${ref}` });
  });

  it('moves a command through accept and feedback, with its history, and streams the change to the precinct', async () => {
    const cmd = (await (await get('/api/commands', zhOfficer)).json()).commands[0];
    const ctrl = new AbortController();
    const stream = await fetch(`${fx.url}/api/events`, { headers: { cookie: zhOfficer }, signal: ctrl.signal });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const decoder = new TextDecoder();
    while (!text.includes('event: hello')) text += decoder.decode((await reader.read()).value);
    const accepted = await post(`/api/commands/${cmd.id}/accept`, { version: cmd.version }, zhOfficer);
    expect(accepted.status).toBe(200);
    expect((await accepted.json()).command.state).toBe('accepted');
    // The inbox answer is cached, but a change through the loop drops it at once.
    const inbox = await (await get('/api/commands', zhOfficer)).json();
    expect(inbox.commands.find((c: { id: string }) => c.id === cmd.id).state).toBe('accepted');
    while (!text.includes('event: command.changed')) text += decoder.decode((await reader.read()).value);
    expect(text).toContain(cmd.id);
    ctrl.abort();
    const stale = await post(`/api/commands/${cmd.id}/accept`, { version: cmd.version }, zhOfficer);
    expect(stale.status).toBe(409);
    const bad = await post(`/api/commands/${cmd.id}/feedback`, { outcome: 'maybe' }, zhOfficer);
    expect(bad.status).toBe(400);
    expect((await bad.json()).details[0]).toMatchObject({ field: 'body.outcome' });
    const fb = await post(`/api/commands/${cmd.id}/feedback`, { outcome: 'tested_negative', temperature: 36.6, notes: 'at home' }, zhOfficer);
    expect(fb.status).toBe(200);
    const history = await (await get(`/api/commands/${cmd.id}/history`, zhOfficer)).json();
    expect(history.events.map((e: { kind: string }) => e.kind)).toEqual(expect.arrayContaining(['pushed', 'accepted']));
    expect(history.feedback[0]).toMatchObject({ outcome: 'tested_negative' });
  });

  it('lists a case\'s leads within the subtree, each list read on the audit trail', async () => {
    const why = `purpose=${encodeURIComponent('review the contacts of the case')}`;
    const mine = await (await get(`/api/leads?caseId=${caseId}&${why}`, zhAnalyst)).json();
    expect(mine.leads).toHaveLength(1);
    expect(mine.leads[0].ids).toContain('phone:139****0002');
    expect((await (await get(`/api/leads?caseId=${caseId}&${why}`, hsAnalyst)).json()).leads).toEqual([]);
    expect((await get(`/api/leads/${mine.leads[0].id}?${why}`, hsAnalyst)).status).toBe(404);
    const trail = await fx.store.searchAudit({ action: 'leads.read', caseId, outcome: 'ok' });
    expect(trail.rows.map((r) => [r.username, (r.detail as { count: number }).count])).toEqual([['hs-analyst', 0], ['zh-analyst', 1]]);
  });

  it('refuses a lead list without a purpose or a case with a clear 400, and audits the refusal', async () => {
    const none = await get(`/api/leads?caseId=${caseId}`, zhAnalyst);
    expect(none.status).toBe(400);
    const body = await none.json();
    expect(body).toMatchObject({ error: 'purpose_required' });
    expect(body.message).toMatch(/^querystring\.purpose: a purpose is required/);
    expect(JSON.stringify(body)).not.toContain('139');
    const short = await get(`/api/leads?caseId=${caseId}&purpose=abc`, zhAnalyst);
    expect(short.status).toBe(400);
    expect((await short.json()).message).toMatch(/^querystring\.purpose: must have at least 4 characters/);
    // A contact list serves a case: a purpose alone is not enough.
    const noCase = await get(`/api/leads?purpose=${encodeURIComponent('review all contacts')}`, zhAnalyst);
    expect(noCase.status).toBe(400);
    expect((await noCase.json()).message).toMatch(/^querystring\.caseId: a case is required/);
    const refused = await fx.store.searchAudit({ action: 'leads.read', outcome: 'denied', username: 'zh-analyst' });
    expect(refused.total).toBe(3);
    expect(refused.rows.map((r) => [r.caseId, r.purpose])).toEqual([[null, 'review all contacts'], [caseId, 'abc'], [caseId, null]]);
    expect(refused.rows[2]).toMatchObject({ role: 'analyst', jurisdiction: 'NB-ZH', subject: `case:${caseId}` });
    expect((refused.rows[2].detail as { refused: string }).refused).toMatch(/querystring\.purpose/);
    expect((await fx.store.searchAudit({ action: 'leads.read', outcome: 'ok', username: 'zh-analyst' })).total).toBe(1);
  });

  it('lists the leads of the whole chain through a case, with a purpose, on the trail', async () => {
    const why = encodeURIComponent('draw the transmission chain');
    const res = await get(`/api/leads?caseId=${caseId}&chain=true&purpose=${why}`, zhAnalyst);
    expect(res.status).toBe(200);
    const leads = (await res.json()).leads as { caseId: string; ids: string[] }[];
    expect(leads.length).toBeGreaterThanOrEqual(1);
    expect(new Set(leads.map((l) => l.caseId)).has(caseId)).toBe(true);
    const row = (await fx.store.searchAudit({ action: 'leads.read', outcome: 'ok' })).rows.find((r) => r.purpose === 'draw the transmission chain');
    expect(row).toMatchObject({ caseId, outcome: 'ok', username: 'zh-analyst' });
    expect(row?.detail).toMatchObject({ chain: true, count: leads.length });
    // The chain of another unit's case is not found, and nothing is listed.
    expect((await get(`/api/leads?caseId=${caseId}&chain=true&purpose=${why}`, hsAnalyst)).status).toBe(404);
  });

  it('refuses a lead\'s detail without a purpose, and reads it with one under the lead\'s case', async () => {
    const [lead] = (await (await get(`/api/leads?caseId=${caseId}&purpose=${encodeURIComponent('pick a lead to check')}`, zhAnalyst)).json()).leads as { id: string }[];
    const none = await get(`/api/leads/${lead.id}`, zhAnalyst);
    expect(none.status).toBe(400);
    expect((await none.json()).message).toMatch(/querystring\.purpose/);
    expect((await fx.store.searchAudit({ action: 'lead.read', outcome: 'denied' })).rows[0]).toMatchObject({ subject: `lead:${lead.id}`, username: 'zh-analyst' });
    const res = await get(`/api/leads/${lead.id}?purpose=${encodeURIComponent('check the evidence')}`, zhAnalyst);
    expect(res.status).toBe(200);
    expect((await res.json()).exposures.length).toBeGreaterThan(0);
    expect((await fx.store.searchAudit({ action: 'lead.read', outcome: 'ok' })).rows[0]).toMatchObject({ caseId, purpose: 'check the evidence' });
  });

  it('refuses a person\'s page without a purpose with a clear 400 and a denied audit row; with one it shows the status history', async () => {
    const ref = (await (await get(`/api/people?q=phone:${CONTACT_PHONE}`, zhAnalyst)).json()).people[0].personRef as string;
    const none = await get(`/api/people/${ref}`, zhAnalyst);
    expect(none.status).toBe(400);
    const body = await none.json();
    expect(body).toMatchObject({ error: 'purpose_required' });
    expect(body.message).toMatch(/^querystring\.purpose: a purpose is required/);
    expect(JSON.stringify(body)).not.toContain('139');
    const refused = await fx.store.searchAudit({ action: 'person.read', outcome: 'denied' });
    expect(refused.total).toBe(1);
    expect(refused.rows[0]).toMatchObject({ username: 'zh-analyst', role: 'analyst', jurisdiction: 'NB-ZH', subject: `person:${ref}`, purpose: null, caseId: null });
    // Refused before anything is looked up: the same for someone outside the subtree.
    expect((await get(`/api/people/${ref}`, hsAnalyst)).status).toBe(400);
    expect((await fx.store.searchAudit({ action: 'person.read', outcome: 'denied', username: 'hs-analyst' })).total).toBe(1);
    // Opened from search there may be no case: the purpose is enough, and the trail says so.
    const fromSearch = await get(`/api/people/${ref}?purpose=${encodeURIComponent('resident asked at the counter')}`, zhAnalyst);
    expect(fromSearch.status).toBe(200);
    const page = await fromSearch.json();
    expect(page.exposures.length).toBeGreaterThan(0);
    expect(page.statusHistory.length).toBeGreaterThanOrEqual(1);
    expect(page.statusHistory.map((h: { status: string }) => h.status).at(-1)).toBe(page.status.status);
    expect(page.statusHistory[0]).not.toHaveProperty('personKey');
    expect(JSON.stringify(page)).not.toContain(CONTACT_PHONE);
    const ok = (await fx.store.searchAudit({ action: 'person.read', outcome: 'ok' })).rows.find((r) => r.purpose === 'resident asked at the counter');
    expect(ok).toMatchObject({ username: 'zh-analyst', caseId: null, subject: `person:${ref}` });
  });

  it('serves a precinct officer\'s inbox without a purpose: a work list with masked identifiers', async () => {
    const res = await get('/api/commands', zhOfficer);
    expect(res.status).toBe(200);
    const inbox = await res.json();
    expect(inbox.total).toBeGreaterThan(0);
    expect(JSON.stringify(inbox)).not.toContain(CONTACT_PHONE);
    expect(JSON.stringify(inbox)).not.toContain(CONTACT_ID_CARD);
  });

  it('summarises the dashboard within the subtree', async () => {
    const mine = await (await get('/api/dashboard', zhAnalyst)).json();
    expect(mine.cases.confirmed).toBe(1);
    expect(mine.epidemicCurve).toEqual([{ date: '2026-02-28', cases: 1 }]);
    const theirs = await (await get('/api/dashboard', hsAnalyst)).json();
    expect(theirs.cases.confirmed).toBe(0);
  });

  it('drops the shared chain lead list when the chain changes', async () => {
    const why = encodeURIComponent('draw the transmission chain');
    expect((await get(`/api/leads?caseId=${caseId}&chain=true&purpose=${why}`, zhAnalyst)).status).toBe(200);
    // A case infected through this one joins the chain at once (the shared list is dropped on the change).
    const child = await post('/api/cases', { ids: ['phone:13700000009'], classification: 'suspected', onset: '2026-02-28', jurisdiction: 'NB-ZH-01', sourceCaseId: caseId, trace: false }, zhAnalyst);
    expect(child.status).toBe(201);
    expect((await get(`/api/leads?caseId=${caseId}&chain=true&purpose=${why}`, zhAnalyst)).status).toBe(200);
    const rows = (await fx.store.searchAudit({ action: 'leads.read', outcome: 'ok' })).rows.filter((r) => r.purpose === 'draw the transmission chain');
    expect(rows.map((r) => (r.detail as { cases: number }).cases)).toEqual([2, 1, 1]);
  });

  it('ingests an uploaded file, sends bad rows to a downloadable rejects file, and audits the upload', async () => {
    const { totpSecret } = await fx.addUser('data-admin', 'admin', 'NB');
    const admin = await fx.login('data-admin', totpSecret);
    const csv = [
      'id_kind,id_value,place_kind,place_id,start,end,sub,lat,lon,source',
      'phone,13700000003,venue,V7,2026-02-27T09:00:00+08:00,2026-02-27T09:30:00+08:00,,,,upload',
      'phone,13700000004,venue,V7,2026-13-45T09:00:00+08:00,2026-02-27T09:30:00+08:00,,,,upload',
    ].join('\n');
    const denied = await fetch(`${fx.url}/api/ingest?name=scans.csv`, { method: 'POST', headers: { cookie: zhOfficer, 'content-type': 'text/csv' }, body: csv });
    expect(denied.status).toBe(403);
    const ctrl = new AbortController();
    const stream = await fetch(`${fx.url}/api/events`, { headers: { cookie: admin }, signal: ctrl.signal });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('event: hello')) text += decoder.decode((await reader.read()).value);
    const res = await fetch(`${fx.url}/api/ingest?name=scans.csv`, { method: 'POST', headers: { cookie: admin, 'content-type': 'text/csv' }, body: csv });
    expect(res.status).toBe(200);
    // Progress reached the uploader as live events, ending with the done phase.
    while (!text.includes('"phase":"done"')) text += decoder.decode((await reader.read()).value);
    expect(text).toMatch(/event: ingest\.progress\ndata: \{"uploadId":"[0-9a-f-]{36}","phase":"done"/);
    ctrl.abort();
    const summary = await res.json();
    expect(summary).toMatchObject({ kind: 'presences', rowsRead: 2, accepted: 1, rejected: 1 });
    const rejects = await fetch(`${fx.url}${summary.rejects}`, { headers: { cookie: admin } });
    expect(rejects.status).toBe(200);
    expect(await rejects.text()).toMatch(/^line,field,reason/);
    expect((await fx.store.searchAudit({ action: 'ingest.upload' })).rows[0].detail).toMatchObject({ accepted: 1, rejected: 1 });
    // The same through a multipart form, as a browser form sends it; the file name comes from the form.
    const form = new FormData();
    form.append('note', 'second batch');
    form.append('file', new Blob([csv.replace(/13700000003/, '13700000005')], { type: 'text/csv' }), 'scans-2.csv');
    const viaForm = await fetch(`${fx.url}/api/ingest`, { method: 'POST', headers: { cookie: admin }, body: form });
    expect(viaForm.status).toBe(200);
    expect(await viaForm.json()).toMatchObject({ name: 'scans-2.csv', kind: 'presences', accepted: 1, rejected: 1 });
    const noName = await fetch(`${fx.url}/api/ingest`, { method: 'POST', headers: { cookie: admin, 'content-type': 'text/csv' }, body: csv });
    expect((await noName.json()).message).toMatch(/querystring\.name/);
    const notData = await fetch(`${fx.url}/api/ingest?name=notes.csv`, { method: 'POST', headers: { cookie: admin, 'content-type': 'text/csv' }, body: 'hello,world\n1,2\n' });
    expect(notData.status).toBe(400);
    expect((await notData.json()).message).toMatch(/notes\.csv/);
  });

  it('documents every route in the OpenAPI document', async () => {
    const doc = await (await fetch(`${fx.url}/api/docs/json`)).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      '/api/cases', '/api/cases/{id}/confirm', '/api/trace', '/api/cases/{id}/contacts.csv', '/api/leads', '/api/commands',
      '/api/commands/{id}/feedback', '/api/commands/{id}/transfer', '/api/people', '/api/people/{ref}/reveal', '/api/jurisdictions/geojson',
      '/api/dashboard', '/api/ingest',
    ]));
    // Purpose and case are checked by the handler (so a refusal is audited), and documented as required.
    const traceBody = doc.paths['/api/trace'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(traceBody.properties)).toEqual(expect.arrayContaining(['caseId', 'purpose']));
    expect(traceBody.properties.purpose.description).toMatch(/required/);
  });

  it('writes no phone or ID number into the log', () => {
    const logs = fx.logs();
    expect(logs).toMatch(/"route":"\/api\/trace"/);
    expect(logs).toMatch(/"route":"\/api\/people"/);
    for (const secret of [CASE_PHONE, CONTACT_PHONE, CONTACT_ID_CARD, '张三']) expect(logs).not.toContain(secret);
  });
});
