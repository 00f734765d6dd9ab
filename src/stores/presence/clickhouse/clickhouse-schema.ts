/**
 * @module The ClickHouse tables of one presence store. SQL kept to what release 18.16 and current
 * releases both run.
 *
 * Layout, for a store named `db` on the cluster `cordon_cluster`:
 * - on every shard, in that shard's database (its replica's `default_database`):
 *   `db__presences`, a ReplacingMergeTree ordered by (place, start) and partitioned by UTC day, so a
 *   contact read touches only the granules of its places and windows and retention drops whole days;
 *   `db__by_person`, the same rows (without the dedup hash) ordered by (ident, start), filled by a
 *   materialized view, so a trajectory read is pruned too;
 * - in database `db`, on the server the store talks to: the Distributed tables `presences` (sharded by
 *   place, so all presences of one place sit on one shard and a place's overlap is computed where the
 *   rows are) and `by_person`, the dictionaries (identifier, place, sub ↔ dense id, one table per
 *   direction of lookup), people, place records, identity links, and the longest presence stored.
 */
import { sqlName } from './clickhouse-sql.ts';

/**
 * Rows per primary-key granule. Small, because the hot reads are many short ranges (a few places,
 * a few days) and each touched place costs at least one granule per part; the marks stay small
 * (2 × 16 bytes per 256 rows).
 */
export const INDEX_GRANULARITY = 256;

/** Column list of the place-ordered presence table, in insert order. */
export const PRESENCE_COLUMNS = ['place', 'start_s', 'end_s', 'ident', 'sub', 'flags', 'lat', 'lon', 'source', 'row_key'] as const;

/**
 * What makes two presences the same record (the port's duplicate rule). The person-ordered table has
 * no `row_key` (8 random bytes per row that compress to nothing): its reads drop repeats by these.
 */
export const ROW_IDENTITY = 'ident, place, start_s, end_s, sub, source';

const BASE_COLUMN_TYPES = `place UInt32, start_s UInt32, end_s UInt32, ident UInt32, sub UInt32, flags UInt8,
  lat Nullable(Float64), lon Nullable(Float64), source String`;
const PRESENCE_COLUMN_TYPES = `${BASE_COLUMN_TYPES}, row_key UInt64`;

/** Names of the tables of store `db`. */
export function tableNames(db: string): {
  localPresences: string;
  localByPerson: string;
  localByPersonView: string;
  presences: string;
  byPerson: string;
  identByKey: string;
  identById: string;
  placeByKey: string;
  placeById: string;
  subByKey: string;
  subById: string;
  people: string;
  placeRecords: string;
  links: string;
  maxDuration: string;
} {
  const d = sqlName(db);
  return {
    localPresences: `${d}__presences`,
    localByPerson: `${d}__by_person`,
    localByPersonView: `${d}__by_person_mv`,
    presences: `${d}.presences`,
    byPerson: `${d}.by_person`,
    identByKey: `${d}.ident_by_key`,
    identById: `${d}.ident_by_id`,
    placeByKey: `${d}.place_by_key`,
    placeById: `${d}.place_by_id`,
    subByKey: `${d}.sub_by_key`,
    subById: `${d}.sub_by_id`,
    people: `${d}.people`,
    placeRecords: `${d}.place_records`,
    links: `${d}.identity_links`,
    maxDuration: `${d}.max_duration`,
  };
}

/** DDL for one shard's local tables, run in that shard's database `shardDb`. */
export function shardDdl(db: string, shardDb: string): string[] {
  const t = tableNames(db);
  const s = sqlName(shardDb);
  return [
    `CREATE DATABASE IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.${t.localPresences} (${PRESENCE_COLUMN_TYPES})
ENGINE = ReplacingMergeTree() PARTITION BY intDiv(start_s, 86400) ORDER BY (place, start_s, row_key)
SETTINGS index_granularity = ${INDEX_GRANULARITY}`,
    `CREATE TABLE IF NOT EXISTS ${s}.${t.localByPerson} (${BASE_COLUMN_TYPES})
ENGINE = MergeTree() PARTITION BY intDiv(start_s, 86400) ORDER BY (ident, start_s)
SETTINGS index_granularity = ${INDEX_GRANULARITY}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${s}.${t.localByPersonView} TO ${s}.${t.localByPerson}
AS SELECT ${PRESENCE_COLUMNS.filter((c) => c !== 'row_key').join(', ')} FROM ${s}.${t.localPresences}`,
  ];
}

/** DDL for the logical database: Distributed tables over the shards, and the small tables. */
export function storeDdl(db: string, cluster: string, firstShardDb: string): string[] {
  const t = tableNames(db);
  const d = sqlName(db);
  const c = sqlName(cluster);
  const s = sqlName(firstShardDb);
  return [
    `CREATE DATABASE IF NOT EXISTS ${d}`,
    // Database '' : each shard resolves the local table in its replica's default_database.
    `CREATE TABLE IF NOT EXISTS ${t.presences} AS ${s}.${t.localPresences}
ENGINE = Distributed(${c}, '', '${t.localPresences}', place)`,
    `CREATE TABLE IF NOT EXISTS ${t.byPerson} AS ${s}.${t.localByPerson}
ENGINE = Distributed(${c}, '', '${t.localByPerson}', ident)`,
    `CREATE TABLE IF NOT EXISTS ${t.identByKey} (kind String, value String, id UInt32) ENGINE = MergeTree ORDER BY (kind, value)`,
    `CREATE TABLE IF NOT EXISTS ${t.identById} (id UInt32, kind String, value String) ENGINE = MergeTree ORDER BY id`,
    `CREATE TABLE IF NOT EXISTS ${t.placeByKey} (kind String, place_id String, id UInt32) ENGINE = MergeTree ORDER BY (kind, place_id)`,
    `CREATE TABLE IF NOT EXISTS ${t.placeById} (id UInt32, kind String, place_id String) ENGINE = MergeTree ORDER BY id`,
    `CREATE TABLE IF NOT EXISTS ${t.subByKey} (value String, id UInt32) ENGINE = MergeTree ORDER BY value`,
    `CREATE TABLE IF NOT EXISTS ${t.subById} (id UInt32, value String) ENGINE = MergeTree ORDER BY id`,
    `CREATE TABLE IF NOT EXISTS ${t.people} (id_kind String, id_value String, name Nullable(String), address Nullable(String),
  lat Nullable(Float64), lon Nullable(Float64), jurisdiction Nullable(String), version UInt64)
ENGINE = ReplacingMergeTree(version) ORDER BY (id_kind, id_value)`,
    `CREATE TABLE IF NOT EXISTS ${t.placeRecords} (place_kind String, place_id String, name Nullable(String),
  lat Nullable(Float64), lon Nullable(Float64), jurisdiction Nullable(String), category Nullable(String), version UInt64)
ENGINE = ReplacingMergeTree(version) ORDER BY (place_kind, place_id)`,
    `CREATE TABLE IF NOT EXISTS ${t.links} (a_kind String, a_value String, b_kind String, b_value String, source Nullable(String))
ENGINE = MergeTree ORDER BY (a_kind, a_value, b_kind, b_value)`,
    `CREATE TABLE IF NOT EXISTS ${t.maxDuration} (seconds UInt32) ENGINE = MergeTree ORDER BY tuple()`,
  ];
}

/** DDL that removes store `db` from one shard (tests, `drop`). */
export function dropShardDdl(db: string, shardDb: string): string[] {
  const t = tableNames(db);
  const s = sqlName(shardDb);
  return [
    `DROP TABLE IF EXISTS ${s}.${t.localByPersonView}`,
    `DROP TABLE IF EXISTS ${s}.${t.localByPerson}`,
    `DROP TABLE IF EXISTS ${s}.${t.localPresences}`,
  ];
}
