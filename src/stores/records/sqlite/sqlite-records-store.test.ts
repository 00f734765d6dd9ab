import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runRecordsStoreContract } from '../records-store.contract.ts';
import { openSqliteRecordsStore } from './sqlite-records-store.ts';

const dirs = new Map<object, string>();

runRecordsStoreContract('sqlite', {
  async open() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-records-'));
    const store = await openSqliteRecordsStore(path.join(dir, 'records.sqlite'));
    dirs.set(store, dir);
    return store;
  },
  async cleanup(store) {
    await store.close();
    const dir = dirs.get(store);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  },
});
