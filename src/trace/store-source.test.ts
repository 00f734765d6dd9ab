import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Presence } from '../domain/formats.ts';
import { PresenceTraceService } from '../services/trace.service.ts';
import { DuckDbPresenceStore } from '../stores/presence/duckdb/duckdb-presence-store.ts';
import { CachedDictionary, StoreCandidateSource } from './store-source.ts';
import type { TraceRequest } from './types.ts';

const BASE = Date.parse('2020-01-20T00:00:00+08:00') / 1000;
const KINDS = ['venue', 'cell', 'train', 'hotel', 'household', 'bus'] as const;

const world = fc.record({
  kinds: fc.array(fc.constantFrom(...KINDS), { minLength: 4, maxLength: 4 }),
  rows: fc.array(
    fc.record({
      ident: fc.nat(9),
      place: fc.nat(3),
      // 5-minute grid over 3 days, so touching and exactly-long-enough overlaps are common.
      start: fc.nat(3 * 288),
      dur: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 120 })),
      row: fc.integer({ min: 0, max: 6 }),
    }),
    { minLength: 10, maxLength: 90 },
  ),
  links: fc.array(fc.tuple(fc.nat(9), fc.nat(9)), { maxLength: 3 }),
  caseIdent: fc.nat(9),
  onsetDay: fc.integer({ min: 1, max: 4 }),
  rules: fc.constantFrom('v8', 'v9'),
});

describe('StoreCandidateSource', () => {
  it('traces the second degree exactly as the index does, its close contacts read in one batch', async () => {
    const store = await DuckDbPresenceStore.open(':memory:', { threads: 1 });
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(world, async (w) => {
          // One store for all runs: each run's people and places are its own.
          const tag = `r${++run}-`;
          const rows: Presence[] = w.rows.map((r) => {
            const kind = w.kinds[r.place];
            let sub: string | undefined;
            if (kind === 'train' && r.row > 0) sub = `01-${String(r.row).padStart(2, '0')}-A`;
            if (kind === 'hotel' && r.row > 0) sub = `R${r.row % 3}`;
            const start = BASE + r.start * 300;
            return { idKind: 'phone', idValue: `${tag}${r.ident}`, placeKind: kind, placeId: `${tag}P${r.place}`, start, end: start + r.dur * 300, dateOnly: false, pointEvent: false, ...(sub ? { sub } : {}) };
          });
          await store.insertPresences(rows);
          if (w.links.length) {
            await store.insertIdentityLinks(w.links.map(([a, b]) => ({ aKind: 'phone' as const, aValue: `${tag}${a}`, bKind: 'phone' as const, bValue: `${tag}${b}` })));
          }
          let batches = 0;
          const source = new StoreCandidateSource(store, new CachedDictionary(store), 'duckdb');
          const many = source.firstDegreeMany.bind(source);
          source.firstDegreeMany = (reads) => {
            batches++;
            return many(reads);
          };
          const viaStore = await PresenceTraceService.start({ store, timeZone: 'Asia/Shanghai', mode: 'store', storeSource: source });
          const viaIndex = await PresenceTraceService.start({ store, timeZone: 'Asia/Shanghai', mode: 'index' });
          const day = (d: number): string => new Date((BASE + d * 86400 + 8 * 3600) * 1000).toISOString().slice(0, 10);
          const req: TraceRequest = { id: `phone:${tag}${w.caseIdent}`, onset: day(w.onsetDay), degree: 2, rules: w.rules, now: (BASE + 5 * 86400) * 1000 };
          const got = await viaStore.trace(req);
          const want = await viaIndex.trace(req);
          expect({ ...got, summary: { ...got.summary, elapsedMs: 0 } }).toEqual({ ...want, summary: { ...want.summary, elapsedMs: 0 } });
          // A case with a trajectory reaches the second degree through the batched read.
          if (got.trajectory.length) expect(batches).toBe(1);
        }),
        { numRuns: 60, endOnFailure: true },
      );
    } finally {
      await store.close();
    }
  }, 120_000);
});
