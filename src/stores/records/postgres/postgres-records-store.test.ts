import { testPostgresUrl } from '../../../../test/support/services.ts';
import { runRecordsStoreContract } from '../records-store.contract.ts';
import { PostgresConnection } from './postgres-connection.ts';
import { openPostgresRecordsStore } from './postgres-records-store.ts';

const url = await testPostgresUrl();

/** A URL naming a schema of this run only, so parallel suites never share tables. */
function schemaUrl(base: string): string {
  const u = new URL(base);
  u.searchParams.set('schema', `records_contract_${process.pid}_${Date.now().toString(36)}`);
  return u.toString();
}

runRecordsStoreContract(
  'postgres',
  url
    ? {
        open: () => openPostgresRecordsStore(schemaUrl(url)),
        async cleanup(store) {
          if (store.connection instanceof PostgresConnection) await store.connection.dropSchema();
          await store.close();
        },
      }
    : undefined,
);
