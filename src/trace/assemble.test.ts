import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explainPair, evaluatePair, loadRuleSet, parseSub, type PairSide } from '../domain/contact-rules.ts';
import { chooseVia, compareCodes, decideContacts, isoSeconds, keyCodes, mergePieces, SecondExposures, type PairHit, type Piece } from './assemble.ts';
import { CandidateColumns, type Candidate, type IdentityGroups } from './candidate-source.ts';

describe('isoSeconds', () => {
  it('gives the same text as Date#toISOString for any epoch second', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (t) => {
      const sut = isoSeconds(t);
      expect(sut).toBe(new Date(t * 1000).toISOString());
    }), { numRuns: 2000 });
  });

  it('handles day boundaries, repeated days and values that are not whole seconds', () => {
    for (const t of [0, 86_399, 86_400, 86_401, 1_579_449_600, 1_579_449_599, 1_579_449_600, 12.5, 4_102_444_800]) {
      expect(isoSeconds(t)).toBe(new Date(t * 1000).toISOString());
    }
  });
});

describe('explainPair', () => {
  const side = (kind: PairSide['placeKind'], start: number, end: number, sub: string | null = null): PairSide => ({
    placeKind: kind, start, end, sub: sub ? parseSub(sub) : null, dateOnly: false,
  });

  it('words the same overlap the same way every time, per rule set', () => {
    for (const name of ['v8', 'v9']) {
      const rules = loadRuleSet(name);
      for (const [a, b] of [[side('venue', 0, 3600), side('venue', 600, 1500)], [side('household', 0, 100), side('household', 50, 3000)]] as const) {
        const v = evaluatePair(rules, a, b);
        if (!v) continue;
        const sut = explainPair(rules, a, b, v);
        expect(explainPair(rules, a, b, v)).toBe(sut);
        expect(sut).toMatch(/\d+ min/);
      }
    }
  });

  it('keeps the threshold in the words: at and below the minutes of a duration rule (v8 venue: 15 min)', () => {
    const rules = loadRuleSet('v8');
    const a = side('venue', 0, 900);
    const b = side('venue', 0, 899);
    const at = evaluatePair(rules, a, a);
    const below = evaluatePair(rules, b, b);
    expect(at?.category).toBe('close');
    expect(below?.category).toBe('general');
    expect(explainPair(rules, a, a, at!)).toBe('overlap 15 min ≥ 15 min');
    expect(explainPair(rules, b, b, below!)).toBe('overlap 14 min 59 s < 15 min');
    // Asked again (now from the worded cache): the same words.
    expect(explainPair(rules, b, b, below!)).toBe('overlap 14 min 59 s < 15 min');
  });
});

describe('keyCodes', () => {
  it('orders keys exactly as < orders the texts (code units; a prefix first)', () => {
    const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom('id_card:330', 'id_card:3302', 'phone:1', '浙B', ''));
    fc.assert(fc.property(text, text, fc.string({ maxLength: 4 }), (a, b, tail) => {
      for (const [x, y] of [[a, b], [a, a + tail], [a + tail, a]]) {
        const want = x < y ? -1 : x > y ? 1 : 0;
        expect(Math.sign(compareCodes(keyCodes(x), keyCodes(y)))).toBe(want);
      }
    }), { numRuns: 3000 });
  });
});

describe('mergePieces', () => {
  it('groups records by person exactly as a plain grouping does, whatever the person ids (table collisions, ids past 2^31)', () => {
    // Persons: small ids, multiples of large powers of two (they collide in a power-of-two table), the
    // largest Int32 id and ids beyond it (kept in a map), a negative and a fractional id.
    const persons = [0, 1, 2, 1024, 2048, 4096, 1 << 20, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 2 ** 40, -7, 3.5];
    fc.assert(fc.property(
      fc.array(fc.record({ who: fc.nat({ max: persons.length - 1 }), place: fc.nat({ max: 3 }), start: fc.nat({ max: 50 }), len: fc.integer({ min: 1, max: 20 }) }), { maxLength: 120 }),
      (rows) => {
        const records: Candidate[] = rows.map((r, i) => ({ ident: i, place: r.place, placeKind: 'venue', start: r.start, end: r.start + r.len, sub: null, flags: 0 }));
        const personOfIdent = (ident: number): number => persons[rows[ident].who];
        const groups: IdentityGroups = { groupOf: (i) => [i], personOf: personOfIdent };
        const sut = mergePieces(records, 0, 100, groups);
        // The same merge, grouped by a Map: per person, per place, intervals that overlap or touch joined.
        const want = new Map<number, Map<number, [number, number][]>>();
        for (const r of records) {
          const p = personOfIdent(r.ident);
          if (!want.has(p)) want.set(p, new Map());
          const byPlace = want.get(p)!;
          if (!byPlace.has(r.place)) byPlace.set(r.place, []);
          byPlace.get(r.place)!.push([r.start, r.end]);
        }
        const expected: string[] = [];
        for (const [p, byPlace] of want) {
          for (const [place, spans] of [...byPlace].sort((a, b) => a[0] - b[0])) {
            spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
            let cur: [number, number] | undefined;
            for (const sp of spans) {
              if (cur && sp[0] <= cur[1]) cur[1] = Math.max(cur[1], sp[1]);
              else {
                if (cur) expected.push(`${p}@${place}:${cur[0]}-${cur[1]}`);
                cur = [...sp];
              }
            }
            if (cur) expected.push(`${p}@${place}:${cur[0]}-${cur[1]}`);
          }
        }
        expect(sut.map((x) => `${x.person}@${x.place}:${x.start}-${x.end}`)).toEqual(expected);
      },
    ), { numRuns: 400 });
  });

  it('merges columns and objects as a plain merge does: seats, flags, repeats, clipping, one person with many records, past the columns\' first size', () => {
    const subs = [null, parseSub('3-12A'), parseSub('3-14C'), parseSub('room 201')];
    fc.assert(fc.property(
      fc.array(fc.record({ who: fc.nat({ max: 3 }), place: fc.nat({ max: 2 }), sub: fc.nat({ max: 3 }), start: fc.nat({ max: 80 }), len: fc.integer({ min: 0, max: 30 }), flags: fc.nat({ max: 3 }), twice: fc.boolean() }), { maxLength: 400 }),
      (rows) => {
        const records: Candidate[] = [];
        for (const r of rows) {
          const c: Candidate = { ident: r.who * 7 + (r.start % 2), place: r.place, placeKind: r.place === 2 ? 'train' : 'venue', start: r.start, end: r.start + r.len, sub: subs[r.sub], flags: r.flags };
          records.push(c);
          // The same stored record read twice (two query windows) counts once.
          if (r.twice) records.push({ ...c });
        }
        const groups: IdentityGroups = { groupOf: (i) => [i], personOf: (i) => Math.floor(i / 7) };
        const view = (ps: ReturnType<typeof mergePieces>): string[] => ps.map((x) => `${x.person}@${x.place}/${x.sub?.text ?? ''}:${x.start}-${x.end} f${x.flags} d${String(x.dateOnly)} n${x.records}`);
        const cols = new CandidateColumns().pushAll(records);
        expect(cols.toArray()).toEqual(records);
        // A plain merge: exact repeats dropped, clipped to [5, 90), person 3 skipped, per person (in order of
        // first record) and (place, seat) the intervals that overlap or touch joined, flags and counts added up.
        const want: string[] = [];
        const seen = new Set<string>();
        const byPerson = new Map<number, Map<string, { place: number; sub: string; spans: { s: number; e: number; f: number }[] }>>();
        for (const r of records) {
          const s0 = Math.max(5, r.start);
          const e0 = Math.min(90, r.end);
          const p = Math.floor(r.ident / 7);
          if (e0 <= s0 || p === 3) continue;
          const k = JSON.stringify([r.ident, r.place, r.sub?.text ?? '', r.start, r.end, r.flags]);
          if (seen.has(k)) continue;
          seen.add(k);
          if (!byPerson.has(p)) byPerson.set(p, new Map());
          const g = byPerson.get(p)!;
          const gk = `${r.place}/${r.sub?.text ?? ''}`;
          if (!g.has(gk)) g.set(gk, { place: r.place, sub: r.sub?.text ?? '', spans: [] });
          g.get(gk)!.spans.push({ s: s0, e: e0, f: r.flags });
        }
        for (const [p, g] of byPerson) {
          const keys = [...g.values()].sort((a, b) => a.place - b.place || (a.sub < b.sub ? -1 : a.sub > b.sub ? 1 : 0));
          for (const { place, sub, spans } of keys) {
            spans.sort((a, b) => a.s - b.s || a.e - b.e);
            let cur: { s: number; e: number; f: number; n: number } | undefined;
            const put = (): void => void (cur && want.push(`${p}@${place}/${sub}:${cur.s}-${cur.e} f${cur.f} d${String((cur.f & 1) !== 0)} n${cur.n}`));
            for (const sp of spans) {
              if (cur && sp.s <= cur.e) {
                cur.e = Math.max(cur.e, sp.e);
                cur.f |= sp.f;
                cur.n++;
              } else {
                put();
                cur = { ...sp, n: 1 };
              }
            }
            put();
          }
        }
        expect(view(mergePieces(cols, 5, 90, groups, (p) => p === 3))).toEqual(want);
        expect(view(mergePieces(records, 5, 90, groups, (p) => p === 3))).toEqual(want);
      },
    ), { numRuns: 300 });
  });
});

describe('SecondExposures', () => {
  const piece = (person: number, start: number): Piece => ({
    person, place: 1, placeKind: 'venue', sub: null, start, end: start + 3600, flags: 0, dateOnly: false, records: 1,
  });
  /** A close-level hit of `person` with close contact `via`, their shared interval starting at `start`. */
  const hit = (via: number, person: number, start: number): PairHit => ({
    source: piece(via, start - 10), contact: piece(person, start), verdict: { category: 'close', rule: 'duration', overlapSeconds: 3590, lowConfidence: false },
  });

  it('keeps, per person, exactly the close contacts that exposed them first, and a tie is settled by key', () => {
    const second = new SecondExposures();
    second.add(7, 3, [hit(3, 7, 500), hit(3, 7, 100)]);
    second.add(7, 1, [hit(1, 7, 200)]); // later: never the via
    second.add(7, 5, [hit(5, 7, 100)]); // tied with 3
    expect(second.get(7)?.vias.map((v) => v.via)).toEqual([3, 5]);
    second.add(7, 9, [hit(9, 7, 50)]); // earlier: the others go
    second.add(7, 2, [hit(2, 7, 50)]); // tied with 9
    second.add(7, 4, []); // no hits: nothing
    second.add(8, 4, [hit(4, 8, 60)]);
    expect(second.get(7)?.start).toBe(50);
    expect(second.get(7)?.vias.map((v) => v.via)).toEqual([9, 2]);
    const drafts = decideContacts(new Map(), second);
    expect(drafts.map((d) => [d.person, d.degree, d.category, d.via])).toEqual([[7, 2, 'secondary', 2], [8, 2, 'secondary', 4]]);
    // Names known: the via is the tied close contact whose key comes first (9's here), with its own hits.
    chooseVia(drafts[0], (p) => (p === 9 ? 'id_card:1' : 'id_card:2'));
    expect(drafts[0].via).toBe(9);
    expect(drafts[0].hits.map((h) => h.source.person)).toEqual([9]);
    expect(drafts[0].tiedVias).toBeUndefined();
  });

  it('chooses the same close contacts as keeping them all and choosing at the end, in any order they come', () => {
    fc.assert(fc.property(
      fc.uniqueArray(fc.record({ person: fc.nat({ max: 4 }), via: fc.nat({ max: 6 }), starts: fc.array(fc.nat({ max: 5 }), { minLength: 1, maxLength: 3 }) }), { selector: (x) => `${x.person}|${x.via}`, maxLength: 25 }),
      (adds) => {
        const second = new SecondExposures();
        for (const a of adds) second.add(a.person, a.via, a.starts.map((t) => hit(a.via, a.person, t)));
        for (const person of new Set(adds.map((a) => a.person))) {
          const mine = adds.filter((a) => a.person === person);
          const earliest = Math.min(...mine.flatMap((a) => a.starts));
          const want = mine.filter((a) => Math.min(...a.starts) === earliest).map((a) => a.via).sort((x, y) => x - y);
          expect(second.get(person)?.start).toBe(earliest);
          expect(second.get(person)?.vias.map((v) => v.via).sort((x, y) => x - y)).toEqual(want);
        }
        expect(second.size).toBe(new Set(adds.map((a) => a.person)).size);
      },
    ), { numRuns: 500 });
  });
});
