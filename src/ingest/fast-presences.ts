/**
 * @module The fast engine for presence files in CSV: the file is read as bytes in large chunks (memory
 * stays flat whatever the file's size), split into records and validated in JavaScript with exactly
 * the semantics of the SQL engine (`staging.ts` + `validatePresences`), and valid rows are encoded to
 * integer columns against the store's dictionary mirror and committed batch by batch while the next
 * batch is parsed. No table of text fields is ever written.
 *
 * Values whose reading depends on the SQL engine's own parsers beyond the common forms (times in
 * unusual shapes or near a daylight-saving change, numbers in exponent or padded forms, fields over
 * the length limit) are not guessed at: their records go through `validatePresences` itself, in small
 * per-batch tables, so the rejects and the stored values are the SQL engine's by construction.
 *
 * Like the SQL engine, a quoted field must close on its own line: an unterminated quote rejects that
 * line only (so one stray quote cannot swallow the rest of a file), and line numbers are physical lines.
 *
 * The common record makes no string: bytes a line of the common kind never holds (quotes, NUL, U+0001)
 * are looked for in a whole buffer at once, and so is UTF-8 validity; commas are found four bytes at a
 * time; dictionary keys are looked up by their bytes (`byte-keys.ts`), a string being made only for a
 * key met for the first time.
 *
 * Rows are committed in batches of two DuckDB row groups (`fastIngestSettings.commitRows`): the
 * engine writes one on its own threads while the next is parsed. Once all of a file's rows are stored,
 * the digest of the file as one batch is recorded too, the record the SQL engine checks for (see
 * `commitRows`). Large files are parsed in a worker thread (`fast-presences-worker.ts`) while the main
 * thread commits, where the machine has a core free for it (see fastIngestSettings).
 */
import fs from 'node:fs';
import os from 'node:os';
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DEFAULT_DWELL_SECONDS } from '../domain/dwell.ts';
import { ID_KINDS, PLACE_KINDS, PRESENCE_COLUMNS } from '../domain/formats.ts';
import {
  FRESH_ID,
  type DictionaryCounts,
  type DictionaryDelta,
  type EncodedInsertResult,
  type EncodedPresenceBatch,
  type EncodedPresenceLoader,
  type PresenceBatchDigest,
  type PresenceDictionaryView,
  type PresenceInsertResult,
  type SqlRunner,
  type SqlValue,
} from '../stores/presence/presence-store.ts';
import { ByteKeys, hashBytes } from './byte-keys.ts';
import { parseCsvLine } from './csv-line.ts';
import { MAX_FIELD_CHARS, MAX_LINE_BYTES, ident, lit } from './staging.ts';
import { validatePresences } from './validate.ts';

/** What the fast engine needs from its caller. */
export interface FastPresenceIngestOptions {
  file: string;
  /** The header as recognised (`sniffFormat`): canonical column names in the file's order. */
  header: readonly string[];
  /** Deployment time zone: date-only and offset-less times are read in it. */
  timeZone: string;
  /** Valid rows per atomic batch. */
  batchRows: number;
  /**
   * Valid rows per committed batch when less than `batchRows` (so commits overlap the parse): each
   * is atomic with its own digest, and a file of at most `batchRows` valid rows also gets the digest
   * of all its rows as one batch, the record the SQL engine looks for.
   */
  commitRows?: number;
  /** The store's staging engine: rejects are gathered in a temporary table there, and unusual records validated. */
  sql: SqlRunner;
  loader: EncodedPresenceLoader;
  /** Temporary table `(line UBIGINT, field VARCHAR, reason VARCHAR, value VARCHAR)` for rejects (created here). */
  rejectsTable: string;
  /** Unique prefix for this run's temporary objects. */
  prefix: string;
  /** Ask the store for each committed batch's added rows as a chunk. */
  returnChunk: boolean;
  /** Called after every committed batch, in order. */
  onCommitted: (result: PresenceInsertResult) => void;
  /** Bytes of the file read so far and its size. */
  onRead?: (bytes: number, total: number) => void;
}

/** What a fast ingest did; `rowsRead = valid + rejected`, `valid = accepted + duplicates`. */
export interface FastPresenceIngestResult {
  rowsRead: number;
  rejected: number;
  accepted: number;
  duplicates: number;
  /** Wall seconds: waiting for file reads; parsing, checking and encoding; waiting for commits; unusual records through SQL. */
  phases: { read: number; parse: number; store: number; sql: number };
}

const REASON_UTF8 = 'invalid UTF-8: the file must be UTF-8 encoded';
const REASON_LONG = `line too long (more than ${MAX_LINE_BYTES} bytes)`;
const REASON_CTL1 = 'contains the control character U+0001';
const REASON_NUL = 'contains a NUL character';
const NCOLS = PRESENCE_COLUMNS.length;
/** Rejected or unusual records held in memory at most before they go to the engine. */
const SETTLE_ROWS = 1 << 16;
/**
 * Lines parsed between turns given to the event loop while a batch commits: a commit is a dozen
 * statements, each ending on the engine's threads, and each next one starts only when this thread
 * lets it (a file read alone comes too seldom).
 */
const YIELD_LINES = 4096;
/** What the parsing loop stops for: more bytes, a full batch to commit, rejects to settle, a turn for the event loop. */
const SCAN_READ = 0, SCAN_COMMIT = 1, SCAN_SETTLE = 2, SCAN_TURN = 3;
/** Bytes per file read. */
const READ_CHUNK = 1 << 21;
/** Canonical column indexes. */
const C_ID_KIND = 0, C_ID_VALUE = 1, C_PLACE_KIND = 2, C_PLACE_ID = 3, C_START = 4, C_END = 5, C_SUB = 6, C_LAT = 7, C_LON = 8, C_SOURCE = 9;
/** A value the fast path does not read itself: its record goes through the SQL checks. */
const ODD = Number.NaN;
/** Fast-path years: every time in them is inside the supported range whatever its offset. */
const MIN_YEAR = 1971;
const MAX_YEAR = 2104;

/** The days a ZoneDays is asked about: fast-path years, and the day after. */
const FIRST_DAY = daysFromCivil(MIN_YEAR, 1, 1);
const ZONE_DAYS = daysFromCivil(MAX_YEAR + 1, 1, 2) - FIRST_DAY + 1;

/** Default dwell of a point event by place kind index. */
const DWELL = PLACE_KINDS.map((k) => DEFAULT_DWELL_SECONDS[k]);

/** Days since 1970-01-01 of a proleptic Gregorian date. */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/**
 * UTC offsets of a time zone by local day, for reading offset-less times: a day's offset is used only
 * when the zone keeps it from the day before to the day after; days near a change go to the SQL
 * engine, whose rules for times in a gap or overlap are then the ones applied.
 */
class ZoneDays {
  private readonly fmt: Intl.DateTimeFormat;
  /** Offsets by day from FIRST_DAY: NaN not yet known, Infinity near a change. */
  private readonly days = new Float64Array(ZONE_DAYS).fill(Number.NaN);
  /** Dates read (y * 10000 + m * 100 + d) and their days, by the date's last bits: feeds repeat a few dates over many rows. */
  readonly dates = new Int32Array(64).fill(-1);
  readonly dateDays = new Int32Array(64);
  constructor(timeZone: string) {
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
  }
  private offsetAt(utcMs: number): number {
    const parts: Record<string, number> = {};
    for (const p of this.fmt.formatToParts(new Date(utcMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    return (Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) - utcMs) / 1000;
  }
  /** Offset in seconds (local = UTC + offset) all through local day `day` (days since epoch), or null near a change. */
  offset(day: number): number | null {
    let off = this.days[day - FIRST_DAY];
    if (off !== off) {
      const base = day * 86_400_000;
      const o = this.offsetAt(base);
      off = o;
      for (const k of [-1, 1, 2]) if (this.offsetAt(base + k * 86_400_000) !== o) off = Number.POSITIVE_INFINITY;
      this.days[day - FIRST_DAY] = off;
    }
    return off === Number.POSITIVE_INFINITY ? null : off;
  }
}

/** A digit's value; anything else so negative that every sum of weighted digits it is in is negative too. */
const digit = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : -1_000_000);

/**
 * Reads a time field the way `timeExpr` does, for the common ISO 8601 forms only: `YYYY-MM-DD`, and
 * `YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]]` with nothing, `Z` or `±HH:MM` after it. Returns epoch seconds,
 * or ODD for anything else (the SQL engine then decides). `nextDay`: a date alone means the next
 * local midnight (an end).
 */
function readTime(buf: Buffer, s: number, e: number, nextDay: boolean, zone: ZoneDays): number {
  const n = e - s;
  if (n !== 10 && n < 16) return ODD;
  const y = digit(buf[s]) * 1000 + digit(buf[s + 1]) * 100 + digit(buf[s + 2]) * 10 + digit(buf[s + 3]);
  const mo = digit(buf[s + 5]) * 10 + digit(buf[s + 6]);
  const d = digit(buf[s + 8]) * 10 + digit(buf[s + 9]);
  if (buf[s + 4] !== 45 || buf[s + 7] !== 45 || y < MIN_YEAR || y > MAX_YEAR || mo < 1 || mo > 12 || d < 1) return ODD;
  const date = y * 10000 + mo * 100 + d;
  let day: number;
  if (zone.dates[date & 63] === date) day = zone.dateDays[date & 63];
  else {
    if (d > daysInMonth(y, mo)) return ODD;
    day = daysFromCivil(y, mo, d);
    zone.dates[date & 63] = date;
    zone.dateDays[date & 63] = day;
  }
  if (n === 10) {
    const off = zone.offset(nextDay ? day + 1 : day);
    return off === null ? ODD : (nextDay ? day + 1 : day) * 86_400 - off;
  }
  const sep = buf[s + 10];
  if ((sep !== 84 && sep !== 32) || buf[s + 13] !== 58) return ODD;
  const h = digit(buf[s + 11]) * 10 + digit(buf[s + 12]);
  const mi = digit(buf[s + 14]) * 10 + digit(buf[s + 15]);
  if (h < 0 || h > 23 || mi < 0 || mi > 59) return ODD;
  let i = s + 16;
  let sec = 0;
  if (i < e && buf[i] === 58) {
    if (i + 3 > e) return ODD;
    sec = digit(buf[i + 1]) * 10 + digit(buf[i + 2]);
    if (sec < 0 || sec > 59) return ODD;
    i += 3;
    if (i < e && buf[i] === 46) {
      let k = i + 1;
      while (k < e && buf[k] >= 48 && buf[k] <= 57) k++;
      if (k === i + 1 || k - i - 1 > 6) return ODD;
      i = k;
    }
  }
  const local = day * 86_400 + h * 3600 + mi * 60 + sec;
  if (i === e) {
    const off = zone.offset(day);
    return off === null ? ODD : local - off;
  }
  if (buf[i] === 90 && i + 1 === e) return local;
  if ((buf[i] === 43 || buf[i] === 45) && i + 6 === e && buf[i + 3] === 58) {
    const oh = digit(buf[i + 1]) * 10 + digit(buf[i + 2]);
    const om = digit(buf[i + 4]) * 10 + digit(buf[i + 5]);
    if (oh < 0 || oh > 14 || om < 0 || om > 59) return ODD;
    const off = (oh * 3600 + om * 60) * (buf[i] === 45 ? -1 : 1);
    return local - off;
  }
  return ODD;
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * Reads a coordinate in the plain form `-?D+(.D+)?` with at most 15 digits: an integer mantissa
 * below 2^53 divided by an exact power of ten is correctly rounded, the same double as the SQL
 * engine's cast. ODD otherwise.
 */
function readNumber(buf: Buffer, s: number, e: number): number {
  let i = s;
  const neg = buf[i] === 45;
  if (neg) i++;
  if (!(buf[i] >= 48 && buf[i] <= 57)) return ODD;
  let m = 0;
  let digits = 0;
  let frac = -1;
  for (; i < e; i++) {
    const c = buf[i];
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      if (frac >= 0) frac++;
    } else if (c === 46 && frac < 0) frac = 0;
    else return ODD;
  }
  if (digits === 0 || digits > 15 || frac === 0) return ODD;
  const v = frac > 0 ? m / POW10[frac] : m;
  return neg ? -v : v;
}

/**
 * The dictionary keys met so far and their stored ids, by bytes, for one store's dictionaries: a
 * stored entry keeps its id for good (dictionaries are only ever added to), so what was looked up once
 * is not looked up again, and no string is made for it.
 */
interface KnownKeys {
  idents: ByteKeys;
  places: ByteKeys;
  subs: ByteKeys;
  sources: ByteKeys;
}

const knownKeys = new WeakMap<PresenceDictionaryView, KnownKeys>();

function knownKeysOf(dict: PresenceDictionaryView): KnownKeys {
  let k = knownKeys.get(dict);
  if (!k) knownKeys.set(dict, (k = { idents: new ByteKeys(1 << 16), places: new ByteKeys(1 << 14), subs: new ByteKeys(16), sources: new ByteKeys(16) }));
  return k;
}

/** The column arrays of a batch: ident, place, start, end, sub, source, flags, lat, lon. */
export type BatchColumnArrays = [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint8Array, Float64Array, Float64Array];

/**
 * Column arrays of committed batches, for the next batches: a batch's columns are tens of megabytes,
 * and allocating them anew for every batch makes the engine collect garbage far more often.
 */
const batchPool: BatchColumnArrays[] = [];

/** Gives a committed batch's columns back for reuse (the store is done with them); ignored when handed away (detached). */
export function recycleBatchColumns(cols: BatchColumnArrays): void {
  if (cols.every((a) => a.byteLength > 0) && batchPool.length < 2) batchPool.push(cols);
}

/** Grows-by-doubling arrays of one batch's encoded columns. */
class BatchBuilder implements EncodedPresenceBatch {
  length = 0;
  ident: Uint32Array;
  place: Uint32Array;
  start: Uint32Array;
  end: Uint32Array;
  sub: Uint32Array;
  source: Uint32Array;
  flags: Uint8Array;
  lat: Float64Array;
  lon: Float64Array;
  fresh: EncodedPresenceBatch['fresh'] = { identifiers: [], places: [], subs: [], sources: [] };
  /** This batch's fresh entries by their bytes. */
  private readonly freshIdents = new ByteKeys();
  private readonly freshPlaces = new ByteKeys();
  private readonly freshSubs = new ByteKeys(16);
  private readonly freshSources = new ByteKeys(16);

  constructor(capacity: number) {
    const i = batchPool.findIndex((c) => c[0].length >= capacity);
    const c = i >= 0 ? batchPool.splice(i, 1)[0] : undefined;
    this.ident = c?.[0] ?? new Uint32Array(capacity);
    this.place = c?.[1] ?? new Uint32Array(capacity);
    this.start = c?.[2] ?? new Uint32Array(capacity);
    this.end = c?.[3] ?? new Uint32Array(capacity);
    this.sub = c?.[4] ?? new Uint32Array(capacity);
    this.source = c?.[5] ?? new Uint32Array(capacity);
    this.flags = c?.[6] ?? new Uint8Array(capacity);
    this.lat = c?.[7] ?? new Float64Array(capacity);
    this.lon = c?.[8] ?? new Float64Array(capacity);
  }

  /** The column arrays (for recycleBatchColumns once the batch is committed). */
  columns(): BatchColumnArrays {
    return [this.ident, this.place, this.start, this.end, this.sub, this.source, this.flags, this.lat, this.lon];
  }

  private grow(): void {
    const cap = this.ident.length * 2;
    const g = <T extends Uint32Array | Uint8Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.ident = g(this.ident, (n) => new Uint32Array(n));
    this.place = g(this.place, (n) => new Uint32Array(n));
    this.start = g(this.start, (n) => new Uint32Array(n));
    this.end = g(this.end, (n) => new Uint32Array(n));
    this.sub = g(this.sub, (n) => new Uint32Array(n));
    this.source = g(this.source, (n) => new Uint32Array(n));
    this.flags = g(this.flags, (n) => new Uint8Array(n));
    this.lat = g(this.lat, (n) => new Float64Array(n));
    this.lon = g(this.lon, (n) => new Float64Array(n));
  }

  /**
   * The id of the identifier `(kind, buf[s, e))`: the store's (through the cache of keys already met),
   * else this batch's fresh entry for it.
   */
  encodeIdent(dict: PresenceDictionaryView, known: KnownKeys, kind: number, buf: Buffer, s: number, e: number): number {
    let id = known.idents.recent(kind, buf, s, e);
    if (id >= 0) return id;
    const h = hashBytes(kind, buf, s, e);
    id = known.idents.get(kind, buf, s, e, h);
    if (id >= 0) return id;
    id = this.freshIdents.get(kind, buf, s, e, h);
    if (id >= 0) return id;
    const value = text(buf, s, e);
    const stored = dict.identifier(ID_KINDS[kind], value);
    if (stored !== undefined) {
      known.idents.set(kind, buf, s, e, h, stored);
      return stored;
    }
    id = FRESH_ID + this.fresh.identifiers.push({ kind: ID_KINDS[kind], value }) - 1;
    this.freshIdents.set(kind, buf, s, e, h, id);
    return id;
  }

  /** The id of the place `(kind, buf[s, e))`, as encodeIdent. */
  encodePlace(dict: PresenceDictionaryView, known: KnownKeys, kind: number, buf: Buffer, s: number, e: number): number {
    let id = known.places.recent(kind, buf, s, e);
    if (id >= 0) return id;
    const h = hashBytes(kind, buf, s, e);
    id = known.places.get(kind, buf, s, e, h);
    if (id >= 0) return id;
    id = this.freshPlaces.get(kind, buf, s, e, h);
    if (id >= 0) return id;
    const placeId = text(buf, s, e);
    const stored = dict.place(PLACE_KINDS[kind], placeId);
    if (stored !== undefined) {
      known.places.set(kind, buf, s, e, h, stored);
      return stored;
    }
    id = FRESH_ID + this.fresh.places.push({ kind: PLACE_KINDS[kind], placeId }) - 1;
    this.freshPlaces.set(kind, buf, s, e, h, id);
    return id;
  }

  /** The id of the sub `buf[s, e)` (not empty), as encodeIdent. */
  encodeSub(dict: PresenceDictionaryView, known: KnownKeys, buf: Buffer, s: number, e: number): number {
    return this.encodeText(known.subs, this.freshSubs, this.fresh.subs, dict, true, buf, s, e);
  }

  /** The id of the source `buf[s, e)` (not empty), as encodeIdent. */
  encodeSource(dict: PresenceDictionaryView, known: KnownKeys, buf: Buffer, s: number, e: number): number {
    return this.encodeText(known.sources, this.freshSources, this.fresh.sources, dict, false, buf, s, e);
  }

  /**
   * The id of a text key `buf[s, e)` of the subs (`sub`) or sources dictionary: a recent or known id,
   * one taken earlier in this batch, the store's id, else the next fresh one (kept in `freshList`).
   */
  private encodeText(knownKeys: ByteKeys, freshKeys: ByteKeys, freshList: string[], dict: PresenceDictionaryView, sub: boolean, buf: Buffer, s: number, e: number): number {
    let id = knownKeys.recent(0, buf, s, e);
    if (id >= 0) return id;
    const h = hashBytes(0, buf, s, e);
    id = knownKeys.get(0, buf, s, e, h);
    if (id >= 0) return id;
    id = freshKeys.get(0, buf, s, e, h);
    if (id >= 0) return id;
    const value = text(buf, s, e);
    const known = sub ? dict.sub(value) : dict.source(value);
    if (known !== undefined) {
      knownKeys.set(0, buf, s, e, h, known);
      return known;
    }
    id = FRESH_ID + freshList.push(value) - 1;
    freshKeys.set(0, buf, s, e, h, id);
    return id;
  }

  push(identId: number, placeId: number, start: number, end: number, sub: number, source: number, flags: number, lat: number, lon: number): void {
    if (this.length === this.ident.length) this.grow();
    const k = this.length++;
    this.ident[k] = identId;
    this.place[k] = placeId;
    this.start[k] = start;
    this.end[k] = end;
    this.sub[k] = sub;
    this.source[k] = source;
    this.flags[k] = flags;
    this.lat[k] = lat;
    this.lon[k] = lon;
  }
}

/** Buffer's own slicing methods (what `toString` dispatches to), called directly on the hot path. */
interface Slicing {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/** The text of `buf[s, e)` (UTF-8 already checked; pure ASCII bytes are read as Latin-1, the same text, faster). */
function text(buf: Buffer, s: number, e: number): string {
  if (e === s) return '';
  const b = buf as unknown as Slicing;
  for (let k = s; k < e; k++) if (buf[k] >= 128) return b.utf8Slice(s, e);
  return b.latin1Slice(s, e);
}

/** The index in `words` of the bytes `buf[s, e)`, or -1; `first`: the index to try first (the last one found). */
function wordIndex(buf: Buffer, s: number, e: number, words: readonly string[], first: number): number {
  const n = e - s;
  if (first >= 0 && words[first].length === n) {
    const word = words[first];
    let k = 0;
    while (k < n && buf[s + k] === word.charCodeAt(k)) k++;
    if (k === n) return first;
  }
  for (let w = 0; w < words.length; w++) {
    const word = words[w];
    if (word.length !== n) continue;
    let k = 0;
    while (k < n && buf[s + k] === word.charCodeAt(k)) k++;
    if (k === n) return w;
  }
  return -1;
}

/** Whether this machine stores words little-endian (the byte order the comma search reads words in). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A buffer on a fresh memory block of its own (so its start is word-aligned). */
function alignedBuffer(n: number): Buffer {
  return Buffer.from(new ArrayBuffer(n));
}

type Reject = [line: number, field: string, reason: string, value: string | null];

/**
 * Where the next byte `byte` is in `buf[from, have)` (`have` when there is none): the engine asks
 * once per stretch of lines without it instead of looking at every byte.
 */
function nextByte(buf: Buffer, byte: number, from: number, have: number): number {
  const i = buf.indexOf(byte, from);
  return i < 0 || i >= have ? have : i;
}

/** Ingests one presence CSV file (see the module comment). The caller has recognised the header. */
export async function ingestPresencesCsv(o: FastPresenceIngestOptions): Promise<FastPresenceIngestResult> {
  const { sql } = o;
  const zone = new ZoneDays(o.timeZone);
  const phases = { read: 0, parse: 0, store: 0, sql: 0 };
  const oddTable = `${o.prefix}_odd`;
  const oddValid = `${o.prefix}_oddvalid`;
  const cols = PRESENCE_COLUMNS.map((c) => `${ident(c)} VARCHAR`).join(', ');
  await sql.run(`SET TimeZone = ${lit(o.timeZone)};
CREATE OR REPLACE TEMP TABLE ${o.rejectsTable} (line UBIGINT, field VARCHAR, reason VARCHAR, value VARCHAR);
CREATE OR REPLACE TEMP TABLE ${oddTable} (line UBIGINT, nf INTEGER, ${cols}, maxbytes BIGINT);`);
  let dict = await o.loader.dictionaries();
  // 0-based position of each canonical column in the file's header, or -1.
  const pos = PRESENCE_COLUMNS.map((c) => o.header.indexOf(c));
  const idKindFirst = pos[C_ID_KIND] === 0;

  let rowsRead = 0;
  let accepted = 0;
  let duplicates = 0;
  // The file's rows as one batch: the sum of its committed batches' records.
  const whole = { batches: 0, rows: 0, lo: Infinity, hi: -Infinity, digest: 0n };
  let sinceCheckpoint = 0;
  let rejects: Reject[] = [];
  let odd: SqlValue[][] = [];
  const commitRows = Math.min(o.commitRows ?? o.batchRows, o.batchRows);
  // Room for a batch from the start (growing the columns as rows come costs more than the parse):
  // the file's size bounds its rows (a record takes 20 bytes at the least).
  const size = (await fs.promises.stat(o.file)).size;
  const capacity = Math.max(1024, Math.min(commitRows, Math.ceil(size / 20)));
  let batch = new BatchBuilder(capacity);
  let pending: Promise<void> | undefined;
  let pendingError: unknown;
  /** The columns of the batch being committed, and whether its commit is still running. */
  let committing: BatchColumnArrays | undefined;
  let inFlight = false;

  // Per-record scratch: field bounds in `rb` (at most NCOLS + 1 are kept; the count goes on), and each
  // canonical column's bounds (start -1: the file has no such column, or the record too few fields).
  const fieldS = new Int32Array(NCOLS + 1);
  const fieldE = new Int32Array(NCOLS + 1);
  let rb: Buffer = Buffer.alloc(0);
  const colS = new Int32Array(NCOLS);
  const colE = new Int32Array(NCOLS);
  const inOrder = pos.every((p, c) => p === c);
  let known = knownKeysOf(dict);
  // The kinds of the last record (often those of the next).
  let lastIdKind = -1;
  let lastPlaceKind = -1;

  const reject = (line: number, field: string, reason: string, value: string | null = null): void => {
    rejects.push([line, field, reason, value]);
  };

  /** Sends a record to the SQL checks: its canonical fields as text, as the SQL engine stages them. */
  const toSql = (line: number, nf: number, cs: Int32Array, ce: Int32Array): void => {
    let maxbytes = 0;
    const row: SqlValue[] = [line, nf];
    for (let c = 0; c < NCOLS; c++) {
      const s = cs[c];
      const e = ce[c];
      row.push(s < 0 ? null : text(rb, s, e));
      if (s >= 0 && e - s > maxbytes) maxbytes = e - s;
    }
    row.push(maxbytes);
    odd.push(row);
  };

  /**
   * Checks one record whose nf fields are in rb at fieldS/fieldE, in validatePresences' order; `bytes`:
   * the record's length in the file (no field is longer).
   */
  const checkRecord = (line: number, nf: number, bytes: number): void => {
    const buf = rb;
    // The fields are the canonical columns when the header is in order; else mapped to them.
    let cs = fieldS;
    let ce = fieldE;
    if (nf !== NCOLS || !inOrder) {
      cs = colS;
      ce = colE;
      for (let c = 0; c < NCOLS; c++) {
        const p = pos[c];
        if (p < 0 || p >= nf) colS[c] = -1;
        else {
          colS[c] = fieldS[p];
          colE[c] = fieldE[p];
        }
      }
    }
    if (nf === 1 && idKindFirst) {
      const s = cs[C_ID_KIND];
      const e = ce[C_ID_KIND];
      let spaces = e > s;
      for (let k = s; k < e && spaces; k++) spaces = buf[k] === 32;
      if (spaces) return reject(line, '(line)', 'blank line (spaces only)');
    }
    if (nf !== NCOLS) return reject(line, '(row)', `wrong number of columns: expected ${NCOLS}, found ${nf}`);
    // Bytes bound characters: only a field over the limit in bytes can be too long, and its length is the SQL engine's to count.
    if (bytes > MAX_FIELD_CHARS) {
      for (let c = 0; c < NCOLS; c++) if (cs[c] >= 0 && ce[c] - cs[c] > MAX_FIELD_CHARS) return toSql(line, nf, cs, ce);
    }
    const kS = cs[C_ID_KIND];
    const kE = ce[C_ID_KIND];
    if (kS < 0 || kE === kS) return reject(line, 'id_kind', 'empty identifier kind');
    const idKindIndex = (lastIdKind = wordIndex(buf, kS, kE, ID_KINDS, lastIdKind));
    if (idKindIndex < 0) return reject(line, 'id_kind', `unknown identifier kind (expected one of ${ID_KINDS.join(', ')})`, text(buf, kS, kE));
    // The identifier, trimmed of spaces (`nullif(trim(c), '')`); encoded only once the record is valid,
    // so a rejected record adds nothing to the dictionaries.
    let iS = cs[C_ID_VALUE];
    let iE = ce[C_ID_VALUE];
    if (iS >= 0) {
      while (iS < iE && buf[iS] === 32) iS++;
      while (iE > iS && buf[iE - 1] === 32) iE--;
    }
    if (iS < 0 || iS === iE) return reject(line, 'id_value', 'empty identifier');
    const pkS = cs[C_PLACE_KIND];
    const pkE = ce[C_PLACE_KIND];
    if (pkS < 0 || pkE === pkS) return reject(line, 'place_kind', 'empty place kind');
    const placeKindIndex = (lastPlaceKind = wordIndex(buf, pkS, pkE, PLACE_KINDS, lastPlaceKind));
    if (placeKindIndex < 0) return reject(line, 'place_kind', `unknown place kind (expected one of ${PLACE_KINDS.join(', ')})`, text(buf, pkS, pkE));
    let plS = cs[C_PLACE_ID];
    let plE = ce[C_PLACE_ID];
    if (plS >= 0) {
      while (plS < plE && buf[plS] === 32) plS++;
      while (plE > plS && buf[plE - 1] === 32) plE--;
    }
    if (plS < 0 || plS === plE) return reject(line, 'place_id', 'empty place id');
    const sS = cs[C_START];
    const sE = ce[C_START];
    if (sS < 0 || sE === sS) return reject(line, 'start', 'empty time');
    const start = readTime(buf, sS, sE, false, zone);
    if (start !== start) return toSql(line, nf, cs, ce);
    const eS = cs[C_END];
    const eE = ce[C_END];
    const hasEnd = eS >= 0 && eE > eS;
    const end = hasEnd ? readTime(buf, eS, eE, true, zone) : 0;
    if (end !== end) return toSql(line, nf, cs, ce);
    if (hasEnd && end < start) return reject(line, 'end', `end is before start (${text(buf, sS, sE)})`, text(buf, eS, eE));
    let lat = Number.NaN;
    let lon = Number.NaN;
    const laS = cs[C_LAT];
    const laE = ce[C_LAT];
    if (laS >= 0 && laE > laS) {
      lat = readNumber(buf, laS, laE);
      if (lat !== lat) return toSql(line, nf, cs, ce);
      if (!(Math.abs(lat) <= 90)) return reject(line, 'lat', 'latitude out of range (-90 to 90)', text(buf, laS, laE));
    }
    const loS = cs[C_LON];
    const loE = ce[C_LON];
    if (loS >= 0 && loE > loS) {
      lon = readNumber(buf, loS, loE);
      if (lon !== lon) return toSql(line, nf, cs, ce);
      if (!(Math.abs(lon) <= 180)) return reject(line, 'lon', 'longitude out of range (-180 to 180)', text(buf, loS, loE));
    }
    const startDate = sE - sS === 10;
    const endDate = hasEnd && eE - eS === 10;
    let stop: number;
    if (hasEnd && end > start) stop = end;
    else if (!hasEnd && startDate) stop = readTime(buf, sS, sE, true, zone);
    else stop = start + DWELL[placeKindIndex];
    if (stop !== stop) return toSql(line, nf, cs, ce);
    const flags = (startDate || endDate ? 1 : 0) | ((!hasEnd && !startDate) || (hasEnd && end === start) ? 2 : 0);
    const b = batch;
    const identId = b.encodeIdent(dict, known, idKindIndex, buf, iS, iE);
    const placeId = b.encodePlace(dict, known, placeKindIndex, buf, plS, plE);
    const suS = cs[C_SUB];
    const suE = ce[C_SUB];
    const sub = suS >= 0 && suE > suS ? b.encodeSub(dict, known, buf, suS, suE) : 0;
    const soS = cs[C_SOURCE];
    const soE = ce[C_SOURCE];
    const source = soS >= 0 && soE > soS ? b.encodeSource(dict, known, buf, soS, soE) : 0;
    b.push(identId, placeId, start, stop, sub, source, flags, lat, lon);
  };

  /** Field nf - 1 ends at a comma at i: the count of fields so far. */
  const comma = (nf: number, i: number): number => {
    if (nf <= NCOLS) {
      fieldE[nf - 1] = i;
      fieldS[nf] = i + 1;
    }
    return nf + 1;
  };
  // The read buffer as little-endian 32-bit words (null on a big-endian machine: bytes are looked at one by one).
  let words: Int32Array | null = null;

  // Bytes no line of the common kind has: where the next one is in the buffer (looked for again once passed).
  let nextQuote = -1;
  let nextNul = -1;
  let nextCtl1 = -1;
  // The lines before `utf8To` are known to be UTF-8 when `utf8Ok` (the whole stretch was checked at once).
  let utf8To = -1;
  let utf8Ok = false;

  /** One physical line `buf[s, e)` (line end removed), numbered `line`; `have` bytes in buf, `eof` when the file has no more. */
  const onLine = (buf: Buffer, s: number, e: number, line: number, have: number, eof: boolean): void => {
    if (e === s) return; // a blank line is not a record
    rowsRead++;
    if (e > utf8To) {
      // Valid UTF-8 split at line ends (ASCII) is valid UTF-8 line by line: check the lines buffered from here at once.
      utf8To = eof ? have : buf.lastIndexOf(10, have - 1);
      if (utf8To < e) utf8To = have;
      utf8Ok = isUtf8(buf.subarray(s, utf8To));
    }
    if (!utf8Ok && !isUtf8(buf.subarray(s, e))) return reject(line, '(line)', REASON_UTF8);
    if (nextCtl1 < s) nextCtl1 = nextByte(buf, 1, s, have);
    if (nextCtl1 < e) return reject(line, '(line)', REASON_CTL1);
    if (nextNul < s) nextNul = nextByte(buf, 0, s, have);
    if (nextNul < e) return reject(line, '(line)', REASON_NUL);
    if (nextQuote < s) nextQuote = nextByte(buf, 34, s, have);
    let nf = 1;
    if (nextQuote < e) {
      const parsed = parseCsvLine(buf.toString('utf8', s, e));
      if (!parsed.ok) return reject(line, '(line)', parsed.reason);
      nf = parsed.fields.length;
      const parts = parsed.fields.slice(0, NCOLS + 1).map((f) => Buffer.from(f, 'utf8'));
      let at = 0;
      for (let k = 0; k < parts.length; k++) {
        fieldS[k] = at;
        at += parts[k].length;
        fieldE[k] = at;
      }
      rb = Buffer.concat(parts);
    } else {
      fieldS[0] = s;
      let i = s;
      if (words !== null) {
        // Four bytes at a time where the line covers whole words: each comma byte found by its zero after
        // an XOR (exactly, no borrow between bytes), its place by the lowest set bit.
        for (const head = Math.min(e, (s + 3) & ~3); i < head; i++) if (buf[i] === 44) nf = comma(nf, i);
        for (const we = e & ~3; i < we; i += 4) {
          const x = words[i >> 2] ^ 0x2c2c2c2c;
          let m = ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x | 0x7f7f7f7f);
          while (m !== 0) {
            nf = comma(nf, i + ((31 - Math.clz32(m & -m)) >> 3));
            m &= m - 1;
          }
        }
      }
      for (; i < e; i++) if (buf[i] === 44) nf = comma(nf, i);
      if (nf <= NCOLS + 1) fieldE[nf - 1] = e;
      rb = buf;
    }
    checkRecord(line, nf, e - s);
  };

  /** Moves this batch's rejects to the rejects table and its unusual records through the SQL checks (into the batch). */
  const settle = async (): Promise<void> => {
    if (rejects.length > 0) {
      const rows = rejects;
      rejects = [];
      await appendRows(sql, o.rejectsTable, rows);
    }
    if (odd.length === 0) return;
    const t0 = performance.now();
    const rows = odd;
    odd = [];
    await appendRows(sql, oddTable, rows);
    await validatePresences(sql, { raw: oddTable, rej: o.rejectsTable }, oddValid);
    const [, idKind, idValue, placeKind, placeId, start, end, sub, flags, lat, lon, source] = await sql.columns(
      `SELECT line, id_kind, id_value, place_kind, place_id, start, "end", sub, flags, lat, lon, source FROM ${oddValid}`,
    );
    await sql.run(`DROP VIEW IF EXISTS ${oddValid}; DROP TABLE IF EXISTS ${oddValid}_checked; DELETE FROM ${oddTable};`);
    const b = batch;
    const bytes = (v: SqlValue): Buffer => Buffer.from(String(v), 'utf8');
    for (let k = 0; k < (idKind?.length ?? 0); k++) {
      const iv = bytes(idValue[k]);
      const pv = bytes(placeId[k]);
      const sv = sub[k] === null ? null : bytes(sub[k]);
      const ov = source[k] === null ? null : bytes(source[k]);
      b.push(
        b.encodeIdent(dict, known, ID_KINDS.indexOf(String(idKind[k]) as (typeof ID_KINDS)[number]), iv, 0, iv.length),
        b.encodePlace(dict, known, PLACE_KINDS.indexOf(String(placeKind[k]) as (typeof PLACE_KINDS)[number]), pv, 0, pv.length),
        Number(start[k]),
        Number(end[k]),
        sv === null ? 0 : b.encodeSub(dict, known, sv, 0, sv.length),
        ov === null ? 0 : b.encodeSource(dict, known, ov, 0, ov.length),
        Number(flags[k]),
        lat[k] === null ? Number.NaN : Number(lat[k]),
        lon[k] === null ? Number.NaN : Number(lon[k]),
      );
    }
    phases.sql += (performance.now() - t0) / 1000;
  };

  /** Hands the batch to the store; the next batch is parsed while this one commits. */
  const commit = async (): Promise<void> => {
    await settle();
    const full = batch;
    const w0 = performance.now();
    await pending;
    phases.store += (performance.now() - w0) / 1000;
    if (pendingError !== undefined) throw pendingError;
    // The batch committed before is done with: its columns take the next batch's rows.
    if (committing) recycleBatchColumns(committing);
    committing = undefined;
    batch = new BatchBuilder(capacity);
    // The mirror now has every entry the previous batches added: encode the next batch against it.
    dict = await o.loader.dictionaries();
    known = knownKeysOf(dict);
    if (full.length === 0) {
      recycleBatchColumns(full.columns());
      return;
    }
    sinceCheckpoint += full.length;
    const checkpoint = commitRows === o.batchRows || sinceCheckpoint >= o.batchRows;
    if (checkpoint) sinceCheckpoint = 0;
    committing = full.columns();
    inFlight = true;
    pending = o.loader.commitEncoded(full, { returnChunk: o.returnChunk, checkpoint }).finally(() => (inFlight = false)).then(
      (res: EncodedInsertResult) => {
        accepted += res.inserted;
        duplicates += res.duplicates;
        whole.batches++;
        whole.rows += res.batch.rows;
        whole.lo = Math.min(whole.lo, res.batch.lo);
        whole.hi = Math.max(whole.hi, res.batch.hi);
        whole.digest += BigInt(res.batch.digest);
        o.onCommitted(res);
      },
      (err: unknown) => {
        pendingError = err;
      },
    );
  };

  // The read buffer and where the engine is in it and in the file.
  let buf = alignedBuffer(READ_CHUNK * 2);
  words = LITTLE_ENDIAN ? new Int32Array(buf.buffer, buf.byteOffset, buf.length >> 2) : null;
  let have = 0; // bytes in buf
  let at = 0; // start of the unprocessed part of buf
  let line = 0;
  let skipping = false; // inside a line too long to keep
  let nextCr = -1; // the next CR at or after `at` (`have` for none)
  let eof = false;

  /**
   * Goes through the whole lines in the buffer until one of the `SCAN_*` things is to be awaited.
   * (A function of its own, not part of the async loop below: the engine compiles it once, and the
   * loop's awaits do not make it compile the parsing again.)
   */
  const scan = (): number => {
    for (;;) {
      let nl = buf.indexOf(10, at);
      if (nl >= have) nl = -1;
      // A line ends at an LF, a CRLF or a CR alone (line-ends.ts). `end`: where its text ends; `after`: where the next line starts.
      if (nextCr < at) nextCr = nextByte(buf, 13, at, have);
      let end: number;
      let after: number;
      if (nextCr < have && (nl < 0 ? nextCr < have - 1 || eof : nextCr < nl - 1)) {
        // A CR alone (one followed by an LF is the CRLF below; one at the end of what is read waits for the next byte).
        end = nextCr;
        after = nextCr + 1;
      } else if (nl >= 0) {
        end = nl > at && buf[nl - 1] === 13 ? nl - 1 : nl;
        after = nl + 1;
      } else if (eof && at < have && !skipping) {
        end = after = have;
      } else {
        if (skipping) at = have;
        else if ((buf[have - 1] === 13 ? have - 1 : have) - at >= MAX_LINE_BYTES) {
          // A line longer than the limit: rejected, and its bytes dropped as they come.
          line++;
          if (line > 1) {
            rowsRead++;
            reject(line, '(line)', REASON_LONG);
          }
          skipping = true;
          at = have;
        }
        return SCAN_READ;
      }
      if (skipping) {
        skipping = false;
        at = after;
        continue;
      }
      line++;
      if (line > 1) {
        // The limit is on the line's text, without its line end (the SQL engine's reader is told the same).
        if (end - at >= MAX_LINE_BYTES) {
          rowsRead++;
          reject(line, '(line)', REASON_LONG);
        } else onLine(buf, at, end, line, have, eof);
      }
      at = after;
      if (batch.length + odd.length >= commitRows) return SCAN_COMMIT;
      // A file of mostly bad records: their rejects leave memory before the batch is full.
      if (rejects.length + odd.length >= SETTLE_ROWS) return SCAN_SETTLE;
      // Let the batch being committed take its next step (its statements end on other threads).
      if (inFlight && (line & (YIELD_LINES - 1)) === 0) return SCAN_TURN;
    }
  };

  const fd = await fs.promises.open(o.file, 'r');
  try {
    let fileOffset = 0;
    while (!eof) {
      // Keep the unprocessed tail, make room, read on.
      if (at > 0) {
        buf.copy(buf, 0, at, have);
        have -= at;
        at = 0;
      }
      if (buf.length - have < READ_CHUNK) {
        const bigger = alignedBuffer(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
        words = LITTLE_ENDIAN ? new Int32Array(buf.buffer, buf.byteOffset, buf.length >> 2) : null;
      }
      const r0 = performance.now();
      const { bytesRead } = await fd.read(buf, have, buf.length - have, fileOffset);
      phases.read += (performance.now() - r0) / 1000;
      let p0 = performance.now();
      fileOffset += bytesRead;
      have += bytesRead;
      eof = bytesRead === 0;
      o.onRead?.(fileOffset, size);
      // The buffer's bytes moved and more came: what was found in it is found again.
      nextQuote = nextNul = nextCtl1 = nextCr = utf8To = -1;
      for (let next = scan(); next !== SCAN_READ; next = scan()) {
        phases.parse += (performance.now() - p0) / 1000;
        if (next === SCAN_COMMIT) await commit();
        else if (next === SCAN_SETTLE) await settle();
        else await new Promise<void>((resolve) => setImmediate(resolve));
        p0 = performance.now();
      }
      phases.parse += (performance.now() - p0) / 1000;
    }
    await commit();
    const w0 = performance.now();
    await pending;
    phases.store += (performance.now() - w0) / 1000;
    if (pendingError !== undefined) throw pendingError;
    if (committing) recycleBatchColumns(committing);
    recycleBatchColumns(batch.columns());
    if (whole.batches > 1 && whole.rows <= o.batchRows) {
      await o.loader.recordBatch({ rows: whole.rows, lo: whole.lo, hi: whole.hi, digest: whole.digest.toString() });
    }
    const rejected = Number((await sql.rows(`SELECT count(*) AS n FROM ${o.rejectsTable}`))[0].n);
    return { rowsRead, rejected, accepted, duplicates, phases };
  } finally {
    // A failed batch leaves the next one waiting: let it settle before the caller cleans up.
    await pending?.catch(() => undefined);
    await fd.close();
    await sql.run(`DROP TABLE IF EXISTS ${oddTable}; DROP VIEW IF EXISTS ${oddValid}; DROP TABLE IF EXISTS ${oddValid}_checked;`).catch(() => undefined);
  }
}

/** Appends rows to a temporary table: through the engine's appender when it has one. */
async function appendRows(sql: SqlRunner, table: string, rows: readonly (readonly SqlValue[])[]): Promise<void> {
  if (rows.length === 0) return;
  if (sql.append) return sql.append(table, rows);
  for (let i = 0; i < rows.length; i += 500) {
    const body = rows
      .slice(i, i + 500)
      .map((r) => `(${r.map((v) => (v === null ? 'NULL' : typeof v === 'string' ? lit(v) : String(v))).join(', ')})`)
      .join(',\n');
    await sql.run(`INSERT INTO ${table} VALUES ${body}`);
  }
}

/**
 * A copy of a store's dictionaries kept where the store is not (a worker thread), brought up to date
 * by deltas; ids it does not know yet are encoded as fresh and resolved by the store at commit.
 */
export class DictionarySnapshot implements PresenceDictionaryView {
  readonly counts: DictionaryCounts = { ident: 0, place: 0, sub: 1, source: 1 };
  private readonly idents = new Map<string, Map<string, number>>();
  private readonly places = new Map<string, Map<string, number>>();
  private readonly subs = new Map<string, number>();
  private readonly sources = new Map<string, number>();
  identifier(kind: string, value: string): number | undefined {
    return this.idents.get(kind)?.get(value);
  }
  place(kind: string, placeId: string): number | undefined {
    return this.places.get(kind)?.get(placeId);
  }
  sub(value: string): number | undefined {
    return this.subs.get(value);
  }
  source(value: string): number | undefined {
    return this.sources.get(value);
  }
  apply(d: DictionaryDelta): void {
    const add = (maps: Map<string, Map<string, number>>, kind: string, key: string, id: number): void => {
      let m = maps.get(kind);
      if (!m) maps.set(kind, (m = new Map()));
      m.set(key, id);
    };
    for (const [id, kind, value] of d.identifiers) {
      add(this.idents, kind, value, id);
      this.counts.ident = Math.max(this.counts.ident, id + 1);
    }
    for (const [id, kind, placeId] of d.places) {
      add(this.places, kind, placeId, id);
      this.counts.place = Math.max(this.counts.place, id + 1);
    }
    for (const [id, value] of d.subs) {
      this.subs.set(value, id);
      this.counts.sub = Math.max(this.counts.sub, id + 1);
    }
    for (const [id, value] of d.sources) {
      this.sources.set(value, id);
      this.counts.source = Math.max(this.counts.source, id + 1);
    }
  }
}

/**
 * Tuning of the fast engine. Large files are parsed in a worker thread where the machine has two
 * cores or more and other processes leave them free enough: with a core to itself the worker makes a
 * file go a good deal faster for about the same CPU time, but on a 2-core machine where other work
 * keeps a core busy it does not pay (no idle core to run on, and the hand-off costs CPU). Tests lower
 * `workerMinBytes` (and `workerFreeCores`) to run files through the worker.
 */
export const fastIngestSettings = {
  /** Files at least this large are parsed in a worker thread, so parsing and commits run on two cores. */
  workerMinBytes: os.availableParallelism() >= 2 ? 4 << 20 : Number.POSITIVE_INFINITY,
  /**
   * Cores that must be free of other processes' work (measured over the time since the last file, or a
   * tenth of a second) for a file to be parsed in a worker; 0: whatever the machine's load.
   */
  workerFreeCores: 1.5,
  /** Valid rows per committed batch when parsing in a worker (two of DuckDB's row groups). */
  workerCommitRows: 245_760,
  /** Valid rows per committed batch when parsing in this thread: the engine stores one while the next is parsed. */
  commitRows: 245_760,
};

/** The machine's busy CPU time and this process's, in milliseconds, when last looked at. */
let cpuSample: { at: number; busy: number; own: number } | undefined;

function sampleCpu(): { at: number; busy: number; own: number } {
  let busy = 0;
  for (const c of os.cpus()) busy += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  const own = process.cpuUsage();
  return { at: performance.now(), busy, own: (own.user + own.system) / 1000 };
}

/**
 * How many cores other processes kept busy lately: since the last look when that is recent enough
 * (between a tenth of a second and a minute ago), else over the next tenth of a second.
 */
async function othersBusyCores(): Promise<number> {
  if (!cpuSample || performance.now() - cpuSample.at > 60_000) cpuSample = sampleCpu();
  const wait = 100 - (performance.now() - cpuSample.at);
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const now = sampleCpu();
  const others = (now.busy - cpuSample.busy - (now.own - cpuSample.own)) / (now.at - cpuSample.at);
  cpuSample = now;
  return Math.max(0, others);
}

/** Whether a file of `size` bytes is parsed in a worker thread (see fastIngestSettings). */
async function parseInWorker(size: number): Promise<boolean> {
  if (size < fastIngestSettings.workerMinBytes) {
    // A look at the machine's load now, for the next large file's choice.
    if (Number.isFinite(fastIngestSettings.workerMinBytes) && (!cpuSample || performance.now() - cpuSample.at > 60_000)) cpuSample = sampleCpu();
    return false;
  }
  if (fastIngestSettings.workerFreeCores <= 0) return true;
  // Where the cores' times are not the ones this process runs on (a share of a larger machine), the load cannot be told.
  const cores = os.availableParallelism();
  if (os.cpus().length !== cores) return cores >= 2;
  return cores - (await othersBusyCores()) >= fastIngestSettings.workerFreeCores;
}

/** How many files went through a worker thread (for tests). */
export const fastIngestStats = { workerRuns: 0 };

/** What the worker is told to do: the options that cross threads. */
export type WorkerStart = Omit<FastPresenceIngestOptions, 'sql' | 'loader' | 'onCommitted' | 'onRead'> & {
  /** Which store the worker's dictionary copy belongs to. */
  store: number;
};

/** Messages from the worker: a call to run here, progress, or the end. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'call'; id: number; op: 'run' | 'rows' | 'columns' | 'append' | 'delta' | 'commit' | 'record'; args: unknown }
  | { type: 'read'; bytes: number; total: number }
  | { type: 'done'; result: FastPresenceIngestResult }
  | { type: 'error'; message: string };

const storeIds = new WeakMap<EncodedPresenceLoader, number>();
let storeSeq = 0;
const idleWorkers: Worker[] = [];
/** A worker being started ahead of need. */
let starting: Promise<void> | undefined;

/** Starts a worker thread running fast-presences-worker.ts (through tsx, as the rest of Cordon runs). */
function spawnWorker(): Promise<Worker> {
  // tsx's ESM entry (its CommonJS one registers hooks by paths that only hold from CommonJS).
  const api = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const entry = new URL('./fast-presences-worker.ts', import.meta.url).href;
  const w = new Worker(`import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
  return new Promise((resolve, reject) => {
    const fail = (err: unknown): void => {
      void w.terminate();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    w.once('error', fail);
    w.once('message', (m: WorkerMessage) => {
      w.off('error', fail);
      if (m.type === 'ready') resolve(w);
      else fail(new Error('the parsing worker did not start'));
    });
  });
}

/**
 * Ingests a presence CSV (see the module comment): large files are parsed in a worker thread while
 * this thread commits, smaller ones (or when no worker can start) here.
 */
export async function ingestPresencesCsvFast(o: FastPresenceIngestOptions): Promise<FastPresenceIngestResult> {
  const size = (await fs.promises.stat(o.file)).size;
  if (!(await parseInWorker(size))) {
    o = { ...o, commitRows: Math.min(o.batchRows, fastIngestSettings.commitRows) };
    // A worker takes a few tenths of a second to start: the first file starts one for the large files to come.
    if (idleWorkers.length === 0 && !starting && Number.isFinite(fastIngestSettings.workerMinBytes)) {
      starting = spawnWorker().then(
        (w) => {
          w.unref();
          idleWorkers.push(w);
        },
        () => undefined,
      ).finally(() => (starting = undefined));
    }
    return ingestPresencesCsv(o);
  }
  let w: Worker;
  try {
    await starting;
    w = idleWorkers.pop() ?? (await spawnWorker());
  } catch {
    return ingestPresencesCsv(o);
  }
  w.ref();
  fastIngestStats.workerRuns++;
  let store = storeIds.get(o.loader);
  if (store === undefined) storeIds.set(o.loader, (store = ++storeSeq));
  const start: WorkerStart = {
    file: o.file, header: o.header, timeZone: o.timeZone, batchRows: o.batchRows, commitRows: Math.min(o.batchRows, fastIngestSettings.workerCommitRows),
    rejectsTable: o.rejectsTable, prefix: o.prefix, returnChunk: false, store,
  };
  const handle = async (op: string, args: unknown): Promise<unknown> => {
    switch (op) {
      case 'run':
        return o.sql.run(args as string);
      case 'rows':
        return o.sql.rows(args as string);
      case 'columns':
        return o.sql.columns(args as string);
      case 'append': {
        const [table, rows] = args as [string, SqlValue[][]];
        return appendRows(o.sql, table, rows);
      }
      case 'delta':
        return o.loader.dictionaryDelta(args as DictionaryCounts);
      case 'commit': {
        const [batch, checkpoint] = args as [EncodedPresenceBatch, boolean];
        const res = await o.loader.commitEncoded(batch, { returnChunk: o.returnChunk, checkpoint });
        o.onCommitted(res);
        const columns: BatchColumnArrays = [batch.ident, batch.place, batch.start, batch.end, batch.sub, batch.source, batch.flags, batch.lat, batch.lon];
        return { inserted: res.inserted, duplicates: res.duplicates, batch: res.batch, columns };
      }
      case 'record':
        return o.loader.recordBatch(args as PresenceBatchDigest);
      default:
        throw new Error(`unknown call ${op}`);
    }
  };
  try {
    return await new Promise<FastPresenceIngestResult>((resolve, reject) => {
      w.on('message', (m: WorkerMessage) => {
        if (m.type === 'call') {
          handle(m.op, m.args).then(
            (value) => {
              // A committed batch's columns go back to the worker (this thread is done with them) for its next batches.
              const columns = m.op === 'commit' ? (value as { columns: BatchColumnArrays }).columns : [];
              w.postMessage({ type: 'reply', id: m.id, ok: true, value }, columns.map((a) => a.buffer as ArrayBuffer));
            },
            (err: unknown) => w.postMessage({ type: 'reply', id: m.id, ok: false, message: err instanceof Error ? err.message : String(err) }),
          );
        } else if (m.type === 'read') o.onRead?.(m.bytes, m.total);
        else if (m.type === 'done') resolve(m.result);
        else if (m.type === 'error') reject(new Error(m.message));
      });
      w.once('error', reject);
      w.postMessage({ type: 'start', options: start });
    });
  } catch (err) {
    await w.terminate();
    throw err;
  } finally {
    w.removeAllListeners('message');
    w.removeAllListeners('error');
    if (w.threadId >= 0) {
      w.unref();
      idleWorkers.push(w);
    }
  }
}
