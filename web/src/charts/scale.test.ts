import { describe, expect, it } from 'vitest';
import { buckets, dayRange, niceStep } from './scale.ts';

describe('chart scales', () => {
  it('fills the days between the first and last date, across a month end', () => {
    const sut = dayRange(['2020-02-02', '2020-01-30', '2020-01-31']);
    expect(sut).toEqual(['2020-01-30', '2020-01-31', '2020-02-01', '2020-02-02']);
    expect(dayRange([])).toEqual([]);
  });

  it('picks round steps', () => {
    expect(niceStep(47)).toBe(10);
    expect(niceStep(3)).toBe(1);
    expect(niceStep(1200)).toBe(500);
    expect(niceStep(0)).toBe(1);
  });

  it('switches to weeks and months when the dates span long periods', () => {
    expect(buckets(['2020-01-01', '2020-01-10']).unit).toBe('day');
    const weeks = buckets(['2020-01-01', '2020-07-01']);
    expect(weeks.unit).toBe('week');
    expect(weeks.keyOf('2020-01-01')).toBe('2019-12-30'); // the Monday of that week
    expect(weeks.keys[0]).toBe('2019-12-30');
    const months = buckets(['2020-01-24', '2026-11-29']);
    expect(months.unit).toBe('month');
    expect(months.keys[0]).toBe('2020-01');
    expect(months.keys.at(-1)).toBe('2026-11');
    expect(months.keys).toHaveLength(83);
  });
});
