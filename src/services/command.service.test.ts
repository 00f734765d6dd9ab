import { describe, expect, it } from 'vitest';
import { newId } from './command.service.ts';

describe('newId', () => {
  it('orders ids by creation, also within one millisecond, and keeps them unguessable', () => {
    // Thousands of ids in a tight loop: many share a millisecond.
    const ids = Array.from({ length: 5000 }, () => newId('K'));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // The random part: two ids differ in more than a counter.
    const [a, b] = [newId('L'), newId('L')];
    expect(a.slice(-10)).not.toBe(b.slice(-10));
    expect(a).toMatch(/^L-[0-9a-z]+[0-9a-f]{10}$/);
  });
});
