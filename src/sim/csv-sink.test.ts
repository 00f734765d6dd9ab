import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csvField, RowWriter } from './csv-sink.ts';

describe('RowWriter', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-rowwriter-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes many chunks in order, with repeated rows and UTF-8 fields, and counts lines', async () => {
    const file = path.join(dir, 'rows.csv');
    const sut = new RowWriter(file, ['a', 'b', 'c']);
    const expected: string[] = ['a,b,c'];
    // About 6 MB: several chunks are in flight at once.
    for (let i = 0; i < 60_000; i++) {
      sut.begin();
      sut.ascii(`row${i},`);
      sut.utf8(i % 1000 === 0 ? '浙B12345' : 'x'.repeat(80));
      sut.comma();
      sut.digits2(i % 100);
      sut.end();
      expected.push(`row${i},${i % 1000 === 0 ? '浙B12345' : 'x'.repeat(80)},${String(i % 100).padStart(2, '0')}`);
      if (i % 777 === 0) {
        expect(sut.lastRow()).toBe(expected[expected.length - 1]);
        sut.repeatLast();
        expected.push(expected[expected.length - 1]);
      }
      if (sut.busy) await sut.drain();
    }
    sut.line('last,"quoted, text",z');
    expected.push('last,"quoted, text",z');
    await sut.close();
    expect(sut.lines).toBe(expected.length);
    expect(sut.rows).toBe(expected.length - 1);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toBe(expected.join('\n') + '\n');
    expect(sut.bytes).toBe(Buffer.byteLength(text));
  });

  it('stores pre-encoded words without leaking their padding into the file', async () => {
    const file = path.join(dir, 'words.csv');
    const sut = new RowWriter(file, ['h']);
    const packed = (text: string): Uint32Array => {
      const bytes = new Uint8Array((text.length + 3) & ~3).fill(0x7e);
      for (let k = 0; k < text.length; k++) bytes[k] = text.charCodeAt(k);
      return new Uint32Array(bytes.buffer);
    };
    const id = packed('13800000000');
    const cell = packed('NB800-012-345');
    for (let i = 0; i < 3; i++) {
      sut.begin();
      sut.words(id, 0, 11);
      sut.comma();
      sut.words(cell, 0, 13);
      sut.end();
    }
    await sut.close();
    expect(fs.readFileSync(file, 'utf8')).toBe('h\n' + '13800000000,NB800-012-345\n'.repeat(3));
  });

  it('quotes fields that need it', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField(null)).toBe('');
    expect(csvField(3.5)).toBe('3.5');
  });
});
