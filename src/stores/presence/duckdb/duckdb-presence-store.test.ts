import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPresenceStoreContract } from '../presence-store.contract.ts';
import { DuckDbPresenceStore, PresenceStoreBusyError } from './duckdb-presence-store.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-duckdb-store-'));
let n = 0;
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

runPresenceStoreContract('duckdb', () => DuckDbPresenceStore.open(path.join(dir, `contract-${++n}.duckdb`), { threads: 1 }));

describe('DuckDbPresenceStore', () => {
  it('keeps what was committed across a reopen of the file', async () => {
    const file = path.join(dir, 'reopen.duckdb');
    const first = await DuckDbPresenceStore.open(file, { threads: 1 });
    await first.insertPresences([{ idKind: 'phone', idValue: '1', placeKind: 'venue', placeId: 'V', start: 100, end: 200, dateOnly: false, pointEvent: false }]);
    await first.close();
    const sut = await DuckDbPresenceStore.open(file, { threads: 1 });
    expect((await sut.stats()).presences).toBe(1);
    expect(await sut.insertPresences([{ idKind: 'phone', idValue: '1', placeKind: 'venue', placeId: 'V', start: 100, end: 200, dateOnly: false, pointEvent: false }])).toEqual({ inserted: 0, duplicates: 1 });
    await sut.close();
  });

  it('says which process holds the file when a second process opens it', async () => {
    const file = path.join(dir, 'busy.duckdb');
    const holder = await DuckDbPresenceStore.open(file, { threads: 1, owner: 'cordon serve' });
    const { spawnSync } = await import('node:child_process');
    const script = `import { DuckDbPresenceStore } from ${JSON.stringify(path.resolve('src/stores/presence/duckdb/duckdb-presence-store.ts'))};
try { await DuckDbPresenceStore.open(${JSON.stringify(file)}); console.log('opened'); } catch (e) { console.log(e.name + ': ' + e.message); }`;
    const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    await holder.close();
    expect(out.stdout).toContain(PresenceStoreBusyError.name);
    expect(out.stdout).toContain(`process ${process.pid} (cordon serve)`);
  });
});
