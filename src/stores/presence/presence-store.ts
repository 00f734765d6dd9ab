/**
 * @module The presence store port: the append-only, retention-limited store of presences, identity
 * links, people and places. Adapters: DuckDB (embedded default, `duckdb/`), ClickHouse (`clickhouse/`).
 * One contract suite (`presence-store.contract.ts`) runs against every adapter.
 *
 * Identifiers and places are dictionary-encoded by the store (dense integer ids) so that the in-memory
 * index can be built from integer columns; a store that can run the contact query itself (ClickHouse)
 * says so with `capabilities.traceInStore` and offers its own pushdown reads next to the port. A store
 * with an in-process SQL engine (DuckDB) offers `bulk`, so files are validated and loaded inside it.
 */
import type { IdentityLink, PersonRecord, PlaceRecord, Presence } from '../../domain/formats.ts';

/** What an adapter can do beyond the common contract. */
export interface PresenceStoreCapabilities {
  /** Adapter name, for messages and benchmarks (`duckdb`, `clickhouse`). */
  readonly name: string;
  /** The store can answer a contact query itself (pushdown), so Node need not hold an index. */
  readonly traceInStore: boolean;
}

/** Counts returned by every write. */
export interface InsertResult {
  /** Rows added. */
  inserted: number;
  /** Rows already present (or repeated within the call), skipped. */
  duplicates: number;
}

/** What a presence write returns: counts, and on request the newly stored rows as a column chunk. */
export interface PresenceInsertResult extends InsertResult {
  /** The rows this call added (duplicates excluded), present when `returnChunk` was asked for. */
  chunk?: PresenceChunk;
}

/** A value read from a SQL staging engine. */
export type SqlValue = string | number | bigint | boolean | null;

/**
 * The few SQL calls the ingest pipeline needs from an engine that speaks DuckDB's dialect (`read_csv`,
 * `try_cast`, temporary tables). Kept tiny so the ingest code does not depend on a client package.
 */
export interface SqlRunner {
  /** Runs one or more statements, ignoring results. */
  run(sql: string): Promise<void>;
  /** Runs a query and returns its rows as plain objects (numbers beyond 2^53 as bigint). */
  rows(sql: string): Promise<Record<string, SqlValue>[]>;
  /** Runs a query and returns each column as an array, for bulk reads. */
  columns(sql: string): Promise<SqlValue[][]>;
  /** How far the statement now running is, 0–100, or undefined when the engine cannot tell. */
  progress?(): number | undefined;
  /** Appends rows (values in column order: integers as number, text as string, or null) to a temporary table, faster than INSERT text. */
  append?(table: string, rows: readonly (readonly SqlValue[])[]): Promise<void>;
}

/**
 * Column layout of a staging table of validated presences, as `bulk.commitPresences` reads it:
 * `id_kind, id_value, place_kind, place_id VARCHAR, start, "end" BIGINT (epoch s), sub VARCHAR,
 * flags UTINYINT, lat, lon DOUBLE, source VARCHAR`.
 */
export const PRESENCE_STAGING_COLUMNS =
  'id_kind VARCHAR, id_value VARCHAR, place_kind VARCHAR, place_id VARCHAR, start BIGINT, "end" BIGINT, sub VARCHAR, flags UTINYINT, lat DOUBLE, lon DOUBLE, source VARCHAR';

/**
 * Fast path for stores that run a DuckDB-dialect engine in-process: files are read and validated in
 * the store's own engine and valid rows move into the store without passing through JavaScript.
 */
export interface BulkLoader {
  /** The store's engine; staging tables made here must be TEMP tables with unique names. */
  readonly sql: SqlRunner;
  /**
   * Moves the rows of staging table or view `table` (layout `PRESENCE_STAGING_COLUMNS`) into the store
   * in one atomic batch, skipping duplicates like `insertPresences`.
   */
  commitPresences(table: string, options?: { returnChunk?: boolean }): Promise<PresenceInsertResult>;
  /** Writes everything committed so far durably (checkpoint), after large loads. */
  checkpoint(): Promise<void>;
  /**
   * Present when the store can take presences already encoded in JavaScript (the fast CSV engine):
   * a mirror of its dictionaries to encode against, and an atomic batch commit of integer columns.
   */
  readonly encoded?: EncodedPresenceLoader;
}

/**
 * Values at or above this in an encoded batch's dictionary columns name an entry of the batch's own
 * `fresh` lists (value − FRESH_ID), not a stored dictionary id: the store assigns real ids when the
 * batch commits.
 */
export const FRESH_ID = 0x8000_0000;

/**
 * A read-only view of a store's dictionaries as of the last commit: `undefined` for an unknown key.
 * Sub and source ids start at 1 (0 = none); identifier and place ids at 0.
 */
export interface PresenceDictionaryView {
  identifier(kind: string, value: string): number | undefined;
  place(kind: string, placeId: string): number | undefined;
  sub(value: string): number | undefined;
  source(value: string): number | undefined;
}

/**
 * One batch of validated presences as integer columns (the first `length` entries of each array
 * count). Dictionary columns hold stored ids, or FRESH_ID + i for the i-th entry of the matching
 * `fresh` list (keys not in the dictionary when the batch was encoded; each key listed once).
 * `lat`/`lon` hold NaN for none. Times are epoch seconds; `flags` as in PresenceChunk.
 */
export interface EncodedPresenceBatch {
  length: number;
  ident: Uint32Array;
  place: Uint32Array;
  start: Uint32Array;
  end: Uint32Array;
  sub: Uint32Array;
  source: Uint32Array;
  flags: Uint8Array;
  lat: Float64Array;
  lon: Float64Array;
  fresh: {
    identifiers: { kind: string; value: string }[];
    places: { kind: string; placeId: string }[];
    subs: string[];
    sources: string[];
  };
}

/** A batch's record in the store: its row count, start range and digest (a sum of row hashes, additive over rows). */
export interface PresenceBatchDigest {
  rows: number;
  lo: number;
  hi: number;
  /** Decimal text of the 128-bit digest. */
  digest: string;
}

/** Next ids of the four dictionaries: a dictionary delta lists the entries from these on. */
export interface DictionaryCounts {
  ident: number;
  place: number;
  sub: number;
  source: number;
}

/** Dictionary entries added since some counts, by id order: `[id, kind, value]` / `[id, value]`. */
export interface DictionaryDelta {
  identifiers: [number, string, string][];
  places: [number, string, string][];
  subs: [number, string][];
  sources: [number, string][];
}

/** What an encoded commit did: the counts (and chunk) of a presence write, and the batch's digest. */
export interface EncodedInsertResult extends PresenceInsertResult {
  batch: PresenceBatchDigest;
}

/** The fast path of a store for presences encoded in JavaScript. */
export interface EncodedPresenceLoader {
  /** The store's dictionaries (loaded on first use, kept current by every commit). */
  dictionaries(): Promise<PresenceDictionaryView>;
  /** The dictionary entries with ids from `since` on (for a copy of the dictionaries kept elsewhere, e.g. a worker thread). */
  dictionaryDelta(since: DictionaryCounts): Promise<DictionaryDelta>;
  /**
   * Commits an encoded batch atomically like `commitPresences`: fresh dictionary entries get ids,
   * rows repeated in the batch or already stored are skipped and counted, the batch digest is
   * recorded (the same digest `commitPresences` records for the same rows, so a batch stored by
   * either path is skipped whole by both). The batch's arrays may be rewritten (fresh ids resolved).
   * `checkpoint: false` leaves the checkpoint `commitPresences` runs after a large batch to the caller.
   */
  commitEncoded(batch: EncodedPresenceBatch, options?: { returnChunk?: boolean; checkpoint?: boolean }): Promise<EncodedInsertResult>;
  /**
   * Records a batch digest (unless recorded already) for rows committed in smaller batches, all of
   * them stored: the digest the other path computes for those rows as one batch.
   */
  recordBatch(batch: PresenceBatchDigest): Promise<void>;
}

/**
 * A column chunk of presences for index building. Identifier, place and sub are the store's dense
 * dictionary ids (sub 0 = none); times are epoch seconds UTC.
 */
export interface PresenceChunk {
  /** Number of presences in the chunk (every array has at least this many entries). */
  length: number;
  /** Identifier dictionary id (see `identifierKeys`). */
  ident: Uint32Array;
  /** Place dictionary id (see `placeKeys`). */
  place: Uint32Array;
  /** Start, epoch seconds UTC, inclusive. */
  start: Uint32Array;
  /** End, epoch seconds UTC, exclusive. */
  end: Uint32Array;
  /** Sub dictionary id (seat, room), 0 = none (see `subValues`). */
  sub: Uint32Array;
  /** bit 0: date-only; bit 1: point event. */
  flags: Uint8Array;
}

/** A zero-filled chunk of `n` presences, for adapters to fill. */
export function allocPresenceChunk(n: number): PresenceChunk {
  return {
    length: n,
    ident: new Uint32Array(n),
    place: new Uint32Array(n),
    start: new Uint32Array(n),
    end: new Uint32Array(n),
    sub: new Uint32Array(n),
    flags: new Uint8Array(n),
  };
}

/** The first `n` presences of a chunk, as a chunk of its own (copied, so the rest can be freed). */
export function slicePresenceChunk(c: PresenceChunk, n: number): PresenceChunk {
  return {
    length: n,
    ident: c.ident.slice(0, n),
    place: c.place.slice(0, n),
    start: c.start.slice(0, n),
    end: c.end.slice(0, n),
    sub: c.sub.slice(0, n),
    flags: c.flags.slice(0, n),
  };
}

/** Presence with the store's dictionary ids, as returned by the per-person and per-place reads. */
export interface StoredPresence extends Presence {
  /** The identifier's dictionary id, as in scan chunks. */
  identId: number;
  /** The place's dictionary id, as in scan chunks. */
  placeDictId: number;
}

/** A contact query pushed down to a store (see src/trace for the rule semantics). */
export interface PlaceWindowQuery {
  /** Kind of the place. */
  placeKind: Presence['placeKind'];
  /** Key of the place within its kind. */
  placeId: string;
  /** Window start, epoch seconds: presences whose [start, end) overlaps [from, to) are returned. */
  from: number;
  /** Window end, epoch seconds, exclusive. */
  to: number;
}

/** What a purge removed. */
export interface PurgeResult {
  /** Presences deleted. */
  removed: number;
  /** Earliest and latest start of the removed presences (epoch seconds), null when nothing was removed. */
  oldestStart: number | null;
  newestStart: number | null;
}

/** Sizes of what a store holds. */
export interface StoreStats {
  /** Stored presences. */
  presences: number;
  /** Identifiers in the dictionary (every identifier a presence named). */
  identifiers: number;
  /** Places in the dictionary (named by a presence or a places file). */
  places: number;
  /** Stored identity links. */
  identityLinks: number;
  /** Stored people records. */
  people: number;
  /** Earliest and latest presence start (epoch seconds), null when empty. */
  minStart: number | null;
  maxStart: number | null;
}

export interface PresenceStore {
  /** What this adapter can do. */
  readonly capabilities: PresenceStoreCapabilities;
  /** Present when the adapter offers the in-engine bulk path (DuckDB); the ingest falls back to `insertPresences` otherwise. */
  readonly bulk?: BulkLoader;
  /** Creates tables and dictionaries if missing. Safe to call on every start. */
  init(): Promise<void>;
  /**
   * Appends validated presences in one atomic batch: all rows of the call become visible, or none.
   * A row equal to one already stored (same identifier, place, start, end, sub, source) is skipped and
   * counted as a duplicate (also within the call), so re-ingesting a file adds nothing. With
   * `returnChunk` the added rows come back as a chunk (dictionary ids), for keeping an index current.
   */
  insertPresences(rows: readonly Presence[], options?: { returnChunk?: boolean }): Promise<PresenceInsertResult>;
  /** Stores identity links; a link already stored (in either direction) is a duplicate. */
  insertIdentityLinks(rows: readonly IdentityLink[]): Promise<InsertResult>;
  /** Inserts or updates people (keyed by identifier). */
  upsertPeople(rows: readonly PersonRecord[]): Promise<InsertResult>;
  /** Inserts or updates places (keyed by kind and id). */
  upsertPlaces(rows: readonly PlaceRecord[]): Promise<InsertResult>;
  /** Every identity link, in chunks. */
  identityLinks(): AsyncIterable<IdentityLink[]>;
  /** People known under any of these `kind:value` identifiers. */
  people(idKeys: readonly string[]): Promise<PersonRecord[]>;
  /** Places by `kind:id` key. */
  places(placeKeys: readonly string[]): Promise<PlaceRecord[]>;
  /** Presences of any of these `kind:value` identifiers overlapping [from, to), ordered by start. */
  presencesOf(idKeys: readonly string[], from: number, to: number): Promise<StoredPresence[]>;
  /** Presences at the given places overlapping the given windows (the pushdown read), ordered by place, start. */
  presencesAt(queries: readonly PlaceWindowQuery[]): Promise<StoredPresence[]>;
  /** Every presence as integer column chunks, for building the in-memory index. */
  scan(chunkSize?: number): AsyncIterable<PresenceChunk>;
  /** `kind:value` of identifier dictionary ids (index → key). */
  identifierKeys(ids: readonly number[]): Promise<string[]>;
  /** Dictionary ids of `kind:value` identifiers; unknown ones are absent from the map. */
  identifierIds(idKeys: readonly string[]): Promise<Map<string, number>>;
  /** `kind:id` of place dictionary ids. */
  placeKeys(ids: readonly number[]): Promise<string[]>;
  /** Sub (seat, room) text of sub dictionary ids. */
  subValues(ids: readonly number[]): Promise<string[]>;
  /**
   * Deletes presences whose end is at or before `before` (epoch seconds), i.e. that lie wholly in the
   * past of that instant; reports how many it removed and the removed rows' earliest and latest start.
   */
  purgeBefore(before: number): Promise<PurgeResult>;
  /** Sizes of what is stored. */
  stats(): Promise<StoreStats>;
  /** Flushes and closes. */
  close(): Promise<void>;
}
