import { describe, expect, it } from 'vitest';
import { idCardCheckDigit, idCardNumber, isValidIdCard, phoneNumber, plateNumber, transitCardNumber } from './identifiers.ts';

describe('identifiers', () => {
  it('computes the GB 11643 check digit, X included', () => {
    // The standard's worked example and a number whose check character is X.
    expect(idCardCheckDigit('11010519491231002')).toBe('X');
    expect(isValidIdCard('11010519491231002X')).toBe(true);
    expect(isValidIdCard('110105194912310021')).toBe(false);
    expect(isValidIdCard('44052418800101001')).toBe(false);
  });

  it('issues valid, distinct ID cards with the sex in the sequence digit', () => {
    const sut = idCardNumber;
    const seen = new Set<string>();
    for (let serial = 0; serial < 1200; serial++) {
      const male = serial % 2 === 0;
      const id = sut('330211', { y: 1960, m: 3, d: 9 }, male, serial);
      expect(isValidIdCard(id)).toBe(true);
      expect(Number(id[16]) % 2).toBe(male ? 1 : 0);
      expect(id.slice(6, 14)).toBe('19600309');
      seen.add(id);
    }
    expect(seen.size).toBe(1200);
  });

  it('issues distinct phones, transit cards and plates in their formats', () => {
    const phones = new Set<string>();
    const cards = new Set<string>();
    const plates = new Set<string>();
    for (let i = 0; i < 20000; i++) {
      phones.add(phoneNumber(i, 12345));
      cards.add(transitCardNumber(i, 777));
      plates.add(plateNumber(i, 999));
    }
    expect(phones.size).toBe(20000);
    expect(cards.size).toBe(20000);
    expect(plates.size).toBe(20000);
    for (const p of [...phones].slice(0, 100)) expect(p).toMatch(/^1[3-9]\d{9}$/);
    for (const c of [...cards].slice(0, 100)) expect(c).toMatch(/^3150\d{12}$/);
    for (const p of [...plates].slice(0, 100)) expect(p).toMatch(/^浙B[A-HJ-NP-Z0-9]{5}$/);
  });
});
