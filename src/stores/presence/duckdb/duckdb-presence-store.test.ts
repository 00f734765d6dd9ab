import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Presence } from '../../../domain/formats.ts';
import type { StoredPresence } from '../presence-store.ts';
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
  it('reads by one or many identifiers and places alike: each read equals the rows that match it, in order', async () => {
    // Few identifiers or places are read with one equality scan each, many with one IN-list scan: both
    // must give exactly the rows a brute-force filter over everything stored gives, in the port's order.
    const sut = await DuckDbPresenceStore.open(path.join(dir, 'reads.duckdb'), { threads: 1 });
    const rows: Presence[] = [];
    for (let i = 0; i < 240; i++) {
      rows.push({
        idKind: i % 5 === 0 ? 'id_card' : 'phone', idValue: `p${i % 13}`, placeKind: i % 3 ? 'venue' : 'cell', placeId: `V${i % 11}`,
        start: 1000 + ((i * 37) % 600), end: 1000 + ((i * 37) % 600) + 30 + (i % 7) * 20, dateOnly: i % 17 === 0, pointEvent: false,
        ...(i % 4 === 1 ? { sub: `R${i % 3}` } : {}), ...(i % 6 === 2 ? { source: 'telecom' } : {}), ...(i % 9 === 0 ? { lat: 29.8, lon: 121.5 } : {}),
      });
    }
    await sut.insertPresences(rows);
    const all = await sut.presencesAt([...new Set(rows.map((r) => `${r.placeKind}:${r.placeId}`))].map((k) => {
      const [placeKind, placeId] = k.split(':') as [Presence['placeKind'], string];
      return { placeKind, placeId, from: 0, to: 10_000 };
    }));
    expect(all).toHaveLength(rows.length);
    const idKey = (p: StoredPresence): string => `${p.idKind}:${p.idValue}`;
    const byStart = (a: StoredPresence, b: StoredPresence): number => a.start - b.start || a.end - b.end || a.placeKind.localeCompare(b.placeKind) || a.placeId.localeCompare(b.placeId);
    const people = [...new Set(all.map(idKey))].sort();
    for (const count of [1, 2, 8, 9, people.length]) {
      const ids = people.slice(0, count);
      const got = await sut.presencesOf(ids, 1200, 1400);
      const want = all.filter((p) => ids.includes(idKey(p)) && p.start < 1400 && p.end > 1200);
      expect(got.length).toBe(want.length);
      expect(new Set(got.map((p) => JSON.stringify(p)))).toEqual(new Set(want.map((p) => JSON.stringify(p))));
      expect(got.map((p) => [p.start, p.end])).toEqual([...got].sort(byStart).map((p) => [p.start, p.end]));
    }
    for (const places of [['venue:V1'], ['venue:V1', 'cell:V3'], ['venue:V1', 'venue:V2', 'cell:V3', 'venue:V4', 'venue:nowhere']]) {
      const windows = places.map((k, j) => {
        const [placeKind, placeId] = k.split(':') as [Presence['placeKind'], string];
        return { placeKind, placeId, from: 1100 + j * 50, to: 1300 + j * 80 };
      });
      // The same place twice (overlapping windows) still gives each row once.
      windows.push({ ...windows[0], from: windows[0].from + 20 });
      const got = await sut.presencesAt(windows);
      const want = all.filter((p) => windows.some((w) => w.placeKind === p.placeKind && w.placeId === p.placeId && p.start < w.to && p.end > w.from));
      expect(want.length).toBeGreaterThan(0);
      expect(got.map((p) => JSON.stringify(p)).sort()).toEqual(want.map((p) => JSON.stringify(p)).sort());
    }
    await sut.close();
  });
  it('looks many identifiers up at once exactly as a few at a time', async () => {
    // Thousands of keys (identity groups loading) take another path than a few: both give the same ids.
    const sut = await DuckDbPresenceStore.open(path.join(dir, 'ids.duckdb'), { threads: 1 });
    const values = Array.from({ length: 2500 }, (_, i) => `1380000${String(i).padStart(4, '0')}${i % 7 === 0 ? "'q" : ''}`);
    await sut.insertPresences(values.map((v, i) => ({ idKind: i % 2 ? 'phone' : 'id_card', idValue: v, placeKind: 'venue', placeId: 'V', start: 100 + i, end: 200 + i, dateOnly: false, pointEvent: false })));
    const keys = values.map((v, i) => `${i % 2 ? 'phone' : 'id_card'}:${v}`);
    const asked = [...keys, ...keys.slice(0, 10), 'phone:nobody', 'no-colon'];
    const many = await sut.identifierIds(asked);
    expect(many.size).toBe(keys.length);
    const few = new Map<string, number>();
    for (let i = 0; i < asked.length; i += 500) for (const [k, v] of await sut.identifierIds(asked.slice(i, i + 500))) few.set(k, v);
    expect(many).toEqual(few);
    expect(new Set(many.values()).size).toBe(keys.length);
    await sut.close();
  });
});
