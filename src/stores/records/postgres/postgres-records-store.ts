/**
 * @module The PostgreSQL records store (server deployments): a pg pool on `postgres://…`, optionally
 * in its own schema (`?schema=NAME`).
 */
import { SqlRecordsStore } from '../sql-records-store.ts';
import { openPostgresConnection } from './postgres-connection.ts';

/** Opens the PostgreSQL records store at `url` and migrates it. */
export async function openPostgresRecordsStore(url: string): Promise<SqlRecordsStore> {
  const store = new SqlRecordsStore(await openPostgresConnection(url));
  await store.init();
  return store;
}
