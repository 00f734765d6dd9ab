import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explainPair, evaluatePair, evaluateWith, loadRuleSet, pairCategory, parseSub, ruleFor, type PairSide } from '../domain/contact-rules.ts';
import { PLACE_KINDS } from '../domain/formats.ts';
import { chooseVia, compareCodes, decideContacts, isoSeconds, keyCodes, mergePieces, mergePiecesInto, pairHits, pairSecond, PieceColumns, pieceAt, SecondExposures, viaRanks, type PairHit, type Piece } from './assemble.ts';
import { CandidateColumns, FLAG_DATE_ONLY, FLAG_POINT_EVENT, type Candidate, type IdentityGroups } from './candidate-source.ts';

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

  it('finds persons that are not whole numbers in [0, 2^32), and many persons past the table\'s first size', () => {
    const second = new SecondExposures();
    const persons = [-1, 2 ** 32, 2 ** 40 + 3, 0.5, ...Array.from({ length: 3000 }, (_, i) => i * 7919)];
    for (const [i, p] of persons.entries()) second.add(p, i % 5, [hit(i % 5, p, 1000 - (i % 13))]);
    for (const [i, p] of persons.entries()) expect(second.get(p)?.start).toBe(1000 - (i % 13));
    expect(second.get(12345678)).toBeUndefined();
    expect(second.get(-2)).toBeUndefined();
    expect([...second.entries()].map(([p]) => p)).toEqual(persons);
    expect(second.size).toBe(persons.length);
  });
});

describe('pairSecond', () => {
  const rules = loadRuleSet('v8');
  /** Pieces at three places of kinds that give close pairs by overlap (venue: 15 min) or by co-presence (household). */
  const pieceArb = (person: number) => fc.record({ place: fc.integer({ min: 1, max: 3 }), start: fc.nat({ max: 20 }), len: fc.integer({ min: 1, max: 12 }) })
    .map(({ place, start, len }): Piece => ({
      person, place, placeKind: place === 3 ? 'household' : 'venue', sub: null, start: start * 300, end: (start + len) * 300,
      flags: 0, dateOnly: false, records: 1,
    }));

  it('keeps exactly what pairHits with close verdicts, then add for each person, keeps', () => {
    fc.assert(fc.property(
      // Close contacts (vias) 100–104, each with their pieces, and the persons they met, person by person.
      fc.array(fc.record({
        via: fc.integer({ min: 100, max: 104 }),
        theirs: fc.array(pieceArb(0), { minLength: 1, maxLength: 4 }),
        met: fc.uniqueArray(fc.nat({ max: 30 }), { maxLength: 12 }).chain((ps) => fc.tuple(...ps.map((p) => fc.array(pieceArb(p), { minLength: 1, maxLength: 3 })))),
      }), { maxLength: 6 }),
      (calls) => {
        const sut = new SecondExposures();
        const want = new SecondExposures();
        // Ranked: ties settled as they come, by a rank per close contact (any order of them).
        const rankOf = (via: number): number => (via * 7) % 5;
        const ranked = new SecondExposures();
        for (const c of calls) {
          const theirs = c.theirs.map((x) => ({ ...x, person: c.via }));
          const met = c.met.flat();
          pairSecond(rules, theirs, PieceColumns.from(met), c.via, sut);
          pairSecond(rules, theirs, PieceColumns.from(met), c.via, ranked, rankOf(c.via));
          for (const [person, hits] of pairHits(rules, theirs, met, (v) => v.category === 'close')) want.add(person, c.via, hits);
        }
        const view = (x: SecondExposures) => [...x.entries()].map(([p, e]) => ({ p, start: e.start, vias: e.vias.map((v) => ({ via: v.via, hits: v.hits.map((h) => [h.source, h.contact, h.verdict]) })) }));
        expect(view(sut)).toEqual(view(want));
        // The ranked search keeps, of the tied close contacts, only the one that ranks first, with its hits.
        expect(view(ranked)).toEqual(view(want).map((e) => ({ ...e, vias: [e.vias.reduce((a, b) => (rankOf(b.via) < rankOf(a.via) ? b : a))] })));
      },
    ), { numRuns: 400 });
  });

  it('refuses contacts that do not come person by person', () => {
    const at = (person: number, start: number): Piece => ({ person, place: 1, placeKind: 'venue', sub: null, start, end: start + 3600, flags: 0, dateOnly: false, records: 1 });
    const second = new SecondExposures();
    expect(() => pairSecond(rules, [at(9, 0)], PieceColumns.from([at(1, 0), at(2, 0), at(1, 100)]), 9, second)).toThrow(/person 1 came twice/);
    // The same persons in another call are fine.
    const again = new SecondExposures();
    pairSecond(rules, [at(9, 0)], PieceColumns.from([at(1, 0), at(1, 100), at(2, 0)]), 9, again);
    pairSecond(rules, [at(8, 0)], PieceColumns.from([at(1, 0), at(2, 0)]), 8, again);
    expect(again.get(1)?.vias.map((v) => v.via)).toEqual([9, 8]);
  });

  it('keeps what pairHits over mergePieces keeps, on records with seats, rooms, date-only and point events, merged into columns', () => {
    const kinds = ['train', 'hotel', 'venue', 'household', 'bus'] as const;
    const subs = [null, '01-02-A', '01-05-C', '02-02-B', '03A', '0901', '0902'];
    const groups: IdentityGroups = { groupOf: (p) => [p] };
    const recordArb = (ident: number) => fc.record({
      place: fc.integer({ min: 1, max: 5 }), start: fc.nat({ max: 30 }), len: fc.integer({ min: 1, max: 10 }), sub: fc.constantFrom(...subs), flags: fc.constantFrom(0, 0, FLAG_DATE_ONLY, FLAG_POINT_EVENT),
    }).map(({ place, start, len, sub, flags }): Candidate => ({
      ident, place, placeKind: kinds[place - 1], start: start * 300, end: (start + len) * 300, sub: sub === null ? null : parseSub(sub), flags,
    }));
    fc.assert(fc.property(
      fc.array(fc.record({
        via: fc.integer({ min: 100, max: 103 }),
        from: fc.nat({ max: 3000 }),
        theirs: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
        met: fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 30 }),
      }).chain((c) => fc.record({
        via: fc.constant(c.via), from: fc.constant(c.from),
        theirs: fc.tuple(...c.theirs.map(() => recordArb(c.via))),
        met: fc.tuple(...c.met.map((p) => recordArb(p))),
      })), { maxLength: 5 }),
      (calls) => {
        for (const rules of [loadRuleSet('v8'), loadRuleSet('v9')]) {
          const sut = new SecondExposures();
          const want = new SecondExposures();
          for (const c of calls) {
            const theirs = mergePieces(c.theirs, c.from, 20_000, groups);
            const met = mergePieces(c.met, c.from, 20_000, groups);
            pairSecond(rules, theirs, mergePiecesInto(c.met, c.from, 20_000, groups, undefined, new PieceColumns()), c.via, sut);
            for (const [person, hits] of pairHits(rules, theirs, met, (v) => v.category === 'close')) want.add(person, c.via, hits);
          }
          const view = (x: SecondExposures) => [...x.entries()].map(([p, e]) => ({ p, start: e.start, vias: e.vias.map((v) => ({ via: v.via, hits: v.hits.map((h) => [h.source, h.contact, h.verdict]) })) }));
          expect(view(sut)).toEqual(view(want));
        }
      },
    ), { numRuns: 300 });
  });

  it('merges into columns exactly what mergePieces makes into objects', () => {
    const groups: IdentityGroups = { groupOf: (p) => [p] };
    fc.assert(fc.property(
      fc.array(fc.record({ ident: fc.integer({ min: 1, max: 5 }), place: fc.integer({ min: 1, max: 3 }), start: fc.nat({ max: 40 }), len: fc.nat({ max: 8 }), flags: fc.constantFrom(0, FLAG_DATE_ONLY, FLAG_POINT_EVENT) }), { maxLength: 40 }),
      (rows) => {
        const records: Candidate[] = rows.map((r) => ({ ident: r.ident, place: r.place, placeKind: 'venue', start: r.start * 60, end: (r.start + r.len) * 60, sub: null, flags: r.flags }));
        const m = mergePiecesInto(records, 300, 2000, groups, (p) => p === 2, new PieceColumns());
        expect(Array.from({ length: m.length }, (_, k) => pieceAt(m, k))).toEqual(mergePieces(records, 300, 2000, groups, (p) => p === 2));
      },
    ), { numRuns: 300 });
  });
});

describe('viaRanks', () => {
  it('ranks close contacts by person key in identifier order (ID cards first), the smaller id first between equal keys, fetching names not at hand', async () => {
    const names = new Map<number, string>([[1, 'phone:139'], [2, 'id_card:9'], [3, 'id_card:10'], [4, 'phone:138'], [5, 'plate:A1']]);
    let fetched = 0;
    const dict = {
      identifierIds: () => Promise.resolve(new Map<string, number>()),
      identifierKeys: (ids: readonly number[]) => {
        fetched += ids.length;
        return Promise.resolve(ids.map((id) => names.get(id) ?? `?${id}`));
      },
      placeKeys: (ids: readonly number[]) => Promise.resolve(ids.map((id) => `venue:${id}`)),
    };
    // Person 6 has the identifiers 5 and 3 (its key is its ID card's).
    const groups: IdentityGroups = { groupOf: (p) => (p === 6 ? [3, 5] : [p]) };
    const ranks = await viaRanks(groups, dict, [1, 2, 4, 6]);
    expect([...ranks].sort((a, b) => a[1] - b[1]).map(([p]) => p)).toEqual([6, 2, 4, 1]);
    expect(fetched).toBe(5);
  });
});

describe('pairCategory', () => {
  it('gives the category evaluateWith gives, for any pair of any kind, in every rule set', () => {
    const subs = [null, '01-02-A', '01-05-C', '02-02-B', '03A', '0901', '0902', 'x'];
    const sideArb = fc.record({ start: fc.nat({ max: 100 }), len: fc.nat({ max: 60 }), sub: fc.constantFrom(...subs), dateOnly: fc.boolean() });
    fc.assert(fc.property(fc.constantFrom(...PLACE_KINDS), sideArb, sideArb, (kind, x, y) => {
      const side = (v: typeof x): PairSide => ({ placeKind: kind, start: v.start * 60, end: (v.start + v.len) * 60, sub: v.sub === null ? null : parseSub(v.sub), dateOnly: v.dateOnly });
      for (const name of ['v8', 'v9']) {
        const rule = ruleFor(loadRuleSet(name), kind);
        expect(pairCategory(rule, side(x), side(y))).toBe(evaluateWith(rule, side(x), side(y))?.category ?? null);
      }
    }), { numRuns: 3000 });
  });
});
