import { describe, expect, it } from 'vitest';
import { parseCsvLine as sut } from './csv-line.ts';

describe('parseCsvLine', () => {
  it('splits plain fields and keeps empty ones', () => {
    expect(sut('a,b,,d,')).toEqual({ ok: true, fields: ['a', 'b', '', 'd', ''] });
  });
  it('reads quoted fields with commas, doubled quotes and Chinese', () => {
    expect(sut('"海曙区, 中山路","say ""hi""",x')).toEqual({ ok: true, fields: ['海曙区, 中山路', 'say "hi"', 'x'] });
    expect(sut('"",""')).toEqual({ ok: true, fields: ['', ''] });
  });
  it('reports an unterminated quote and stray quotes', () => {
    expect(sut('a,"b,c')).toMatchObject({ ok: false, reason: expect.stringContaining('not closed') });
    expect(sut('a,"b"c')).toMatchObject({ ok: false, reason: expect.stringContaining('after a closing quote') });
    expect(sut('a,b"c')).toMatchObject({ ok: false, reason: expect.stringContaining('inside an unquoted field') });
  });
});
