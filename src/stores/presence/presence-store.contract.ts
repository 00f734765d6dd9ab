/**
 * @module The presence store contract: one vitest suite that every adapter of `PresenceStore` runs
 * (`runPresenceStoreContract('duckdb', () => …)`). It uses only the port, so it says what any adapter
 * must do; an adapter that cannot do one thing skips that test by name with a reason.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { IdentityLink, Presence } from '../../domain/formats.ts';
import type { PresenceChunk, PresenceStore } from './presence-store.ts';

/** Options of the contract run. */
export interface PresenceStoreContractOptions {
  /** Test names to skip, each with the reason the adapter cannot pass it. */
  skip?: Record<string, string>;
}

const T0 = Date.UTC(2020, 0, 20, 0, 0, 0) / 1000;
const H = 3600;

function presence(over: Partial<Presence> = {}): Presence {
  return {
    idKind: 'phone',
    idValue: '13800000001',
    placeKind: 'venue',
    placeId: 'V001',
    start: T0,
    end: T0 + H,
    dateOnly: false,
    pointEvent: false,
    ...over,
  };
}

function chunkRows(chunks: readonly PresenceChunk[]): { ident: number; place: number; start: number; end: number; sub: number; flags: number }[] {
  const out: { ident: number; place: number; start: number; end: number; sub: number; flags: number }[] = [];
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++) {
      out.push({ ident: c.ident[i], place: c.place[i], start: c.start[i], end: c.end[i], sub: c.sub[i], flags: c.flags[i] });
    }
  }
  return out;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Runs the presence store contract against one adapter; `create` returns a fresh, empty, initialised store. */
export function runPresenceStoreContract(
  name: string,
  create: () => Promise<PresenceStore>,
  opts: PresenceStoreContractOptions = {},
): void {
  describe(`presence store contract: ${name}`, () => {
    let open: PresenceStore[] = [];
    const fresh = async (): Promise<PresenceStore> => {
      const s = await create();
      open.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of open) await s.close();
      open = [];
    });
    const test = (title: string, fn: () => Promise<void>): void => {
      const reason = opts.skip?.[title];
      if (reason !== undefined) it.skip(`${title} (skipped: ${reason})`, fn);
      else it(title, fn);
    };

    test('starts empty and init is safe to repeat', async () => {
      const sut = await fresh();
      await sut.init();
      const stats = await sut.stats();
      expect(stats).toMatchObject({ presences: 0, identityLinks: 0, people: 0, minStart: null, maxStart: null });
    });

    test('stores presences and reads them back by person, ordered by start', async () => {
      const sut = await fresh();
      const rows = [
        presence({ start: T0 + 2 * H, end: T0 + 3 * H, placeId: 'V002', sub: '07-12-F', lat: 29.87, lon: 121.55, source: 'qr' }),
        presence({ start: T0, end: T0 + H, dateOnly: true }),
        presence({ idValue: '13800000002', start: T0, end: T0 + 1800, pointEvent: true }),
      ];
      const res = await sut.insertPresences(rows);
      expect(res).toEqual({ inserted: 3, duplicates: 0 });
      const got = await sut.presencesOf(['phone:13800000001'], T0 - H, T0 + 10 * H);
      expect(got.map((p) => [p.placeId, p.start, p.end])).toEqual([['V001', T0, T0 + H], ['V002', T0 + 2 * H, T0 + 3 * H]]);
      expect(got[0]).toMatchObject({ idKind: 'phone', idValue: '13800000001', placeKind: 'venue', dateOnly: true, pointEvent: false });
      expect(got[0].sub).toBeUndefined();
      expect(got[1]).toMatchObject({ sub: '07-12-F', source: 'qr', dateOnly: false });
      expect(got[1].lat).toBeCloseTo(29.87, 5);
      expect(got[1].lon).toBeCloseTo(121.55, 5);
      const other = await sut.presencesOf(['phone:13800000002'], T0, T0 + 1);
      expect(other).toHaveLength(1);
      expect(other[0].pointEvent).toBe(true);
    });

    test('window reads use half-open intervals: touching is not overlapping', async () => {
      const sut = await fresh();
      await sut.insertPresences([presence({ start: T0, end: T0 + H })]);
      expect(await sut.presencesOf(['phone:13800000001'], T0 + H, T0 + 2 * H)).toHaveLength(0);
      expect(await sut.presencesOf(['phone:13800000001'], T0 - H, T0)).toHaveLength(0);
      expect(await sut.presencesOf(['phone:13800000001'], T0 + H - 1, T0 + 2 * H)).toHaveLength(1);
      const at = (from: number, to: number) => sut.presencesAt([{ placeKind: 'venue', placeId: 'V001', from, to }]);
      expect(await at(T0 + H, T0 + 2 * H)).toHaveLength(0);
      expect(await at(T0 - 1, T0 + 1)).toHaveLength(1);
    });

    test('re-inserting the same rows adds nothing and counts duplicates, also within one call', async () => {
      const sut = await fresh();
      const rows = [presence(), presence({ placeId: 'V002' }), presence()];
      expect(await sut.insertPresences(rows)).toEqual({ inserted: 2, duplicates: 1 });
      expect(await sut.insertPresences(rows)).toEqual({ inserted: 0, duplicates: 3 });
      // A different source or sub is a different record, not a duplicate.
      expect(await sut.insertPresences([presence({ source: 'telecom' }), presence({ sub: 'R101' })])).toEqual({ inserted: 2, duplicates: 0 });
      expect((await sut.stats()).presences).toBe(4);
    });

    test('a batch the store cannot hold is refused whole: nothing of it is visible', async () => {
      const sut = await fresh();
      await sut.insertPresences([presence()]);
      const before = await sut.stats();
      const bad = [
        presence({ idValue: '13900000009', placeId: 'NEW-PLACE' }),
        presence({ idValue: '13900000010', start: 2 ** 33, end: 2 ** 33 + 60 }),
      ];
      await expect(sut.insertPresences(bad)).rejects.toThrow();
      const after = await sut.stats();
      expect(after.presences).toBe(before.presences);
      expect(after.identifiers).toBe(before.identifiers);
      expect(after.places).toBe(before.places);
      expect(await sut.identifierIds(['phone:13900000009'])).toEqual(new Map());
      expect(await sut.insertPresences([presence({ idValue: '13900000009' })])).toEqual({ inserted: 1, duplicates: 0 });
    });

    test('reads presences at places overlapping windows, ordered by place and start', async () => {
      const sut = await fresh();
      await sut.insertPresences([
        presence({ idValue: 'a', placeId: 'V1', start: T0 + H, end: T0 + 2 * H }),
        presence({ idValue: 'b', placeId: 'V1', start: T0, end: T0 + 1800 }),
        presence({ idValue: 'c', placeId: 'V1', start: T0 + 5 * H, end: T0 + 6 * H }),
        presence({ idValue: 'd', placeId: 'V2', start: T0, end: T0 + H }),
        presence({ idValue: 'e', placeKind: 'cell', placeId: 'V1', start: T0, end: T0 + H }),
      ]);
      const got = await sut.presencesAt([
        { placeKind: 'venue', placeId: 'V2', from: T0, to: T0 + H },
        { placeKind: 'venue', placeId: 'V1', from: T0, to: T0 + 3 * H },
      ]);
      const byPlace = got.map((p) => `${p.placeId}/${p.idValue}`);
      expect(byPlace.filter((x) => x.startsWith('V1'))).toEqual(['V1/b', 'V1/a']);
      expect(byPlace.filter((x) => x.startsWith('V2'))).toEqual(['V2/d']);
      expect(got.every((p) => p.placeKind === 'venue')).toBe(true);
      expect(await sut.presencesAt([])).toEqual([]);
    });

    test('scan returns every presence as integer chunks that decode through the dictionaries', async () => {
      const sut = await fresh();
      const rows: Presence[] = [];
      for (let i = 0; i < 25; i++) {
        rows.push(presence({ idValue: `p${i % 7}`, placeId: `V${i % 4}`, start: T0 + i * 60, end: T0 + i * 60 + 600, sub: i % 3 ? `R${i % 3}` : undefined, dateOnly: i === 5 }));
      }
      const res = await sut.insertPresences(rows, { returnChunk: true });
      expect(res.inserted).toBe(25);
      expect(res.chunk?.length).toBe(25);
      const chunks = await collect(sut.scan(10));
      expect(chunks.every((c) => c.length <= 10 && c.length > 0)).toBe(true);
      const scanned = chunkRows(chunks);
      expect(scanned).toHaveLength(25);
      const sortKey = (r: { ident: number; start: number }) => r.start * 1e6 + r.ident;
      expect(scanned.map(sortKey).sort()).toEqual(chunkRows([res.chunk!]).map(sortKey).sort());
      const identKeys = await sut.identifierKeys(scanned.map((r) => r.ident));
      const placeKeys = await sut.placeKeys(scanned.map((r) => r.place));
      const subIds = scanned.map((r) => r.sub);
      const subs = await sut.subValues(subIds.filter((s) => s !== 0));
      const decoded = scanned.map((r, i) => `${identKeys[i]}|${placeKeys[i]}|${r.start}|${r.end}|${r.flags & 1}`).sort();
      const expected = rows.map((p) => `phone:${p.idValue}|venue:${p.placeId}|${p.start}|${p.end}|${p.dateOnly ? 1 : 0}`).sort();
      expect(decoded).toEqual(expected);
      expect(new Set(subs)).toEqual(new Set(['R1', 'R2']));
      const ids = await sut.identifierIds(['phone:p0', 'phone:p1', 'phone:nobody']);
      expect(ids.has('phone:nobody')).toBe(false);
      expect(await sut.identifierKeys([ids.get('phone:p1')!])).toEqual(['phone:p1']);
    });

    test('identity links are stored once, in either direction', async () => {
      const sut = await fresh();
      const link: IdentityLink = { aKind: 'phone', aValue: '13800000001', bKind: 'id_card', bValue: '330203199001011234', source: 'telecom' };
      const reversed: IdentityLink = { aKind: 'id_card', aValue: '330203199001011234', bKind: 'phone', bValue: '13800000001', source: 'telecom' };
      expect(await sut.insertIdentityLinks([link])).toEqual({ inserted: 1, duplicates: 0 });
      expect(await sut.insertIdentityLinks([link, reversed])).toEqual({ inserted: 0, duplicates: 2 });
      const all = (await collect(sut.identityLinks())).flat();
      expect(all).toHaveLength(1);
      // Either direction may come back: a link is symmetric.
      const ends = [`${all[0].aKind}:${all[0].aValue}`, `${all[0].bKind}:${all[0].bValue}`].sort();
      expect(ends).toEqual(['id_card:330203199001011234', 'phone:13800000001']);
      expect(all[0].source).toBe('telecom');
      expect((await sut.stats()).identityLinks).toBe(1);
    });

    test('people and places are upserted and read back by key, text kept exactly', async () => {
      const sut = await fresh();
      await sut.upsertPeople([{ idKind: 'id_card', idValue: '330203199001011234', name: '张三', address: '海曙区 "中山路", 1号', lat: 29.87, lon: 121.55 }]);
      await sut.upsertPeople([{ idKind: 'id_card', idValue: '330203199001011234', name: '张三', jurisdiction: 'haishu/gulou' }]);
      const people = await sut.people(['id_card:330203199001011234', 'phone:none']);
      expect(people).toHaveLength(1);
      expect(people[0]).toMatchObject({ name: '张三', jurisdiction: 'haishu/gulou' });
      await sut.upsertPlaces([{ placeKind: 'venue', placeId: "V'1; DROP", name: '棋牌室', category: 'card_room', lat: 29.9, lon: 121.6 }]);
      const places = await sut.places(["venue:V'1; DROP", 'venue:missing']);
      expect(places).toHaveLength(1);
      expect(places[0]).toMatchObject({ placeKind: 'venue', placeId: "V'1; DROP", name: '棋牌室', category: 'card_room' });
      const stats = await sut.stats();
      expect(stats.people).toBe(1);
    });

    test('identifiers with quotes, backslashes and Chinese round-trip exactly', async () => {
      const sut = await fresh();
      const odd = ["a'b", 'c"d', 'e\\f', '王五\t', "x'); DELETE FROM presences; --"];
      await sut.insertPresences(odd.map((v, i) => presence({ idKind: 'passport', idValue: v, start: T0 + i })));
      for (const v of odd) {
        const got = await sut.presencesOf([`passport:${v}`], T0 - 1, T0 + 10 * H);
        expect(got.map((p) => p.idValue)).toEqual([v]);
      }
      expect((await sut.stats()).presences).toBe(odd.length);
    });

    test('purge removes presences that ended before the cut and reports them', async () => {
      const sut = await fresh();
      await sut.insertPresences([
        presence({ idValue: 'old', start: T0, end: T0 + H }),
        presence({ idValue: 'edge', start: T0 + H, end: T0 + 2 * H }),
        presence({ idValue: 'new', start: T0 + 5 * H, end: T0 + 6 * H }),
      ]);
      const res = await sut.purgeBefore(T0 + 2 * H);
      expect(res).toEqual({ removed: 2, oldestStart: T0, newestStart: T0 + H });
      const stats = await sut.stats();
      expect(stats.presences).toBe(1);
      expect(stats.minStart).toBe(T0 + 5 * H);
      expect(await sut.purgeBefore(T0)).toEqual({ removed: 0, oldestStart: null, newestStart: null });
    });

    test('stats count what is stored', async () => {
      const sut = await fresh();
      await sut.insertPresences([presence(), presence({ idValue: 'x', placeId: 'V9', start: T0 + 99, end: T0 + 199 })]);
      const stats = await sut.stats();
      expect(stats).toMatchObject({ presences: 2, identifiers: 2, places: 2, minStart: T0, maxStart: T0 + 99 });
    });
  });
}
