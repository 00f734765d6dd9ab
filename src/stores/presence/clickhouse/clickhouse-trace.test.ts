import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityLink, PlaceKind, Presence } from '../../../domain/formats.ts';
import { testClickHouseUrl } from '../../../../test/support/services.ts';
import { LinkedIdentityGroups } from '../../../trace/identity-groups.ts';
import { buildIndex } from '../../../trace/index/build-index.ts';
import { IndexCandidateSource } from '../../../trace/index/index-source.ts';
import { Tracer } from '../../../trace/tracer.ts';
import type { TraceResult } from '../../../trace/types.ts';
import { DuckDbPresenceStore } from '../duckdb/duckdb-presence-store.ts';
import { ClickHouseCandidateSource } from './clickhouse-candidate-source.ts';
import { ClickHousePresenceStore } from './clickhouse-presence-store.ts';

/** mulberry32: a tiny seeded generator, so the world is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86400;
/** 2020-01-15 00:00 in Asia/Shanghai. */
const T0 = Date.UTC(2020, 0, 14, 16, 0, 0) / 1000;

/** A small town: households, workplaces, venues, grid cells, a train with seats and a hotel with rooms. */
function town(seed: number, people: number, days: number): { presences: Presence[]; links: IdentityLink[] } {
  const r = rng(seed);
  const pick = (n: number): number => Math.floor(r() * n);
  const presences: Presence[] = [];
  const links: IdentityLink[] = [];
  const at = (id: string, placeKind: PlaceKind, placeId: string, start: number, end: number, more: Partial<Presence> = {}): void => {
    presences.push({ idKind: 'phone', idValue: id, placeKind, placeId, start, end, dateOnly: false, pointEvent: false, ...more });
  };
  for (let p = 0; p < people; p++) {
    const phone = `1380000${String(p).padStart(4, '0')}`;
    if (p % 4 === 0) links.push({ aKind: 'phone', aValue: phone, bKind: 'id_card', bValue: `33020319900101${String(p).padStart(4, '0')}`, source: 'registry' });
    const home = `H${Math.floor(p / 3)}`;
    const work = `W${pick(people / 10)}`;
    for (let d = 0; d < days; d++) {
      const day = T0 + d * DAY;
      at(phone, 'household', home, day, day + 8 * 3600 + pick(3600));
      at(phone, 'cell', `C${Math.floor(p / 3) % 40}`, day + 20 * 3600 + pick(1800), day + 23 * 3600, { source: 'telecom' });
      if (d % 7 < 5) at(phone, 'workplace', work, day + 9 * 3600 + pick(1800), day + 17 * 3600 + pick(1800));
      const v = pick(25);
      const vs = day + 18 * 3600 + pick(7200);
      if (r() < 0.7) at(phone, 'venue', `V${v}`, vs, vs + 600 + pick(3600), { source: 'qr' });
      if (r() < 0.1) at(phone, 'venue', `V${v}`, vs, vs + 1800, { pointEvent: true, source: 'qr' });
      if (r() < 0.05) at(phone, 'venue', `M${pick(3)}`, day, day + DAY, { dateOnly: true });
      if (r() < 0.04) {
        const carriage = String(1 + pick(2)).padStart(2, '0');
        at(phone, 'train', `G7501-${d}`, day + 10 * 3600, day + 13 * 3600, { sub: `${carriage}-${String(1 + pick(12)).padStart(2, '0')}-${'ABCDF'[pick(5)]}` });
      }
      if (r() < 0.03) at(phone, 'hotel', `HT${pick(2)}`, day + 14 * 3600, day + 34 * 3600, { sub: `R${100 + pick(6)}` });
    }
  }
  return { presences, links };
}

function comparable(r: TraceResult): unknown {
  return { ...r, summary: { ...r.summary, elapsedMs: 0 } };
}

const base = await testClickHouseUrl();

describe.skipIf(!base)('trace pushed down to ClickHouse', () => {
  if (!base) return;
  const world = town(2020, 240, 8);
  let duck: DuckDbPresenceStore;
  let ch: ClickHousePresenceStore;
  let embedded: Tracer;
  let pushed: Tracer;

  beforeAll(async () => {
    duck = await DuckDbPresenceStore.open(':memory:', { threads: 1 });
    ch = await ClickHousePresenceStore.open(`${base.replace(/^http:/, 'clickhouse:')}/cordon_test_trace_${process.pid}`);
    await ch.drop();
    await ch.init();
    for (let i = 0; i < world.presences.length; i += 2500) {
      const batch = world.presences.slice(i, i + 2500);
      const a = await duck.insertPresences(batch);
      const b = await ch.insertPresences(batch);
      expect(b).toEqual(a);
    }
    await duck.insertIdentityLinks(world.links);
    await ch.insertIdentityLinks(world.links);
    const { index } = await buildIndex(duck);
    embedded = new Tracer({
      source: new IndexCandidateSource(index), dict: duck, timeZone: 'Asia/Shanghai',
      groups: await LinkedIdentityGroups.fromLinks(duck.identityLinks(), duck),
    });
    pushed = new Tracer({
      source: new ClickHouseCandidateSource(ch), dict: ch, timeZone: 'Asia/Shanghai',
      groups: await LinkedIdentityGroups.fromLinks(ch.identityLinks(), ch),
    });
  }, 300_000);

  afterAll(async () => {
    await duck?.close();
    if (ch) {
      await ch.drop();
      await ch.close();
    }
  });

  it('holds the same presences as the embedded store', async () => {
    const [a, b] = await Promise.all([duck.stats(), ch.stats()]);
    expect(b).toEqual(a);
    expect(a.presences).toBeGreaterThan(3000);
  });

  it('gives the same trace as the embedded store over the in-memory index, for first and second degree', async () => {
    const requests = [
      { id: 'phone:13800000003', onset: '2020-01-19', isolated: '2020-01-21', rules: 'v8', degree: 2 as const },
      { id: 'phone:13800000010', onset: '2020-01-20', rules: 'v9', degree: 2 as const },
      { id: 'id_card:330203199001010040', onset: '2020-01-18', isolated: '2020-01-20T12:00:00+08:00', rules: 'v9', degree: 1 as const },
      { id: 'phone:13800000099', sampled: '2020-01-19', asymptomatic: true, rules: 'v8', degree: 2 as const },
      { id: 'phone:19999999999', onset: '2020-01-19', degree: 1 as const },
    ];
    let contacts = 0;
    for (const req of requests) {
      const now = Date.UTC(2020, 0, 23);
      const a = await embedded.trace({ ...req, now });
      const b = await pushed.trace({ ...req, now });
      expect(comparable(b)).toEqual(comparable(a));
      contacts += a.contacts.length;
    }
    // The comparison means something only if the traces found contacts of every category.
    expect(contacts).toBeGreaterThan(50);
  }, 180_000);

  it('answers a place read from the read-ahead of the last person only when that is exact', async () => {
    const source = new ClickHouseCandidateSource(ch);
    const key = (c: { ident: number; place: number; start: number; end: number }): string => `${c.ident}|${c.place}|${c.start}|${c.end}`;
    const direct = async (qs: { place: number; from: number; to: number }[]): Promise<string[]> => [...new Set((await ch.rowsAt(qs)).map(key))].sort();
    const id = (await ch.identifierIds(['phone:13800000042'])).get('phone:13800000042')!;
    const from = T0 + 2 * DAY;
    const to = T0 + 5 * DAY;
    const mine = await source.presencesOf([id], from, to);
    expect(mine.length).toBeGreaterThan(5);
    // Windows inside the person's presences: served from the read-ahead, same answer as a query.
    const inside = mine.map((p) => ({ place: p.place, placeKind: p.placeKind, from: Math.max(p.start, from), to: Math.min(p.end, to) }));
    expect([...new Set((await source.presencesAt(inside)).map(key))].sort()).toEqual(await direct(inside));
    // A window reaching past the person's stay, and one at a place they never were: asked of the server.
    const wider = [{ ...inside[0], from: inside[0].from - 6 * 3600 }];
    const got = [...new Set((await source.presencesAt(wider)).map(key))].sort();
    expect(got).toEqual(await direct(wider));
    const elsewhere = await ch.placeIds(['venue:V24']);
    const away = [{ place: elsewhere.get('venue:V24')!, placeKind: 'venue' as const, from, to }];
    const far = [...new Set((await source.presencesAt(away)).map(key))].sort();
    expect(far).toEqual(await direct(away));
    expect(far.length + got.length).toBeGreaterThan(0);
  });

  it('reads many people in one query exactly as it reads each alone', async () => {
    const source = new ClickHouseCandidateSource(ch);
    const ids = await ch.identifierIds(Array.from({ length: 12 }, (_, i) => `phone:1380000${String(i * 17).padStart(4, '0')}`));
    const reads = [...ids.values()].map((id, i) => ({ idents: [id], from: T0 + (1 + (i % 3)) * DAY, to: T0 + (4 + (i % 4)) * DAY }));
    expect(reads.length).toBe(12);
    const key = (c: { ident: number; place: number; start: number; end: number; flags: number; sub: { text: string } | null }): string =>
      `${c.ident}|${c.place}|${c.start}|${c.end}|${c.flags}|${c.sub?.text ?? ''}`;
    const many = await source.firstDegreeMany(reads);
    let candidates = 0;
    for (let k = 0; k < reads.length; k++) {
      const one = await source.firstDegree(reads[k].idents, reads[k].from, reads[k].to);
      expect(many[k].trajectory.map(key).sort()).toEqual(one.trajectory.map(key).sort());
      expect(many[k].candidates.map(key).sort()).toEqual(one.candidates.map(key).sort());
      candidates += one.candidates.length;
    }
    expect(candidates).toBeGreaterThan(100);
  });
});
