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
 * Rows are committed in batches of two DuckDB row groups (`fastIngestSettings.commitRows`): the
 * engine writes one on its own threads while the next is parsed. Once all of a file's rows are stored,
 * the digest of the file as one batch is recorded too, the record the SQL engine checks for (see
 * `commitRows`). Large files can also be parsed in a worker thread (`fast-presences-worker.ts`, off by
 * default: see fastIngestSettings) while the main thread commits.
 */
import fs from 'node:fs';
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
/** Bytes per file read. */
const READ_CHUNK = 1 << 21;
/** Canonical column indexes. */
const C_ID_KIND = 0, C_ID_VALUE = 1, C_PLACE_KIND = 2, C_PLACE_ID = 3, C_START = 4, C_END = 5, C_SUB = 6, C_LAT = 7, C_LON = 8, C_SOURCE = 9;
/** A value the fast path does not read itself: its record goes through the SQL checks. */
const ODD = Number.NaN;
/** Fast-path years: every time in them is inside the supported range whatever its offset. */
const MIN_YEAR = 1971;
const MAX_YEAR = 2104;

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
  private readonly days = new Map<number, number | null>();
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
    let off = this.days.get(day);
    if (off === undefined) {
      const base = day * 86_400_000;
      const o = this.offsetAt(base);
      off = o;
      for (const k of [-1, 1, 2]) if (this.offsetAt(base + k * 86_400_000) !== o) off = null;
      this.days.set(day, off);
    }
    return off;
  }
}

const digit = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : -100);

/** A field as bytes: `buf[s, e)`. */
interface Field {
  buf: Buffer;
  s: number;
  e: number;
}

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
  if (buf[s + 4] !== 45 || buf[s + 7] !== 45 || y < MIN_YEAR || y > MAX_YEAR || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return ODD;
  const day = daysFromCivil(y, mo, d);
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
  private readonly freshIdents = new Map<string, Map<string, number>>();
  private readonly freshPlaces = new Map<string, Map<string, number>>();
  private readonly freshSubs = new Map<string, number>();
  private readonly freshSources = new Map<string, number>();

  constructor(capacity: number) {
    this.ident = new Uint32Array(capacity);
    this.place = new Uint32Array(capacity);
    this.start = new Uint32Array(capacity);
    this.end = new Uint32Array(capacity);
    this.sub = new Uint32Array(capacity);
    this.source = new Uint32Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.lat = new Float64Array(capacity);
    this.lon = new Float64Array(capacity);
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

  encodeIdent(dict: PresenceDictionaryView, kind: string, value: string): number {
    const id = dict.identifier(kind, value);
    if (id !== undefined) return id;
    let m = this.freshIdents.get(kind);
    if (!m) this.freshIdents.set(kind, (m = new Map()));
    let k = m.get(value);
    if (k === undefined) {
      k = this.fresh.identifiers.push({ kind, value }) - 1;
      m.set(value, k);
    }
    return FRESH_ID + k;
  }

  encodePlace(dict: PresenceDictionaryView, kind: string, placeId: string): number {
    const id = dict.place(kind, placeId);
    if (id !== undefined) return id;
    let m = this.freshPlaces.get(kind);
    if (!m) this.freshPlaces.set(kind, (m = new Map()));
    let k = m.get(placeId);
    if (k === undefined) {
      k = this.fresh.places.push({ kind, placeId }) - 1;
      m.set(placeId, k);
    }
    return FRESH_ID + k;
  }

  encodeSub(dict: PresenceDictionaryView, value: string | null): number {
    if (value === null) return 0;
    const id = dict.sub(value);
    if (id !== undefined) return id;
    let k = this.freshSubs.get(value);
    if (k === undefined) {
      k = this.fresh.subs.push(value) - 1;
      this.freshSubs.set(value, k);
    }
    return FRESH_ID + k;
  }

  encodeSource(dict: PresenceDictionaryView, value: string | null): number {
    if (value === null) return 0;
    const id = dict.source(value);
    if (id !== undefined) return id;
    let k = this.freshSources.get(value);
    if (k === undefined) {
      k = this.fresh.sources.push(value) - 1;
      this.freshSources.set(value, k);
    }
    return FRESH_ID + k;
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

/** A field's text (UTF-8 already checked; pure ASCII bytes are read as Latin-1, the same text, faster). */
function text(f: Field): string {
  if (f.e === f.s) return '';
  const b = f.buf as unknown as Slicing;
  for (let k = f.s; k < f.e; k++) if (f.buf[k] >= 128) return b.utf8Slice(f.s, f.e);
  return b.latin1Slice(f.s, f.e);
}

/**
 * The result of the previous field with the same bytes: feeds repeat a person, a place or a source
 * over many consecutive rows, and comparing a few bytes is cheaper than making a string to look up.
 */
class Recent {
  private bytes = Buffer.alloc(64);
  private len = -1;
  value = 0;
  /** True when `f` (and `g`, when given) hold the bytes of the last `remember`. */
  same(f: Field, g?: Field | null): boolean {
    const n1 = f.e - f.s;
    const n2 = g ? g.e - g.s : 0;
    if (n1 + n2 + 1 !== this.len) return false;
    const b = this.bytes;
    for (let k = 0; k < n1; k++) if (b[k] !== f.buf[f.s + k]) return false;
    if (b[n1] !== 0) return false;
    if (g) for (let k = 0; k < n2; k++) if (b[n1 + 1 + k] !== g.buf[g.s + k]) return false;
    return true;
  }
  remember(value: number, f: Field, g?: Field | null): void {
    const n1 = f.e - f.s;
    const n2 = g ? g.e - g.s : 0;
    if (n1 + n2 + 1 > this.bytes.length) this.bytes = Buffer.alloc(2 * (n1 + n2 + 1));
    const b = this.bytes;
    for (let k = 0; k < n1; k++) b[k] = f.buf[f.s + k];
    b[n1] = 0;
    if (g) for (let k = 0; k < n2; k++) b[n1 + 1 + k] = g.buf[g.s + k];
    this.len = n1 + n2 + 1;
    this.value = value;
  }
  forget(): void {
    this.len = -1;
  }
}

/** The index in `words` of the field's bytes, or -1. */
function wordIndex(f: Field, words: readonly string[]): number {
  const n = f.e - f.s;
  for (let w = 0; w < words.length; w++) {
    const word = words[w];
    if (word.length !== n) continue;
    let k = 0;
    while (k < n && f.buf[f.s + k] === word.charCodeAt(k)) k++;
    if (k === n) return w;
  }
  return -1;
}

/** `CASE WHEN starts_with(c, ' ') OR ends_with(c, ' ') THEN nullif(trim(c), '') ELSE nullif(c, '') END` (trim removes spaces only). */
function trimmed(f: Field | null): string | null {
  if (f === null) return null;
  let s = f.s;
  let e = f.e;
  while (s < e && f.buf[s] === 32) s++;
  while (e > s && f.buf[e - 1] === 32) e--;
  return s === e ? null : text({ buf: f.buf, s, e });
}

type Reject = [line: number, field: string, reason: string, value: string | null];

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

  // Per-record scratch: field bounds (at most NCOLS are kept; the count goes on).
  const fieldS = new Int32Array(NCOLS + 1);
  const fieldE = new Int32Array(NCOLS + 1);
  const fieldBuf: Buffer[] = new Array<Buffer>(NCOLS + 1);
  const colField: (Field | null)[] = new Array<Field | null>(NCOLS).fill(null);
  const fieldObjs: Field[] = Array.from({ length: NCOLS }, () => ({ buf: Buffer.alloc(0), s: 0, e: 0 }));

  // Encoded values of the previous rows' fields; a batch's fresh ids are its own, so each batch starts afresh.
  const recentIdent = new Recent();
  const recentPlace = new Recent();
  const recentSub = new Recent();
  const recentSource = new Recent();
  const forgetRecent = (): void => {
    recentIdent.forget();
    recentPlace.forget();
    recentSub.forget();
    recentSource.forget();
  };

  const reject = (line: number, field: string, reason: string, value: string | null = null): void => {
    rejects.push([line, field, reason, value]);
  };

  /** Sends a record to the SQL checks: its canonical fields as text, as the SQL engine stages them. */
  const toSql = (line: number, nf: number): void => {
    let maxbytes = 0;
    const row: SqlValue[] = [line, nf];
    for (let c = 0; c < NCOLS; c++) {
      const f = colField[c];
      row.push(f === null ? null : text(f));
      if (f !== null && f.e - f.s > maxbytes) maxbytes = f.e - f.s;
    }
    row.push(maxbytes);
    odd.push(row);
  };

  /** Checks one record whose fields are in fieldBuf/fieldS/fieldE (nf of them), in validatePresences' order. */
  const checkRecord = (line: number, nf: number): void => {
    for (let c = 0; c < NCOLS; c++) {
      const p = pos[c];
      if (p < 0 || p >= nf) colField[c] = null;
      else {
        const f = fieldObjs[c];
        f.buf = fieldBuf[p];
        f.s = fieldS[p];
        f.e = fieldE[p];
        colField[c] = f;
      }
    }
    if (nf === 1 && idKindFirst) {
      const f = colField[C_ID_KIND]!;
      let spaces = f.e > f.s;
      for (let k = f.s; k < f.e && spaces; k++) spaces = f.buf[k] === 32;
      if (spaces) return reject(line, '(line)', 'blank line (spaces only)');
    }
    if (nf !== NCOLS) return reject(line, '(row)', `wrong number of columns: expected ${NCOLS}, found ${nf}`);
    for (let c = 0; c < NCOLS; c++) {
      const f = colField[c];
      // Bytes bound characters: only a field over the limit in bytes can be too long, and its length is the SQL engine's to count.
      if (f !== null && f.e - f.s > MAX_FIELD_CHARS) return toSql(line, nf);
    }
    const kindF = colField[C_ID_KIND];
    if (kindF === null || kindF.e === kindF.s) return reject(line, 'id_kind', 'empty identifier kind');
    const idKindIndex = wordIndex(kindF, ID_KINDS);
    if (idKindIndex < 0) return reject(line, 'id_kind', `unknown identifier kind (expected one of ${ID_KINDS.join(', ')})`, text(kindF));
    // The identifier: the previous row's when the bytes are the same, else trimmed and looked up.
    const idF = colField[C_ID_VALUE];
    // Encoded only once the record is valid: a rejected record adds nothing to the dictionaries.
    let identId = -1;
    let idValue: string | null = null;
    if (idF !== null && recentIdent.same(kindF, idF)) identId = recentIdent.value;
    else {
      idValue = trimmed(idF);
      if (idValue === null) return reject(line, 'id_value', 'empty identifier');
    }
    const pkF = colField[C_PLACE_KIND];
    if (pkF === null || pkF.e === pkF.s) return reject(line, 'place_kind', 'empty place kind');
    const placeKindIndex = wordIndex(pkF, PLACE_KINDS);
    if (placeKindIndex < 0) return reject(line, 'place_kind', `unknown place kind (expected one of ${PLACE_KINDS.join(', ')})`, text(pkF));
    const placeKind = PLACE_KINDS[placeKindIndex];
    const plF = colField[C_PLACE_ID];
    let placeId = -1;
    let placeText: string | null = null;
    if (plF !== null && recentPlace.same(pkF, plF)) placeId = recentPlace.value;
    else {
      placeText = trimmed(plF);
      if (placeText === null) return reject(line, 'place_id', 'empty place id');
    }
    const sF = colField[C_START];
    if (sF === null || sF.e === sF.s) return reject(line, 'start', 'empty time');
    const start = readTime(sF.buf, sF.s, sF.e, false, zone);
    if (Number.isNaN(start)) return toSql(line, nf);
    const eF = colField[C_END];
    const hasEnd = eF !== null && eF.e > eF.s;
    const end = hasEnd ? readTime(eF.buf, eF.s, eF.e, true, zone) : 0;
    if (Number.isNaN(end)) return toSql(line, nf);
    if (hasEnd && end < start) return reject(line, 'end', `end is before start (${text(sF)})`, text(eF));
    let lat = Number.NaN;
    let lon = Number.NaN;
    const latF = colField[C_LAT];
    if (latF !== null && latF.e > latF.s) {
      lat = readNumber(latF.buf, latF.s, latF.e);
      if (Number.isNaN(lat)) return toSql(line, nf);
      if (!(Math.abs(lat) <= 90)) return reject(line, 'lat', 'latitude out of range (-90 to 90)', text(latF));
    }
    const lonF = colField[C_LON];
    if (lonF !== null && lonF.e > lonF.s) {
      lon = readNumber(lonF.buf, lonF.s, lonF.e);
      if (Number.isNaN(lon)) return toSql(line, nf);
      if (!(Math.abs(lon) <= 180)) return reject(line, 'lon', 'longitude out of range (-180 to 180)', text(lonF));
    }
    const startDate = sF.e - sF.s === 10;
    const endDate = hasEnd && eF.e - eF.s === 10;
    let stop: number;
    if (hasEnd && end > start) stop = end;
    else if (!hasEnd && startDate) stop = readTime(sF.buf, sF.s, sF.e, true, zone);
    else stop = start + DWELL[placeKindIndex];
    if (Number.isNaN(stop)) return toSql(line, nf);
    const flags = (startDate || endDate ? 1 : 0) | ((!hasEnd && !startDate) || (hasEnd && end === start) ? 2 : 0);
    if (identId < 0) {
      identId = batch.encodeIdent(dict, ID_KINDS[idKindIndex], idValue!);
      recentIdent.remember(identId, kindF, idF!);
    }
    if (placeId < 0) {
      placeId = batch.encodePlace(dict, placeKind, placeText!);
      recentPlace.remember(placeId, pkF, plF!);
    }
    const subF = colField[C_SUB];
    let sub = 0;
    if (subF !== null && subF.e > subF.s) {
      if (recentSub.same(subF)) sub = recentSub.value;
      else {
        sub = batch.encodeSub(dict, text(subF));
        recentSub.remember(sub, subF);
      }
    }
    const srcF = colField[C_SOURCE];
    let source = 0;
    if (srcF !== null && srcF.e > srcF.s) {
      if (recentSource.same(srcF)) source = recentSource.value;
      else {
        source = batch.encodeSource(dict, text(srcF));
        recentSource.remember(source, srcF);
      }
    }
    batch.push(identId, placeId, start, stop, sub, source, flags, lat, lon);
  };

  /** One physical line `buf[s, e)` (line end removed), numbered `line`. */
  const onLine = (buf: Buffer, s: number, e: number, line: number): void => {
    if (e === s) return; // a blank line is not a record
    rowsRead++;
    let nf = 1;
    fieldS[0] = s;
    fieldBuf[0] = buf;
    let high = false;
    let quote = false;
    let nul = false;
    let ctl1 = false;
    for (let i = s; i < e; i++) {
      const c = buf[i];
      if (c === 44) {
        if (nf <= NCOLS) {
          fieldE[nf - 1] = i;
          fieldS[nf] = i + 1;
          fieldBuf[nf] = buf;
        }
        nf++;
      } else if (c < 35) {
        if (c === 34) quote = true;
        else if (c === 0) nul = true;
        else if (c === 1) ctl1 = true;
      } else if (c >= 128) high = true;
    }
    if (nf <= NCOLS + 1) fieldE[nf - 1] = e;
    if (high && !isUtf8(buf.subarray(s, e))) return reject(line, '(line)', REASON_UTF8);
    if (ctl1) return reject(line, '(line)', REASON_CTL1);
    if (nul) return reject(line, '(line)', REASON_NUL);
    if (quote) {
      const parsed = parseCsvLine(buf.toString('utf8', s, e));
      if (!parsed.ok) return reject(line, '(line)', parsed.reason);
      nf = parsed.fields.length;
      for (let k = 0; k < Math.min(nf, NCOLS + 1); k++) {
        const b = Buffer.from(parsed.fields[k], 'utf8');
        fieldBuf[k] = b;
        fieldS[k] = 0;
        fieldE[k] = b.length;
      }
    }
    checkRecord(line, nf);
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
    for (let k = 0; k < (idKind?.length ?? 0); k++) {
      b.push(
        b.encodeIdent(dict, String(idKind[k]), String(idValue[k])),
        b.encodePlace(dict, String(placeKind[k]), String(placeId[k])),
        Number(start[k]),
        Number(end[k]),
        b.encodeSub(dict, sub[k] === null ? null : String(sub[k])),
        b.encodeSource(dict, source[k] === null ? null : String(source[k])),
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
    batch = new BatchBuilder(capacity);
    forgetRecent();
    const w0 = performance.now();
    await pending;
    phases.store += (performance.now() - w0) / 1000;
    if (pendingError !== undefined) throw pendingError;
    // The mirror now has every entry the previous batches added: encode the next batch against it.
    dict = await o.loader.dictionaries();
    if (full.length === 0) return;
    sinceCheckpoint += full.length;
    const checkpoint = commitRows === o.batchRows || sinceCheckpoint >= o.batchRows;
    if (checkpoint) sinceCheckpoint = 0;
    pending = o.loader.commitEncoded(full, { returnChunk: o.returnChunk, checkpoint }).then(
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

  const fd = await fs.promises.open(o.file, 'r');
  try {
    let buf = Buffer.allocUnsafe(READ_CHUNK * 2);
    let have = 0; // bytes in buf
    let at = 0; // start of the unprocessed part of buf
    let fileOffset = 0;
    let line = 0;
    let skipping = false; // inside a line too long to keep
    let eof = false;
    while (!eof) {
      // Keep the unprocessed tail, make room, read on.
      if (at > 0) {
        buf.copy(buf, 0, at, have);
        have -= at;
        at = 0;
      }
      if (buf.length - have < READ_CHUNK) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const r0 = performance.now();
      const { bytesRead } = await fd.read(buf, have, buf.length - have, fileOffset);
      phases.read += (performance.now() - r0) / 1000;
      let p0 = performance.now();
      fileOffset += bytesRead;
      have += bytesRead;
      eof = bytesRead === 0;
      o.onRead?.(fileOffset, size);
      for (;;) {
        let nl = buf.indexOf(10, at);
        if (nl >= have) nl = -1;
        if (nl < 0) {
          if (eof && at < have && !skipping) nl = have;
          else {
            if (skipping) at = have;
            else if (have - at >= MAX_LINE_BYTES) {
              // A line longer than the limit: rejected, and its bytes dropped as they come.
              line++;
              if (line > 1) {
                rowsRead++;
                reject(line, '(line)', REASON_LONG);
              }
              skipping = true;
              at = have;
            }
            break;
          }
        }
        if (skipping) {
          skipping = false;
          at = nl + 1;
          continue;
        }
        line++;
        let e = nl;
        if (e > at && buf[e - 1] === 13) e--;
        if (line > 1) {
          // The SQL engine's reader counts a line's bytes with its carriage return, if any, and refuses MAX_LINE_BYTES.
          if (nl - at >= MAX_LINE_BYTES) {
            rowsRead++;
            reject(line, '(line)', REASON_LONG);
          } else onLine(buf, at, e, line);
        }
        at = nl + 1;
        if (batch.length + odd.length >= commitRows) {
          phases.parse += (performance.now() - p0) / 1000;
          await commit();
          p0 = performance.now();
        } else if (rejects.length + odd.length >= SETTLE_ROWS) {
          // A file of mostly bad records: their rejects leave memory before the batch is full.
          phases.parse += (performance.now() - p0) / 1000;
          await settle();
          p0 = performance.now();
        }
      }
      phases.parse += (performance.now() - p0) / 1000;
    }
    await commit();
    const w0 = performance.now();
    await pending;
    phases.store += (performance.now() - w0) / 1000;
    if (pendingError !== undefined) throw pendingError;
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
 * Tuning of the fast engine. Parsing in a worker thread is off by default: on the shared 2-core
 * machine it was measured on, the second thread did not pay (no idle core to run on, and the hand-off
 * costs CPU); set `workerMinBytes` (e.g. 4 MiB) where a core is free. Tests lower it to run files
 * through the worker.
 */
export const fastIngestSettings = {
  /** Files at least this large are parsed in a worker thread, so parsing and commits run on two cores. */
  workerMinBytes: Number.POSITIVE_INFINITY,
  /** Valid rows per committed batch when parsing in a worker (two of DuckDB's row groups). */
  workerCommitRows: 245_760,
  /** Valid rows per committed batch when parsing in this thread: the engine stores one while the next is parsed. */
  commitRows: 245_760,
};

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
  if (size < fastIngestSettings.workerMinBytes) {
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
        return { inserted: res.inserted, duplicates: res.duplicates, batch: res.batch };
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
            (value) => w.postMessage({ type: 'reply', id: m.id, ok: true, value }),
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
