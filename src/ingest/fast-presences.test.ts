import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateCity } from '../sim/generate.ts';
import { IngestService, type IngestSummary } from '../services/ingest.service.ts';
import { DuckDbPresenceStore } from '../stores/presence/duckdb/duckdb-presence-store.ts';
import type { PresenceChunk, PresenceStore } from '../stores/presence/presence-store.ts';
import { fastIngestSettings, fastIngestStats } from './fast-presences.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-fast-ingest-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const HEADER = 'id_kind,id_value,place_kind,place_id,start,end,sub,lat,lon,source';
let seq = 0;

function write(name: string, content: string | Buffer): string {
  const file = path.join(dir, `${++seq}-${name}`);
  fs.writeFileSync(file, content);
  return file;
}

/** Everything an ingest leaves behind that must not depend on the engine. */
interface Outcome {
  summaries: Pick<IngestSummary, 'kind' | 'rowsRead' | 'accepted' | 'rejected' | 'duplicates'>[];
  rejects: string[];
  presences: string[];
  batches: string[];
  chunked: number;
  /** Batches committed as encoded columns (the fast engine's commit). */
  encodedCommits: number;
}

/** The stored presences decoded to their names, and the batch digests, in a stable order. */
async function contents(store: DuckDbPresenceStore): Promise<Pick<Outcome, 'presences' | 'batches'>> {
  const rows = await store.bulk.sql.rows(`SELECT i.kind || ':' || i.value || '|' || pl.kind || ':' || pl.place_id || '|' || x.start || '|' || x."end" || '|' || x.flags
    || '|' || coalesce(sb.value, '∅') || '|' || coalesce(so.value, '∅') || '|' || coalesce(CAST(x.lat AS VARCHAR), '∅') || '|' || coalesce(CAST(x.lon AS VARCHAR), '∅') AS k
    FROM presences x JOIN identifiers i ON i.id = x.ident JOIN places pl ON pl.id = x.place
    LEFT JOIN subs sb ON sb.id = x.sub LEFT JOIN sources so ON so.id = x.source ORDER BY k`);
  const batches = await store.bulk.sql.rows(`SELECT rows || '|' || lo || '|' || hi || '|' || digest AS k FROM presence_batches ORDER BY k`);
  return { presences: rows.map((r) => String(r.k)), batches: batches.map((r) => String(r.k)) };
}

/** Ingests the files in order into a fresh store through one engine. */
async function run(engine: 'auto' | 'sql', files: readonly string[], config: { timeZone?: string; batchRows?: number } = {}): Promise<Outcome> {
  const store = await DuckDbPresenceStore.open(':memory:', { threads: 1 });
  try {
    const sut = new IngestService(store, { timeZone: config.timeZone ?? 'Asia/Shanghai', rejectsDir: path.join(dir, `rejects-${engine}`), batchRows: config.batchRows, engine });
    let chunked = 0;
    sut.onPresencesCommitted((c: PresenceChunk) => (chunked += c.length));
    const encoded = store.bulk.encoded!;
    const commitEncoded = encoded.commitEncoded;
    let encodedCommits = 0;
    Object.assign(encoded, { commitEncoded: (...args: Parameters<typeof commitEncoded>) => (encodedCommits++, commitEncoded(...args)) });
    const out: Outcome = { summaries: [], rejects: [], presences: [], batches: [], chunked: 0, encodedCommits: 0 };
    for (const file of files) {
      const s = await sut.ingestFile(file);
      out.summaries.push({ kind: s.kind, rowsRead: s.rowsRead, accepted: s.accepted, rejected: s.rejected, duplicates: s.duplicates });
      out.rejects.push(s.rejectsPath ? fs.readFileSync(s.rejectsPath, 'utf8') : '');
    }
    out.chunked = chunked;
    out.encodedCommits = encodedCommits;
    return { ...out, ...(await contents(store)) };
  } finally {
    await store.close();
  }
}

/** Both engines over the same files: everything they leave must be the same. */
async function expectSame(files: readonly string[], config: { timeZone?: string; batchRows?: number } = {}): Promise<Outcome> {
  const sql = await run('sql', files, config);
  const workerRuns = fastIngestStats.workerRuns;
  const fast = await run('auto', files, config);
  // Parsed in a worker thread exactly when the settings say so.
  const presenceFiles = sql.summaries.filter((x) => x.kind === 'presences').length;
  expect(fastIngestStats.workerRuns - workerRuns).toBe(fastIngestSettings.workerMinBytes === 0 ? presenceFiles : 0);
  expect(fast.summaries).toEqual(sql.summaries);
  expect(fast.rejects).toEqual(sql.rejects);
  expect(fast.presences).toEqual(sql.presences);
  const small = fastIngestSettings.workerMinBytes === 0 ? fastIngestSettings.workerCommitRows : fastIngestSettings.commitRows;
  if (small >= 1000) expect(fast.batches).toEqual(sql.batches);
  // Committing smaller batches, the fast engine records each, and the record the SQL engine makes for a
  // file of one batch (here: every file, unless the test makes batches small).
  else if (config.batchRows === undefined) for (const b of sql.batches) expect(fast.batches).toContain(b);
  expect(fast.chunked).toBe(sql.chunked);
  // The fast engine did run (and the SQL one did not use it).
  expect(sql.encodedCommits).toBe(0);
  expect(fast.encodedCommits).toBeGreaterThan(0);
  return fast;
}

const ok = (id: string, start: string, end = '', rest = ',,,feed'): string => `phone,${id},venue,V1,${start},${end},${rest}`;

/** Every bad input the ingest must report, and the good ones around them. */
function handWritten(): string[] {
  return [
    HEADER,
    ok('1', '2020-01-25T14:05:00+08:00', '2020-01-25T15:05:00+08:00', ',29.87,121.55,qr'),
    ok('2', '2020-13-45T10:00:00+08:00'), // impossible date
    ok('3', '2020-02-30'), // impossible date-only
    ok('3b', '2021-02-29T10:00:00Z'), // not a leap year
    ok('3c', '2020-02-29T10:00:00Z'), // a leap year
    ok('4', '25/01/2020 10:00'), // not ISO
    ok('4b', '2020-01-25x'), // trailing text
    ok('4c', '2020-1-5'), // short
    'fax,5,venue,V1,2020-01-25T14:05:00+08:00,,,,,', // unknown id kind
    ',5b,venue,V1,2020-01-25T14:05:00+08:00,,,,,', // empty id kind
    'phone,,venue,V1,2020-01-25T14:05:00+08:00,,,,,', // empty identifier
    'phone,   ,venue,V1,2020-01-25T14:05:00+08:00,,,,,', // spaces-only identifier
    'phone,6,spaceship,V1,2020-01-25T14:05:00+08:00,,,,,', // unknown place kind
    'phone,6b,,V1,2020-01-25T14:05:00+08:00,,,,,', // empty place kind
    'phone,7,venue,,2020-01-25T14:05:00+08:00,,,,,', // empty place id
    ok('8', '2020-01-25T14:05:00Z', '2020-01-25T14:00:00Z'), // end before start
    ok('8b', '2020-01-25', '2020-01-24'), // end date before start date
    ok('9', '2020-01-25T14:05:00Z', '', ',95,121,'), // latitude
    ok('9b', '2020-01-25T14:05:00Z', '', ',-90.5,121,'), // latitude
    ok('10', '2020-01-25T14:05:00Z', '', ',29,181,'), // longitude
    ok('11', '2020-01-25T14:05:00Z', '', ',north,121,'), // not a number
    ok('11b', '2020-01-25T14:05:00Z', '', ',29,east,'), // not a number
    ok('11c', '2020-01-25T14:05:00Z', '', ', 29.5 ,1e2,'), // padded and exponent: the SQL engine's cast decides
    ok('11d', '2020-01-25T14:05:00Z', '', ',nan,inf,'),
    ok('11e', '2020-01-25T14:05:00Z', '', ',-0,+121.000000000000001,'),
    'phone,12,venue', // too few columns
    'phone,13,venue,V1,2020-01-25T14:05:00Z,,,,,,extra', // too many columns
    'phone,"14,venue,V1,2020-01-25T14:05:00Z,,,,,', // unbalanced quote
    'phone,"14b"x,venue,V1,2020-01-25T14:05:00Z,,,,,', // text after a closing quote
    'phone,14c"q,venue,V1,2020-01-25T14:05:00Z,,,,,', // a quote inside an unquoted field
    'phone,"quoted newline starts here', // a quoted field cannot run on to the next line
    'and ends here",venue,V1,2020-01-25T14:05:00Z,,,,,',
    `phone,${'9'.repeat(2000)},venue,V1,2020-01-25T14:05:00Z,,,,,`, // too long
    `phone,15,venue,V1,2020-01-25T14:05:00Z,,${'座'.repeat(400)},,,`, // 1200 bytes but 400 characters: fine
    `phone,15b,venue,V1,2020-01-25T14:05:00Z,,${'座'.repeat(1025)},,,`, // too long in characters
    `phone, ${'7'.repeat(1024)} ,venue,V1,2020-01-25T14:05:00Z,,,,,`, // long only with its padding
    '', // blank: not a record
    '   ', // spaces only
    ' ', // one space
    'phone,16,venue,V1,,,,,,', // missing start
    ok('17', '2020-01-25T14:05:00+0800'), // offset without colon
    ok('17b', '2020-01-25T14:05:00+08'), // hours only
    ok('17c', '2020-01-25T14:05:00-05:30'),
    ok('17d', '2020-01-25T14:05:00 +08:00'), // a space before the offset
    ok('18', '2020-01-25T06:05:00Z'),
    ok('18b', '2020-01-25T06:05:00z'),
    ok('19', '2020-01-25T14:05'), // no seconds
    ok('19b', '2020-01-25T14:05+08:00'),
    ok('19c', '2020-01-25 14:05Z'),
    ok('20', '2020-01-25T14:05:00.5+08:00'), // fractional seconds
    ok('20b', '2020-01-25T14:05:00.123456789+08:00'),
    ok('20c', '2020-01-25T14:05:59.9999999Z'),
    ok('20d', '2020-01-25T14:05:00.Z'),
    ok('21', '2020-01-25', '2020-01-26'), // date-only start and end
    ok('21b', '2020-01-25', '2020-01-25'), // the same day
    ok('21c', '2020-01-25', '2020-01-25T12:00:00+08:00'),
    ok('21d', '2020-01-25T23:00:00+08:00', '2020-01-26'),
    ok('22', '2020-01-25T14:05:00+08:00'), // point event, no end
    'phone,22b,checkpoint,K1,2020-01-25T14:05:00+08:00,2020-01-25T14:05:00+08:00,,,,', // end = start
    'phone,22c,hotel,H1,2020-01-25T20:00:00+08:00,,1201,,,registry',
    ok('23', '2020-01-25T24:00:00Z'),
    ok('23b', '2020-01-25T23:59:60Z'),
    ok('23c', '1969-12-31T23:59:59Z'), // before 1970
    ok('23d', '1970-01-01T00:00:00Z'),
    ok('23e', '2106-01-01T00:00:00Z'), // after 2105
    ok('23f', '0000-01-01'),
    ok('23g', '2020-01-25T14:05:00+15:00'),
    ok('23h', 'T2020-01-25'),
    ok('23i', ' 2020-01-25'), // time fields are not trimmed
    ok('23j', '２０２０-01-25'),
    '  phone  ,24,venue,V1,2020-01-25T14:05:00+08:00,,,,,', // a padded kind is reported, not guessed at
    'phone,  25  ,venue, V25 ,2020-01-25T14:05:00+08:00,,,,,', // padded ids are trimmed
    'phone,25,venue,V25,2020-01-25T14:05:00+08:00,,,,,', // ...so this repeats it
    'phone,25,venue,V25,2020-01-25T14:05:00+08:00,,,,,', // an exact repeat
    'phone,25,venue,V25,2020-01-25T14:05:00+08:00,,,29.1,121.1,', // the same presence with coordinates
    'phone,"26","venue","V1","2020-01-25T14:05:00+08:00","","","29.1","121.2",""', // everything quoted
    'phone,27,venue,"宁波市海曙区, ""鼓楼"" 棋牌室",2020-01-25T14:05:00+08:00,,"07-12-F",,,"feed, one"', // commas, quotes, Chinese
    'plate,浙B12345,checkpoint,卡口1,2020-01-25T14:05:00+08:00,,,,,卡口', // Chinese unquoted
    '"phone","28","venue","V1","2020-01-25T14:05:00+08:00"', // quoted, too few columns
    '""', // one empty quoted field
    '"   "', // one quoted field of spaces
    'phone,29,venue,V1,2020-01-25T14:05:00+08:00,,sub\u0001x,,,', // U+0001
    'phone,29b,venue,V1,2020-01-25T14:05:00+08:00,,,,,feed\u0001', // U+0001 at the end of the line
    '\u0001', // U+0001 alone
    ok('23k', '210:-01-25T14:05:00Z'), // a non-digit in the year: not read as some other year
    ok('23l', '30:0-01-25'),
    ok('23m', '2020-0:-25T14:05:00Z'),
    ok('23n', '2020-01-2:T14:05:00Z'),
    ok('23o', '2020-01-25T1:05:00Z'),
    ok('23p', '2020-01-25T14:0::00Z'),
    ok('23q', '2020-01-25T14:05:0:Z'),
    ok('23r', '2020-01-25T14:05:00+0::00'),
  ];
}

const settings = { ...fastIngestSettings };
describe.each([
  ['parsing in this thread', Number.POSITIVE_INFINITY, settings.workerCommitRows, settings.commitRows],
  ['parsing in this thread, committing small batches', Number.POSITIVE_INFINITY, settings.workerCommitRows, 29],
  ['parsing in a worker thread, committing small batches', 0, 37, settings.commitRows],
])('fast CSV engine, %s: the same outcome as the SQL engine', (_name, workerMinBytes, workerCommitRows, commitRows) => {
  beforeEach(() => Object.assign(fastIngestSettings, { workerMinBytes, workerFreeCores: 0, workerCommitRows, commitRows }));
  afterEach(() => Object.assign(fastIngestSettings, settings));

  it('on every kind of bad input, line by line (LF)', async () => {
    const lines = handWritten();
    const nul = Buffer.from('phone,30,venue,V1,2020-01-25T14:05:00+08:00,,a\u0000b,,,\n');
    const badUtf8 = Buffer.concat([Buffer.from('phone,'), Buffer.from([0xff, 0xfe]), Buffer.from(',venue,V1,2020-01-25T14:05:00+08:00,,,,,\n')]);
    const surrogate = Buffer.concat([Buffer.from('phone,31,venue,V'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(',2020-01-25T14:05:00+08:00,,,,,\n')]);
    const truncated = Buffer.concat([Buffer.from('phone,32,venue,V1,2020-01-25T14:05:00+08:00,,,,,'), Buffer.from([0xe5, 0xae]), Buffer.from('\n')]);
    const huge = Buffer.from(`phone,${'9'.repeat(1_100_000)},venue,V1,2020-01-25T14:05:00Z,,,,,\n`);
    const body = Buffer.concat([Buffer.from(lines.join('\n') + '\n'), nul, badUtf8, surrogate, truncated, huge, Buffer.from(ok('33', '2020-01-26T08:00:00+08:00'))]);
    const out = await expectSame([write('bad.csv', body)]);
    // The comparison is only worth something if both engines saw the cases at all.
    expect(out.summaries[0].rowsRead).toBe(lines.length - 2 + 6);
    expect(out.summaries[0].rejected).toBeGreaterThanOrEqual(50);
    expect(out.summaries[0].accepted).toBeGreaterThan(20);
    expect(out.summaries[0].duplicates).toBe(3);
  });

  it('with a BOM and CRLF line ends', async () => {
    const lines = handWritten();
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(lines.join('\r\n') + '\r\n')]);
    const out = await expectSame([write('crlf.csv', body)]);
    expect(out.summaries[0].accepted).toBeGreaterThan(20);
  });

  it('with the header columns in another order, and optional columns left out', async () => {
    const cols = HEADER.split(',');
    const order = [9, 4, 0, 2, 1, 3, 8, 7, 6, 5];
    const lines = handWritten().slice(1).map((l) => {
      if (l.includes('"')) return l; // quoted lines keep their order: they test the splitter, not the header
      const f = l.split(',');
      return f.length === cols.length ? order.map((i) => f[i]).join(',') : l;
    });
    await expectSame([write('reordered.csv', [order.map((i) => cols[i]).join(','), ...lines].join('\n'))]);
    // Without the optional columns, every record has fewer fields than the canonical ten: both engines say so alike.
    await expectSame([write('short-header.csv', ['id_kind,id_value,place_kind,place_id,start', 'phone,1,venue,V1,2020-01-25', 'phone,2,venue,V1,2020-01-25,,,,,'].join('\n'))]);
  });

  it('around a daylight-saving change, in a zone that has one', async () => {
    const lines = [HEADER];
    for (const day of ['2021-03-27', '2021-03-28', '2021-03-29', '2021-10-30', '2021-10-31', '2021-11-01']) {
      lines.push(ok(`d${day}`, day));
      lines.push(ok(`e${day}`, '2021-03-26T12:00:00', day));
      for (const t of ['00:30', '01:59:59', '02:00', '02:30:00', '03:00:00', '12:00']) lines.push(ok(`t${day}${t}`, `${day}T${t}`));
    }
    await expectSame([write('dst.csv', lines.join('\n'))], { timeZone: 'Europe/Berlin' });
  });

  it('at the line length limit, byte for byte, and on a file with no records', async () => {
    const limit = 1 << 20;
    const line = (bytes: number, id: string): string => {
      const head = `phone,${id}`;
      const tail = ',venue,V1,2020-01-25T14:05:00Z,,,,,';
      return `${head}${' '.repeat(bytes - head.length - tail.length)}${tail}`;
    };
    const lines = [HEADER, line(limit - 1, 'a'), line(limit, 'b'), line(limit + 1, 'c'), line(limit + 2, 'd'), ok('e', '2020-01-25')];
    const out = await expectSame([write('limit.csv', lines.join('\n') + '\n')]);
    expect(out.summaries[0].rowsRead).toBe(5);
    await expectSame([write('limit-crlf.csv', lines.join('\r\n') + '\r\n')]);
    const empty = await expectSame([write('header-only.csv', `${HEADER}\n`), write('blank-lines.csv', `${HEADER}\n\n\n${ok('f', '2020-01-25')}\n\n`)]);
    expect(empty.summaries.map((x) => x.rowsRead)).toEqual([0, 1]);
  });

  it('over many read chunks: multi-byte text, quotes, bad bytes and repeats spread across chunk ends', async () => {
    // Lines of every length around the engine's read size (2 MiB), so chunk ends fall inside multi-byte
    // characters, quoted fields and lines; a few bad lines far apart, so most stretches of lines are clean.
    const parts: Buffer[] = [Buffer.from(`${HEADER}\n`)];
    let bytes = 0;
    for (let i = 0; bytes < 5_000_000; i++) {
      const pad = '座'.repeat(i % 37);
      let l: Buffer;
      if (i % 9973 === 500) l = Buffer.concat([Buffer.from(`phone,u${i},venue,V`), Buffer.from([0xc3, 0x28]), Buffer.from(',2020-01-25T14:05:00+08:00,,,,,\n')]);
      else if (i % 7919 === 300) l = Buffer.from(`phone,n${i},venue,V1,2020-01-25T14:05:00+08:00,,a\u0000b,,,\n`);
      else if (i % 101 === 7) l = Buffer.from(`phone,q${i % 500},venue,"V${i % 13}, ${pad}",2020-01-2${i % 7}T1${i % 10}:0${i % 6}:00+08:00,,,,,"feed"\n`);
      else if (i % 1000 === 999) l = parts[parts.length - 1]; // an exact repeat of the line before
      else l = Buffer.from(`${i % 3 ? 'phone' : 'card'},p${i % 2000},${i % 5 ? 'venue' : 'cell'},${pad}V${i % 211},2020-0${1 + (i % 3)}-1${i % 10}T0${i % 10}:${10 + (i % 50)}:00+08:00,,${i % 4 ? '' : `s${i % 3}`},,,feed${i % 2}\n`);
      parts.push(l);
      bytes += l.length;
    }
    const out = await expectSame([write('chunks.csv', Buffer.concat(parts))]);
    expect(out.summaries[0].rejected).toBeGreaterThanOrEqual(4);
    expect(out.summaries[0].duplicates).toBeGreaterThan(0);
  });

  it('with line ends of every kind in one file (LF, CRLF, a CR alone): the same records and line numbers as with LF', async () => {
    const lines = handWritten();
    const lf = await expectSame([write('ends-lf.csv', lines.join('\n') + '\n')]);
    const ends = ['\r\n', '\n', '\r'];
    const mixed = await expectSame([write('ends-mixed.csv', lines.map((l, i) => l + ends[i % 3]).join(''))]);
    const crOnly = await expectSame([write('ends-cr.csv', lines.join('\r'))]);
    for (const o of [mixed, crOnly]) {
      expect(o.summaries).toEqual(lf.summaries);
      expect(o.rejects).toEqual(lf.rejects);
      expect(o.presences).toEqual(lf.presences);
    }
  });

  it('with a CR alone or a CRLF where the first read of the file ends (4 MiB)', async () => {
    const readEnd = 1 << 22;
    const line = (i: number, pad: number): string => `phone,r${i},venue,V${i % 7}${'x'.repeat(pad)},2020-01-2${i % 5}T1${i % 10}:00:00+08:00,,,,,feed`;
    // Lines of about 10 KB up to the read's end; the line end at its last byte, its first byte or across it.
    for (const [end, lastByteAt] of [['\r', readEnd - 1], ['\r', readEnd], ['\r\n', readEnd - 1], ['\r\n', readEnd - 2]] as const) {
      const lines = [HEADER];
      let bytes = HEADER.length + 1;
      for (let i = 0; bytes + 22_000 < lastByteAt; i++) {
        lines.push(line(i, 10_000));
        bytes += lines[lines.length - 1].length + 1;
      }
      // The line whose end's first byte is at lastByteAt (all line ends before it are LF).
      const head = line(lines.length, 0);
      lines.push(line(lines.length, lastByteAt - bytes - head.length));
      lines.push('phone,,venue,V1,2020-01-25T14:05:00+08:00,,,,,'); // a reject right after it: its line number must hold
      for (let i = 0; i < 50; i++) lines.push(line(100_000 + i, i));
      const before = lines.slice(0, -51).join('\n');
      expect(Buffer.byteLength(before)).toBe(lastByteAt);
      const body = before + end + lines.slice(-51).join('\r\n');
      const out = await expectSame([write('ends-read.csv', body)]);
      const ref = await expectSame([write('ends-read-lf.csv', lines.join('\n'))]);
      expect(out.summaries).toEqual(ref.summaries);
      expect(out.rejects).toEqual(ref.rejects);
      expect(out.presences).toEqual(ref.presences);
      expect(out.rejects[0]).toContain(`${lines.length - 50},id_value,`);
    }
  });

  it('in small batches, with repeats across batches and a second file over the first', async () => {
    const lines = [HEADER];
    for (let i = 0; i < 400; i++) lines.push(`phone,p${i % 50},venue,V${i % 7},2020-01-2${i % 5}T1${i % 10}:00:00+08:00,,s${i % 3},,,feed${i % 2}`);
    const a = write('batches-a.csv', lines.join('\n'));
    const b = write('batches-b.csv', [HEADER, ...lines.slice(150, 260), 'phone,new,venue,V1,2020-01-29,,,,,'].join('\n'));
    const out = await expectSame([a, b, a], { batchRows: 64 });
    expect(out.summaries[2]).toMatchObject({ accepted: 0, duplicates: 400 });
  });

  it('on a small synthetic city, malformed rows and planted duplicates included', async () => {
    const city = path.join(dir, 'city');
    await generateCity({ seed: 5, people: 300, days: 3, out: city });
    const plan = new IngestService(await DuckDbPresenceStore.open(':memory:'), { timeZone: 'Asia/Shanghai', rejectsDir: dir }).planFolder(city);
    const files = plan.filter((e) => e.kind).map((e) => e.file);
    const out = await expectSame(files);
    const presences = out.summaries.filter((s) => s.kind === 'presences');
    expect(presences.reduce((n, s) => n + s.rejected, 0)).toBeGreaterThan(0);
    expect(presences.reduce((n, s) => n + s.duplicates, 0)).toBeGreaterThan(0);
  });
});

describe('fast CSV engine, choosing the thread that parses', () => {
  afterEach(() => Object.assign(fastIngestSettings, settings));

  it('parses large files in a worker by default where the machine has two cores or more', () => {
    expect(settings.workerMinBytes).toBe(os.availableParallelism() >= 2 ? 4 << 20 : Number.POSITIVE_INFINITY);
    expect(settings.workerFreeCores).toBeGreaterThan(0);
  });

  it('parses a large file here when other work leaves too few cores free, in a worker when told to whatever the load: the same outcome', async () => {
    const lines = [HEADER];
    for (let i = 0; i < 300; i++) lines.push(ok(`c${i % 40}`, `2020-01-2${i % 7}T1${i % 10}:00:00+08:00`));
    const file = write('choice.csv', lines.join('\n'));
    const runs = fastIngestStats.workerRuns;
    Object.assign(fastIngestSettings, { workerMinBytes: 1, workerFreeCores: os.availableParallelism() + 1 });
    const here = await run('auto', [file]);
    expect(fastIngestStats.workerRuns).toBe(runs);
    Object.assign(fastIngestSettings, { workerFreeCores: 0 });
    const worker = await run('auto', [file]);
    expect(fastIngestStats.workerRuns).toBe(runs + 1);
    expect(worker.summaries).toEqual(here.summaries);
    expect(worker.presences).toEqual(here.presences);
    expect(worker.batches).toEqual(here.batches);
  });
});

describe('fast CSV engine and the store', () => {
  afterEach(() => Object.assign(fastIngestSettings, settings));

  it('records the whole file\'s digest after small batches, so the SQL engine skips the file whole', async () => {
    Object.assign(fastIngestSettings, { workerMinBytes: 0, workerFreeCores: 0, workerCommitRows: 16 });
    const lines = [HEADER];
    for (let i = 0; i < 100; i++) lines.push(`phone,w${i},venue,V${i % 4},2020-01-25T1${i % 10}:00:00+08:00,,,,,feed`);
    const file = write('whole.csv', lines.join('\n'));
    const store = await DuckDbPresenceStore.open(':memory:', { threads: 1 });
    try {
      const cfg = { timeZone: 'Asia/Shanghai', rejectsDir: dir };
      const batches = async (): Promise<number> => Number((await store.bulk.sql.rows('SELECT count(*) AS n FROM presence_batches'))[0].n);
      expect(await new IngestService(store, { ...cfg, engine: 'auto' }).ingestFile(file)).toMatchObject({ accepted: 100 });
      const recorded = await batches();
      expect(recorded).toBe(Math.ceil(100 / 16) + 1);
      expect(await new IngestService(store, { ...cfg, engine: 'sql' }).ingestFile(file)).toMatchObject({ accepted: 0, duplicates: 100 });
      expect(await batches()).toBe(recorded);
      // The fast engine again: each small batch is skipped by its own record.
      expect(await new IngestService(store, { ...cfg, engine: 'auto' }).ingestFile(file)).toMatchObject({ accepted: 0, duplicates: 100 });
      expect(await batches()).toBe(recorded);
    } finally {
      await store.close();
    }
  });

  it('skips a batch the SQL engine stored before, whole, by its digest (and the other way round)', async () => {
    const lines = [HEADER];
    for (let i = 0; i < 50; i++) lines.push(`phone,q${i},venue,V${i % 4},2020-01-25T1${i % 10}:00:00+08:00,,,,,feed`);
    const file = write('again.csv', lines.join('\n'));
    const store = await DuckDbPresenceStore.open(':memory:', { threads: 1 });
    try {
      const cfg = { timeZone: 'Asia/Shanghai', rejectsDir: dir };
      const sql = new IngestService(store, { ...cfg, engine: 'sql' });
      const fast = new IngestService(store, { ...cfg, engine: 'auto' });
      const batches = async (): Promise<number> => Number((await store.bulk.sql.rows('SELECT count(*) AS n FROM presence_batches'))[0].n);
      expect(await sql.ingestFile(file)).toMatchObject({ accepted: 50 });
      expect(await fast.ingestFile(file)).toMatchObject({ accepted: 0, duplicates: 50 });
      expect(await batches()).toBe(1);
      const other = write('again-2.csv', [HEADER, 'phone,z,venue,V9,2020-02-01T10:00:00+08:00,,,,,'].join('\n'));
      expect(await fast.ingestFile(other)).toMatchObject({ accepted: 1 });
      expect(await sql.ingestFile(other)).toMatchObject({ accepted: 0, duplicates: 1 });
      expect(await batches()).toBe(2);
      // The dictionary mirror follows writes of the SQL engine: a place it added keeps its id.
      const more = write('again-3.csv', [HEADER, 'phone,z,venue,V9,2020-02-02T10:00:00+08:00,,,,,', 'phone,y,venue,V8,2020-02-02T10:00:00+08:00,,,,,'].join('\n'));
      await sql.ingestFile(write('again-4.csv', [HEADER, 'phone,x,venue,V8,2020-02-03T10:00:00+08:00,,,,,'].join('\n')));
      expect(await fast.ingestFile(more)).toMatchObject({ accepted: 2 });
      const places = await store.bulk.sql.rows(`SELECT kind, place_id, count(*) AS n FROM places GROUP BY ALL HAVING count(*) > 1`);
      expect(places).toEqual([]);
      const idents = await store.bulk.sql.rows(`SELECT count(*) AS n, count(DISTINCT id) AS d, max(id) + 1 AS next FROM identifiers`);
      expect(Number(idents[0].n)).toBe(Number(idents[0].d));
      expect(Number(idents[0].n)).toBe(Number(idents[0].next));
    } finally {
      await store.close();
    }
  });

  it('keeps earlier batches and nothing of a batch that failed inside its transaction', async () => {
    const lines = [HEADER];
    for (let i = 0; i < 9; i++) lines.push(`phone,p${i},venue,V${i},2020-01-25T1${i}:00:00+08:00,,s${i},,,src${i}`);
    const store = await DuckDbPresenceStore.open(':memory:', { threads: 1 });
    try {
      const encoded = store.bulk.encoded!;
      let calls = 0;
      const failing: PresenceStore = Object.create(store) as PresenceStore;
      Object.defineProperty(failing, 'bulk', {
        value: {
          ...store.bulk,
          sql: store.bulk.sql,
          checkpoint: () => store.bulk.checkpoint(),
          commitPresences: store.bulk.commitPresences,
          encoded: {
            dictionaries: () => encoded.dictionaries(),
            commitEncoded: async (batch: Parameters<typeof encoded.commitEncoded>[0], options?: { returnChunk?: boolean }) => {
              if (++calls !== 2) return encoded.commitEncoded(batch, options);
              // The batch record cannot be written: the failure comes after the dictionaries and rows went in.
              await store.bulk.sql.run('ALTER TABLE presence_batches RENAME TO presence_batches_kept; CREATE VIEW presence_batches AS SELECT * FROM presence_batches_kept');
              try {
                return await encoded.commitEncoded(batch, options);
              } finally {
                await store.bulk.sql.run('DROP VIEW presence_batches; ALTER TABLE presence_batches_kept RENAME TO presence_batches');
              }
            },
          },
        },
      });
      const small = new IngestService(failing, { timeZone: 'Asia/Shanghai', rejectsDir: dir, batchRows: 3 });
      await expect(small.ingestFile(write('fail.csv', lines.join('\n')))).rejects.toThrow();
      const stats = await store.stats();
      expect(stats).toMatchObject({ presences: 3, identifiers: 3, places: 3 });
      const dicts = await store.bulk.sql.rows('SELECT (SELECT count(*) FROM subs) AS subs, (SELECT count(*) FROM sources) AS sources');
      expect(dicts[0]).toMatchObject({ subs: 3n, sources: 3n });
      // Run again: the first batch is skipped by its digest, the rest stored, with ids that follow on.
      const sut = new IngestService(store, { timeZone: 'Asia/Shanghai', rejectsDir: dir, batchRows: 3 });
      expect(await sut.ingestFile(write('fail-again.csv', lines.join('\n')))).toMatchObject({ accepted: 6, duplicates: 3 });
      const ids = await store.bulk.sql.rows('SELECT count(*) AS n, max(id) AS m FROM identifiers');
      expect(ids[0]).toMatchObject({ n: 9n, m: 8 });
    } finally {
      await store.close();
    }
  });
});

describe('fast CSV engine against the SQL engine on random malformed files', () => {
  it('gives the same counts, rejects and stored rows, file after file', async () => {
    let rng = 2024;
    const rand = (k: number): number => {
      rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0;
      return rng % k;
    };
    const pick = <T>(a: readonly T[]): T => a[rand(a.length)];
    const kinds = ['phone', 'id_card', 'plate', 'fax', '', ' phone', 'PHONE'];
    const placeKinds = ['venue', 'workplace', 'train', 'hotel', 'cell', 'spaceship', ''];
    const times = ['2020-01-25T14:05:00+08:00', '2020-01-25', '2020-01-25T14:05:00Z', '2020-01-25T14:05', '2020-02-30', '2020-01-25T25:00:00Z', '', '2020-01-25T14:05:00+08', '2020-01-25 14:05:00'];
    const ends = ['', '2020-01-25T15:05:00+08:00', '2020-01-25T13:00:00+08:00', '2020-01-26', 'x'];
    const subs = ['', '07-12-F', '1201', '"a,b"', '座位', '"x""y"'];
    const coords = ['', '29.1', '91', '-180', '1e3', 'abc'];
    // Bytes dropped into a line: line ends of every kind, quotes, commas, control characters, a BOM.
    const noise = ['\r', '\n', '\r\n', '"', ',', '\u0000', '\u0001', '\ufeff', '\t'];
    const fields = (): string[] => [pick(kinds), String(rand(30)), pick(placeKinds), `V${rand(5)}`, pick(times), pick(ends), pick(subs), pick(coords), pick(coords), pick(['', 'qr', 'feed'])];
    for (let t = 0; t < 30; t++) {
      const parts: Buffer[] = [Buffer.from(HEADER + pick(['\n', '\r\n', '\r']))];
      const style = rand(3);
      for (let i = 1 + rand(30); i > 0; i--) {
        let l = fields().join(',');
        if (rand(8) === 0) {
          const k = rand(l.length + 1);
          l = l.slice(0, k) + pick(noise) + l.slice(k);
        }
        if (rand(15) === 0) l = l.split(',').slice(0, rand(12)).join(',');
        if (rand(20) === 0) l = fields().map((f) => `"${f.replace(/"/g, '""')}"`).join(',');
        let bytes = Buffer.from(l + (i === 1 && rand(2) ? '' : style === 0 ? '\n' : style === 1 ? '\r\n' : pick(['\n', '\r\n', '\r'])));
        if (rand(25) === 0) {
          const k = rand(bytes.length);
          bytes = Buffer.concat([bytes.subarray(0, k), Buffer.from([pick([0xff, 0xc3, 0xe5, 0x80])]), bytes.subarray(k)]);
        }
        parts.push(bytes);
      }
      const file = write(`random-${t}.csv`, Buffer.concat(parts));
      const [sql, fast] = [await run('sql', [file]), await run('auto', [file])];
      expect(fast.summaries, file).toEqual(sql.summaries);
      expect(fast.rejects, file).toEqual(sql.rejects);
      expect(fast.presences, file).toEqual(sql.presences);
    }
  });
});
