/**
 * @module The embedded presence store: one DuckDB file in the data folder. Identifiers, places, subs and
 * sources are dictionary-encoded into dense integers, times are UINTEGER epoch seconds, and every batch
 * is one transaction that skips rows already stored, so a re-ingest adds nothing and a crash leaves no
 * half batch.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { placeKey, type IdKind, type IdentityLink, type PersonRecord, type PlaceKind, type PlaceRecord, type Presence } from '../../../domain/formats.ts';
import type {
  BulkLoader,
  InsertResult,
  PlaceWindowQuery,
  PresenceChunk,
  PresenceInsertResult,
  PresenceStore,
  PresenceStoreCapabilities,
  PurgeResult,
  SqlRunner,
  SqlValue,
  StoreStats,
  StoredPresence,
} from '../presence-store.ts';
import { allocPresenceChunk, PRESENCE_STAGING_COLUMNS, slicePresenceChunk } from '../presence-store.ts';

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


