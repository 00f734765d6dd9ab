import { describe, expect, it } from 'vitest';
import { evaluatePair, loadRuleSet, parseSub, validateRuleSet, type PairSide } from './contact-rules.ts';
import type { PlaceKind } from './formats.ts';

const T0 = Date.UTC(2020, 0, 25, 6, 0) / 1000;

function side(kind: PlaceKind, startMin: number, endMin: number, sub?: string, dateOnly = false): PairSide {
  return { placeKind: kind, start: T0 + startMin * 60, end: T0 + endMin * 60, sub: sub ? parseSub(sub) : null, dateOnly };
}

describe('contact rules v8/v9', () => {
  const sut = loadRuleSet('v9');

  it('venue: 14:59 of overlap is general, 15:00 is close', () => {
    const a = side('venue', 0, 60);
    expect(evaluatePair(sut, a, { ...side('venue', 0, 0), end: T0 + 14 * 60 + 59 })?.category).toBe('general');
    expect(evaluatePair(sut, a, side('venue', 0, 15))?.category).toBe('close');
    expect(evaluatePair(sut, a, side('venue', 0, 15))?.overlapSeconds).toBe(900);
  });

  it('workplace, school, hospital, bus follow the 15-minute rule too', () => {
    for (const kind of ['workplace', 'school', 'hospital', 'bus', 'metro', 'checkpoint'] as const) {
      expect(evaluatePair(sut, side(kind, 0, 60), side(kind, 30, 45))?.category).toBe('close');
      expect(evaluatePair(sut, side(kind, 0, 60), side(kind, 50, 64))?.category).toBe('general');
    }
  });

  it('intervals that only touch make no contact', () => {
    expect(evaluatePair(sut, side('venue', 0, 60), side('venue', 60, 120))).toBeNull();
    expect(evaluatePair(sut, side('household', 0, 60), side('household', 60, 120))).toBeNull();
    expect(evaluatePair(sut, side('venue', 0, 60), side('venue', 59, 120))?.overlapSeconds).toBe(60);
  });

  it('cell: 9:59 is nothing, 10:00 is a companion', () => {
    const a = side('cell', 0, 60);
    expect(evaluatePair(sut, a, { ...side('cell', 0, 0), end: T0 + 9 * 60 + 59 })).toBeNull();
    expect(evaluatePair(sut, a, side('cell', 0, 10))?.category).toBe('companion');
  });

  it('train: same carriage within ±3 rows is close, ±4 general, another carriage nothing', () => {
    const a = side('train', 0, 120, '07-12-F');
    expect(evaluatePair(sut, a, side('train', 0, 120, '07-15-A'))).toMatchObject({ category: 'close', seatDistance: 3 });
    expect(evaluatePair(sut, a, side('train', 0, 120, '07-09-C'))).toMatchObject({ category: 'close', seatDistance: 3 });
    expect(evaluatePair(sut, a, side('train', 0, 120, '07-16-A'))).toMatchObject({ category: 'general', seatDistance: 4 });
    expect(evaluatePair(sut, a, side('train', 0, 120, '07-08-A'))).toMatchObject({ category: 'general', seatDistance: 4 });
    expect(evaluatePair(sut, a, side('train', 0, 120, '08-12-F'))).toBeNull();
  });

  it('flight: the whole cabin is one carriage; ±3 rows close, the rest general', () => {
    const a = side('flight', 0, 120, '12-C');
    expect(evaluatePair(sut, a, side('flight', 0, 120, '15A'))?.category).toBe('close');
    expect(evaluatePair(sut, a, side('flight', 0, 120, '16-A'))?.category).toBe('general');
    expect(evaluatePair(sut, a, side('flight', 0, 120, '00-30-A'))?.category).toBe('general');
  });

  it('vehicle without a known seat falls back to time on board', () => {
    expect(evaluatePair(sut, side('train', 0, 120, '07-12-F'), side('train', 0, 15))?.category).toBe('close');
    expect(evaluatePair(sut, side('train', 0, 120), side('train', 0, 14))?.category).toBe('general');
  });

  it('hotel: same room close, other rooms general', () => {
    expect(evaluatePair(sut, side('hotel', 0, 600, '0312'), side('hotel', 300, 900, '0312'))?.category).toBe('close');
    expect(evaluatePair(sut, side('hotel', 0, 600, '0312'), side('hotel', 300, 900, '0313'))?.category).toBe('general');
    expect(evaluatePair(sut, side('hotel', 0, 600, '0312'), side('hotel', 600, 900, '0312'))).toBeNull();
  });

  it('household: any co-residence is close, even a minute', () => {
    expect(evaluatePair(sut, side('household', 0, 600), side('household', 599, 900))?.category).toBe('close');
  });

  it('date-only evidence is marked low confidence', () => {
    expect(evaluatePair(sut, side('venue', 0, 1440, undefined, true), side('venue', 60, 90))).toMatchObject({ category: 'close', lowConfidence: true });
    expect(evaluatePair(sut, side('venue', 0, 60), side('venue', 10, 40))?.lowConfidence).toBe(false);
  });

  it('v8 looks back 2 days, v9 4; both name their version', () => {
    expect(loadRuleSet('v8')).toMatchObject({ name: 'v8', version: '8.0', lookbackDays: 2 });
    expect(loadRuleSet('v9')).toMatchObject({ name: 'v9', version: '9.0', lookbackDays: 4 });
  });
});

describe('rule set validation', () => {
  const good = (): Record<string, unknown> => JSON.parse(JSON.stringify(loadRuleSet('v8'))) as Record<string, unknown>;

  it('accepts the shipped sets and a copy of them', () => {
    expect(validateRuleSet(good(), 'copy.json').name).toBe('v8');
  });

  it('names the file and the field of a bad value', () => {
    const bad = good();
    (bad.kinds as Record<string, Record<string, unknown>>).train.rows = -1;
    expect(() => validateRuleSet(bad, 'mine.json')).toThrow(/mine\.json: kinds\.train\.rows must be a whole number/);
    const unknownKind = good();
    (unknownKind.kinds as Record<string, unknown>).spaceship = { rule: 'duration', minutes: 1, category: 'close', shorterCategory: null };
    expect(() => validateRuleSet(unknownKind, 'mine.json')).toThrow(/kinds\.spaceship is not a place kind/);
    const noDefault = good();
    delete (noDefault.kinds as Record<string, unknown>).default;
    expect(() => validateRuleSet(noDefault, 'mine.json')).toThrow(/kinds\.default is required/);
    const badCategory = good();
    (badCategory.kinds as Record<string, Record<string, unknown>>).cell.category = 'friend';
    expect(() => validateRuleSet(badCategory, 'mine.json')).toThrow(/kinds\.cell\.category must be one of close, companion, general/);
  });

  it('refuses an unknown rule set name with the known ones listed', () => {
    expect(() => loadRuleSet('v99')).toThrow(/v99\.json: file does not exist \(known rule sets: v8, v9\)/);
  });
});

describe('parseSub', () => {
  it('reads carriage-row-seat, row-seat and rooms', () => {
    expect(parseSub('07-12-F')).toEqual({ text: '07-12-F', carriage: 7, row: 12 });
    expect(parseSub('12F')).toEqual({ text: '12F', carriage: 0, row: 12 });
    expect(parseSub('Room 301')).toEqual({ text: 'Room 301', carriage: null, row: null });
  });
});
