/**
 * @module Opens the records store named by a URL (`config.databaseUrl`): `sqlite:PATH` for the
 * embedded default, `postgres://…` for a server. Only the configured backend is loaded, so a deployment
 * on one never needs the other's driver to load.
 */
import type { RecordsStore } from './records-store.ts';

/** Opens and migrates the records store at `url`. Throws with the accepted forms on anything else. */
export async function openRecordsStore(url: string): Promise<RecordsStore> {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (!file) throw new Error('records store URL "sqlite:" needs a path, e.g. sqlite:data/records.sqlite');
    const { openSqliteRecordsStore } = await import('./sqlite/sqlite-records-store.ts');
    return openSqliteRecordsStore(file);
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { openPostgresRecordsStore } = await import('./postgres/postgres-records-store.ts');
    return openPostgresRecordsStore(url);
  }
  throw new Error('records store URL must be sqlite:PATH or postgres://USER@HOST:PORT/DB[?schema=NAME][&prepare=false]');
}
