import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explainPair, evaluatePair, loadRuleSet, parseSub, type PairSide } from '../domain/contact-rules.ts';
import { compareCodes, isoSeconds, keyCodes } from './assemble.ts';

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
