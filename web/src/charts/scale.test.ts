import { describe, expect, it } from 'vitest';
import { dayRange, niceStep } from './scale.ts';

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
});
