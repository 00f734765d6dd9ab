import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPostgresUrl } from '../../../../test/support/services.ts';
import { openPostgresRecordsStore } from './postgres-records-store.ts';
import type { RecordsStore } from '../records-store.ts';
import { openPostgresConnection, PostgresConnection } from './postgres-connection.ts';

const url = await testPostgresUrl();

describe.skipIf(!url)('the PostgreSQL connection of the records store', () => {
  let store: RecordsStore;
  let conn: PostgresConnection;

  beforeAll(async () => {
    const u = new URL(url ?? 'postgres://127.0.0.1/postgres');
    u.searchParams.set('schema', `records_connection_${process.pid}_${Date.now().toString(36)}`);
    store = await openPostgresRecordsStore(u.toString());
    await store.init();
    conn = store.connection as PostgresConnection;
  });

  afterAll(async () => {
    if (!store) return;
    await conn.dropSchema();
    await store.close();
  });

  it('runs without parallel workers on every pooled connection, in its schema', async () => {
    const rows = await Promise.all(
      Array.from({ length: 3 }, () => conn.query<{ workers: string; path: string }>(
        "SELECT current_setting('max_parallel_workers_per_gather') AS workers, current_setting('search_path') AS path",
      )),
    );
    for (const [r] of rows) {
      expect(r.workers).toBe('0');
      expect(r.path).toBe(conn.schema);
    }
  });

  it('prepares short statements with parameters once per connection, and not the others', async () => {
    await conn.transaction(async (tx) => {
      await tx.query('SELECT code FROM jurisdictions WHERE code = ?', ['X']);
      await tx.query('SELECT code FROM jurisdictions WHERE code = ?', ['Y']);
      await tx.query('SELECT count(*) AS n FROM jurisdictions');
      const prepared = await tx.query<{ statement: string }>("SELECT statement FROM pg_prepared_statements WHERE name LIKE 'cordon\\_%'");
      // The connection may have run other statements before (migrations): only these two matter here.
      const mine = prepared.map((p) => p.statement).filter((t) => t.includes('FROM jurisdictions'));
      expect(mine).toEqual(['SELECT code FROM jurisdictions WHERE code = $1']);
    });
  });

  it('names no statement with ?prepare=false, and refuses another value', async () => {
    const u = new URL(url ?? 'postgres://127.0.0.1/postgres');
    u.searchParams.set('prepare', 'false');
    const plain = await openPostgresConnection(u.toString(), { max: 1 });
    try {
      await plain.transaction(async (tx) => {
        await tx.query('SELECT ?::text AS v', ['x']);
        expect(await tx.query("SELECT name FROM pg_prepared_statements WHERE name LIKE 'cordon\\_%'")).toEqual([]);
      });
    } finally {
      await plain.close();
    }
    u.searchParams.set('prepare', 'yes');
    await expect(openPostgresConnection(u.toString())).rejects.toThrow(/prepare must be true or false/);
  });

  it('has the commands table vacuumed after a small share of changes', async () => {
    const [r] = await conn.query<{ options: string[] }>(
      "SELECT reloptions AS options FROM pg_class WHERE oid = to_regclass('commands')",
    );
    expect(r.options).toEqual(expect.arrayContaining(['autovacuum_vacuum_scale_factor=0.01', 'autovacuum_vacuum_insert_scale_factor=0.01']));
  });
});
