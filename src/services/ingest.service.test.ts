import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDbPresenceStore, openDuckDbScratch } from '../stores/presence/duckdb/duckdb-presence-store.ts';
import type { PresenceChunk, PresenceStore } from '../stores/presence/presence-store.ts';
import { IngestFormatError, IngestService } from './ingest.service.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-ingest-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const HEADER = 'id_kind,id_value,place_kind,place_id,start,end,sub,lat,lon,source';
let fileSeq = 0;

function write(name: string, content: string | Buffer): string {
  const file = path.join(dir, `${++fileSeq}-${name}`);
  fs.writeFileSync(file, content);
  return file;
}

/** Rejects CSV → rows keyed by line. */
function readRejects(file: string | null): Map<number, { field: string; reason: string; value: string }> {
  const out = new Map<number, { field: string; reason: string; value: string }>();
  if (!file) return out;
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').slice(1);
  for (const l of lines) {
    const m = /^(\d+),([^,]*),("(?:[^"]|"")*"|[^,]*),(.*)$/.exec(l);
    if (!m) throw new Error(`unreadable rejects line ${l}`);
    const unq = (s: string): string => (s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s);
    out.set(Number(m[1]), { field: m[2], reason: unq(m[3]), value: unq(m[4]) });
  }
  return out;
}

const at = (iso: string): number => Date.parse(iso) / 1000;

describe('IngestService', () => {
  let store: DuckDbPresenceStore;
  let sut: IngestService;
  const rejectsDir = path.join(dir, 'rejects');

  beforeEach(async () => {
    store = await DuckDbPresenceStore.open(':memory:', { threads: 1 });
    sut = new IngestService(store, { timeZone: 'Asia/Shanghai', rejectsDir });
  });
  afterEach(async () => {
    await store.close();
  });

  it('rejects every bad record with its line, field and reason, and stores the good ones', async () => {
    const rows = [
      HEADER, // 1
      'phone,13800000001,venue,V1,2020-01-25T14:05:00+08:00,2020-01-25T15:05:00+08:00,,29.87,121.55,qr', // 2 ok
      'phone,13800000001,venue,V1,2020-13-45T10:00:00+08:00,,,,,qr', // 3 impossible date
      'phone,13800000001,venue,V1,25/01/2020 10:00,,,,,qr', // 4 not ISO
      'fax,1,venue,V1,2020-01-25T14:05:00+08:00,,,,,', // 5 unknown id kind
      'phone,,venue,V1,2020-01-25T14:05:00+08:00,,,,,', // 6 empty identifier
      'phone,1,spaceship,V1,2020-01-25T14:05:00+08:00,,,,,', // 7 unknown place kind
      'phone,1,venue,,2020-01-25T14:05:00+08:00,,,,,', // 8 empty place id
      'phone,1,venue,V1,2020-01-25T14:05:00Z,2020-01-25T14:00:00Z,,,,', // 9 end before start
      'phone,1,venue,V1,2020-01-25T14:05:00Z,,,95,121,', // 10 latitude
      'phone,1,venue,V1,2020-01-25T14:05:00Z,,,29,181,', // 11 longitude
      'phone,1,venue,V1,2020-01-25T14:05:00Z,,,north,121,', // 12 not a number
      'phone,1,venue', // 13 too few columns
      'phone,1,venue,V1,2020-01-25T14:05:00Z,,,,,,extra', // 14 too many columns
      'phone,"1,venue,V1,2020-01-25T14:05:00Z,,,,,', // 15 unbalanced quote
      `phone,${'9'.repeat(2000)},venue,V1,2020-01-25T14:05:00Z,,,,,`, // 16 too long
      '', // 17 blank: not a record
      'phone,13800000002,checkpoint,C1,2020-01-25T14:05:00Z,,,,,', // 18 ok
      'phone,1,venue,V1,2021-02-29,,,,,', // 19 impossible date-only
      'phone,1,venue,V1,,,,,,', // 20 missing start
      '   ', // 21 spaces only: not silently dropped
    ];
    const file = write('bad.csv', rows.join('\n') + '\n');
    const summary = await sut.ingestFile(file);
    expect(summary).toMatchObject({ kind: 'presences', format: 'csv', rowsRead: 19, accepted: 2, rejected: 17, duplicates: 0 });
    const rej = readRejects(summary.rejectsPath);
    const expected: [number, string, RegExp][] = [
      [3, 'start', /impossible date/],
      [4, 'start', /not an ISO 8601/],
      [5, 'id_kind', /unknown identifier kind/],
      [6, 'id_value', /empty identifier/],
      [7, 'place_kind', /unknown place kind/],
      [8, 'place_id', /empty place id/],
      [9, 'end', /end is before start/],
      [10, 'lat', /latitude out of range/],
      [11, 'lon', /longitude out of range/],
      [12, 'lat', /not a number/],
      [13, '(row)', /expected 10, found 3/],
      [14, '(row)', /expected 10, found 11/],
      [15, '(line)', /unbalanced quotes/],
      [16, 'id_value', /too long: 2000 characters/],
      [19, 'start', /impossible date/],
      [20, 'start', /empty time/],
      [21, '(line)', /blank line/],
    ];
    for (const [line, field, reason] of expected) {
      expect(rej.get(line), `line ${line}`).toMatchObject({ field, reason: expect.stringMatching(reason) });
    }
    expect(rej.get(3)?.value).toBe('2020-13-45T10:00:00+08:00');
    expect([...rej.keys()]).toEqual(expected.map(([line]) => line));
  });

  it('reads a BOM, CRLF line ends, commas and Chinese in quoted fields, and invalid UTF-8 on one line', async () => {
    const body = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(`${HEADER}\r\n`),
      Buffer.from('phone,13800000001,venue,"宁波市海曙区, ""鼓楼"" 棋牌室",2020-01-25T14:05:00+08:00,2020-01-25T15:05:00+08:00,"07-12-F",,,"feed, one"\r\n'),
      Buffer.from('phone,'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(',venue,V1,2020-01-25T14:05:00+08:00,,,,,\r\n'),
      Buffer.from('phone,13800000003,venue,V1,2020-01-25T14:05:00+08:00,,,,,\r\n'),
      Buffer.from('"phone","13800000004","venue","金桥 V1","2020-01-25T14:05:00+08:00","","","29.1","121.2",""\r\n'),
      Buffer.from('"phone","13800000005","venue","V1","2020-01-25T14:05:00+08:00"\r\n'),
    ]);
    const summary = await sut.ingestFile(write('bom.csv', body));
    expect(summary).toMatchObject({ rowsRead: 5, accepted: 3, rejected: 2 });
    expect(readRejects(summary.rejectsPath).get(6)).toMatchObject({ field: '(row)', reason: expect.stringMatching(/expected 10, found 5/) });
    expect((await store.presencesOf(['phone:13800000004'], 0, 2 ** 32 - 1))[0]).toMatchObject({ placeId: '金桥 V1', lat: 29.1 });
    expect(readRejects(summary.rejectsPath).get(3)).toMatchObject({ field: '(line)', reason: expect.stringMatching(/invalid UTF-8/) });
    const got = await store.presencesOf(['phone:13800000001'], 0, 2 ** 32 - 1);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ placeId: '宁波市海曙区, "鼓楼" 棋牌室', sub: '07-12-F', source: 'feed, one', start: at('2020-01-25T06:05:00Z') });
    expect(await store.presencesOf(['phone:13800000003'], 0, 2 ** 32 - 1)).toHaveLength(1);
  });

  it('reads people, links and JSON Lines whose line ends mix LF, CRLF and a CR alone, with true line numbers', async () => {
    const people = (p: string): string[] => ['id_kind,id_value,name,address,lat,lon,jurisdiction', `id_card,${p}1,张三,"海曙区, 1 号",,,`, `id_card,${p}2,李四,,91,0,`, `id_card,${p}3,王五,,,,`, 'phone,,x,,,,', `id_card,${p}5,赵六,,,,`];
    const mixed = (lines: string[], ends: string[]): string => lines.map((l, i) => l + ends[i % ends.length]).join('');
    const a = await sut.ingestFile(write('people-mixed.csv', mixed(people(''), ['\r\n', '\n', '\r'])));
    const b = await sut.ingestFile(write('people-cr.csv', people('c').join('\r')));
    for (const summary of [a, b]) {
      expect(summary).toMatchObject({ kind: 'people', rowsRead: 5, accepted: 3, rejected: 2 });
      expect(readRejects(summary.rejectsPath).get(3)).toMatchObject({ field: 'lat' });
      expect(readRejects(summary.rejectsPath).get(5)).toMatchObject({ field: 'id_value', reason: 'empty identifier' });
    }
    expect((await store.people(['id_card:1', 'id_card:3', 'id_card:5', 'id_card:c3'])).map((p) => p.name).sort()).toEqual(['张三', '王五', '王五', '赵六']);
    const links = await sut.ingestFile(write('links-mixed.csv', mixed(['a_kind,a_value,b_kind,b_value,source', 'phone,1,id_card,1,x', 'phone,1,phone,1,x', 'phone,2,id_card,3,x'], ['\r', '\r\n'])));
    expect(links).toMatchObject({ kind: 'identity_links', accepted: 2, rejected: 1 });
    expect(readRejects(links.rejectsPath).get(3)).toMatchObject({ field: 'b_value', reason: 'links an identifier to itself' });
    const jsonl = [
      '{"id_kind":"phone","id_value":"j1","place_kind":"venue","place_id":"V1","start":"2020-01-25T14:05:00+08:00"}',
      '{"id_kind":"phone","id_value":"j2","place_kind":"venue","place_id":"V1","start":"2020-13-25T14:05:00+08:00"}',
      '{"id_kind":"phone","id_value":"j3","place_kind":"venue","place_id":"V1","start":"2020-01-25T14:05:00+08:00"}',
    ];
    const j = await sut.ingestFile(write('mixed.jsonl', mixed(jsonl, ['\r', '\n', '\r\n'])));
    expect(j).toMatchObject({ kind: 'presences', rowsRead: 3, accepted: 2, rejected: 1 });
    expect(readRejects(j.rejectsPath).get(2)).toMatchObject({ field: 'start' });
    // The copy the SQL engine read the file from is gone.
    expect(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(`cordon-lf-${process.pid}-`))).toEqual([]);
  });

  it('rejects a line longer than the limit without reading it, and goes on', async () => {
    const file = write('huge-line.csv', [
      HEADER,
      'phone,1,venue,V1,2020-01-25T14:05:00Z,,,,,',
      `phone,${'9'.repeat(3_000_000)},venue,V1,2020-01-25T14:05:00Z,,,,,`,
      'phone,2,venue,V1,2020-01-25T14:05:00Z,,,,,',
    ].join('\n'));
    const summary = await sut.ingestFile(file);
    expect(summary).toMatchObject({ rowsRead: 3, accepted: 2, rejected: 1 });
    expect(readRejects(summary.rejectsPath).get(3)).toMatchObject({ field: '(line)', reason: expect.stringMatching(/line too long/) });
  });

  it('keeps line numbers true after several unreadable lines, consecutive or not', async () => {
    const bad = Buffer.from([0xc3, 0x28]);
    const ok = (n: number): Buffer => Buffer.from(`phone,${n},venue,V1,2020-01-25T14:05:00Z,,,,,\n`);
    const short = Buffer.from('phone,1,venue\n');
    const body = Buffer.concat([
      Buffer.from(`${HEADER}\n`), // 1
      ok(2), // 2
      Buffer.concat([Buffer.from('phone,'), bad, Buffer.from('\n')]), // 3
      Buffer.concat([bad, Buffer.from('\n')]), // 4
      short, // 5
      Buffer.concat([bad, Buffer.from('\n')]), // 6
      ok(7), // 7
      short, // 8
      ok(9), // 9
    ]);
    const summary = await sut.ingestFile(write('shifts.csv', body));
    expect(summary).toMatchObject({ rowsRead: 8, accepted: 3, rejected: 5 });
    const rej = readRejects(summary.rejectsPath);
    expect([...rej.entries()].map(([line, r]) => `${line}:${r.field}`)).toEqual(['3:(line)', '4:(line)', '5:(row)', '6:(line)', '8:(row)']);
    for (const v of ['2', '7', '9']) expect(await store.presencesOf([`phone:${v}`], 0, 2 ** 32 - 1)).toHaveLength(1);
  });

  it('honours offsets, reads offset-less times in the deployment zone, and expands dates and point events', async () => {
    const file = write('times.csv', [
      HEADER,
      'phone,a,venue,V1,2020-01-25T14:05:00+08:00,2020-01-25T14:35:00+08:00,,,,',
      'phone,b,venue,V1,2020-01-25T06:05:00Z,2020-01-25T06:35:00Z,,,,',
      'phone,c,venue,V1,2020-01-25T14:05,,,,,',
      'phone,d,venue,V1,2020-01-25,,,,,',
      'phone,e,checkpoint,K1,2020-01-25T01:00:00-05:00,,,,,',
      'phone,f,hospital,H1,2020-01-25 14:05:00+08:00,2020-01-25 14:05:00+08:00,,,,',
    ].join('\n'));
    const summary = await sut.ingestFile(file);
    expect(summary).toMatchObject({ accepted: 6, rejected: 0 });
    const one = async (v: string) => (await store.presencesOf([`phone:${v}`], 0, 2 ** 32 - 1))[0];
    expect(await one('a')).toMatchObject({ start: at('2020-01-25T06:05:00Z'), end: at('2020-01-25T06:35:00Z'), dateOnly: false, pointEvent: false });
    expect(await one('b')).toMatchObject({ start: at('2020-01-25T06:05:00Z'), end: at('2020-01-25T06:35:00Z') });
    expect(await one('c')).toMatchObject({ start: at('2020-01-25T06:05:00Z'), end: at('2020-01-25T06:35:00Z'), pointEvent: true });
    expect(await one('d')).toMatchObject({ start: at('2020-01-24T16:00:00Z'), end: at('2020-01-25T16:00:00Z'), dateOnly: true, pointEvent: false });
    expect(await one('e')).toMatchObject({ start: at('2020-01-25T06:00:00Z'), end: at('2020-01-25T06:05:00Z'), pointEvent: true });
    expect(await one('f')).toMatchObject({ start: at('2020-01-25T06:05:00Z'), end: at('2020-01-25T07:05:00Z'), pointEvent: true });
  });

  it('makes a date-only presence the whole local day, 23 hours on a spring-forward day', async () => {
    const berlin = new IngestService(store, { timeZone: 'Europe/Berlin', rejectsDir });
    await berlin.ingestFile(write('dst.csv', [HEADER, 'phone,dst,venue,V1,2021-03-28,,,,,'].join('\n')));
    const [p] = await store.presencesOf(['phone:dst'], 0, 2 ** 32 - 1);
    expect(p).toMatchObject({ start: at('2021-03-27T23:00:00Z'), end: at('2021-03-28T22:00:00Z'), dateOnly: true });
  });

  it('adds nothing when the same file is ingested again, and counts repeats inside a file', async () => {
    const file = write('dupes.csv', [
      HEADER,
      'phone,a,venue,V1,2020-01-25T14:05:00+08:00,2020-01-25T14:35:00+08:00,,,,',
      'phone,a,venue,V1,2020-01-25T14:05:00+08:00,2020-01-25T14:35:00+08:00,,,,',
      'phone,b,venue,V1,2020-01-25T14:05:00+08:00,,,,,',
    ].join('\n'));
    expect(await sut.ingestFile(file)).toMatchObject({ rowsRead: 3, accepted: 2, duplicates: 1, rejected: 0, rejectsPath: null });
    expect(await sut.ingestFile(file)).toMatchObject({ rowsRead: 3, accepted: 0, duplicates: 3 });
    expect((await store.stats()).presences).toBe(2);
  });

  it('skips a batch stored in full before by its digest, and still compares row by row otherwise', async () => {
    const rows = [
      'phone,a,venue,V1,2020-01-20T14:05:00+08:00,2020-01-20T14:35:00+08:00,,,,',
      'phone,b,venue,V2,2020-01-25T14:05:00+08:00,,,,,',
    ];
    const batches = async (): Promise<number> => Number((await store.bulk.sql.rows('SELECT count(*) AS n FROM presence_batches'))[0].n);
    const file = write('digest.csv', [HEADER, ...rows].join('\n'));
    expect(await sut.ingestFile(file)).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(await batches()).toBe(1);
    // The same rows again: skipped whole, nothing recorded twice.
    expect(await sut.ingestFile(file)).toMatchObject({ rowsRead: 2, accepted: 0, duplicates: 2 });
    expect(await batches()).toBe(1);
    // A file with one of those rows among new ones: a new digest, so its rows are compared one by one.
    const more = write('digest-more.csv', [HEADER, 'phone,0,venue,V0,2020-01-21T10:00:00+08:00,,,,,', rows[1], 'phone,z,venue,V9,2020-01-26T10:00:00+08:00,,,,,'].join('\n'));
    expect(await sut.ingestFile(more)).toMatchObject({ accepted: 2, duplicates: 1 });
    expect((await store.stats()).presences).toBe(4);
    // A purge that takes some of a batch's rows takes its record too: ingesting the file again brings them back.
    expect(await store.purgeBefore(at('2020-01-21T00:00:00Z'))).toMatchObject({ removed: 1 });
    expect(await sut.ingestFile(file)).toMatchObject({ accepted: 1, duplicates: 1 });
    expect((await store.stats()).presences).toBe(4);
  });

  it('tells listeners of every committed batch with the rows it added', async () => {
    const lines = [HEADER];
    for (let i = 0; i < 10; i++) lines.push(`phone,p${i},venue,V${i % 3},2020-01-25T1${i}:00:00+08:00,,,,,`);
    const small = new IngestService(store, { timeZone: 'Asia/Shanghai', rejectsDir, batchRows: 4 });
    const chunks: PresenceChunk[] = [];
    small.onPresencesCommitted((c) => chunks.push(c));
    const summary = await small.ingestFile(write('batches.csv', lines.join('\n')));
    expect(summary.accepted).toBe(10);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(10);
    const keys = await store.identifierKeys(chunks.flatMap((c) => [...c.ident]));
    expect(new Set(keys)).toEqual(new Set(lines.slice(1).map((l) => `phone:${l.split(',')[1]}`)));
  });

  it('keeps earlier batches and nothing of a batch that failed half-way', async () => {
    const lines = [HEADER];
    for (let i = 0; i < 9; i++) lines.push(`phone,p${i},venue,V1,2020-01-25T1${i}:00:00+08:00,,,,,`);
    const bulk = store.bulk;
    let calls = 0;
    // The store itself, with its second batch failing inside its transaction (after the dictionaries were written).
    const failing: PresenceStore = Object.create(store) as PresenceStore;
    Object.defineProperty(failing, 'bulk', {
      value: {
        sql: bulk.sql,
        checkpoint: () => bulk.checkpoint(),
        commitPresences: async (table: string, options?: { returnChunk?: boolean }) => {
          if (++calls === 2) await bulk.sql.run(`UPDATE ${table} SET start = 2 ** 40 WHERE rowid = (SELECT max(rowid) FROM ${table})`);
          return bulk.commitPresences(table, options);
        },
      },
    });
    const small = new IngestService(failing, { timeZone: 'Asia/Shanghai', rejectsDir, batchRows: 3 });
    await expect(small.ingestFile(write('crash.csv', lines.join('\n')))).rejects.toThrow();
    const stats = await store.stats();
    expect(stats.presences).toBe(3);
    expect(stats.identifiers).toBe(3);
    // Running again (the crash fixed) completes the file without adding the first batch twice.
    expect(await sut.ingestFile(write('crash-again.csv', lines.join('\n')))).toMatchObject({ accepted: 6, duplicates: 3 });
  });

  it('refuses an empty file and a file in no known format, writing nothing', async () => {
    await expect(sut.ingestFile(write('empty.csv', ''))).rejects.toThrow(IngestFormatError);
    await expect(sut.ingestFile(write('empty.csv', ''))).rejects.toThrow(/empty/);
    await expect(sut.ingestFile(write('notes.txt', 'dear diary,\ntoday was fine\n'))).rejects.toThrow(/not a known format.*header "dear diary,"/s);
    await expect(sut.ingestFile(write('blob.bin', Buffer.from([0, 1, 2, 3, 10, 0, 0])))).rejects.toThrow(/binary/);
    await expect(sut.ingestFile(write('fake.parquet', 'PAR1 not really'))).rejects.toThrow(/Parquet/);
    await expect(sut.ingestFile(path.join(dir, 'missing.csv'))).rejects.toThrow(/cannot open/);
    expect((await store.stats()).presences).toBe(0);
    expect(fs.existsSync(rejectsDir) ? fs.readdirSync(rejectsDir).filter((f) => /empty|notes|blob|fake/.test(f)) : []).toEqual([]);
  });

  it('measures fields of a long line one by one, trims padded ids, and keeps a rejected value whole', async () => {
    const long = `${'9'.repeat(700)}`;
    const csv = write('long.csv', [
      HEADER,
      `phone,${long},venue,${'V'.repeat(700)},2020-01-25T14:05:00+08:00,,,,,`, // 2: an 1.4 kB line, every field under the limit
      'phone,  a  ,venue, V1 ,2020-01-25T14:05:00+08:00,,,,,', // 3: padded, the same presence as line 4
      'phone,a,venue,V1,2020-01-25T14:05:00+08:00,,,,,', // 4
      `phone,b,venue,V1,2020-01-25T14:05:00+08:00,,,,,${'s'.repeat(1025)}`, // 5: the last field too long
    ].join('\n'));
    const c = await sut.ingestFile(csv);
    expect(c).toMatchObject({ rowsRead: 4, accepted: 2, duplicates: 1, rejected: 1 });
    expect(readRejects(c.rejectsPath).get(5)).toMatchObject({ field: 'source', reason: 'too long: 1025 characters (at most 1024)' });
    expect(await store.presencesOf([`phone:${long}`], 0, 2 ** 32 - 1)).toHaveLength(1);
    expect((await store.presencesOf(['phone:a'], 0, 2 ** 32 - 1))[0]).toMatchObject({ placeId: 'V1' });

    // A JSON value may hold any character, U+0001 included: the rejects file shows it whole.
    const jsonl = write('sep.jsonl', JSON.stringify({ id_kind: 'phone', id_value: '1', place_kind: 'venue', place_id: 'V1', start: '2020-01-25', lat: '1\u00012\u00013' }));
    const j = await sut.ingestFile(jsonl);
    expect(j).toMatchObject({ rowsRead: 1, accepted: 0, rejected: 1 });
    expect(readRejects(j.rejectsPath).get(1)).toEqual({ field: 'lat', reason: 'not a number', value: '1\u00012\u00013' });
  });

  it('reads JSON Lines and Parquet with the same checks', async () => {
    const jsonl = write('p.jsonl', [
      JSON.stringify({ id_kind: 'phone', id_value: '1', place_kind: 'venue', place_id: 'V1', start: '2020-01-25T14:05:00+08:00', lat: 29.8, lon: 121.5 }),
      '{"id_kind": "phone", "id_value": "2", ',
      JSON.stringify({ id_kind: 'phone', id_value: '3', place_kind: 'venue', place_id: 'V1', start: '2020-13-45' }),
      JSON.stringify({ id_kind: 'phone', id_value: '4', place_kind: 'venue', place_id: 'V1', start: '2020-01-25', colour: 'red' }),
      '[1,2]',
    ].join('\n'));
    const j = await sut.ingestFile(jsonl);
    expect(j).toMatchObject({ format: 'jsonl', kind: 'presences', rowsRead: 5, accepted: 1, rejected: 4 });
    const rej = readRejects(j.rejectsPath);
    expect(rej.get(2)).toMatchObject({ field: '(line)', reason: 'not valid JSON' });
    expect(rej.get(3)).toMatchObject({ field: 'start', reason: 'impossible date or time' });
    expect(rej.get(4)).toMatchObject({ field: 'colour', reason: expect.stringMatching(/unknown field/) });
    expect(rej.get(5)).toMatchObject({ field: '(line)', reason: 'not a JSON object' });

    const parquet = path.join(dir, 'p.parquet');
    const scratch = await openDuckDbScratch();
    await scratch.sql.run(`COPY (SELECT * FROM (VALUES
      ('card', 'C1', 'metro', 'M1', '2020-01-25T08:00:00+08:00', NULL, NULL, 29.8, 121.5, 'swipe'),
      ('card', 'C2', 'metro', 'M1', '2020-01-25T09:00:00+08:00', '2020-01-25T08:00:00+08:00', NULL, NULL, NULL, 'swipe'))
      t(id_kind, id_value, place_kind, place_id, start, "end", sub, lat, lon, source)) TO '${parquet}' (FORMAT parquet)`);
    // Typed columns (TIMESTAMPTZ, DATE, DOUBLE) as other tools write them are read back as text and checked the same way.
    const typed = path.join(dir, 'typed.parquet');
    await scratch.sql.run(`SET TimeZone = 'UTC'; COPY (SELECT 'card' AS id_kind, 'C9' AS id_value, 'bus' AS place_kind, 'B7' AS place_id,
      TIMESTAMPTZ '2020-01-25 00:00:00+00' AS start, TIMESTAMPTZ '2020-01-25 00:20:00+00' AS "end", 29.5::DOUBLE AS lat, 121.5::DOUBLE AS lon
      UNION ALL SELECT 'card', 'C10', 'bus', 'B7', TIMESTAMPTZ '2020-01-25 01:00:00+00', NULL, NULL, NULL) TO '${typed}' (FORMAT parquet)`);
    scratch.close();
    expect(await sut.ingestFile(typed)).toMatchObject({ format: 'parquet', accepted: 2, rejected: 0 });
    expect((await store.presencesOf(['card:C9'], 0, 2 ** 32 - 1))[0]).toMatchObject({ start: at('2020-01-25T00:00:00Z'), end: at('2020-01-25T00:20:00Z'), lat: 29.5 });
    expect((await store.presencesOf(['card:C10'], 0, 2 ** 32 - 1))[0]).toMatchObject({ start: at('2020-01-25T01:00:00Z'), end: at('2020-01-25T01:30:00Z'), pointEvent: true });
    const p = await sut.ingestFile(parquet);
    expect(p).toMatchObject({ format: 'parquet', kind: 'presences', rowsRead: 2, accepted: 1, rejected: 1 });
    expect(readRejects(p.rejectsPath).get(2)).toMatchObject({ field: 'end', reason: expect.stringMatching(/before start/) });
  });

  it('ingests places, people and identity links, and orders a folder for loading', async () => {
    const folder = path.join(dir, 'city');
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'presences.csv'), `${HEADER}\nphone,1,venue,V1,2020-01-25T14:05:00+08:00,,,,,\n`);
    fs.writeFileSync(path.join(folder, 'identity_links.csv'), 'a_kind,a_value,b_kind,b_value,source\nphone,1,id_card,330203199001011234,telecom\nphone,1,phone,1,x\nphone,1,id_card,,x\n');
    fs.writeFileSync(path.join(folder, 'people.csv'), 'id_kind,id_value,name,address,lat,lon,jurisdiction\nid_card,330203199001011234,张三,"海曙区, 中山路 1 号",29.87,121.55,\nid_card,x,李四,,91,0,\n');
    fs.writeFileSync(path.join(folder, 'places.csv'), 'place_kind,place_id,name,lat,lon,jurisdiction,category\nvenue,V1,棋牌室,29.9,121.6,,card_room\n');
    fs.writeFileSync(path.join(folder, 'truth.json'), '{}');
    fs.writeFileSync(path.join(folder, 'jurisdictions.geojson'), '{}');
    const plan = sut.planFolder(folder);
    expect(plan.filter((e) => e.kind).map((e) => e.kind)).toEqual(['places', 'people', 'identity_links', 'presences']);
    expect(plan.filter((e) => e.skipped).map((e) => path.basename(e.file)).sort()).toEqual(['jurisdictions.geojson', 'truth.json']);
    expect(plan.find((e) => e.file.endsWith('.geojson'))?.skipped).toMatch(/GeoJSON/);
    const summaries = [];
    for (const e of plan) if (e.kind) summaries.push(await sut.ingestFile(e.file));
    expect(summaries.map((s) => [s.kind, s.accepted, s.rejected])).toEqual([
      ['places', 1, 0],
      ['people', 1, 1],
      ['identity_links', 1, 2],
      ['presences', 1, 0],
    ]);
    expect(readRejects(summaries[2].rejectsPath).get(3)).toMatchObject({ field: 'b_value', reason: 'links an identifier to itself' });
    expect(readRejects(summaries[2].rejectsPath).get(4)).toMatchObject({ field: 'b_value', reason: 'empty identifier' });
    expect(readRejects(summaries[1].rejectsPath).get(3)).toMatchObject({ field: 'lat' });
    expect((await store.people(['id_card:330203199001011234']))[0]).toMatchObject({ name: '张三', address: '海曙区, 中山路 1 号' });
    expect((await store.places(['venue:V1']))[0]).toMatchObject({ category: 'card_room' });
  });

  it('validates in a scratch engine and writes through the port when the store has no bulk path', async () => {
    const portOnly: PresenceStore = Object.create(store) as PresenceStore;
    Object.defineProperty(portOnly, 'bulk', { value: undefined });
    const viaPort = new IngestService(portOnly, { timeZone: 'Asia/Shanghai', rejectsDir }, openDuckDbScratch);
    const file = write('port.csv', [HEADER, 'phone,1,venue,V1,2020-01-25T14:05:00+08:00,,,,,', 'phone,2,venue,V1,2020-13-01,,,,,'].join('\n'));
    expect(await viaPort.ingestFile(file)).toMatchObject({ accepted: 1, rejected: 1 });
    expect(await viaPort.ingestFile(file)).toMatchObject({ accepted: 0, duplicates: 1, rejected: 1 });
  });
});
