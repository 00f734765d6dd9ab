import { describe, expect, it } from 'vitest';
import { epiCurveOf } from './dashboard.tsx';

describe('epiCurveOf', () => {
  it('counts cases per onset date and classification, falling back to the sampling date', () => {
    const sut = epiCurveOf([
      { onset: '2020-01-20', sampled: null, classification: 'confirmed' },
      { onset: '2020-01-20', sampled: '2020-01-22', classification: 'confirmed' },
      { onset: null, sampled: '2020-01-21', classification: 'asymptomatic' },
      { onset: null, sampled: null, classification: 'suspected' },
    ]);
    expect(sut.sort((a, b) => a.date.localeCompare(b.date))).toEqual([
      { date: '2020-01-20', status: 'confirmed', count: 2 },
      { date: '2020-01-21', status: 'asymptomatic', count: 1 },
    ]);
  });
});
