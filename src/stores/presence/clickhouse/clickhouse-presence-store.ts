/**
 * @module The presence store on a ClickHouse cluster (`CORDON_PRESENCE_URL=clickhouse://host:8123/db`).
 * Presences are sharded by place behind a Distributed table (see clickhouse-schema.ts); the contact
 * read is pushed down to the shards (clickhouse-candidate-source.ts), so Node receives only the
 * presences that overlap the case, not the raw rows of the places.
 *
 * Writes: each batch is split by shard (the Distributed table's own rule on place) and staged in a
 * Memory table on each shard; there, rows already stored are removed (a 64-bit hash of identifier,
 * place, start, end, sub and source, checked against the shard's stored rows of the same places and
 * days, pruned by its primary key), and only when every shard has checked does each insert its part
 * in one statement. So a batch inserted twice counts once, and a retry after a failure adds only what
 * is missing. The place-ordered table is ReplacingMergeTree on that hash as a backstop, and reads drop
 * repeats (`LIMIT 1 BY` the hash, or the record's identity on the person-ordered table), so even two
 * writers racing on the same rows never show a presence twice. Why this and not an insert log: the check needs no extra state, is exact for the
 * counts the ingest reports, and costs one pruned read per shard and batch, done on the shards in
 * parallel.
 *
 * Dictionary ids (identifiers, places, subs) are dense and assigned by the writing process; run one
 * ingest writer per store at a time (as with the embedded store).
 */
import type { IdKind, IdentityLink, PersonRecord, PlaceKind, PlaceRecord, Presence } from '../../../domain/formats.ts';
import type {
  InsertResult,
  PlaceWindowQuery,
  PresenceChunk,
  PresenceInsertResult,
  PresenceStore,
  PresenceStoreCapabilities,
  PurgeResult,
  StoreStats,
  StoredPresence,
} from '../presence-store.ts';
import { allocPresenceChunk, slicePresenceChunk } from '../presence-store.ts';
import {
  connectClickHouse,
  parseClickHouseUrl,
  tsvField,
  tsvUnescape,
  type ClickHouseConnection,
  type ClickHouseTarget,
} from './clickhouse-connection.ts';
import { ClickHouseCandidateSource } from './clickhouse-candidate-source.ts';
import { ROW_IDENTITY, dropShardDdl, shardDdl, storeDdl, tableNames } from './clickhouse-schema.ts';
import { sqlInt, sqlList, sqlName, sqlString, sqlUInt32 } from './clickhouse-sql.ts';

/** One shard of the cluster: a connection to its server and the database its local tables live in. */
export interface ClickHouseShard {
  conn: ClickHouseConnection;
  database: string;
  /** The shard runs on the server the store talks to (its connection is the store's own). */
  local: boolean;
  /** The shard's weight in the cluster: its share of the places. */
  weight: number;
}

/** A presence row as the pushdown reads return it: dictionary ids and epoch seconds. */
export interface PresenceIdRow {
  ident: number;
  place: number;
  start: number;
  end: number;
  sub: number;
  flags: number;
}

const MAX_U32 = 0xffffffff;
/** Keys per literal `IN` list: keeps each query far below the server's max_query_size. */
const KEYS_PER_QUERY = 2000;
/** Place windows per pushdown query, for the same reason. */
const WINDOWS_PER_QUERY = 300;
/** Dictionary cache entries kept in memory before the caches are emptied and refilled on demand. */
const CACHE_LIMIT = 4_000_000;
/** Longest wait for a retention delete (a mutation) to finish on every shard. */
const MUTATION_WAIT_MS = 10 * 60_000;
/** How long a read of the longest stored presence is trusted. */
const MAX_DURATION_TTL_MS = 2000;

let stageSeq = 0;

/** Serialises writes: dictionary ids are assigned by this process, one batch at a time. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** A two-way dictionary (text key ↔ dense id) kept in two tables, one per lookup direction. */
class Dictionary {
  private readonly idOf = new Map<string, number>();
  private readonly keyOf = new Map<number, string>();
  /** The next id to hand out. */
  next = 0;
  /**
   * The cache holds every entry of the table (read whole before this process's first write, then
   * kept by it), so a key missing from it is new and needs no look-up. Cleared when the cache
   * outgrows its limit.
   */
  complete = false;
  /** Entries in the table when the store was opened. */
  count = 0;
  /** Whether the writer has tried to read the whole dictionary. */
  loadTried = false;

  constructor(
    readonly what: string,
    readonly byKey: string,
    readonly byId: string,
    /** Columns of the key, e.g. ['kind', 'value']. */
    readonly keyColumns: readonly string[],
    /** Splits a key into the values of `keyColumns`. */
    readonly split: (key: string) => string[],
    /** First id handed out (subs start at 1: 0 means "none"). */
    readonly firstId: number,
  ) {}

  cachedId(key: string): number | undefined {
    return this.idOf.get(key);
  }
  cachedKey(id: number): string | undefined {
    return this.keyOf.get(id);
  }
  remember(key: string, id: number): void {
    if (this.idOf.size >= CACHE_LIMIT) {
      this.idOf.clear();
      this.keyOf.clear();
      this.complete = false;
    }
    this.idOf.set(key, id);
    this.keyOf.set(id, key);
  }
  keyExpr(): string {
    return this.keyColumns.length === 1 ? this.keyColumns[0] : `concat(${this.keyColumns.join(", ':', ")})`;
  }
  keyLiteral(key: string): string {
    const parts = this.split(key).map(sqlString);
    return parts.length === 1 ? parts[0] : `(${parts.join(', ')})`;
  }
  keyTuple(): string {
    return this.keyColumns.length === 1 ? this.keyColumns[0] : `(${this.keyColumns.join(', ')})`;
  }
}

function splitKindKey(key: string): string[] {
  const i = key.indexOf(':');
  return [key.slice(0, i), key.slice(i + 1)];
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

function tsvNullable(v: string | number | undefined | null): string {
  if (v === undefined || v === null) return '\\N';
  return typeof v === 'number' ? String(v) : tsvField(v);
}

function parseNullable(v: string): string | undefined {
  return v === '\\N' ? undefined : tsvUnescape(v);
}

function nullableNumber(v: number | string | null | undefined): number | undefined {
  return v === null || v === undefined ? undefined : num(v);
}

function nullableText(v: string | null | undefined): string | undefined {
  return v === null || v === undefined ? undefined : v;
}

/** Options of the ClickHouse adapter. */
export interface ClickHousePresenceStoreOptions {
  /** Create the tables on open (default true). */
  init?: boolean;
}

/** The ClickHouse adapter of the presence store port. */
export class ClickHousePresenceStore implements PresenceStore {
  readonly capabilities: PresenceStoreCapabilities = { name: 'clickhouse', traceInStore: true };
  /** Table names of this store. */
  readonly tables: ReturnType<typeof tableNames>;
  private readonly mutex = new Mutex();
  private readonly idents: Dictionary;
  private readonly places_: Dictionary;
  private readonly subs: Dictionary;
  private versionSeq = 0;
  /** Shard index per weight slot (see `shardOf`). */
  private readonly slots: number[] = [];
  private maxDurationCache: { seconds: number; at: number } | undefined;
  private closed = false;

  private constructor(
    readonly conn: ClickHouseConnection,
    readonly target: ClickHouseTarget,
    readonly shards: readonly ClickHouseShard[],
  ) {
    this.tables = tableNames(target.database);
    const t = this.tables;
    this.idents = new Dictionary('identifier', t.identByKey, t.identById, ['kind', 'value'], splitKindKey, 0);
    this.places_ = new Dictionary('place', t.placeByKey, t.placeById, ['kind', 'place_id'], splitKindKey, 0);
    this.subs = new Dictionary('sub', t.subByKey, t.subById, ['value'], (k) => [k], 1);
    for (let i = 0; i < shards.length; i++) for (let w = 0; w < shards[i].weight; w++) this.slots.push(i);
  }

  /**
   * The shard of a place: the Distributed engine's own rule (`key % total weight`, slots given to the
   * shards in order by weight), so rows written here and rows written through the Distributed table
   * land on the same shard. Every presence of a place must sit on one shard: the pushed-down trace
   * checks a place's overlaps on the shard that owns it.
   */
  shardOf(place: number): number {
    return this.slots[place % this.slots.length];
  }

  /**
   * Connects to the server of `url` (`clickhouse://host:8123/db?cluster=cordon_cluster`), finds the
   * cluster's shards and creates the store's tables if missing.
   */
  static async open(url: string, options: ClickHousePresenceStoreOptions = {}): Promise<ClickHousePresenceStore> {
    const target = parseClickHouseUrl(url);
    const conn = connectClickHouse(target);
    try {
      const replicas = await conn.rows<{ shard_num: number; shard_weight: number; host_address: string; is_local: number; default_database: string }>(
        `SELECT shard_num, shard_weight, host_address, is_local, default_database FROM system.clusters
WHERE cluster = ${sqlString(target.cluster)} AND replica_num = 1 ORDER BY shard_num`,
      );
      if (replicas.length === 0) {
        throw new Error(
          `ClickHouse at ${target.httpUrl} has no cluster "${target.cluster}" in its remote_servers ` +
            '(see .ci/clickhouse/config.xml and docs/operations.md)',
        );
      }
      const port = new URL(target.httpUrl).port || '8123';
      const shards = replicas.map((r): ClickHouseShard => {
        if (!r.default_database) {
          throw new Error(`cluster "${target.cluster}" shard ${r.shard_num} has no <default_database>; each shard needs its own database`);
        }
        const local = num(r.is_local) === 1;
        const host = r.host_address.includes(':') ? `[${r.host_address}]` : r.host_address;
        return {
          conn: local ? conn : connectClickHouse({ ...target, httpUrl: `http://${host}:${port}` }),
          database: sqlName(r.default_database),
          local,
          weight: Math.max(1, num(r.shard_weight)),
        };
      });
      const store = new ClickHousePresenceStore(conn, target, shards);
      if (options.init !== false) await store.init();
      return store;
    } catch (err) {
      await conn.close().catch(() => undefined);
      throw err;
    }
  }

  async init(): Promise<void> {
    for (const shard of this.shards) {
      for (const sql of shardDdl(this.target.database, shard.database)) await shard.conn.command(sql);
    }
    for (const sql of storeDdl(this.target.database, this.target.cluster, this.shards[0].database)) await this.conn.command(sql);
    // Staging tables are Memory tables of one batch on each shard; any left by a crashed writer go here.
    for (const shard of this.shards) {
      const left = await shard.conn.rows<{ name: string }>(
        `SELECT name FROM system.tables WHERE database = ${sqlString(shard.database)} AND name LIKE ${sqlString(`${this.tables.localPresences}\\_stage\\_%`)}`,
      );
      for (const { name } of left) await shard.conn.command(`DROP TABLE IF EXISTS ${shard.database}.${sqlName(name)}`);
    }
    for (const d of [this.idents, this.places_, this.subs]) {
      const r = await this.conn.rows<{ n: string; hi: number }>(`SELECT count() AS n, max(id) AS hi FROM ${d.byId}`);
      d.count = num(r[0].n);
      d.next = d.count === 0 ? d.firstId : num(r[0].hi) + 1;
    }
  }

  /** Removes every table of this store from the cluster (tests, decommissioning). */
  async drop(): Promise<void> {
    for (const shard of this.shards) {
      for (const sql of dropShardDdl(this.target.database, shard.database)) await shard.conn.command(sql);
    }
    await this.conn.command(`DROP DATABASE IF EXISTS ${sqlName(this.target.database)}`);
  }

  // ---- dictionaries ----

  /**
   * Before the first write, a dictionary that fits is read whole, so the writer never asks the
   * server about new keys (readers never pay for this).
   */
  private async loadForWriting(d: Dictionary): Promise<void> {
    if (d.loadTried) return;
    d.loadTried = true;
    // Re-read the next free id: another process may have written since this store was opened.
    const r = await this.conn.rows<{ n: string; hi: number }>(`SELECT count() AS n, max(id) AS hi FROM ${d.byId}`);
    d.count = num(r[0].n);
    d.next = d.count === 0 ? d.firstId : num(r[0].hi) + 1;
    if (d.count > CACHE_LIMIT / 2) return;
    for await (const line of this.conn.lines(`SELECT id, ${d.keyExpr()} FROM ${d.byId}`)) {
      const tab = line.indexOf('\t');
      d.remember(tsvUnescape(line.slice(tab + 1)), num(line.slice(0, tab)));
    }
    d.complete = true;
  }

  /** Finds the ids of `keys`, assigning new ones (and storing them) when `create` is set. */
  private async lookupIds(d: Dictionary, keys: readonly string[], create: boolean): Promise<Map<string, number>> {
    if (create) await this.loadForWriting(d);
    const out = new Map<string, number>();
    const missing: string[] = [];
    for (const k of new Set(keys)) {
      const id = d.cachedId(k);
      if (id === undefined) missing.push(k);
      else out.set(k, id);
    }
    // The writer with a complete cache knows a missing key is new (one writer per store).
    const ask = create && d.complete ? [] : missing;
    for (const part of chunks(ask, KEYS_PER_QUERY)) {
      const rows = await this.conn.rows<{ k: string; id: number }>(
        `SELECT ${d.keyExpr()} AS k, id FROM ${d.byKey} WHERE ${d.keyTuple()} IN ${sqlList(part, (k) => d.keyLiteral(k))}`,
      );
      for (const r of rows) {
        d.remember(r.k, num(r.id));
        out.set(r.k, num(r.id));
      }
    }
    if (!create) return out;
    const fresh = missing.filter((k) => !out.has(k));
    if (fresh.length === 0) return out;
    let byKey = '';
    let byId = '';
    const assigned: [string, number][] = [];
    for (const k of fresh) {
      const id = d.next++;
      if (id > MAX_U32) throw new Error(`the ${d.what} dictionary is full (2^32 entries)`);
      assigned.push([k, id]);
      const cols = d.split(k).map(tsvField).join('\t');
      byKey += `${cols}\t${id}\n`;
      byId += `${id}\t${cols}\n`;
    }
    // By id first: a key is only findable once its id can be decoded.
    await this.conn.insertTsv(d.byId, ['id', ...d.keyColumns], byId);
    await this.conn.insertTsv(d.byKey, [...d.keyColumns, 'id'], byKey);
    for (const [k, id] of assigned) {
      d.remember(k, id);
      out.set(k, id);
    }
    return out;
  }

  /** Keys of dictionary ids, in order; an unknown id is an error (ids only come from this store). */
  private async lookupKeys(d: Dictionary, ids: readonly number[]): Promise<string[]> {
    const missing = [...new Set(ids)].filter((id) => d.cachedKey(id) === undefined);
    for (const part of chunks(missing, KEYS_PER_QUERY * 4)) {
      const rows = await this.conn.rows<{ k: string; id: number }>(
        `SELECT ${d.keyExpr()} AS k, id FROM ${d.byId} WHERE id IN ${sqlList(part, sqlUInt32)}`,
      );
      for (const r of rows) d.remember(r.k, num(r.id));
    }
    return ids.map((id) => {
      const k = d.cachedKey(id);
      if (k === undefined) throw new Error(`unknown ${d.what} dictionary id ${id}`);
      return k;
    });
  }

  async identifierKeys(ids: readonly number[]): Promise<string[]> {
    return this.lookupKeys(this.idents, ids);
  }

  async identifierIds(idKeys: readonly string[]): Promise<Map<string, number>> {
    return this.lookupIds(this.idents, idKeys.filter((k) => k.indexOf(':') > 0), false);
  }

  async placeKeys(ids: readonly number[]): Promise<string[]> {
    return this.lookupKeys(this.places_, ids);
  }

  /** Dictionary ids of `kind:id` place keys; unknown places are absent. */
  async placeIds(placeKeys: readonly string[]): Promise<Map<string, number>> {
    return this.lookupIds(this.places_, placeKeys.filter((k) => k.indexOf(':') > 0), false);
  }

  async subValues(ids: readonly number[]): Promise<string[]> {
    return this.lookupKeys(this.subs, ids);
  }

  // ---- writes ----

  async insertPresences(rows: readonly Presence[], options: { returnChunk?: boolean } = {}): Promise<PresenceInsertResult> {
    // Refuse the whole batch before anything is written when a row cannot be stored.
    rows.forEach((p, i) => {
      for (const [field, v] of [['start', p.start], ['end', p.end]] as const) {
        if (!Number.isSafeInteger(v) || v < 0 || v > MAX_U32) {
          throw new Error(`presence ${i + 1} of the batch: ${field} ${v} is outside what the store holds (epoch seconds 0 to 2^32-1)`);
        }
      }
      if (p.end < p.start) throw new Error(`presence ${i + 1} of the batch: end is before start`);
    });
    if (rows.length === 0) return options.returnChunk ? { inserted: 0, duplicates: 0, chunk: allocPresenceChunk(0) } : { inserted: 0, duplicates: 0 };
    return this.mutex.run(async () => {
      const identKeys = rows.map((p) => `${p.idKind}:${p.idValue}`);
      const placeKeys = rows.map((p) => `${p.placeKind}:${p.placeId}`);
      const identIds = await this.lookupIds(this.idents, identKeys, true);
      const placeIds = await this.lookupIds(this.places_, placeKeys, true);
      const subIds = await this.lookupIds(this.subs, rows.flatMap((p) => (p.sub ? [p.sub] : [])), true);
      // Rows go straight to the shard that owns their place; each shard checks for duplicates
      // against its own rows, pruned by its primary key, and takes its part in one insert.
      const parts = this.shards.map(() => ({ text: '', rows: 0, lo: MAX_U32, hi: 0 }));
      for (let i = 0; i < rows.length; i++) {
        const p = rows[i];
        const place = placeIds.get(placeKeys[i]) as number;
        const part = parts[this.shardOf(place)];
        if (p.start < part.lo) part.lo = p.start;
        if (p.start > part.hi) part.hi = p.start;
        part.rows++;
        const flags = (p.dateOnly ? 1 : 0) | (p.pointEvent ? 2 : 0);
        part.text +=
          `${identIds.get(identKeys[i])}\t${place}\t${p.start}\t${p.end}\t` +
          `${p.sub ? subIds.get(p.sub) : 0}\t${flags}\t${tsvNullable(p.lat)}\t${tsvNullable(p.lon)}\t${p.source ? tsvField(p.source) : ''}\n`;
      }
      const tag = `${process.pid}_${++stageSeq}_${Math.floor(Math.random() * 1e9)}`;
      const work = this.shards
        .map((shard, i) => ({ shard, part: parts[i], stage: `${shard.database}.${this.tables.localPresences}_stage_${tag}`, fresh: 0 }))
        .filter((w) => w.part.rows > 0);
      try {
        await Promise.all(
          work.map(async (w) => {
            const { conn, database } = w.shard;
            await conn.command(`CREATE TABLE ${w.stage} (ident UInt32, place UInt32, start_s UInt32, end_s UInt32, sub UInt32,
  flags UInt8, lat Nullable(Float64), lon Nullable(Float64), source String) ENGINE = Memory`);
            await conn.insertTsv(w.stage, ['ident', 'place', 'start_s', 'end_s', 'sub', 'flags', 'lat', 'lon', 'source'], w.part.text);
            await conn.command(`CREATE TABLE ${w.stage}_new ENGINE = Memory AS
SELECT place, start_s, end_s, ident, sub, flags, lat, lon, source, row_key
FROM (SELECT *, cityHash64(ident, place, start_s, end_s, sub, source) AS row_key FROM ${w.stage})
WHERE row_key NOT IN (
  SELECT row_key FROM ${database}.${this.tables.localPresences}
  WHERE place IN (SELECT place FROM ${w.stage}) AND start_s >= ${sqlUInt32(w.part.lo)} AND start_s <= ${sqlUInt32(w.part.hi)})
LIMIT 1 BY row_key`);
            w.fresh = num((await conn.rows<{ n: string }>(`SELECT count() AS n FROM ${w.stage}_new`))[0].n);
          }),
        );
        // Only once every shard has checked its part: a failure before here writes nothing.
        let longest = -1;
        await Promise.all(
          work.map(async (w) => {
            if (w.fresh === 0) return;
            await w.shard.conn.command(`INSERT INTO ${w.shard.database}.${this.tables.localPresences} SELECT * FROM ${w.stage}_new`);
            const r = await w.shard.conn.rows<{ d: number }>(`SELECT max(end_s - start_s) AS d FROM ${w.stage}_new`);
            longest = Math.max(longest, num(r[0].d));
          }),
        );
        if (longest >= 0) {
          await this.conn.command(`INSERT INTO ${this.tables.maxDuration} VALUES (${sqlUInt32(longest)})`);
          this.maxDurationCache = undefined;
        }
        const inserted = work.reduce((n, w) => n + w.fresh, 0);
        const result: PresenceInsertResult = { inserted, duplicates: rows.length - inserted };
        if (options.returnChunk) {
          const chunks_: PresenceChunk[] = [];
          for (const w of work) chunks_.push(await this.readChunk(w.shard.conn, `SELECT ident, place, start_s, end_s, sub, flags FROM ${w.stage}_new`, w.fresh));
          result.chunk = concatChunks(chunks_, inserted);
        }
        return result;
      } finally {
        for (const w of work) {
          await w.shard.conn.command(`DROP TABLE IF EXISTS ${w.stage}_new`).catch(() => undefined);
          await w.shard.conn.command(`DROP TABLE IF EXISTS ${w.stage}`).catch(() => undefined);
        }
      }
    });
  }

  private async readChunk(conn: ClickHouseConnection, sql: string, size: number): Promise<PresenceChunk> {
    const chunk = allocPresenceChunk(size);
    let n = 0;
    for await (const line of conn.lines(sql)) {
      const f = line.split('\t');
      chunk.ident[n] = num(f[0]);
      chunk.place[n] = num(f[1]);
      chunk.start[n] = num(f[2]);
      chunk.end[n] = num(f[3]);
      chunk.sub[n] = num(f[4]);
      chunk.flags[n] = num(f[5]);
      n++;
    }
    return n === size ? chunk : slicePresenceChunk(chunk, n);
  }

  async insertIdentityLinks(rows: readonly IdentityLink[]): Promise<InsertResult> {
    if (rows.length === 0) return { inserted: 0, duplicates: 0 };
    return this.mutex.run(async () => {
      const pairKey = (ak: string, av: string, bk: string, bv: string): string => {
        const a = `${ak}:${av}`;
        const b = `${bk}:${bv}`;
        return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
      };
      const ends = [...new Set(rows.flatMap((l) => [`${l.aKind}:${l.aValue}`, `${l.bKind}:${l.bValue}`]))];
      const known = new Set<string>();
      // A stored link touching the batch has one of the batch's identifiers as its `a` end.
      for (const part of chunks(ends, KEYS_PER_QUERY)) {
        const found = await this.conn.rows<{ a_kind: string; a_value: string; b_kind: string; b_value: string }>(
          `SELECT a_kind, a_value, b_kind, b_value FROM ${this.tables.links}
WHERE (a_kind, a_value) IN ${sqlList(part, (k) => `(${splitKindKey(k).map(sqlString).join(', ')})`)}`,
        );
        for (const l of found) known.add(pairKey(l.a_kind, l.a_value, l.b_kind, l.b_value));
      }
      let text = '';
      let inserted = 0;
      for (const l of rows) {
        const k = pairKey(l.aKind, l.aValue, l.bKind, l.bValue);
        if (known.has(k)) continue;
        known.add(k);
        inserted++;
        text += `${tsvField(l.aKind)}\t${tsvField(l.aValue)}\t${tsvField(l.bKind)}\t${tsvField(l.bValue)}\t${tsvNullable(l.source)}\n`;
      }
      await this.conn.insertTsv(this.tables.links, ['a_kind', 'a_value', 'b_kind', 'b_value', 'source'], text);
      return { inserted, duplicates: rows.length - inserted };
    });
  }

  /** Later rows win: each row gets a higher version than every row written before it. */
  private nextVersion(): number {
    return Date.now() * 1000 + (++this.versionSeq % 1000);
  }

  async upsertPeople(rows: readonly PersonRecord[]): Promise<InsertResult> {
    if (rows.length === 0) return { inserted: 0, duplicates: 0 };
    return this.mutex.run(async () => {
      const keys = [...new Set(rows.map((p) => `${p.idKind}:${p.idValue}`))];
      const existing = await this.countExisting(this.tables.people, ['id_kind', 'id_value'], keys);
      const base = this.nextVersion() * 1000;
      const text = rows
        .map((p, i) =>
          [tsvField(p.idKind), tsvField(p.idValue), tsvNullable(p.name), tsvNullable(p.address), tsvNullable(p.lat), tsvNullable(p.lon), tsvNullable(p.jurisdiction), String(base + i)].join('\t') + '\n',
        )
        .join('');
      await this.conn.insertTsv(this.tables.people, ['id_kind', 'id_value', 'name', 'address', 'lat', 'lon', 'jurisdiction', 'version'], text);
      const inserted = keys.length - existing;
      return { inserted, duplicates: rows.length - inserted };
    });
  }

  async upsertPlaces(rows: readonly PlaceRecord[]): Promise<InsertResult> {
    if (rows.length === 0) return { inserted: 0, duplicates: 0 };
    return this.mutex.run(async () => {
      const keys = [...new Set(rows.map((p) => `${p.placeKind}:${p.placeId}`))];
      const existing = await this.countExisting(this.tables.placeRecords, ['place_kind', 'place_id'], keys);
      // A known place has a dictionary id, as it has on the embedded store.
      await this.lookupIds(this.places_, keys, true);
      const base = this.nextVersion() * 1000;
      const text = rows
        .map((p, i) =>
          [tsvField(p.placeKind), tsvField(p.placeId), tsvNullable(p.name), tsvNullable(p.lat), tsvNullable(p.lon), tsvNullable(p.jurisdiction), tsvNullable(p.category), String(base + i)].join('\t') + '\n',
        )
        .join('');
      await this.conn.insertTsv(this.tables.placeRecords, ['place_kind', 'place_id', 'name', 'lat', 'lon', 'jurisdiction', 'category', 'version'], text);
      const inserted = keys.length - existing;
      return { inserted, duplicates: rows.length - inserted };
    });
  }

  private async countExisting(table: string, cols: [string, string], keys: readonly string[]): Promise<number> {
    let n = 0;
    for (const part of chunks(keys, KEYS_PER_QUERY)) {
      const r = await this.conn.rows<{ n: string }>(
        `SELECT uniqExact(${cols[0]}, ${cols[1]}) AS n FROM ${table}
WHERE (${cols[0]}, ${cols[1]}) IN ${sqlList(part, (k) => `(${splitKindKey(k).map(sqlString).join(', ')})`)}`,
      );
      n += num(r[0].n);
    }
    return n;
  }

  // ---- reads ----

  async *identityLinks(): AsyncIterable<IdentityLink[]> {
    let batch: IdentityLink[] = [];
    for await (const line of this.conn.lines(`SELECT a_kind, a_value, b_kind, b_value, source FROM ${this.tables.links}`)) {
      const f = line.split('\t');
      const link: IdentityLink = { aKind: f[0] as IdKind, aValue: tsvUnescape(f[1]), bKind: f[2] as IdKind, bValue: tsvUnescape(f[3]) };
      const source = parseNullable(f[4]);
      if (source !== undefined) link.source = source;
      batch.push(link);
      if (batch.length === 50_000) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }

  async people(idKeys: readonly string[]): Promise<PersonRecord[]> {
    const out: PersonRecord[] = [];
    for (const part of chunks([...new Set(idKeys.filter((k) => k.indexOf(':') > 0))], KEYS_PER_QUERY)) {
      const rows = await this.conn.rows<{
        id_kind: string; id_value: string; name: string | null; address: string | null;
        lat: number | null; lon: number | null; jurisdiction: string | null;
      }>(`SELECT id_kind, id_value, name, address, lat, lon, jurisdiction FROM ${this.tables.people}
WHERE (id_kind, id_value) IN ${sqlList(part, (k) => `(${splitKindKey(k).map(sqlString).join(', ')})`)}
ORDER BY version DESC LIMIT 1 BY id_kind, id_value`);
      for (const r of rows) {
        const p: PersonRecord = { idKind: r.id_kind as IdKind, idValue: r.id_value };
        assign(p, 'name', nullableText(r.name));
        assign(p, 'address', nullableText(r.address));
        assign(p, 'lat', nullableNumber(r.lat));
        assign(p, 'lon', nullableNumber(r.lon));
        assign(p, 'jurisdiction', nullableText(r.jurisdiction));
        out.push(p);
      }
    }
    return out;
  }

  async places(placeKeys: readonly string[]): Promise<PlaceRecord[]> {
    const out: PlaceRecord[] = [];
    for (const part of chunks([...new Set(placeKeys.filter((k) => k.indexOf(':') > 0))], KEYS_PER_QUERY)) {
      const rows = await this.conn.rows<{
        place_kind: string; place_id: string; name: string | null; lat: number | null; lon: number | null;
        jurisdiction: string | null; category: string | null;
      }>(`SELECT place_kind, place_id, name, lat, lon, jurisdiction, category FROM ${this.tables.placeRecords}
WHERE (place_kind, place_id) IN ${sqlList(part, (k) => `(${splitKindKey(k).map(sqlString).join(', ')})`)}
ORDER BY version DESC LIMIT 1 BY place_kind, place_id`);
      for (const r of rows) {
        const p: PlaceRecord = { placeKind: r.place_kind as PlaceKind, placeId: r.place_id };
        assign(p, 'name', nullableText(r.name));
        assign(p, 'lat', nullableNumber(r.lat));
        assign(p, 'lon', nullableNumber(r.lon));
        assign(p, 'jurisdiction', nullableText(r.jurisdiction));
        assign(p, 'category', nullableText(r.category));
        out.push(p);
      }
    }
    return out;
  }

  /** The longest presence stored (seconds): how far before a window a presence may start and still overlap it. */
  async maxDuration(): Promise<number> {
    // Another process may ingest longer presences: the value is re-read when a few seconds old.
    if (this.maxDurationCache && Date.now() - this.maxDurationCache.at < MAX_DURATION_TTL_MS) return this.maxDurationCache.seconds;
    const r = await this.conn.rows<{ d: number }>(`SELECT max(seconds) AS d FROM ${this.tables.maxDuration}`);
    const seconds = num(r[0]?.d ?? 0);
    this.maxDurationCache = { seconds, at: Date.now() };
    return seconds;
  }

  /** `start_s` bounds that let the primary key prune a read of presences overlapping [from, to). */
  windowCondition(from: number, to: number, maxDuration: number): string {
    return `start_s >= ${sqlUInt32(Math.max(0, from - maxDuration))} AND start_s < ${sqlUInt32(Math.min(MAX_U32, to))} AND end_s > ${sqlUInt32(Math.max(0, from))}`;
  }

  /** Presence rows of these identifier ids overlapping [from, to), from the by-person table. */
  async rowsOf(idents: readonly number[], from: number, to: number, maxDuration?: number): Promise<PresenceIdRow[]> {
    if (idents.length === 0 || to <= from) return [];
    const md = maxDuration ?? (await this.maxDuration());
    return this.idRows(`SELECT ident, place, start_s, end_s, sub, flags FROM ${this.tables.byPerson}
WHERE ident IN ${sqlList([...new Set(idents)], sqlUInt32)} AND ${this.windowCondition(from, to, md)}
LIMIT 1 BY ${ROW_IDENTITY}`);
  }

  /** Presence rows at each place (dictionary id) overlapping its window. */
  async rowsAt(windows: readonly { place: number; from: number; to: number }[], maxDuration?: number): Promise<PresenceIdRow[]> {
    const valid = windows.filter((w) => w.to > w.from);
    if (valid.length === 0) return [];
    const md = maxDuration ?? (await this.maxDuration());
    const out: PresenceIdRow[] = [];
    for (const part of chunks(valid, WINDOWS_PER_QUERY)) {
      const where = part.map((w) => `(place = ${sqlUInt32(w.place)} AND ${this.windowCondition(w.from, w.to, md)})`).join('\n  OR ');
      out.push(...(await this.idRows(`SELECT ident, place, start_s, end_s, sub, flags FROM ${this.tables.presences}
WHERE ${where}
LIMIT 1 BY row_key`)));
    }
    return out;
  }

  /** Runs a query returning (ident, place, start, end, sub, flags) and reads it as TabSeparated. */
  async idRows(sql: string): Promise<PresenceIdRow[]> {
    const out: PresenceIdRow[] = [];
    for await (const line of this.conn.lines(sql)) {
      const f = line.split('\t');
      out.push({ ident: num(f[0]), place: num(f[1]), start: num(f[2]), end: num(f[3]), sub: num(f[4]), flags: num(f[5]) });
    }
    return out;
  }

  /** Decodes id rows into stored presences (text fields from the dictionaries). */
  private async decodeRows(rows: readonly PresenceIdRow[], extra: readonly Extra[]): Promise<StoredPresence[]> {
    const identKeys = await this.lookupKeys(this.idents, rows.map((r) => r.ident));
    const placeKeys = await this.lookupKeys(this.places_, rows.map((r) => r.place));
    const subIds = rows.map((r) => r.sub).filter((s) => s !== 0);
    const subTexts = await this.lookupKeys(this.subs, subIds);
    const subOf = new Map<number, string>();
    subIds.forEach((id, i) => subOf.set(id, subTexts[i]));
    return rows.map((r, i) => {
      const [idKind, idValue] = splitKindKey(identKeys[i]);
      const [placeKind, placeId] = splitKindKey(placeKeys[i]);
      const p: StoredPresence = {
        idKind: idKind as IdKind,
        idValue,
        placeKind: placeKind as PlaceKind,
        placeId,
        start: r.start,
        end: r.end,
        dateOnly: (r.flags & 1) !== 0,
        pointEvent: (r.flags & 2) !== 0,
        identId: r.ident,
        placeDictId: r.place,
      };
      if (r.sub !== 0) p.sub = subOf.get(r.sub);
      const e = extra[i];
      if (e) {
        assign(p, 'lat', e.lat);
        assign(p, 'lon', e.lon);
        assign(p, 'source', e.source);
      }
      return p;
    });
  }

  /** Full rows (with coordinates and source) for the port's per-person and per-place reads. */
  private async storedRows(sql: string): Promise<StoredPresence[]> {
    const rows: PresenceIdRow[] = [];
    const extra: Extra[] = [];
    for await (const line of this.conn.lines(sql)) {
      const f = line.split('\t');
      const r = { ident: num(f[0]), place: num(f[1]), start: num(f[2]), end: num(f[3]), sub: num(f[4]), flags: num(f[5]) };
      rows.push(r);
      const e: Extra = {};
      if (f[6] !== '\\N') e.lat = num(f[6]);
      if (f[7] !== '\\N') e.lon = num(f[7]);
      const source = tsvUnescape(f[8] ?? '');
      if (source) e.source = source;
      extra.push(e);
    }
    return this.decodeRows(rows, extra);
  }

  async presencesOf(idKeys: readonly string[], from: number, to: number): Promise<StoredPresence[]> {
    const ids = [...(await this.identifierIds(idKeys)).values()];
    if (ids.length === 0 || to <= from) return [];
    const md = await this.maxDuration();
    const got = await this.storedRows(`SELECT ident, place, start_s, end_s, sub, flags, lat, lon, source FROM ${this.tables.byPerson}
WHERE ident IN ${sqlList(ids, sqlUInt32)} AND ${this.windowCondition(from, to, md)}
LIMIT 1 BY ${ROW_IDENTITY}`);
    return got.sort((a, b) => a.start - b.start || a.end - b.end || cmp(a.placeKind, b.placeKind) || cmp(a.placeId, b.placeId));
  }

  async presencesAt(queries: readonly PlaceWindowQuery[]): Promise<StoredPresence[]> {
    if (queries.length === 0) return [];
    const ids = await this.placeIds(queries.map((q) => `${q.placeKind}:${q.placeId}`));
    const windows = queries.flatMap((q) => {
      const place = ids.get(`${q.placeKind}:${q.placeId}`);
      return place === undefined || q.to <= q.from ? [] : [{ place, from: q.from, to: q.to }];
    });
    if (windows.length === 0) return [];
    const md = await this.maxDuration();
    const out: StoredPresence[] = [];
    for (const part of chunks(windows, WINDOWS_PER_QUERY)) {
      const where = part.map((w) => `(place = ${sqlUInt32(w.place)} AND ${this.windowCondition(w.from, w.to, md)})`).join('\n  OR ');
      out.push(...(await this.storedRows(`SELECT ident, place, start_s, end_s, sub, flags, lat, lon, source FROM ${this.tables.presences}
WHERE ${where}
LIMIT 1 BY row_key`)));
    }
    // One presence may match several windows of one place: keep it once.
    const seen = new Set<string>();
    return out
      .filter((p) => {
        const k = `${p.identId}|${p.placeDictId}|${p.start}|${p.end}|${p.sub ?? ''}|${p.source ?? ''}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      })
      .sort((a, b) => cmp(a.placeKind, b.placeKind) || cmp(a.placeId, b.placeId) || a.start - b.start || a.end - b.end || cmp(a.idKind, b.idKind) || cmp(a.idValue, b.idValue));
  }

  async *scan(chunkSize = 1 << 20): AsyncIterable<PresenceChunk> {
    let chunk = allocPresenceChunk(chunkSize);
    let n = 0;
    for await (const line of this.conn.lines(`SELECT ident, place, start_s, end_s, sub, flags FROM ${this.tables.presences}`)) {
      const f = line.split('\t');
      chunk.ident[n] = num(f[0]);
      chunk.place[n] = num(f[1]);
      chunk.start[n] = num(f[2]);
      chunk.end[n] = num(f[3]);
      chunk.sub[n] = num(f[4]);
      chunk.flags[n] = num(f[5]);
      if (++n === chunkSize) {
        yield chunk;
        chunk = allocPresenceChunk(chunkSize);
        n = 0;
      }
    }
    if (n > 0) yield slicePresenceChunk(chunk, n);
  }

  // ---- retention ----

  /**
   * Removes presences that ended at or before `before`: whole days (partitions) whose every presence
   * ended by then are dropped, which costs nothing; the few rows left in the boundary days are deleted
   * by a mutation, waited for on every shard.
   */
  async purgeBefore(before: number): Promise<PurgeResult> {
    sqlInt(before);
    return this.mutex.run(async () => {
      const cut = sqlUInt32(Math.max(0, Math.min(MAX_U32, before)));
      const r = await this.conn.rows<{ n: string; lo: number; hi: number }>(
        `SELECT count() AS n, min(start_s) AS lo, max(start_s) AS hi FROM ${this.tables.presences} WHERE end_s <= ${cut}`,
      );
      const removed = num(r[0].n);
      if (removed === 0) return { removed: 0, oldestStart: null, newestStart: null };
      for (const shard of this.shards) {
        const local = `${shard.database}.${this.tables.localPresences}`;
        const localByPerson = `${shard.database}.${this.tables.localByPerson}`;
        const days = await shard.conn.rows<{ day: number }>(
          `SELECT intDiv(start_s, 86400) AS day FROM ${local} GROUP BY day HAVING max(end_s) <= ${cut}`,
        );
        for (const { day } of days) {
          for (const t of [local, localByPerson]) await shard.conn.command(`ALTER TABLE ${t} DROP PARTITION ${sqlUInt32(num(day))}`);
        }
        const left = await shard.conn.rows<{ n: string }>(`SELECT count() AS n FROM ${local} WHERE end_s <= ${cut}`);
        if (num(left[0].n) > 0) {
          for (const t of [local, localByPerson]) await shard.conn.command(`ALTER TABLE ${t} DELETE WHERE end_s <= ${cut}`);
          await this.waitForMutations(shard);
        }
      }
      return { removed, oldestStart: num(r[0].lo), newestStart: num(r[0].hi) };
    });
  }

  private async waitForMutations(shard: ClickHouseShard): Promise<void> {
    const deadline = Date.now() + MUTATION_WAIT_MS;
    const tables = sqlList([this.tables.localPresences, this.tables.localByPerson], sqlString);
    for (;;) {
      const r = await shard.conn.rows<{ n: string }>(
        `SELECT count() AS n FROM system.mutations WHERE database = ${sqlString(shard.database)} AND table IN ${tables} AND is_done = 0`,
      );
      if (num(r[0].n) === 0) return;
      if (Date.now() > deadline) throw new Error(`retention delete on shard database ${shard.database} did not finish within ${MUTATION_WAIT_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stats(): Promise<StoreStats> {
    const t = this.tables;
    const r = await this.conn.rows<{ n: string; lo: number; hi: number; idents: string; places: string; links: string; people: string }>(`SELECT
  (SELECT count() FROM ${t.presences}) AS n,
  (SELECT min(start_s) FROM ${t.presences}) AS lo,
  (SELECT max(start_s) FROM ${t.presences}) AS hi,
  (SELECT count() FROM ${t.identById}) AS idents,
  (SELECT count() FROM ${t.placeById}) AS places,
  (SELECT count() FROM ${t.links}) AS links,
  (SELECT uniqExact(id_kind, id_value) FROM ${t.people}) AS people`);
    const s = r[0];
    const presences = num(s.n);
    return {
      presences,
      identifiers: num(s.idents),
      places: num(s.places),
      identityLinks: num(s.links),
      people: num(s.people),
      // ClickHouse answers 0, not NULL, for the min of nothing.
      minStart: presences === 0 ? null : num(s.lo),
      maxStart: presences === 0 ? null : num(s.hi),
    };
  }

  /** Bytes on disk of the presence tables (both orders) and the store's other tables, summed over the shards. */
  async diskBytes(): Promise<{ presences: number; byPerson: number; other: number }> {
    let presences = 0;
    let byPerson = 0;
    for (const shard of this.shards) {
      const r = await shard.conn.rows<{ table: string; b: string }>(
        `SELECT table, sum(bytes_on_disk) AS b FROM system.parts WHERE active AND database = ${sqlString(shard.database)}
AND table IN ${sqlList([this.tables.localPresences, this.tables.localByPerson], sqlString)} GROUP BY table`,
      );
      for (const x of r) {
        if (x.table === this.tables.localPresences) presences += num(x.b);
        else byPerson += num(x.b);
      }
    }
    const o = await this.conn.rows<{ b: string }>(
      `SELECT sum(bytes_on_disk) AS b FROM system.parts WHERE active AND database = ${sqlString(this.target.database)}`,
    );
    return { presences, byPerson, other: num(o[0]?.b ?? 0) };
  }

  /**
   * The tracer's reads pushed down to this store (pass it as the trace service's `storeSource`):
   * the first degree in one query, pruned on every shard.
   */
  candidateSource(): ClickHouseCandidateSource {
    return new ClickHouseCandidateSource(this);
  }

  /** Place kind of a place dictionary id (from the dictionary's key). */
  async placeKindsOf(ids: readonly number[]): Promise<PlaceKind[]> {
    return (await this.placeKeys(ids)).map((k) => k.slice(0, k.indexOf(':')) as PlaceKind);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.mutex.run(async () => {
      for (const shard of this.shards) if (!shard.local) await shard.conn.close();
      await this.conn.close();
    });
  }
}

/** The columns of a stored presence that the contact read does not need. */
interface Extra {
  lat?: number;
  lon?: number;
  source?: string;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function assign<T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined): void {
  if (v !== undefined) o[k] = v;
}


function concatChunks(parts: readonly PresenceChunk[], n: number): PresenceChunk {
  if (parts.length === 1) return parts[0];
  const out = allocPresenceChunk(n);
  let off = 0;
  for (const c of parts) {
    out.ident.set(c.ident.subarray(0, c.length), off);
    out.place.set(c.place.subarray(0, c.length), off);
    out.start.set(c.start.subarray(0, c.length), off);
    out.end.set(c.end.subarray(0, c.length), off);
    out.sub.set(c.sub.subarray(0, c.length), off);
    out.flags.set(c.flags.subarray(0, c.length), off);
    off += c.length;
  }
  return off === n ? out : slicePresenceChunk(out, off);
}

