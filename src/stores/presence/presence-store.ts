/**
 * @module The presence store port: the append-only, retention-limited store of presences, identity
 * links, people and places. Adapters: DuckDB (embedded default, `duckdb/`), ClickHouse (`clickhouse/`).
 * One contract suite (`presence-store.contract.ts`) runs against every adapter.
 *
 * Identifiers and places are dictionary-encoded by the store (dense integer ids) so that the in-memory
 * index can be built from integer columns; a store that can run the trace itself (ClickHouse) says so
 * with `capabilities.traceInStore` and implements `traceContacts`.
 */
import type { IdentityLink, PersonRecord, PlaceRecord, Presence } from '../../domain/formats.ts';

/** What an adapter can do beyond the common contract. */
export interface PresenceStoreCapabilities {
  /** Adapter name, for messages and benchmarks (`duckdb`, `clickhouse`). */
  readonly name: string;
  /** The store can answer a contact query itself (pushdown), so Node need not hold an index. */
  readonly traceInStore: boolean;
}

/** Counts returned by every write. `duplicates` rows were already present and were skipped. */
export interface InsertResult {
  inserted: number;
  duplicates: number;
}

/**
 * A column chunk of presences for index building. Identifier, place and sub are the store's dense
 * dictionary ids (sub 0 = none); times are epoch seconds UTC.
 */
export interface PresenceChunk {
  length: number;
  ident: Uint32Array;
  place: Uint32Array;
  start: Uint32Array;
  end: Uint32Array;
  sub: Uint32Array;
  /** bit 0: date-only; bit 1: point event. */
  flags: Uint8Array;
}

/** Presence with the store's dictionary ids, as returned by the per-person and per-place reads. */
export interface StoredPresence extends Presence {
  identId: number;
  placeDictId: number;
}

/** A contact query pushed down to a store (see src/trace for the rule semantics). */
export interface PlaceWindowQuery {
  placeKind: Presence['placeKind'];
  placeId: string;
  /** Epoch seconds: return presences whose [start, end) overlaps [from, to). */
  from: number;
  to: number;
}

export interface StoreStats {
  presences: number;
  identifiers: number;
  places: number;
  identityLinks: number;
  people: number;
  /** Earliest and latest presence start (epoch seconds), null when empty. */
  minStart: number | null;
  maxStart: number | null;
}

export interface PresenceStore {
  /** What this adapter can do. */
  readonly capabilities: PresenceStoreCapabilities;
  /** Creates tables and dictionaries if missing. Safe to call on every start. */
  init(): Promise<void>;
  /**
   * Appends validated presences in one atomic batch: all rows of the call become visible, or none.
   * A row equal to one already stored (same identifier, place, start, end, sub, source) is skipped and
   * counted as a duplicate, so re-ingesting a file adds nothing.
   */
  insertPresences(rows: readonly Presence[]): Promise<InsertResult>;
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
  /** Deletes presences whose end is before `before` (epoch seconds); reports what it removed. */
  purgeBefore(before: number): Promise<{ removed: number }>;
  /** Sizes of what is stored. */
  stats(): Promise<StoreStats>;
  /** Flushes and closes. */
  close(): Promise<void>;
}
