/**
 * @module The PostgreSQL records store (server deployments): a pg pool on `postgres://…`, optionally
 * in its own schema (`?schema=NAME`).
 */
import type { RecordsStore } from '../records-store.ts';
import { sqlRecordsStore } from '../sql-records-store.ts';
import { openPostgresConnection } from './postgres-connection.ts';

/** Opens the PostgreSQL records store at `url` and migrates it. */
export async function openPostgresRecordsStore(url: string): Promise<RecordsStore> {
  const store = sqlRecordsStore(await openPostgresConnection(url));
  await store.init();
  return store;
}
