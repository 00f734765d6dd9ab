import { describe, expect, it } from 'vitest';
import { maskId, splitDuration } from './format.ts';
import { parseHash, href } from './router.ts';

describe('formatting', () => {
  it('splits durations for countdowns', () => {
    expect(splitDuration(((26 * 60) + 5) * 60_000)).toEqual({ d: 1, h: 2, m: 5 });
    expect(splitDuration(-90 * 60_000)).toEqual({ d: 0, h: 1, m: 30 });
  });

  it('masks the middle of identifiers and leaves masked ones alone', () => {
    expect(maskId('phone:13812345678')).toBe('phone:138****5678');
    expect(maskId('id_card:330203199001011234')).toBe('id_card:330***********1234');
    expect(maskId('phone:138****5678')).toBe('phone:138****5678');
    expect(maskId('plate:浙B1')).toBe('plate:浙B1');
  });
});

describe('hash routes', () => {
  it('round-trips names and encoded parameters', () => {
    const sut = parseHash(href('person', 'person:P 1/2'));
    expect(sut.name).toBe('person');
    expect(sut.params).toEqual(['person:P 1/2']);
    expect(parseHash('#/inbox?all=1').query.get('all')).toBe('1');
  });
});
