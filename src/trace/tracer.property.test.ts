import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TraceFixture } from './trace-fixture.ts';
import type { TraceRequest } from './types.ts';

const BASE = Date.parse('2020-01-20T00:00:00+08:00') / 1000;
const KINDS = ['venue', 'cell', 'train', 'flight', 'hotel', 'household', 'bus', 'workplace'] as const;

const row = fc.record({
  ident: fc.nat(7),
  place: fc.nat(3),
  // 5-minute grid over 3 days, so equal and touching ends and exact 10/15-minute overlaps are common.
  start: fc.nat(3 * 288),
  dur: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 120 }), fc.constant(0)),
  row: fc.integer({ min: 0, max: 9 }),
  carriage: fc.integer({ min: 1, max: 2 }),
  point: fc.boolean(),
});

const world = fc.record({
  kinds: fc.array(fc.constantFrom(...KINDS), { minLength: 4, maxLength: 4 }),
  rows: fc.array(row, { minLength: 10, maxLength: 80 }),
  links: fc.array(fc.tuple(fc.nat(7), fc.nat(7)), { maxLength: 3 }),
  caseIdent: fc.nat(7),
  onsetDay: fc.integer({ min: 1, max: 4 }),
  isolatedDay: fc.option(fc.integer({ min: 1, max: 4 })),
  degree: fc.constantFrom(1 as const, 2 as const),
  rules: fc.constantFrom('v8', 'v9'),
  loaded: fc.nat(80),
  tailMinRows: fc.integer({ min: 1, max: 25 }),
  /** Whether every appended row is merged into the sorted arrays before the trace (else some may still be in the tail). */
  mergeAll: fc.boolean(),
});

function iso(sec: number): string {
  return new Date(sec * 1000).toISOString();
}

describe('tracer over the index = brute-force reference', () => {
  it('returns exactly what the reference returns on random small worlds', async () => {
    await fc.assert(
      fc.asyncProperty(world, async (w) => {
        const f = new TraceFixture();
        for (const r of w.rows) {
          const kind = w.kinds[r.place];
          const start = BASE + r.start * 300;
          // dur 0 stands for a date-only record: the whole local day.
          const dateOnly = r.dur === 0;
          const s = dateOnly ? start - ((start - BASE) % 86400) : start;
          const e = dateOnly ? s + 86400 : s + r.dur * 300;
          let sub: string | undefined;
          if (kind === 'train' && r.row > 0) sub = `0${r.carriage}-${String(r.row).padStart(2, '0')}-A`;
          if (kind === 'flight' && r.row > 0) sub = `${r.row}C`;
          if (kind === 'hotel' && r.row > 0) sub = `R${r.row % 3}`;
          f.add(`phone:i${r.ident}`, `${kind}:P${r.place}`, iso(s), iso(e), { sub, dateOnly, point: r.point });
        }
        f.add(`phone:i${w.caseIdent}`, 'venue:anchor', BASE, BASE + 60);
        for (const [a, b] of w.links) f.link(`phone:i${a}`, `phone:i${b}`);
        const day = (d: number): string => new Date((BASE + d * 86400 + 8 * 3600) * 1000).toISOString().slice(0, 10);
        const req: TraceRequest = {
          id: `phone:i${w.caseIdent}`, onset: day(w.onsetDay), degree: w.degree, rules: w.rules,
          now: (BASE + 5 * 86400) * 1000,
        };
        if (w.isolatedDay !== null && w.isolatedDay > w.onsetDay - (w.rules === 'v8' ? 2 : 4)) req.isolated = day(w.isolatedDay);
        const index = f.index(Math.min(w.loaded, f.rows.length), { tailMinRows: w.tailMinRows, tailShare: 0 });
        if (w.mergeAll) index.mergeTail();
        const sut = f.tracer(index);
        const got = await sut.trace(req);
        const want = await f.reference(req);
        expect({ ...got, summary: { ...got.summary, elapsedMs: 0 } }).toEqual({ ...want, summary: { ...want.summary, elapsedMs: 0 } });
        expect(got.contacts.map((c) => c.key)).toEqual(plainOrder(got.contacts).map((c) => c.key));
      }),
      { numRuns: 300 },
    );
  });

  it('lists contacts in the documented order when many keys share a long start', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.string({ unit: fc.constantFrom('0', '1', '9', 'X'), maxLength: 6 }), fc.nat(5), fc.constantFrom(5, 10, 30, 31)), { minLength: 2, maxLength: 120, size: 'max' }), async (people) => {
        const f = new TraceFixture();
        f.add('id_card:case', 'venue:V', BASE, BASE + 4 * 3600);
        // Keys with a long shared start and short tails (one a prefix of another); few lengths of stay, so long runs of equal scores.
        for (const [i, [tail, kind, minutes]] of people.entries()) {
          // Mostly distinct people (the number in the key), so runs are long; some tails repeat a key.
          const who = tail.startsWith('X') ? tail : `${tail}${i}`;
          const key = kind === 5 ? `phone:138${who}` : `id_card:33010219900101${who}`;
          f.add(key, 'venue:V', BASE + i * 60, BASE + i * 60 + minutes * 60);
        }
        const got = await f.tracer(f.index(f.rows.length)).trace({ id: 'id_card:case', onset: '2020-01-21', degree: 1, rules: 'v8', now: (BASE + 5 * 86400) * 1000 });
        expect(got.contacts.map((c) => c.key)).toEqual(plainOrder(got.contacts).map((c) => c.key));
      }),
      { numRuns: 200 },
    );
  });
});

/** Degree, category (close, secondary, companion, general), risk (highest first), then key in code-unit order. */
function plainOrder<T extends { degree: number; category: string; risk: { score: number }; key: string }>(contacts: readonly T[]): T[] {
  const rank: Record<string, number> = { close: 0, secondary: 1, companion: 2, general: 3 };
  return [...contacts].sort((a, b) => a.degree - b.degree || rank[a.category] - rank[b.category] || b.risk.score - a.risk.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
