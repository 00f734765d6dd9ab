import { afterAll, describe, expect, it } from 'vitest';
import { testClickHouseUrl } from '../../../../test/support/services.ts';
import { runPresenceStoreContract } from '../presence-store.contract.ts';
import { ClickHousePresenceStore } from './clickhouse-presence-store.ts';

const base = await testClickHouseUrl();
// Each store gets its own database, named after this process, so parallel suites never collide.
const prefix = `cordon_test_${process.pid}`;
let n = 0;
const made: ClickHousePresenceStore[] = [];

async function freshStore(): Promise<ClickHousePresenceStore> {
  const url = `${base!.replace(/^http:/, 'clickhouse:').replace(/\/$/, '')}/${prefix}_${++n}`;
  const store = await ClickHousePresenceStore.open(url);
  await store.drop();
  await store.init();
  made.push(store);
  return store;
}

afterAll(async () => {
  for (const s of made) {
    // The contract closes each store; a second connection drops what it left.
    const again = await ClickHousePresenceStore.open(`${base!.replace(/^http:/, 'clickhouse:')}/${s.target.database}`, { init: false });
    await again.drop();
    await again.close();
  }
});

describe.skipIf(!base)('ClickHousePresenceStore', () => {
  if (!base) return;
  runPresenceStoreContract('clickhouse', freshStore);

  it('spreads presences over both shards by place and reads them back through the Distributed table', async () => {
    const sut = await freshStore();
    const rows = Array.from({ length: 40 }, (_, i) => ({
      idKind: 'phone' as const, idValue: `1390000${i}`, placeKind: 'venue' as const, placeId: `V${i}`,
      start: 1_600_000_000 + i, end: 1_600_000_600 + i, dateOnly: false, pointEvent: false,
    }));
    expect(await sut.insertPresences(rows)).toEqual({ inserted: 40, duplicates: 0 });
    const perShard: number[] = [];
    for (const shard of sut.shards) {
      const r = await shard.conn.rows<{ n: string }>(`SELECT count() AS n FROM ${shard.database}.${sut.tables.localPresences}`);
      perShard.push(Number(r[0].n));
    }
    expect(perShard).toHaveLength(2);
    expect(perShard.every((c) => c > 0)).toBe(true);
    expect(perShard.reduce((a, b) => a + b, 0)).toBe(40);
    expect((await sut.stats()).presences).toBe(40);
    await sut.close();
  });

  it('routes places to shards by the same rule as the Distributed table', async () => {
    const sut = await freshStore();
    // Written through the Distributed table itself, bypassing the store's own routing.
    const values = Array.from({ length: 24 }, (_, place) => `(${place}, ${1_600_000_000 + place}, ${1_600_000_600 + place}, 1, 0, 0, NULL, NULL, '', ${place + 1})`);
    await sut.conn.command(`INSERT INTO ${sut.tables.presences} VALUES ${values.join(', ')}`);
    let seen = 0;
    for (let i = 0; i < sut.shards.length; i++) {
      const shard = sut.shards[i];
      const rows = await shard.conn.rows<{ place: number }>(`SELECT place FROM ${shard.database}.${sut.tables.localPresences}`);
      for (const r of rows) expect(sut.shardOf(Number(r.place))).toBe(i);
      seen += rows.length;
    }
    expect(seen).toBe(24);
    await sut.close();
  });
});
