/**
 * @module The embedded presence store: one DuckDB file in the data folder. Identifiers, places, subs and
 * sources are dictionary-encoded into dense integers, times are UINTEGER epoch seconds, and every batch
 * is one transaction that skips rows already stored, so a re-ingest adds nothing and a crash leaves no
 * half batch.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DOUBLE, DuckDBConnection, DuckDBDataChunk, DuckDBInstance, UINTEGER, UTINYINT, type DuckDBValue } from '@duckdb/node-api';
import duckdbBindings from '@duckdb/node-bindings';
import { placeKey, type IdKind, type IdentityLink, type PersonRecord, type PlaceKind, type PlaceRecord, type Presence } from '../../../domain/formats.ts';
import type {
  BulkLoader,
  DictionaryCounts,
  DictionaryDelta,
  EncodedInsertResult,
  EncodedPresenceBatch,
  PresenceBatchDigest,
  InsertResult,
  PlaceWindowQuery,
  PresenceChunk,
  PresenceDictionaryView,
  PresenceInsertResult,
  PresenceStore,
  PresenceStoreCapabilities,
  PurgeResult,
  SqlRunner,
  SqlValue,
  StoreStats,
  StoredPresence,
} from '../presence-store.ts';
import { allocPresenceChunk, FRESH_ID, PRESENCE_STAGING_COLUMNS, slicePresenceChunk } from '../presence-store.ts';

/** Raised when another process holds the DuckDB file: DuckDB allows one writing process per file. */
export class PresenceStoreBusyError extends Error {
  constructor(file: string, holder: string) {
    super(
      `the presence store ${file} is in use by ${holder}. DuckDB allows one process per file: ` +
        'stop that process (e.g. the running `cordon serve`) or send the file to the running server ' +
        '(POST /api/ingest, the Data page) instead.',
    );
    this.name = 'PresenceStoreBusyError';
  }
}

/** Quotes a text as a SQL string literal (standard SQL: no backslash escapes, quotes doubled). */
export function sqlString(s: string): string {
  if (s.includes('\u0000')) throw new Error('text with a NUL character cannot be stored');
  return `'${s.replace(/'/g, "''")}'`;
}

/** An integer for SQL; refuses anything that is not a safe integer so no text can slip into a query. */
function sqlInt(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return String(n);
}

function toSqlValue(v: DuckDBValue): SqlValue {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v;
  return String(v);
}

/** Numbers come back from DuckDB as number or bigint depending on the column type; counts fit in a number. */
function num(v: SqlValue | undefined): number {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  return 0;
}

function numOrNull(v: SqlValue | undefined): number | null {
  return v === null || v === undefined ? null : num(v);
}

function optText(v: SqlValue | undefined): string | undefined {
  return v === null || v === undefined || v === '' ? undefined : String(v);
}

function optNum(v: SqlValue | undefined): number | undefined {
  return v === null || v === undefined ? undefined : num(v);
}

/** Serialises work on one connection: DuckDB runs one statement at a time per connection, and a batch must not interleave with reads. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

class DuckDbSqlRunner implements SqlRunner {
  constructor(readonly conn: DuckDBConnection) {}
  async run(sql: string): Promise<void> {
    await this.conn.run(sql);
  }
  async rows(sql: string): Promise<Record<string, SqlValue>[]> {
    const reader = await this.conn.runAndReadAll(sql);
    const names = reader.columnNames();
    return reader.getRows().map((r) => {
      const o: Record<string, SqlValue> = {};
      names.forEach((n, i) => (o[n] = toSqlValue(r[i])));
      return o;
    });
  }
  async columns(sql: string): Promise<SqlValue[][]> {
    const reader = await this.conn.runAndReadAll(sql);
    return reader.getColumns().map((col) => col.map(toSqlValue));
  }
  async append(table: string, rows: readonly (readonly SqlValue[])[]): Promise<void> {
    const app = await this.conn.createAppender(table, 'main', 'temp');
    try {
      for (const row of rows) {
        for (const v of row) {
          if (v === null) app.appendNull();
          else if (typeof v === 'string') app.appendVarchar(v);
          else if (typeof v === 'bigint') app.appendBigInt(v);
          else if (typeof v === 'boolean') app.appendBoolean(v);
          else if (Number.isInteger(v)) app.appendBigInt(BigInt(v));
          else app.appendDouble(v);
        }
        app.endRow();
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
  }
  progress(): number | undefined {
    const p = this.conn.progress.percentage;
    return p >= 0 ? p : undefined;
  }
}

/** Opens a SQL runner on a private in-memory DuckDB, for validating files when the store has no bulk path. */
export async function openDuckDbScratch(): Promise<{ sql: SqlRunner; close(): void }> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  return {
    sql: new DuckDbSqlRunner(conn),
    close: () => {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS identifiers (id UINTEGER NOT NULL, kind VARCHAR NOT NULL, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS places (id UINTEGER NOT NULL, kind VARCHAR NOT NULL, place_id VARCHAR NOT NULL,
  name VARCHAR, lat DOUBLE, lon DOUBLE, jurisdiction VARCHAR, category VARCHAR);
CREATE TABLE IF NOT EXISTS subs (id UINTEGER NOT NULL, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS sources (id UINTEGER NOT NULL, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS presences (ident UINTEGER NOT NULL, place UINTEGER NOT NULL, start UINTEGER NOT NULL,
  "end" UINTEGER NOT NULL, sub UINTEGER NOT NULL, source UINTEGER NOT NULL, flags UTINYINT NOT NULL, lat DOUBLE, lon DOUBLE);
-- One row per committed batch of presences: its row count, start range and digest (see commitStaged).
CREATE TABLE IF NOT EXISTS presence_batches (rows BIGINT NOT NULL, lo BIGINT NOT NULL, hi BIGINT NOT NULL, digest HUGEINT NOT NULL);
CREATE TABLE IF NOT EXISTS identity_links (a_kind VARCHAR NOT NULL, a_value VARCHAR NOT NULL, b_kind VARCHAR NOT NULL,
  b_value VARCHAR NOT NULL, source VARCHAR);
CREATE TABLE IF NOT EXISTS people (id_kind VARCHAR NOT NULL, id_value VARCHAR NOT NULL, name VARCHAR, address VARCHAR,
  lat DOUBLE, lon DOUBLE, jurisdiction VARCHAR);
`;

/**
 * Up to this many identifiers or places, a read scans once per value with an equality DuckDB applies
 * inside the scan; past it, one scan with an IN list (cheaper than many full passes over the column).
 * Rows arrive grouped by person, so zone maps make a scan per identifier cheap; places are spread over
 * the whole table, so each equality scan reads the whole place column.
 */
const EQUALITY_SCANS_MAX = { ident: 8, place: 3 } as const;

/** Past this many keys, a dictionary lookup appends them to a temporary table instead of writing a VALUES list. */
const APPEND_KEYS_MIN = 2000;

/** Rows above which a batch is followed by a CHECKPOINT, so the WAL does not hold a large load. */
const CHECKPOINT_ROWS = 200_000;

let stagingSeq = 0;

/** Options of the DuckDB adapter. */
export interface DuckDbPresenceStoreOptions {
  /** Who opens the file (`cordon serve`, `cordon ingest`); written next to it so a second process can say who holds it. */
  owner?: string;
  /** DuckDB memory limit (default `2GB`); larger loads spill to the temp folder next to the file. */
  memoryLimit?: string;
  /** DuckDB threads (default: all cores). */
  threads?: number;
}

/** The DuckDB adapter of the presence store port. */
export class DuckDbPresenceStore implements PresenceStore {
  readonly capabilities: PresenceStoreCapabilities = { name: 'duckdb', traceInStore: false };
  readonly bulk: BulkLoader;
  private readonly mutex = new Mutex();
  private readonly runner: DuckDbSqlRunner;
  private closed = false;
  /** The dictionaries mirrored in JavaScript for encoded batches (loaded on first use). */
  private readonly dict = new DictionaryMirror();
  /** The connection encoded batches commit on (opened on first use). */
  private encConn: DuckDBConnection | undefined;
  /** Where commitEncoded puts a batch's unique rows. */
  private readonly dedupeScratch = new BatchScratch();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly bulkConn: DuckDBConnection,
    private readonly file: string,
    private readonly ownerFile: string | undefined,
  ) {
    this.runner = new DuckDbSqlRunner(conn);
    // Staging runs on a connection of its own: its temporary tables and long reads never mix with
    // the reads and batches of the main connection; commits from it still take the write lock.
    const bulkRunner = new DuckDbSqlRunner(bulkConn);
    this.bulk = {
      sql: bulkRunner,
      commitPresences: (table, options) => this.mutex.run(() => this.commitStaged(bulkRunner, table, options?.returnChunk ?? false)),
      checkpoint: () => this.mutex.run(() => this.runner.run('CHECKPOINT').catch(() => undefined)),
      encoded: {
        dictionaries: () => this.mutex.run(() => this.syncDictionaries()),
        dictionaryDelta: (since) => this.mutex.run(async () => (await this.syncDictionaries()).delta(since)),
        commitEncoded: (batch, options) => this.mutex.run(() => this.commitEncoded(batch, options?.returnChunk ?? false, options?.checkpoint ?? true)),
        recordBatch: (batch) =>
          this.mutex.run(async () => {
            const values = `${sqlInt(batch.rows)}, ${sqlInt(batch.lo)}, ${sqlInt(batch.hi)}, ${BigInt(batch.digest).toString()}::HUGEINT`;
            await this.runner.run(`INSERT INTO presence_batches SELECT ${values} WHERE NOT EXISTS (SELECT 1 FROM presence_batches WHERE (rows, lo, hi, digest) = (${values}))`);
          }),
      },
    };
  }

  /**
   * Opens (creating if needed) the store at `file` (`:memory:` for a throw-away store) and initialises
   * its tables. A file held by another process gives a PresenceStoreBusyError naming the holder.
   */
  static async open(file: string, options: DuckDbPresenceStoreOptions = {}): Promise<DuckDbPresenceStore> {
    const inMemory = file === ':memory:';
    // A bounded engine on a shared machine: large loads spill to the temp folder instead of growing.
    const config: Record<string, string> = { memory_limit: options.memoryLimit ?? '2GB' };
    if (options.threads) config.threads = String(options.threads);
    if (!inMemory) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      config.temp_directory = `${file}.tmp`;
    }
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(file, config);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (/lock/i.test(message)) throw new PresenceStoreBusyError(file, describeHolder(file, message));
      throw err;
    }
    let ownerFile: string | undefined;
    if (!inMemory) {
      ownerFile = `${file}.owner`;
      fs.writeFileSync(ownerFile, JSON.stringify({ pid: process.pid, owner: options.owner ?? 'cordon', since: new Date().toISOString() }) + '\n');
    }
    const conn = await instance.connect();
    const bulkConn = await instance.connect();
    // Query progress feeds the ingest progress bar; DuckDB tracks it only when its bar is enabled (never printed).
    await bulkConn.run('SET enable_progress_bar = true; SET enable_progress_bar_print = false;');
    const store = new DuckDbPresenceStore(instance, conn, bulkConn, file, ownerFile);
    await store.init();
    return store;
  }

  async init(): Promise<void> {
    await this.mutex.run(() => this.runner.run(SCHEMA));
  }

  // ---- writes --------------------------------------------------------------------------------

  async insertPresences(rows: readonly Presence[], options: { returnChunk?: boolean } = {}): Promise<PresenceInsertResult> {
    for (const r of rows) {
      if (!(r.end > r.start)) throw new Error(`presence end (${r.end}) must be after start (${r.start})`);
    }
    return this.mutex.run(async () => {
      const table = `stg_presences_${++stagingSeq}`;
      await this.runner.run(`CREATE OR REPLACE TEMP TABLE ${table} (${PRESENCE_STAGING_COLUMNS})`);
      try {
        const app = await this.conn.createAppender(table, 'main', 'temp');
        for (const r of rows) {
          app.appendVarchar(r.idKind);
          app.appendVarchar(r.idValue);
          app.appendVarchar(r.placeKind);
          app.appendVarchar(r.placeId);
          app.appendBigInt(BigInt(r.start));
          app.appendBigInt(BigInt(r.end));
          if (r.sub === undefined || r.sub === '') app.appendNull();
          else app.appendVarchar(r.sub);
          app.appendUTinyInt((r.dateOnly ? 1 : 0) | (r.pointEvent ? 2 : 0));
          if (r.lat === undefined) app.appendNull();
          else app.appendDouble(r.lat);
          if (r.lon === undefined) app.appendNull();
          else app.appendDouble(r.lon);
          if (r.source === undefined || r.source === '') app.appendNull();
          else app.appendVarchar(r.source);
          app.endRow();
        }
        app.flushSync();
        app.closeSync();
        return await this.commitStaged(this.runner, table, options.returnChunk ?? false);
      } finally {
        await this.runner.run(`DROP TABLE IF EXISTS temp.main.${table}`);
      }
    });
  }

  /**
   * Moves a staging table (or view) of validated presences into the store in one transaction: new identifiers,
   * places, subs and sources get dictionary ids, rows already stored (or repeated in the batch) are
   * skipped. Either all of it commits or none.
   */
  private async commitStaged(r: DuckDbSqlRunner, table: string, returnChunk: boolean): Promise<PresenceInsertResult> {
    // A digest of the batch's rows by their identity (the columns that tell a duplicate; a sum of row
    // hashes, so the same rows in any order give the same digest). A batch whose every row was stored
    // by an earlier batch with the same digest, as when a file is ingested again, is skipped whole.
    const [d] = await r.rows(`SELECT count(*) AS n, min(start) AS lo, max(start) AS hi,
  sum(hash(id_kind, id_value, place_kind, place_id, start, "end", sub, source)) AS digest FROM ${table}`);
    const staged = num(d.n);
    const nothing = (duplicates: number): PresenceInsertResult =>
      returnChunk ? { inserted: 0, duplicates, chunk: emptyChunk() } : { inserted: 0, duplicates };
    if (staged === 0) return nothing(0);
    const lo = num(d.lo);
    const hi = num(d.hi);
    if (typeof d.digest !== 'bigint' && typeof d.digest !== 'number') throw new Error('batch digest is not a number');
    const digest = `${sqlInt(staged)}, ${sqlInt(lo)}, ${sqlInt(hi)}, ${String(d.digest)}::HUGEINT`;
    if (num((await r.rows(`SELECT count(*) AS n FROM presence_batches WHERE (rows, lo, hi, digest) = (${digest})`))[0].n) > 0) return nothing(staged);
    await r.run('BEGIN TRANSACTION');
    try {
      // One statement per step (same transaction): each shows up on its own in a profile.
      for (const stmt of commitStatements(table, lo, hi)) await r.run(stmt);
      await r.run(`INSERT INTO presence_batches VALUES (${digest})`);
      const fresh = num((await r.rows(`SELECT count(*) AS n FROM ${table}_fresh`))[0].n);
      const chunk = returnChunk ? await readChunk(r.conn, `SELECT ident, place, start, "end", sub, flags FROM ${table}_fresh`, fresh) : undefined;
      await r.run('COMMIT');
      this.dict.stale = true;
      // The batch is durable in the WAL already; a checkpoint that cannot run now (another writer) runs later.
      if (fresh >= CHECKPOINT_ROWS) await r.run('CHECKPOINT').catch(() => undefined);
      const result: PresenceInsertResult = { inserted: fresh, duplicates: staged - fresh };
      if (chunk) result.chunk = chunk;
      return result;
    } catch (err) {
      await r.run('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      await r.run(`DROP TABLE IF EXISTS temp.main.${table}_fresh;`).catch(() => undefined);
    }
  }

  /** Brings the dictionary mirror up to date: loads it whole the first time, then only entries added by other writes. */
  private async syncDictionaries(): Promise<DictionaryMirror> {
    const d = this.dict;
    if (!d.loaded || d.stale) {
      const r = this.runner;
      const [iid, ik, iv, ih] = await r.columns(`SELECT id, kind, value, hash(kind, value) AS h FROM identifiers WHERE id >= ${sqlInt(d.next.ident)}`);
      for (let k = 0; k < (iid?.length ?? 0); k++) d.addIdent(String(ik[k]), String(iv[k]), num(iid[k]), BigInt(ih[k] as bigint));
      const [pid, pk, pv, pkh, ph] = await r.columns(`SELECT id, kind, place_id, hash(kind) AS hk, hash(place_id) AS h FROM places WHERE id >= ${sqlInt(d.next.place)}`);
      for (let k = 0; k < (pid?.length ?? 0); k++) d.addPlace(String(pk[k]), String(pv[k]), num(pid[k]), BigInt(pkh[k] as bigint), BigInt(ph[k] as bigint));
      const [sid, sv, sh] = await r.columns(`SELECT id, value, hash(value) AS h FROM subs WHERE id >= ${sqlInt(d.next.sub)}`);
      for (let k = 0; k < (sid?.length ?? 0); k++) d.addSub(String(sv[k]), num(sid[k]), BigInt(sh[k] as bigint));
      const [oid, ov, oh] = await r.columns(`SELECT id, value, hash(value) AS h FROM sources WHERE id >= ${sqlInt(d.next.source)}`);
      for (let k = 0; k < (oid?.length ?? 0); k++) d.addSource(String(ov[k]), num(oid[k]), BigInt(oh[k] as bigint));
      d.loaded = true;
      d.stale = false;
    }
    return d;
  }

  /**
   * Commits a batch encoded in JavaScript (see EncodedPresenceLoader), with the outcome of
   * `commitStaged` for the same rows: fresh dictionary entries get ids and are appended, the batch
   * digest is the same sum of row hashes (DuckDB's `hash` of the same names and values, worked out
   * here from each dictionary entry's hash), rows repeated in the batch keep their least flags and a
   * coordinate where one has it, rows already stored are skipped; all in one transaction. Rows go in
   * by the appender, straight into `presences` when nothing is stored in the batch's start range.
   * The mirror learns the new entries only once the transaction has committed.
   */
  private async commitEncoded(b: EncodedPresenceBatch, returnChunk: boolean, checkpoint: boolean): Promise<EncodedInsertResult> {
    let record: PresenceBatchDigest = { rows: 0, lo: 0, hi: 0, digest: '0' };
    const nothing = (duplicates: number): EncodedInsertResult =>
      returnChunk ? { inserted: 0, duplicates, chunk: emptyChunk(), batch: record } : { inserted: 0, duplicates, batch: record };
    if (b.length === 0) return nothing(0);
    const d = await this.syncDictionaries();
    // Fresh entries: one another batch (or another write) may have added since the encoding keep that id.
    const next = { ...d.next };
    const newIdents: [number, string, string][] = [];
    const identIds = b.fresh.identifiers.map((e) => {
      const known = d.identifier(e.kind, e.value);
      if (known !== undefined) return known;
      newIdents.push([next.ident, e.kind, e.value]);
      return next.ident++;
    });
    const newPlaces: [number, string, string][] = [];
    const placeIds = b.fresh.places.map((e) => {
      const known = d.place(e.kind, e.placeId);
      if (known !== undefined) return known;
      newPlaces.push([next.place, e.kind, e.placeId]);
      return next.place++;
    });
    const newSubs: [number, string][] = [];
    const subIds = b.fresh.subs.map((v) => {
      const known = d.sub(v);
      if (known !== undefined) return known;
      newSubs.push([next.sub, v]);
      return next.sub++;
    });
    const newSources: [number, string][] = [];
    const sourceIds = b.fresh.sources.map((v) => {
      const known = d.source(v);
      if (known !== undefined) return known;
      newSources.push([next.source, v]);
      return next.source++;
    });
    resolveFresh(b.ident, b.length, identIds);
    resolveFresh(b.place, b.length, placeIds);
    resolveFresh(b.sub, b.length, subIds);
    resolveFresh(b.source, b.length, sourceIds);
    b.fresh = { identifiers: [], places: [], subs: [], sources: [] };

    this.encConn ??= await this.instance.connect();
    const conn = this.encConn;
    const r = new DuckDbSqlRunner(conn);
    const table = `enc_presences_${++stagingSeq}`;
    await r.run('BEGIN TRANSACTION');
    try {
      // The dictionaries first, in the transaction; their new entries' hashes come back from the engine.
      await appendRows(conn, 'identifiers', newIdents, (app, [id, kind, value]) => {
        app.appendUInteger(id);
        app.appendVarchar(kind);
        app.appendVarchar(value);
      });
      await appendRows(conn, 'places', newPlaces, (app, [id, kind, placeId]) => {
        app.appendUInteger(id);
        app.appendVarchar(kind);
        app.appendVarchar(placeId);
        for (let k = 0; k < 5; k++) app.appendNull();
      });
      for (const [dictTable, rows] of [['subs', newSubs], ['sources', newSources]] as const) {
        await appendRows(conn, dictTable, rows, (app, [id, value]) => {
          app.appendUInteger(id);
          app.appendVarchar(value);
        });
      }
      const hashes = new DictionaryHashes(d);
      if (newIdents.length) hashes.addIdents(await r.columns(`SELECT id, hash(kind, value) FROM identifiers WHERE id >= ${sqlInt(d.next.ident)}`));
      if (newPlaces.length) hashes.addPlaces(await r.columns(`SELECT id, hash(kind), hash(place_id) FROM places WHERE id >= ${sqlInt(d.next.place)}`));
      if (newSubs.length) hashes.addSubs(await r.columns(`SELECT id, hash(value) FROM subs WHERE id >= ${sqlInt(d.next.sub)}`));
      if (newSources.length) hashes.addSources(await r.columns(`SELECT id, hash(value) FROM sources WHERE id >= ${sqlInt(d.next.source)}`));
      // The batch's start range; its digest (the longest part of this thread's work) is worked out while
      // the engine inserts the rows, unless a batch of the same size and range is recorded already: then
      // first, so a batch stored before is skipped without inserting anything.
      const { lo, hi } = startRange(b);
      let digest = '';
      const digestOf = (): string => {
        const sum = batchDigest(b, hashes).digest;
        record = { rows: b.length, lo, hi, digest: sum };
        return `${sqlInt(b.length)}, ${sqlInt(lo)}, ${sqlInt(hi)}, ${sum}::HUGEINT`;
      };
      if (num((await r.rows(`SELECT count(*) AS n FROM presence_batches WHERE (rows, lo, hi) = (${sqlInt(b.length)}, ${sqlInt(lo)}, ${sqlInt(hi)})`))[0].n) > 0) {
        digest = digestOf();
        if (num((await r.rows(`SELECT count(*) AS n FROM presence_batches WHERE (rows, lo, hi, digest) = (${digest})`))[0].n) > 0) {
          await r.run('ROLLBACK');
          return nothing(b.length);
        }
      }
      // A row can only repeat a stored one of the same source in the same start range: when there is
      // none (a feed's new rows, whatever other feeds hold), the rows go straight into the table. (The
      // batch's repeats are taken out while the engine counts.)
      const sources = sourcesOf(b);
      const counting = r.rows(`SELECT count(*) AS n FROM presences WHERE start BETWEEN ${sqlInt(lo)} AND ${sqlInt(hi)}
        AND source IN (${sources.length <= 1000 ? sources.map(sqlInt).join(', ') : `SELECT source FROM presences`})`);
      let u: BatchColumns;
      try {
        u = dedupeBatch(b, this.dedupeScratch);
      } finally {
        await counting.catch(() => undefined);
      }
      const stored = num((await counting)[0].n);
      let fresh: number;
      let chunk: PresenceChunk | undefined;
      // The rows go to a temporary table here (a copy into memory), and into the store's table by a
      // statement the engine runs on its own threads (compressing and writing) while this thread goes on.
      await r.run(`CREATE OR REPLACE TEMP TABLE ${table} (ident UINTEGER, place UINTEGER, start UINTEGER, "end" UINTEGER, sub UINTEGER, source UINTEGER, flags UTINYINT, lat DOUBLE, lon DOUBLE)`);
      await appendBatch(conn, table, 'temp', u);
      // Rows stored in the batch's range: a join tells how many of the batch's rows are among them (the
      // digest is worked out meanwhile). Usually none (a feed's rows cover its whole range, but are new):
      // then the batch goes in whole, as when nothing is stored in the range.
      let repeats = 0;
      if (stored > 0) {
        const joining = r.rows(`SELECT count(*) AS n FROM ${table} n
SEMI JOIN (SELECT ident, place, start, "end", sub, source FROM presences WHERE start BETWEEN ${sqlInt(lo)} AND ${sqlInt(hi)}) p
  USING (ident, place, start, "end", sub, source)`);
        try {
          if (!digest) digest = digestOf();
        } finally {
          await joining.catch(() => undefined);
        }
        repeats = num((await joining)[0].n);
      }
      if (repeats === 0) {
        const inserting = r.run(`INSERT INTO presences SELECT * FROM ${table}`);
        try {
          if (!digest) digest = digestOf();
        } finally {
          await inserting;
        }
        fresh = u.length;
        if (returnChunk) chunk = chunkOf(u);
      } else {
        await r.run(`CREATE OR REPLACE TEMP TABLE ${table}_fresh AS
SELECT n.* FROM ${table} n
ANTI JOIN (SELECT ident, place, start, "end", sub, source FROM presences WHERE start BETWEEN ${sqlInt(lo)} AND ${sqlInt(hi)}) p
  USING (ident, place, start, "end", sub, source)`);
        await r.run(`INSERT INTO presences SELECT ident, place, start, "end", sub, source, flags, lat, lon FROM ${table}_fresh`);
        fresh = num((await r.rows(`SELECT count(*) AS n FROM ${table}_fresh`))[0].n);
        if (returnChunk) {
          chunk = fresh === u.length ? chunkOf(u) : await readChunk(conn, `SELECT ident, place, start, "end", sub, flags FROM ${table}_fresh`, fresh);
        }
        if (!digest) digest = digestOf();
      }
      await r.run(`INSERT INTO presence_batches VALUES (${digest})`);
      await r.run('COMMIT');
      learnEntries(d, hashes, newIdents, newPlaces, newSubs, newSources);
      if (checkpoint && fresh >= CHECKPOINT_ROWS) await r.run('CHECKPOINT').catch(() => undefined);
      const result: EncodedInsertResult = { inserted: fresh, duplicates: b.length - fresh, batch: record };
      if (chunk) result.chunk = chunk;
      return result;
    } catch (err) {
      await r.run('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      await r.run(`DROP TABLE IF EXISTS temp.main.${table}; DROP TABLE IF EXISTS temp.main.${table}_fresh;`).catch(() => undefined);
    }
  }

  async insertIdentityLinks(rows: readonly IdentityLink[]): Promise<InsertResult> {
    if (rows.length === 0) return { inserted: 0, duplicates: 0 };
    return this.mutex.run(async () => {
      const table = `stg_links_${++stagingSeq}`;
      await this.runner.run(`CREATE OR REPLACE TEMP TABLE ${table} (a_kind VARCHAR, a_value VARCHAR, b_kind VARCHAR, b_value VARCHAR, source VARCHAR)`);
      try {
        const app = await this.conn.createAppender(table, 'main', 'temp');
        for (const l of rows) {
          app.appendVarchar(l.aKind);
          app.appendVarchar(l.aValue);
          app.appendVarchar(l.bKind);
          app.appendVarchar(l.bValue);
          if (l.source) app.appendVarchar(l.source);
          else app.appendNull();
          app.endRow();
        }
        app.flushSync();
        app.closeSync();
        return await this.commitLinks(table);
      } finally {
        await this.runner.run(`DROP TABLE IF EXISTS temp.main.${table}`);
      }
    });
  }

  /** Links are stored in a canonical direction (smaller key first) so a link and its reverse are one link. */
  private async commitLinks(table: string): Promise<InsertResult> {
    const r = this.runner;
    const staged = num((await r.rows(`SELECT count(*) AS n FROM ${table}`))[0].n);
    await r.run('BEGIN TRANSACTION');
    try {
      await r.run(`
CREATE OR REPLACE TEMP TABLE ${table}_fresh AS
SELECT a_kind, a_value, b_kind, b_value, any_value(source) AS source FROM (
  SELECT CASE WHEN (a_kind, a_value) <= (b_kind, b_value) THEN a_kind ELSE b_kind END AS a_kind,
         CASE WHEN (a_kind, a_value) <= (b_kind, b_value) THEN a_value ELSE b_value END AS a_value,
         CASE WHEN (a_kind, a_value) <= (b_kind, b_value) THEN b_kind ELSE a_kind END AS b_kind,
         CASE WHEN (a_kind, a_value) <= (b_kind, b_value) THEN b_value ELSE a_value END AS b_value,
         source
  FROM ${table}) c
GROUP BY a_kind, a_value, b_kind, b_value;
DELETE FROM ${table}_fresh f WHERE EXISTS (SELECT 1 FROM identity_links l
  WHERE l.a_kind = f.a_kind AND l.a_value = f.a_value AND l.b_kind = f.b_kind AND l.b_value = f.b_value);
INSERT INTO identity_links SELECT * FROM ${table}_fresh;`);
      const fresh = num((await r.rows(`SELECT count(*) AS n FROM ${table}_fresh`))[0].n);
      await r.run('COMMIT');
      return { inserted: fresh, duplicates: staged - fresh };
    } catch (err) {
      await r.run('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      await r.run(`DROP TABLE IF EXISTS temp.main.${table}_fresh`).catch(() => undefined);
    }
  }

  async upsertPeople(rows: readonly PersonRecord[]): Promise<InsertResult> {
    if (rows.length === 0) return { inserted: 0, duplicates: 0 };
    return this.mutex.run(async () => {
      const table = `stg_people_${++stagingSeq}`;
      await this.runner.run(`CREATE OR REPLACE TEMP TABLE ${table} (id_kind VARCHAR, id_value VARCHAR, name VARCHAR, address VARCHAR, lat DOUBLE, lon DOUBLE, jurisdiction VARCHAR)`);
      try {
        const app = await this.conn.createAppender(table, 'main', 'temp');
        for (const p of rows) {
          app.appendVarchar(p.idKind);
          app.appendVarchar(p.idValue);
          appendOptText(app, p.name);
          appendOptText(app, p.address);
          appendOptNum(app, p.lat);
          appendOptNum(app, p.lon);
          appendOptText(app, p.jurisdiction);
          app.endRow();
        }
        app.flushSync();
        app.closeSync();
        return await this.commitPeople(table);
      } finally {
        await this.runner.run(`DROP TABLE IF EXISTS temp.main.${table}`);
      }
    });
  }

  /** A later row for the same identifier replaces the earlier one (the last word of the source wins). */
  private async commitPeople(table: string): Promise<InsertResult> {
    const r = this.runner;
    await r.run('BEGIN TRANSACTION');
    try {
      const counts = await r.rows(`SELECT count(*) AS staged, count(DISTINCT (id_kind, id_value)) AS distinct_keys,
  (SELECT count(*) FROM (SELECT DISTINCT id_kind, id_value FROM ${table}) s
     WHERE EXISTS (SELECT 1 FROM people p WHERE p.id_kind = s.id_kind AND p.id_value = s.id_value)) AS existing
  FROM ${table}`);
      await r.run(`
DELETE FROM people p WHERE EXISTS (SELECT 1 FROM ${table} s WHERE s.id_kind = p.id_kind AND s.id_value = p.id_value);
INSERT INTO people SELECT id_kind, id_value, name, address, lat, lon, jurisdiction
  FROM (SELECT *, row_number() OVER (PARTITION BY id_kind, id_value ORDER BY rowid DESC) AS k FROM ${table}) WHERE k = 1;`);
      await r.run('COMMIT');
      const staged = num(counts[0].staged);
      const distinct = num(counts[0].distinct_keys);
      const existing = num(counts[0].existing);
      return { inserted: distinct - existing, duplicates: staged - (distinct - existing) };
    } catch (err) {
      await r.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  async upsertPlaces(rows: readonly PlaceRecord[]): Promise<InsertResult> {
    if (rows.length === 0) return { inserted: 0, duplicates: 0 };
    return this.mutex.run(async () => {
      const table = `stg_places_${++stagingSeq}`;
      await this.runner.run(`CREATE OR REPLACE TEMP TABLE ${table} (place_kind VARCHAR, place_id VARCHAR, name VARCHAR, lat DOUBLE, lon DOUBLE, jurisdiction VARCHAR, category VARCHAR)`);
      try {
        const app = await this.conn.createAppender(table, 'main', 'temp');
        for (const p of rows) {
          app.appendVarchar(p.placeKind);
          app.appendVarchar(p.placeId);
          appendOptText(app, p.name);
          appendOptNum(app, p.lat);
          appendOptNum(app, p.lon);
          appendOptText(app, p.jurisdiction);
          appendOptText(app, p.category);
          app.endRow();
        }
        app.flushSync();
        app.closeSync();
        return await this.commitPlaces(table);
      } finally {
        await this.runner.run(`DROP TABLE IF EXISTS temp.main.${table}`);
      }
    });
  }

  /** Places keep their dictionary id when their attributes are updated, so stored presences stay valid. */
  private async commitPlaces(table: string): Promise<InsertResult> {
    const r = this.runner;
    await r.run('BEGIN TRANSACTION');
    try {
      const counts = await r.rows(`SELECT count(*) AS staged,
  (SELECT count(*) FROM (SELECT DISTINCT place_kind, place_id FROM ${table}) s
     WHERE NOT EXISTS (SELECT 1 FROM places p WHERE p.kind = s.place_kind AND p.place_id = s.place_id)) AS fresh
  FROM ${table}`);
      await r.run(`
CREATE OR REPLACE TEMP TABLE ${table}_last AS
  SELECT * EXCLUDE (k) FROM (SELECT *, row_number() OVER (PARTITION BY place_kind, place_id ORDER BY rowid DESC) AS k FROM ${table}) WHERE k = 1;
UPDATE places p SET name = s.name, lat = s.lat, lon = s.lon, jurisdiction = s.jurisdiction, category = s.category
  FROM ${table}_last s WHERE p.kind = s.place_kind AND p.place_id = s.place_id;
INSERT INTO places
SELECT (SELECT coalesce(max(id) + 1, 0) FROM places) + row_number() OVER () - 1, place_kind, place_id, name, lat, lon, jurisdiction, category
FROM ${table}_last s WHERE NOT EXISTS (SELECT 1 FROM places p WHERE p.kind = s.place_kind AND p.place_id = s.place_id);
DROP TABLE temp.main.${table}_last;`);
      await r.run('COMMIT');
      this.dict.stale = true;
      const staged = num(counts[0].staged);
      const fresh = num(counts[0].fresh);
      return { inserted: fresh, duplicates: staged - fresh };
    } catch (err) {
      await r.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  // ---- reads ---------------------------------------------------------------------------------

  async *identityLinks(): AsyncIterable<IdentityLink[]> {
    // Streamed on a connection of its own: links can run to millions, and batches may commit meanwhile.
    const conn = await this.instance.connect();
    try {
      const result = await conn.stream('SELECT a_kind, a_value, b_kind, b_value, source FROM identity_links');
      for (;;) {
        const dc = await result.fetchChunk();
        if (!dc || dc.rowCount === 0) break;
        const cols = [0, 1, 2, 3, 4].map((i) => dc.getColumnValues(i));
        const out: IdentityLink[] = [];
        for (let j = 0; j < dc.rowCount; j++) {
          const link: IdentityLink = { aKind: String(cols[0][j]) as IdKind, aValue: String(cols[1][j]), bKind: String(cols[2][j]) as IdKind, bValue: String(cols[3][j]) };
          const source = cols[4][j];
          if (source !== null && source !== '') link.source = String(source);
          out.push(link);
        }
        yield out;
      }
    } finally {
      conn.closeSync();
    }
  }

  async people(idKeys: readonly string[]): Promise<PersonRecord[]> {
    const keys = keyPairs(idKeys);
    if (!keys) return [];
    const rows = await this.mutex.run(() =>
      this.runner.rows(`SELECT p.* FROM people p JOIN ${keys} q(kind, value) ON p.id_kind = q.kind AND p.id_value = q.value ORDER BY p.id_kind, p.id_value`),
    );
    return rows.map((r) => {
      const p: PersonRecord = { idKind: String(r.id_kind) as IdKind, idValue: String(r.id_value) };
      assignOpt(p, 'name', optText(r.name));
      assignOpt(p, 'address', optText(r.address));
      assignOpt(p, 'lat', optNum(r.lat));
      assignOpt(p, 'lon', optNum(r.lon));
      assignOpt(p, 'jurisdiction', optText(r.jurisdiction));
      return p;
    });
  }

  async places(placeKeys: readonly string[]): Promise<PlaceRecord[]> {
    const keys = keyPairs(placeKeys);
    if (!keys) return [];
    const rows = await this.mutex.run(() =>
      this.runner.rows(`SELECT p.* FROM places p JOIN ${keys} q(kind, place_id) ON p.kind = q.kind AND p.place_id = q.place_id ORDER BY p.kind, p.place_id`),
    );
    return rows.map((r) => {
      const p: PlaceRecord = { placeKind: String(r.kind) as PlaceKind, placeId: String(r.place_id) };
      assignOpt(p, 'name', optText(r.name));
      assignOpt(p, 'lat', optNum(r.lat));
      assignOpt(p, 'lon', optNum(r.lon));
      assignOpt(p, 'jurisdiction', optText(r.jurisdiction));
      assignOpt(p, 'category', optText(r.category));
      return p;
    });
  }

  /**
   * Presences as the port returns them, with their names: `FROM` names a relation of already filtered
   * presence rows (alias `x`), so only those rows meet the dictionaries. Every join is an equi-join on
   * a dictionary id that DuckDB hashes; sub and source 0 (none) find no row, as dictionary ids start at 1.
   */
  private static storedSelect(from: string): string {
    return `SELECT i.kind AS id_kind, i.value AS id_value, pl.kind AS place_kind, pl.place_id, x.start, x."end", x.flags,
  sb.value AS sub, x.lat, x.lon, so.value AS source, x.ident, x.place
FROM ${from} x
JOIN identifiers i ON i.id = x.ident
JOIN places pl ON pl.id = x.place
LEFT JOIN subs sb ON sb.id = x.sub
LEFT JOIN sources so ON so.id = x.source`;
  }

  /**
   * The presence rows of one dictionary column's values overlapping [from, to), as a relation for
   * `storedSelect`. One value, or a few, each get an equality that DuckDB applies inside the scan (only
   * matching rows are read in full, and zone maps skip row groups); a multi-value IN list would instead
   * become a join above the scan that reads every column of every row. Many values share one scan.
   */
  private static filtered(column: 'ident' | 'place', ids: readonly number[], from: number, to: number): string {
    const time = `x.start < ${sqlInt(to)} AND x."end" > ${sqlInt(from)}`;
    if (ids.length <= EQUALITY_SCANS_MAX[column]) {
      return `(${ids.map((id) => `SELECT x.* FROM presences x WHERE x.${column} = ${sqlInt(id)} AND ${time}`).join('\nUNION ALL ')})`;
    }
    return `(SELECT x.* FROM presences x WHERE x.${column} IN (${ids.map(sqlInt).join(', ')}) AND ${time})`;
  }

  async presencesOf(idKeys: readonly string[], from: number, to: number): Promise<StoredPresence[]> {
    const keys = keyPairs(idKeys);
    if (!keys) return [];
    const rows = await this.mutex.run(async () => {
      // The identifiers' dictionary ids first, as literals: the scan of presences then filters as it
      // reads (zone maps skip other people and times) and only the rows found are joined to their
      // names. With a subquery of ids, every row was joined first.
      const ids = (await this.runner.rows(`SELECT i.id FROM identifiers i JOIN ${keys} q(kind, value) ON i.kind = q.kind AND i.value = q.value`))
        .map((r) => num(r.id));
      if (!ids.length) return [];
      return this.runner.rows(`${DuckDbPresenceStore.storedSelect(DuckDbPresenceStore.filtered('ident', ids, from, to))}
ORDER BY x.start, x."end", pl.kind, pl.place_id`);
    });
    return rows.map(toStoredPresence);
  }

  async presencesAt(queries: readonly PlaceWindowQuery[]): Promise<StoredPresence[]> {
    const keys = keyPairs(queries.map((q) => placeKey(q.placeKind, q.placeId)));
    if (!keys) return [];
    const rows = await this.mutex.run(async () => {
      // The places' dictionary ids first, so the scan of presences filters on literal ids and the
      // whole time span of the windows (zone maps skip other times); each row found is then matched to
      // its windows by a hash join on the place id, and only those rows meet the dictionaries.
      const placeIds = new Map<string, number>();
      for (const r of await this.runner.rows(`SELECT pl.kind || ':' || pl.place_id AS k, pl.id FROM places pl JOIN ${keys} q(kind, place_id) ON pl.kind = q.kind AND pl.place_id = q.place_id`)) {
        placeIds.set(String(r.k), num(r.id));
      }
      const windows: string[] = [];
      let lo = Infinity;
      let hi = -Infinity;
      for (const q of queries) {
        const id = placeIds.get(placeKey(q.placeKind, q.placeId));
        if (id === undefined) continue;
        windows.push(`(${sqlInt(id)}, ${sqlInt(q.from)}, ${sqlInt(q.to)})`);
        lo = Math.min(lo, q.from);
        hi = Math.max(hi, q.to);
      }
      if (!windows.length) return [];
      const hit = DuckDbPresenceStore.filtered('place', [...new Set(placeIds.values())], lo, hi);
      return this.runner.rows(`WITH w(place, wfrom, wto) AS (VALUES ${[...new Set(windows)].join(', ')})
${DuckDbPresenceStore.storedSelect(`(SELECT h.* FROM ${hit} h WHERE EXISTS (SELECT 1 FROM w WHERE w.place = h.place AND h.start < w.wto AND h."end" > w.wfrom))`)}
ORDER BY pl.kind, pl.place_id, x.start, x."end", i.kind, i.value`);
    });
    return rows.map(toStoredPresence);
  }

  async *scan(chunkSize = 1 << 20): AsyncIterable<PresenceChunk> {
    // A connection of its own: the scan reads one consistent snapshot while batches keep committing.
    const conn = await this.instance.connect();
    try {
      const result = await conn.stream('SELECT ident, place, start, "end", sub, flags FROM presences');
      let chunk = allocPresenceChunk(chunkSize);
      let n = 0;
      for (;;) {
        const dc = await result.fetchChunk();
        if (!dc || dc.rowCount === 0) break;
        const rows = dc.rowCount;
        const cols = [0, 1, 2, 3, 4, 5].map((i) => columnOf(dc.getColumnVector(i), rows));
        const targets = [chunk.ident, chunk.place, chunk.start, chunk.end, chunk.sub, chunk.flags];
        let off = 0;
        while (off < rows) {
          const take = Math.min(rows - off, chunkSize - n);
          for (let c = 0; c < 6; c++) copyInto(targets[c], n, cols[c], off, take);
          n += take;
          off += take;
          if (n === chunkSize) {
            yield chunk;
            chunk = allocPresenceChunk(chunkSize);
            targets.splice(0, 6, chunk.ident, chunk.place, chunk.start, chunk.end, chunk.sub, chunk.flags);
            n = 0;
          }
        }
      }
      if (n > 0) yield slicePresenceChunk(chunk, n);
    } finally {
      conn.closeSync();
    }
  }

  async identifierKeys(ids: readonly number[]): Promise<string[]> {
    return this.decode(ids, `SELECT id, kind || ':' || value AS k FROM identifiers`, 'identifier');
  }

  async identifierIds(idKeys: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const unique = [...new Set(idKeys)];
    if (unique.length > APPEND_KEYS_MIN) {
      // Many keys (every linked identifier, when identity groups load) go through the appender into a
      // temporary table: a VALUES list of hundreds of thousands of rows takes DuckDB seconds to parse.
      const pairs = unique.flatMap((k) => {
        const i = k.indexOf(':');
        return i < 0 ? [] : [[k.slice(0, i), k.slice(i + 1)]];
      });
      const table = `lookup_ids_${++stagingSeq}`;
      const rows = await this.mutex.run(async () => {
        await this.runner.run(`CREATE OR REPLACE TEMP TABLE ${table} (kind VARCHAR, value VARCHAR)`);
        try {
          await this.runner.append(table, pairs);
          return await this.runner.columns(`SELECT i.kind || ':' || i.value AS k, i.id FROM identifiers i JOIN temp.main.${table} q ON i.kind = q.kind AND i.value = q.value`);
        } finally {
          await this.runner.run(`DROP TABLE IF EXISTS temp.main.${table}`);
        }
      });
      const [k, id] = rows;
      for (let r = 0; r < (k?.length ?? 0); r++) out.set(String(k[r]), num(id[r]));
      return out;
    }
    const keys = keyPairs(unique);
    if (!keys) return out;
    const rows = await this.mutex.run(() =>
      this.runner.rows(`SELECT i.kind || ':' || i.value AS k, i.id FROM identifiers i JOIN ${keys} q(kind, value) ON i.kind = q.kind AND i.value = q.value`),
    );
    for (const r of rows) out.set(String(r.k), num(r.id));
    return out;
  }

  async placeKeys(ids: readonly number[]): Promise<string[]> {
    return this.decode(ids, `SELECT id, kind || ':' || place_id AS k FROM places`, 'place');
  }

  async subValues(ids: readonly number[]): Promise<string[]> {
    return this.decode(ids, `SELECT id, value AS k FROM subs`, 'sub');
  }

  /** Looks dictionary ids up in one query; an unknown id is an error, since ids only come from this store. */
  private async decode(ids: readonly number[], base: string, what: string): Promise<string[]> {
    if (ids.length === 0) return [];
    const unique = [...new Set(ids)];
    const rows = await this.mutex.run(() => this.runner.rows(`${base} WHERE id IN (${unique.map(sqlInt).join(', ')})`));
    const map = new Map<number, string>();
    for (const r of rows) map.set(num(r.id), String(r.k));
    return ids.map((id) => {
      const k = map.get(id);
      if (k === undefined) throw new Error(`unknown ${what} dictionary id ${id}`);
      return k;
    });
  }

  async purgeBefore(before: number): Promise<PurgeResult> {
    return this.mutex.run(async () => {
      const r = this.runner;
      await r.run('BEGIN TRANSACTION');
      try {
        const stats = await r.rows(`SELECT count(*) AS n, min(start) AS lo, max(start) AS hi FROM presences WHERE "end" <= ${sqlInt(before)}`);
        await r.run(`DELETE FROM presences WHERE "end" <= ${sqlInt(before)}`);
        // A batch some of whose rows are gone is no longer stored whole: its record goes too.
        await r.run(`DELETE FROM presence_batches WHERE lo < ${sqlInt(before)}`);
        await r.run('COMMIT');
        const removed = num(stats[0].n);
        if (removed > 0) await r.run('CHECKPOINT');
        return { removed, oldestStart: numOrNull(stats[0].lo), newestStart: numOrNull(stats[0].hi) };
      } catch (err) {
        await r.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  async stats(): Promise<StoreStats> {
    const rows = await this.mutex.run(() =>
      this.runner.rows(`SELECT
  (SELECT count(*) FROM presences) AS presences,
  (SELECT count(*) FROM identifiers) AS identifiers,
  (SELECT count(*) FROM places) AS places,
  (SELECT count(*) FROM identity_links) AS links,
  (SELECT count(*) FROM people) AS people,
  (SELECT min(start) FROM presences) AS lo,
  (SELECT max(start) FROM presences) AS hi`),
    );
    const s = rows[0];
    return {
      presences: num(s.presences),
      identifiers: num(s.identifiers),
      places: num(s.places),
      identityLinks: num(s.links),
      people: num(s.people),
      minStart: numOrNull(s.lo),
      maxStart: numOrNull(s.hi),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.mutex.run(async () => {
      if (this.file !== ':memory:') await this.runner.run('CHECKPOINT').catch(() => undefined);
      this.encConn?.closeSync();
      this.bulkConn.closeSync();
      this.conn.closeSync();
      this.instance.closeSync();
      if (this.ownerFile) fs.rmSync(this.ownerFile, { force: true });
    });
  }
}

/** The statements of one batch's commit, in order (run inside its transaction). */
function commitStatements(table: string, lo: number, hi: number): string[] {
  // Each dictionary takes the batch's values it lacks in one anti-join insert; the anti-join comes
  // before DISTINCT, so a batch of values mostly known already leaves little to deduplicate.
  return [
    `INSERT INTO identifiers
SELECT (SELECT coalesce(max(id) + 1, 0) FROM identifiers) + row_number() OVER () - 1, kind, value
FROM (SELECT DISTINCT s.id_kind AS kind, s.id_value AS value FROM ${table} s
      ANTI JOIN identifiers i ON i.kind = s.id_kind AND i.value = s.id_value)`,
    `INSERT INTO places (id, kind, place_id)
SELECT (SELECT coalesce(max(id) + 1, 0) FROM places) + row_number() OVER () - 1, kind, place_id
FROM (SELECT DISTINCT s.place_kind AS kind, s.place_id FROM ${table} s
      ANTI JOIN places p ON p.kind = s.place_kind AND p.place_id = s.place_id)`,
    `INSERT INTO subs
SELECT (SELECT coalesce(max(id), 0) FROM subs) + row_number() OVER (), value
FROM (SELECT DISTINCT s.sub AS value FROM ${table} s ANTI JOIN subs d ON d.value = s.sub WHERE s.sub IS NOT NULL)`,
    `INSERT INTO sources
SELECT (SELECT coalesce(max(id), 0) FROM sources) + row_number() OVER (), value
FROM (SELECT DISTINCT s.source AS value FROM ${table} s ANTI JOIN sources d ON d.value = s.source WHERE s.source IS NOT NULL)`,
    `CREATE OR REPLACE TEMP TABLE ${table}_fresh AS
SELECT n.* FROM (
  SELECT i.id AS ident, p.id AS place, s.start::UINTEGER AS start, s."end"::UINTEGER AS "end",
    coalesce(sb.id, 0)::UINTEGER AS sub, coalesce(so.id, 0)::UINTEGER AS source,
    min(s.flags)::UTINYINT AS flags, any_value(s.lat) AS lat, any_value(s.lon) AS lon
  FROM ${table} s
  JOIN identifiers i ON i.kind = s.id_kind AND i.value = s.id_value
  JOIN places p ON p.kind = s.place_kind AND p.place_id = s.place_id
  LEFT JOIN subs sb ON sb.value = s.sub
  LEFT JOIN sources so ON so.value = s.source
  GROUP BY ALL) n
ANTI JOIN (SELECT ident, place, start, "end", sub, source FROM presences WHERE start BETWEEN ${sqlInt(lo)} AND ${sqlInt(hi)}) p
  USING (ident, place, start, "end", sub, source)`,
    `INSERT INTO presences SELECT ident, place, start, "end", sub, source, flags, lat, lon FROM ${table}_fresh`,
  ];
}

/**
 * Names the process holding the file: DuckDB's message gives its PID; our note next to the file says
 * which Cordon command it is (a note left by a process that died is ignored unless the PIDs agree).
 */
function describeHolder(file: string, duckdbMessage: string): string {
  const pid = /PID (\d+)/.exec(duckdbMessage)?.[1];
  let note: { pid?: number; owner?: string } = {};
  try {
    note = JSON.parse(fs.readFileSync(`${file}.owner`, 'utf8')) as { pid?: number; owner?: string };
  } catch {
    // No note: DuckDB's PID alone.
  }
  if (pid && note.pid === Number(pid)) return `process ${pid} (${note.owner ?? 'cordon'})`;
  if (pid) return `process ${pid}`;
  return note.pid ? `process ${note.pid} (${note.owner ?? 'cordon'})` : 'another process';
}

/**
 * `kind:value` keys as a VALUES list of (kind, value) pairs, so lookups join on the stored columns
 * instead of concatenating them on every row. A key without a colon matches nothing.
 */
function keyPairs(keys: readonly string[]): string | undefined {
  const pairs = [...new Set(keys)].flatMap((k) => {
    const i = k.indexOf(':');
    return i < 0 ? [] : [`(${sqlString(k.slice(0, i))}, ${sqlString(k.slice(i + 1))})`];
  });
  return pairs.length ? `(VALUES ${pairs.join(', ')})` : undefined;
}

function assignOpt<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) o[k] = v;
}

type Appender = Awaited<ReturnType<DuckDBConnection['createAppender']>>;

function appendOptText(app: Appender, v: string | undefined): void {
  if (v === undefined || v === '') app.appendNull();
  else app.appendVarchar(v);
}

function appendOptNum(app: Appender, v: number | undefined): void {
  if (v === undefined || !Number.isFinite(v)) app.appendNull();
  else app.appendDouble(v);
}

function toStoredPresence(r: Record<string, SqlValue>): StoredPresence {
  const flags = num(r.flags);
  const p: StoredPresence = {
    idKind: String(r.id_kind) as IdKind,
    idValue: String(r.id_value),
    placeKind: String(r.place_kind) as PlaceKind,
    placeId: String(r.place_id),
    start: num(r.start),
    end: num(r.end),
    dateOnly: (flags & 1) !== 0,
    pointEvent: (flags & 2) !== 0,
    identId: num(r.ident),
    placeDictId: num(r.place),
  };
  assignOpt(p, 'sub', optText(r.sub));
  assignOpt(p, 'lat', optNum(r.lat));
  assignOpt(p, 'lon', optNum(r.lon));
  assignOpt(p, 'source', optText(r.source));
  return p;
}

type ColumnData = Uint32Array | Uint8Array | readonly DuckDBValue[];

/**
 * The values of a NOT NULL integer column of a DuckDB chunk. The client keeps fixed-width columns in a
 * typed array it does not expose; reading it directly makes a 100M-row scan several times faster than
 * converting value by value, which stays the fallback if the client changes.
 */
function columnOf(vector: { getItem(i: number): DuckDBValue }, rows: number): ColumnData {
  const items = (vector as unknown as { items?: unknown }).items;
  if ((items instanceof Uint32Array || items instanceof Uint8Array) && items.length >= rows) return items;
  const out: DuckDBValue[] = new Array<DuckDBValue>(rows);
  for (let i = 0; i < rows; i++) out[i] = vector.getItem(i);
  return out;
}

function copyInto(target: Uint32Array | Uint8Array, at: number, source: ColumnData, from: number, count: number): void {
  if (source instanceof Uint32Array || source instanceof Uint8Array) {
    target.set(source.subarray(from, from + count), at);
    return;
  }
  for (let k = 0; k < count; k++) target[at + k] = Number(source[from + k]);
}

/** Reads `count` rows of `ident, place, start, end, sub, flags` into one column chunk. */
async function readChunk(conn: DuckDBConnection, sql: string, count: number): Promise<PresenceChunk> {
  const chunk = allocPresenceChunk(count);
  const targets = [chunk.ident, chunk.place, chunk.start, chunk.end, chunk.sub, chunk.flags];
  const result = await conn.stream(sql);
  let n = 0;
  for (;;) {
    const dc = await result.fetchChunk();
    if (!dc || dc.rowCount === 0) break;
    const rows = Math.min(dc.rowCount, count - n);
    for (let c = 0; c < 6; c++) copyInto(targets[c], n, columnOf(dc.getColumnVector(c), dc.rowCount), 0, rows);
    n += rows;
  }
  return n === count ? chunk : slicePresenceChunk(chunk, n);
}


function emptyChunk(): PresenceChunk {
  return allocPresenceChunk(0);
}



/**
 * The store's dictionaries in JavaScript maps, for encoding batches without a round trip: only ever
 * added to (ids are dense and never reused), kept current by every commit of this store. Each entry
 * also keeps DuckDB's hash of its names (identifier: `hash(kind, value)`; place: `hash(kind)` and
 * `hash(place_id)`; sub, source: `hash(value)`) as two 32-bit halves, for batch digests.
 */
class DictionaryMirror implements PresenceDictionaryView {
  loaded = false;
  /** Set when a write other than an encoded batch may have added entries: the next use reads them. */
  stale = false;
  /** The next id of each dictionary (max + 1; sub and source ids start at 1). */
  readonly next = { ident: 0, place: 0, sub: 1, source: 1 };
  private readonly idents = new Map<string, Map<string, number>>();
  private readonly places = new Map<string, Map<string, number>>();
  private readonly subs = new Map<string, number>();
  private readonly sources = new Map<string, number>();
  /** Entries by id, for deltas. */
  private readonly identList: [string, string][] = [];
  private readonly placeList: [string, string][] = [];
  private readonly subList: string[] = [];
  private readonly sourceList: string[] = [];
  readonly identHash = new HashColumn();
  readonly placeKindHash = new HashColumn();
  readonly placeHash = new HashColumn();
  readonly subHash = new HashColumn();
  readonly sourceHash = new HashColumn();

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
  /** The entries with ids from `since` on. */
  delta(since: DictionaryCounts): DictionaryDelta {
    const out: DictionaryDelta = { identifiers: [], places: [], subs: [], sources: [] };
    for (let id = since.ident; id < this.next.ident; id++) if (this.identList[id]) out.identifiers.push([id, ...this.identList[id]]);
    for (let id = since.place; id < this.next.place; id++) if (this.placeList[id]) out.places.push([id, ...this.placeList[id]]);
    for (let id = since.sub; id < this.next.sub; id++) if (this.subList[id] !== undefined) out.subs.push([id, this.subList[id]]);
    for (let id = since.source; id < this.next.source; id++) if (this.sourceList[id] !== undefined) out.sources.push([id, this.sourceList[id]]);
    return out;
  }
  addIdent(kind: string, value: string, id: number, hash: bigint): void {
    let m = this.idents.get(kind);
    if (!m) this.idents.set(kind, (m = new Map()));
    m.set(value, id);
    this.identList[id] = [kind, value];
    this.identHash.set(id, hash);
    if (id >= this.next.ident) this.next.ident = id + 1;
  }
  addPlace(kind: string, placeId: string, id: number, kindHash: bigint, hash: bigint): void {
    let m = this.places.get(kind);
    if (!m) this.places.set(kind, (m = new Map()));
    m.set(placeId, id);
    this.placeList[id] = [kind, placeId];
    this.placeKindHash.set(id, kindHash);
    this.placeHash.set(id, hash);
    if (id >= this.next.place) this.next.place = id + 1;
  }
  addSub(value: string, id: number, hash: bigint): void {
    this.subs.set(value, id);
    this.subList[id] = value;
    this.subHash.set(id, hash);
    if (id >= this.next.sub) this.next.sub = id + 1;
  }
  addSource(value: string, id: number, hash: bigint): void {
    this.sources.set(value, id);
    this.sourceList[id] = value;
    this.sourceHash.set(id, hash);
    if (id >= this.next.source) this.next.source = id + 1;
  }
}

/** 64-bit hashes by dense id, as high and low 32-bit halves. */
class HashColumn {
  hi = new Uint32Array(1024);
  lo = new Uint32Array(1024);
  set(id: number, h: bigint): void {
    if (id >= this.hi.length) {
      const n = Math.max(id + 1, this.hi.length * 2);
      const hi = new Uint32Array(n);
      const lo = new Uint32Array(n);
      hi.set(this.hi);
      lo.set(this.lo);
      this.hi = hi;
      this.lo = lo;
    }
    this.hi[id] = Number(h >> 32n);
    this.lo[id] = Number(h & 0xffffffffn);
  }
  get(id: number): bigint {
    return (BigInt(this.hi[id]) << 32n) | BigInt(this.lo[id]);
  }
}

/** The hashes of a batch's dictionary entries: the mirror's, and those of entries new in the batch. */
class DictionaryHashes {
  readonly ident: (id: number) => bigint;
  readonly placeKind: (id: number) => bigint;
  readonly place: (id: number) => bigint;
  readonly sub: (id: number) => bigint;
  readonly source: (id: number) => bigint;
  /** identifier, place kind, place id, sub, source. */
  readonly columns: [HashColumn, HashColumn, HashColumn, HashColumn, HashColumn];
  constructor(d: DictionaryMirror) {
    // The mirror's own columns: a new entry's hash is written at its id before any row uses it, and an
    // id the batch does not commit is given (with its hash) to the next new entry, so nothing is copied.
    this.columns = [d.identHash, d.placeKindHash, d.placeHash, d.subHash, d.sourceHash];
    this.ident = (id) => this.columns[0].get(id);
    this.placeKind = (id) => this.columns[1].get(id);
    this.place = (id) => this.columns[2].get(id);
    this.sub = (id) => this.columns[3].get(id);
    this.source = (id) => this.columns[4].get(id);
  }
  private static add(c: HashColumn, ids: SqlValue[], hs: SqlValue[]): void {
    for (let k = 0; k < (ids?.length ?? 0); k++) c.set(num(ids[k]), BigInt(hs[k] as bigint));
  }
  addIdents([ids, hs]: SqlValue[][]): void {
    DictionaryHashes.add(this.columns[0], ids, hs);
  }
  addPlaces([ids, kinds, hs]: SqlValue[][]): void {
    DictionaryHashes.add(this.columns[1], ids, kinds);
    DictionaryHashes.add(this.columns[2], ids, hs);
  }
  addSubs([ids, hs]: SqlValue[][]): void {
    DictionaryHashes.add(this.columns[3], ids, hs);
  }
  addSources([ids, hs]: SqlValue[][]): void {
    DictionaryHashes.add(this.columns[4], ids, hs);
  }
}

/*
 * DuckDB's hash of a row of values, `hash(a, b, …)`: the first value's hash, then for each next value
 * combine(h, hash(value)) = ((h ^ (h >> 32)) * M) ^ hash(value) (mod 2^64), where an integer's hash is
 * murmur64(x) = three rounds of x ^= x >> 32 with two multiplications by M, and NULL has a fixed hash.
 * A text column's hash comes from DuckDB itself (dictionary entries). Verified against DuckDB in the
 * store's tests (a batch stored by either path has the same digest).
 */
const M_HI = 0xd6e8feb8;
const M_LO = 0x6659fd93;
/** DuckDB's hash of a NULL value. */
const NULL_HASH = 13787848793156543929n;
const NULL_HI = Number(NULL_HASH >> 32n);
const NULL_LO = Number(NULL_HASH & 0xffffffffn);
const TWO32 = 0x1_0000_0000;

/** Scratch of the 64-bit arithmetic: the result's high and low halves. */
const R = new Uint32Array(2);

const K0 = M_LO & 0xffff;
const K1 = M_LO >>> 16;

/** (hi:lo * M) mod 2^64 into R (a Uint32Array store takes the sum mod 2^32). */
function mulM(hi: number, lo: number): void {
  // lo * M_LO as a full 64-bit product, from 16-bit pieces (every partial sum exact in a double).
  const a0 = lo & 0xffff;
  const a1 = lo >>> 16;
  const mid = a1 * K0 + a0 * K1; // < 2^33
  const midHi = (mid / 65536) >>> 0;
  const low = a0 * K0 + (mid - midHi * 65536) * 65536; // < 2^33
  const carry = low >= TWO32 ? 1 : 0;
  R[1] = low - carry * TWO32;
  R[0] = a1 * K1 + midHi + carry + Math.imul(hi, M_LO) + Math.imul(lo, M_HI);
}

/** h ^= h >> 32 then h *= M, into R. */
function mixM(hi: number, lo: number): void {
  mulM(hi, (lo ^ hi) >>> 0);
}

/** murmur64 of recent times by the time's last bits (times repeat across a batch): NaN for none yet. */
const MURMUR_SLOTS = 8192;
const murmurKey = new Float64Array(MURMUR_SLOTS).fill(Number.NaN);
const murmurHi = new Uint32Array(MURMUR_SLOTS);
const murmurLo = new Uint32Array(MURMUR_SLOTS);

/** murmur64 of a non-negative integer below 2^32 into R, through the cache of recent ones. */
function murmurCached(x: number): void {
  const i = (x ^ (x >>> 13)) & (MURMUR_SLOTS - 1);
  if (murmurKey[i] === x) {
    R[0] = murmurHi[i];
    R[1] = murmurLo[i];
    return;
  }
  murmur(x);
  murmurKey[i] = x;
  murmurHi[i] = R[0];
  murmurLo[i] = R[1];
}

/** Sum over the batch of DuckDB's hash(id_kind, id_value, place_kind, place_id, start, "end", sub, source), and its start range. */
function batchDigest(b: EncodedPresenceBatch, h: DictionaryHashes): { lo: number; hi: number; digest: string } {
  const [ih, pkh, ph, sh, oh] = h.columns;
  let sumHi = 0;
  let sumLo = 0;
  let lo = Infinity;
  let hi = -Infinity;
  // The hash of the identifier and place of the previous row (consecutive rows often share both).
  let lastIdent = -1;
  let lastPlace = -1;
  let ipHi = 0;
  let ipLo = 0;
  for (let k = 0; k < b.length; k++) {
    const start = b.start[k];
    if (start < lo) lo = start;
    if (start > hi) hi = start;
    // hash(kind, value) of the identifier, then each further column folded in.
    const id = b.ident[k];
    const p = b.place[k];
    let hh: number;
    let hl: number;
    if (id === lastIdent && p === lastPlace) {
      hh = ipHi;
      hl = ipLo;
    } else {
      mixM(ih.hi[id], ih.lo[id]);
      hh = (R[0] ^ pkh.hi[p]) >>> 0;
      hl = (R[1] ^ pkh.lo[p]) >>> 0;
      mixM(hh, hl);
      hh = ipHi = (R[0] ^ ph.hi[p]) >>> 0;
      hl = ipLo = (R[1] ^ ph.lo[p]) >>> 0;
      lastIdent = id;
      lastPlace = p;
    }
    murmurCached(start);
    const sHi = R[0];
    const sLo = R[1];
    mixM(hh, hl);
    hh = (R[0] ^ sHi) >>> 0;
    hl = (R[1] ^ sLo) >>> 0;
    murmurCached(b.end[k]);
    const eHi = R[0];
    const eLo = R[1];
    mixM(hh, hl);
    hh = (R[0] ^ eHi) >>> 0;
    hl = (R[1] ^ eLo) >>> 0;
    const sub = b.sub[k];
    mixM(hh, hl);
    hh = (R[0] ^ (sub === 0 ? NULL_HI : sh.hi[sub])) >>> 0;
    hl = (R[1] ^ (sub === 0 ? NULL_LO : sh.lo[sub])) >>> 0;
    const src = b.source[k];
    mixM(hh, hl);
    hh = (R[0] ^ (src === 0 ? NULL_HI : oh.hi[src])) >>> 0;
    hl = (R[1] ^ (src === 0 ? NULL_LO : oh.lo[src])) >>> 0;
    sumHi += hh;
    sumLo += hl;
  }
  return { lo, hi, digest: ((BigInt(sumHi) << 32n) + BigInt(sumLo)).toString() };
}

/** murmur64 of a non-negative integer below 2^32, into R. */
function murmur(x: number): void {
  // x ^= x >> 32 is a no-op below 2^32.
  mulM(0, x);
  mixM(R[0], R[1]);
  R[1] = R[1] ^ R[0];
}

/*
 * The loops over a batch's rows are functions of their own, not written inline in commitEncoded: a hot
 * loop inside that long async function would have the engine compile all of it again and again.
 */

/** Adds a committed batch's new dictionary entries to the mirror. */
function learnEntries(
  d: DictionaryMirror,
  hashes: DictionaryHashes,
  idents: readonly [number, string, string][],
  places: readonly [number, string, string][],
  subs: readonly [number, string][],
  sources: readonly [number, string][],
): void {
  for (const [id, kind, value] of idents) d.addIdent(kind, value, id, hashes.ident(id));
  for (const [id, kind, placeId] of places) d.addPlace(kind, placeId, id, hashes.placeKind(id), hashes.place(id));
  for (const [id, value] of subs) d.addSub(value, id, hashes.sub(id));
  for (const [id, value] of sources) d.addSource(value, id, hashes.source(id));
}

/** The least and greatest start of a batch. */
function startRange(b: BatchColumns): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < b.length; k++) {
    const t = b.start[k];
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  return { lo, hi };
}

/** The sources of a batch's rows, each once. */
function sourcesOf(b: BatchColumns): number[] {
  const set = new Set<number>();
  for (let k = 0, last = -1; k < b.length; k++) {
    if (b.source[k] !== last) set.add((last = b.source[k]));
  }
  return [...set];
}

/** Replaces FRESH_ID + i by ids[i] in the first `n` values of a dictionary column. */
function resolveFresh(col: Uint32Array, n: number, ids: readonly number[]): void {
  if (ids.length === 0) return;
  for (let k = 0; k < n; k++) {
    const v = col[k];
    if (v >= FRESH_ID) col[k] = ids[v - FRESH_ID];
  }
}

/** Appends rows to a table of the main database through an appender (in the connection's open transaction). */
async function appendRows<T>(conn: DuckDBConnection, table: string, rows: readonly T[], put: (app: Appender, row: T) => void): Promise<void> {
  if (rows.length === 0) return;
  const app = await conn.createAppender(table);
  try {
    for (const row of rows) {
      put(app, row);
      app.endRow();
    }
    app.flushSync();
  } finally {
    app.closeSync();
  }
}

const BATCH_TYPES = [UINTEGER, UINTEGER, UINTEGER, UINTEGER, UINTEGER, UINTEGER, UTINYINT, DOUBLE, DOUBLE];
/** Rows per data chunk: DuckDB's vector size. */
const CHUNK_ROWS = 2048;

/** A batch's rows as the columns of `presences` (lat/lon NaN for none). */
type BatchColumns = Pick<EncodedPresenceBatch, 'length' | 'ident' | 'place' | 'start' | 'end' | 'sub' | 'source' | 'flags' | 'lat' | 'lon'>;

/**
 * Appends a batch to a table with the nine columns of `presences`, one data chunk at a time: each
 * column's values are copied into the chunk's vector whole (no value-by-value conversion); NaN
 * coordinates become NULL through the vector's validity mask.
 */
async function appendBatch(conn: DuckDBConnection, table: string, schema: 'main' | 'temp', b: BatchColumns): Promise<void> {
  const cols = [b.ident, b.place, b.start, b.end, b.sub, b.source, b.flags, b.lat, b.lon];
  const app = await conn.createAppender(table, schema === 'temp' ? 'main' : undefined, schema === 'temp' ? 'temp' : undefined);
  const chunk = DuckDBDataChunk.create(BATCH_TYPES);
  const mask = new Uint8Array(CHUNK_ROWS / 8);
  try {
    for (let off = 0; off < b.length; off += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, b.length - off);
      chunk.rowCount = n;
      for (let c = 0; c < cols.length; c++) {
        const a = cols[c];
        const vector = duckdbBindings.data_chunk_get_vector(chunk.chunk, c);
        duckdbBindings.copy_data_to_vector(vector, 0, a.buffer as ArrayBuffer, a.byteOffset + off * a.BYTES_PER_ELEMENT, n * a.BYTES_PER_ELEMENT);
        if (c >= 7) {
          const f = a as Float64Array;
          mask.fill(0);
          for (let k = 0; k < n; k++) if (f[off + k] === f[off + k]) mask[k >> 3] |= 1 << (k & 7);
          duckdbBindings.vector_ensure_validity_writable(vector);
          duckdbBindings.copy_data_to_vector_validity(vector, 0, mask.buffer, 0, mask.byteLength);
        }
      }
      app.appendDataChunk(chunk);
    }
    app.flushSync();
  } finally {
    app.closeSync();
  }
}

/**
 * Column arrays a store writes a batch's unique rows into (dedupeBatch), kept from batch to batch:
 * allocating tens of megabytes for every batch has the engine collect garbage far more often. The
 * store's batches commit one at a time, and each is done with the arrays when its commit ends.
 */
class BatchScratch {
  private cols: BatchColumns | undefined;
  /** Arrays for m rows (longer, maybe), as a batch of length m. */
  take(m: number): BatchColumns {
    if (!this.cols || this.cols.ident.length < m) {
      const n = Math.max(m, 2 * (this.cols?.ident.length ?? 0));
      this.cols = {
        length: n, ident: new Uint32Array(n), place: new Uint32Array(n), start: new Uint32Array(n), end: new Uint32Array(n),
        sub: new Uint32Array(n), source: new Uint32Array(n), flags: new Uint8Array(n), lat: new Float64Array(n), lon: new Float64Array(n),
      };
    }
    return { ...this.cols, length: m };
  }
}

/** dedupeBatch's scratch, kept from batch to batch. */
let dedupeSlots = new Int32Array(0);
let dedupeKeep = new Uint8Array(0);

/**
 * The batch without rows repeated in it (same identifier, place, start, end, sub and source), as
 * commitStaged's GROUP BY keeps them: the least flags, and a coordinate where any of the rows has one.
 * The batch itself when nothing repeats, else the rows in `scratch`'s arrays.
 */
function dedupeBatch(b: EncodedPresenceBatch, scratch: BatchScratch): BatchColumns {
  const n = b.length;
  let size = 1024;
  while (size < n * 2) size *= 2;
  // Scratch kept from batch to batch (batches are large: fresh arrays each time make for more collections).
  if (dedupeSlots.length < size) dedupeSlots = new Int32Array(size);
  if (dedupeKeep.length < n) dedupeKeep = new Uint8Array(n);
  const slots = dedupeSlots.subarray(0, size).fill(-1);
  const keep = dedupeKeep.fill(0, 0, n);
  let repeats = 0;
  const { ident, place, start, end, sub, source, flags, lat, lon } = b;
  for (let k = 0; k < n; k++) {
    let h = Math.imul(ident[k], 0x9e3779b1) ^ Math.imul(place[k], 0x85ebca77) ^ Math.imul(start[k], 0xc2b2ae3d);
    h = Math.imul(h ^ (h >>> 15), 0x27d4eb2f) ^ Math.imul(end[k], 0x165667b1) ^ Math.imul(sub[k] ^ (source[k] << 16), 0xd3a2646c);
    h ^= h >>> 13;
    let i = h & (size - 1);
    for (;;) {
      const j = slots[i];
      if (j < 0) {
        slots[i] = k;
        keep[k] = 1;
        break;
      }
      if (ident[j] === ident[k] && place[j] === place[k] && start[j] === start[k] && end[j] === end[k] && sub[j] === sub[k] && source[j] === source[k]) {
        repeats++;
        if (flags[k] < flags[j]) flags[j] = flags[k];
        if (lat[j] !== lat[j]) lat[j] = lat[k];
        if (lon[j] !== lon[j]) lon[j] = lon[k];
        break;
      }
      i = (i + 1) & (size - 1);
    }
  }
  if (repeats === 0) return b;
  const m = n - repeats;
  const out = scratch.take(m);
  let w = 0;
  for (let k = 0; k < n; k++) {
    if (!keep[k]) continue;
    out.ident[w] = ident[k];
    out.place[w] = place[k];
    out.start[w] = start[k];
    out.end[w] = end[k];
    out.sub[w] = sub[k];
    out.source[w] = source[k];
    out.flags[w] = flags[k];
    out.lat[w] = lat[k];
    out.lon[w] = lon[k];
    w++;
  }
  return out;
}

/** A listener chunk of a batch's rows (copied: the batch's arrays may be reused). */
function chunkOf(b: BatchColumns): PresenceChunk {
  const n = b.length;
  return {
    length: n,
    ident: b.ident.slice(0, n),
    place: b.place.slice(0, n),
    start: b.start.slice(0, n),
    end: b.end.slice(0, n),
    sub: b.sub.slice(0, n),
    flags: b.flags.slice(0, n),
  };
}
