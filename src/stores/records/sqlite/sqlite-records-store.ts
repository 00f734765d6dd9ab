/**
 * @module The SQLite records store (embedded default): a file in the data folder, WAL, durable commits.
 */
import type { RecordsStore } from '../records-store.ts';
import { sqlRecordsStore } from '../sql-records-store.ts';
import { openSqliteConnection } from './sqlite-connection.ts';

/** Opens the SQLite records store at `file` (`:memory:` for a private in-memory one) and migrates it. */
export async function openSqliteRecordsStore(file: string): Promise<RecordsStore> {
  const store = sqlRecordsStore(openSqliteConnection(file));
  await store.init();
  return store;
}
