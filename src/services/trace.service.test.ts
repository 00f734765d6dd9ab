import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IdentityService } from './identity.service.ts';
import { IngestService } from './ingest.service.ts';
import { PresenceTraceService } from './trace.service.ts';
import { DuckDbPresenceStore, openDuckDbScratch } from '../stores/presence/duckdb/duckdb-presence-store.ts';

const HEADER = 'id_kind,id_value,place_kind,place_id,start,end,sub,lat,lon,source\n';
const NOW = Date.parse('2020-02-10T00:00:00+08:00');

describe('PresenceTraceService on DuckDB with ingest', () => {
  let dir: string;
  let store: DuckDbPresenceStore;
  let ingest: IngestService;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-trace-svc-'));
    store = await DuckDbPresenceStore.open(':memory:');
    ingest = new IngestService(store, { timeZone: 'Asia/Shanghai', rejectsDir: path.join(dir, 'rejects') }, openDuckDbScratch);
    fs.writeFileSync(path.join(dir, 'a.csv'), HEADER + [
      'phone,13800000001,venue,V1,2020-01-26T10:00:00+08:00,2020-01-26T11:00:00+08:00,,,,venue_qr',
      'phone,13800000002,venue,V1,2020-01-26T10:30:00+08:00,2020-01-26T11:30:00+08:00,,,,venue_qr',
      'id_card,330203199001011234,train,G1-20200126,2020-01-26T14:00:00+08:00,2020-01-26T16:00:00+08:00,07-12-F,,,rail_manifest',
    ].join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'links.csv'), 'a_kind,a_value,b_kind,b_value,source\nid_card,330203199001011234,phone,13800000001,telecom\n');
    await ingest.ingestFile(path.join(dir, 'links.csv'));
    await ingest.ingestFile(path.join(dir, 'a.csv'));
  });

  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('traces over the index and over the store alike, with identity links', async () => {
    const req = { id: 'phone:13800000001', onset: '2020-01-27', rules: 'v8', now: NOW };
    const viaIndex = await PresenceTraceService.start({ store, timeZone: 'Asia/Shanghai', mode: 'index' });
    const viaStore = await PresenceTraceService.start({ store, timeZone: 'Asia/Shanghai', mode: 'store' });
    expect(viaIndex.sourceName).toBe('index');
    expect(viaStore.sourceName).toBe('duckdb');
    const a = await viaIndex.trace(req);
    const b = await viaStore.trace(req);
    expect(a.person.ids).toEqual(['id_card:330203199001011234', 'phone:13800000001']);
    expect(a.trajectory.map((p) => p.place)).toEqual(['venue:V1', 'train:G1-20200126']);
    expect(a.contacts.map((c) => [c.key, c.category])).toEqual([['phone:13800000002', 'close']]);
    expect({ ...b, summary: a.summary }).toEqual(a);
  });

  it('keeps the index current: rows ingested after start are visible to the next trace', async () => {
    const sut = await PresenceTraceService.start({ store, timeZone: 'Asia/Shanghai', mode: 'index' });
    const errors: Error[] = [];
    const stop = sut.follow(ingest, (e) => errors.push(e));
    const req = { id: 'id_card:330203199001011234', onset: '2020-01-27', rules: 'v8', degree: 1 as const, now: NOW };
    expect((await sut.trace(req)).contacts.map((c) => c.key)).toEqual(['phone:13800000002']);
    fs.writeFileSync(path.join(dir, 'b.csv'), HEADER + [
      'phone,13900000009,train,G1-20200126,2020-01-26T14:00:00+08:00,2020-01-26T16:00:00+08:00,07-15-A,,,rail_manifest',
      'phone,13900000010,train,G1-20200126,2020-01-26T14:00:00+08:00,2020-01-26T16:00:00+08:00,07-16-A,,,rail_manifest',
    ].join('\n') + '\n');
    await ingest.ingestFile(path.join(dir, 'b.csv'));
    await sut.live?.settled();
    stop();
    expect(errors).toEqual([]);
    const after = await sut.trace(req);
    // Ordered by category, then risk: the neighbour three rows away outranks the venue contact.
    expect(after.contacts.map((c) => [c.key, c.category])).toEqual([
      ['phone:13900000009', 'close'], ['phone:13800000002', 'close'], ['phone:13900000010', 'general'],
    ]);
    expect(after.contacts.find((c) => c.key === 'phone:13900000009')?.evidence[0]).toMatchObject({ rule: 'vehicle-rows', seatDistance: 3 });
  });

  it('groups people as identity resolution does: a phone linked to two ID cards does not join the two', async () => {
    fs.writeFileSync(path.join(dir, 'conflict.csv'), 'a_kind,a_value,b_kind,b_value,source\nid_card,110101199001011237,phone,13800000001,wrong_feed\n');
    await ingest.ingestFile(path.join(dir, 'conflict.csv'));
    const identity = new IdentityService(store, { all: () => Promise.resolve([]), append: () => Promise.resolve() });
    const sut = await PresenceTraceService.start({ store, timeZone: 'Asia/Shanghai', mode: 'index', identity });
    const r = await sut.trace({ id: 'phone:13800000001', onset: '2020-01-27', rules: 'v8', degree: 1, now: NOW });
    // One of the two links is held back for an analyst: the person has one ID card, not both.
    expect(r.person.ids.filter((i) => i.startsWith('id_card:'))).toHaveLength(1);
    expect(r.person.ids).toContain('phone:13800000001');
    // Merging every raw link instead joins both ID cards (one has no presences: listed all the same).
    const merged = await PresenceTraceService.start({ store, timeZone: 'Asia/Shanghai', mode: 'index' });
    const m = await merged.trace({ id: 'phone:13800000001', onset: '2020-01-27', rules: 'v8', degree: 1, now: NOW });
    expect(m.person.ids).toEqual(['id_card:110101199001011237', 'id_card:330203199001011234', 'phone:13800000001']);
  });
});
