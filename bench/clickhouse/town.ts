/**
 * @module A seeded synthetic town for the ClickHouse benchmark, streamed one day at a time so memory
 * does not grow with the size: households, workplaces, venues (scans, some point events), telecom
 * grid cells, trains with seats and hotels with rooms, about 3.9 presences per person per day.
 */
import type { IdentityLink, PlaceKind, Presence } from '../../src/domain/formats.ts';

/** mulberry32: small and seedable, so one seed gives the same town. */
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

export const DAY = 86400;
/** 2020-01-15 00:00 in Asia/Shanghai: day 0 of the town. */
export const T0 = Date.UTC(2020, 0, 14, 16, 0, 0) / 1000;
/** Presences per person per day, on average (for sizing). */
export const PER_PERSON_DAY = 3.9;

export function phoneOf(p: number): string {
  return `138${String(p).padStart(8, '0')}`;
}

/** Identity links: every fourth person also has an ID card. */
export function townLinks(people: number): IdentityLink[] {
  const out: IdentityLink[] = [];
  for (let p = 0; p < people; p += 4) {
    out.push({ aKind: 'phone', aValue: phoneOf(p), bKind: 'id_card', bValue: `330203199001${String(p).padStart(6, '0')}`, source: 'registry' });
  }
  return out;
}

/** The presences of one day of the town, in batches of at most `batch`. */
export function* townDay(seed: number, people: number, day: number, batch: number): Generator<Presence[]> {
  const r = rng(seed * 1000 + day);
  const pick = (n: number): number => Math.floor(r() * n);
  const t = T0 + day * DAY;
  const workplaces = Math.max(1, Math.floor(people / 12));
  const venues = Math.max(1, Math.floor(people / 40));
  const cells = Math.max(1, Math.floor(people / 150));
  let out: Presence[] = [];
  const at = (p: number, placeKind: PlaceKind, placeId: string, start: number, end: number, more: Partial<Presence> = {}): void => {
    out.push({ idKind: 'phone', idValue: phoneOf(p), placeKind, placeId, start, end, dateOnly: false, pointEvent: false, ...more });
  };
  for (let p = 0; p < people; p++) {
    const home = `H${Math.floor(p / 3)}`;
    // A stable workplace per person: hashed from the person, not drawn from the day's stream.
    const work = `W${(Math.imul(p + 1, 2654435761) >>> 0) % workplaces}`;
    at(p, 'household', home, t, t + 8 * 3600 + pick(3600));
    at(p, 'cell', `C${Math.floor(p / 3) % cells}`, t + 20 * 3600 + pick(1800), t + 23 * 3600, { source: 'telecom' });
    if (day % 7 < 5 && r() < 0.8) at(p, 'workplace', work, t + 9 * 3600 + pick(1800), t + 17 * 3600 + pick(1800));
    const v = `V${pick(venues)}`;
    const vs = t + 11 * 3600 + pick(10 * 3600);
    if (r() < 0.8) at(p, 'venue', v, vs, vs + 600 + pick(3600), { source: 'qr' });
    if (r() < 0.3) at(p, 'cell', `C${pick(cells)}`, vs, vs + 1800 + pick(3600), { source: 'telecom' });
    if (r() < 0.1) at(p, 'venue', `V${pick(venues)}`, vs + 7200, vs + 9000, { pointEvent: true, source: 'qr' });
    if (r() < 0.02) at(p, 'venue', `M${pick(Math.max(1, venues >> 4))}`, t, t + DAY, { dateOnly: true });
    if (r() < 0.01) {
      const train = `G${7500 + pick(20)}-${day}`;
      at(p, 'train', train, t + 10 * 3600, t + 13 * 3600, { sub: `${String(1 + pick(8)).padStart(2, '0')}-${String(1 + pick(18)).padStart(2, '0')}-${'ABCDF'[pick(5)]}` });
    }
    if (r() < 0.005) at(p, 'hotel', `HT${pick(Math.max(1, people >> 9))}`, t + 14 * 3600, t + 34 * 3600, { sub: `R${100 + pick(30)}` });
    if (out.length >= batch) {
      yield out;
      out = [];
    }
  }
  if (out.length) yield out;
}
