import { describe, expect, it } from 'vitest';
import { ByteKeys, hashBytes } from './byte-keys.ts';

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('ByteKeys', () => {
  it('finds a key by its tag and bytes wherever the bytes lie, and nothing else', () => {
    const t = new ByteKeys(4);
    const line = bytes('phone,138,cell,NB1');
    const h = hashBytes(0, line, 6, 9);
    expect(t.get(0, line, 6, 9, h)).toBe(-1);
    t.set(0, line, 6, 9, h, 7);
    // The same bytes elsewhere, the table holding its own copy (the line's buffer may be reused).
    line.fill(0);
    const other = bytes('xx138');
    expect(t.get(0, other, 2, 5, hashBytes(0, other, 2, 5))).toBe(7);
    // Another tag, a prefix, a longer key: not found.
    expect(t.get(1, other, 2, 5, hashBytes(1, other, 2, 5))).toBe(-1);
    expect(t.get(0, other, 2, 4, hashBytes(0, other, 2, 4))).toBe(-1);
    const longer = bytes('1380');
    expect(t.get(0, longer, 0, 4, hashBytes(0, longer, 0, 4))).toBe(-1);
  });

  it('keeps every key through growth, with values up to 2^32 - 1, empty and multi-byte keys included', () => {
    const t = new ByteKeys(2);
    const keys = Array.from({ length: 5000 }, (_, i) => (i === 0 ? '' : `${i % 2 ? '浙B' : 'k'}${i}`));
    keys.forEach((k, i) => {
      const b = bytes(k);
      t.set(i % 3, b, 0, b.length, hashBytes(i % 3, b, 0, b.length), i === 1 ? 0xffff_ffff : i);
    });
    expect(t.size).toBe(keys.length);
    keys.forEach((k, i) => {
      const b = bytes(k);
      expect(t.get(i % 3, b, 0, b.length, hashBytes(i % 3, b, 0, b.length))).toBe(i === 1 ? 0xffff_ffff : i);
    });
  });

  it('answers for the key last found or added without hashing, and only for that key', () => {
    const t = new ByteKeys();
    const a = bytes('alpha');
    const b = bytes('beta');
    expect(t.recent(0, a, 0, a.length)).toBe(-1);
    t.set(0, a, 0, a.length, hashBytes(0, a, 0, a.length), 1);
    expect(t.recent(0, a, 0, a.length)).toBe(1);
    expect(t.recent(1, a, 0, a.length)).toBe(-1);
    expect(t.recent(0, b, 0, b.length)).toBe(-1);
    t.set(0, b, 0, b.length, hashBytes(0, b, 0, b.length), 2);
    expect(t.recent(0, a, 0, a.length)).toBe(-1);
    expect(t.get(0, a, 0, a.length, hashBytes(0, a, 0, a.length))).toBe(1);
    expect(t.recent(0, a, 0, a.length)).toBe(1);
    const alps = bytes('alphz');
    expect(t.recent(0, alps, 0, alps.length)).toBe(-1);
  });
});
