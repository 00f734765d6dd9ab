/**
 * @module Opens the configured presence store: `duckdb:PATH` (embedded default) or `clickhouse://…`.
 * Only the configured adapter is loaded, so an embedded deployment never loads the ClickHouse client.
 */
import type { PresenceStore } from './presence-store.ts';

/** Options for opening a presence store. */
export interface OpenPresenceStoreOptions {
  /** Who opens it (`cordon serve`, `cordon ingest`): a second process is told who holds an embedded file. */
  owner?: string;
  /** Memory limit of an embedded engine, e.g. `2GB`. */
  memoryLimit?: string;
}

/** Opens the presence store named by `url` (config `presenceUrl`). */
export async function openPresenceStore(url: string, options: OpenPresenceStoreOptions = {}): Promise<PresenceStore> {
  if (url.startsWith('duckdb:')) {
    const { DuckDbPresenceStore } = await import('./duckdb/duckdb-presence-store.ts');
    return DuckDbPresenceStore.open(url.slice('duckdb:'.length), options);
  }
  if (url.startsWith('clickhouse://')) {
    const { ClickHousePresenceStore } = await import('./clickhouse/clickhouse-presence-store.ts');
    return ClickHousePresenceStore.open(url);
  }
  throw new Error(`presence store URL must start with duckdb: or clickhouse:// (got "${url.split(':')[0]}:…")`);
}
