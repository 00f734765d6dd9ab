import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyForReader, textShapeOf } from './line-ends.ts';

const lineEndsOf = async (file: string): Promise<string> => (await textShapeOf(file)).ends;
const MAX = 1 << 20;
const copyWithLf = (file: string, out: string): Promise<void> => copyForReader(file, out, MAX);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-line-ends-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let seq = 0;
function write(content: string | Buffer): string {
  const file = path.join(dir, `${++seq}.txt`);
  fs.writeFileSync(file, content);
  return file;
}

/** What the two functions must agree with: every CRLF, LF and lone CR is one line end. */
function expected(text: string): { ends: 'lf' | 'crlf' | 'mixed'; lf: string } {
  // Each line, U+0001 before it when it holds one.
  // A line with U+0001 becomes the marker, or keeps its bytes with U+0001 made a space when it is too long.
  const lf = text.split(/\r\n|\r|\n/).map((l) => (!l.includes('\u0001') ? l : Buffer.byteLength(l) >= MAX ? l.replaceAll('\u0001', ' ') : '\u0001!')).join('\n');
  const crs = (text.match(/\r/g) ?? []).length;
  const lfs = (text.match(/\n/g) ?? []).length;
  const crlfs = (text.match(/\r\n/g) ?? []).length;
  const ends = crs === 0 ? 'lf' : crs === crlfs && lfs === crlfs ? 'crlf' : 'mixed';
  return { ends, lf };
}

describe('line ends', () => {
  it.each([
    ['', 'lf'],
    ['a,b', 'lf'],
    ['a\nb\n', 'lf'],
    ['a\r\nb\r\n', 'crlf'],
    ['a\r\nb', 'crlf'],
    ['a\r\nb\n', 'mixed'],
    ['a\nb\r\n', 'mixed'],
    ['a\rb\r', 'mixed'],
    ['a\r\nb\r', 'mixed'],
    ['a\r\r\nb', 'mixed'],
    ['\r', 'mixed'],
    ['\n\r', 'mixed'],
    ['a\u0001\nb\n\u0001', 'lf'],
    ['a\u0001\r\nb\u0001c\r\n', 'crlf'],
    ['\u0001\rb', 'mixed'],
  ] as const)('%j is %s, and its copy has LF line ends only', async (text, ends) => {
    const file = write(text);
    expect(await lineEndsOf(file)).toBe(ends);
    const out = `${file}.lf`;
    await copyWithLf(file, out);
    expect(fs.readFileSync(out, 'utf8')).toBe(expected(text).lf);
  });

  it('tells a file that holds U+0001, and copies a line with it as one the reader rejects, across chunks too', async () => {
    const chunk = 1 << 20;
    expect((await textShapeOf(write('a\nb\n'))).ctl1).toBe(false);
    const long = 'x'.repeat(chunk - 3);
    for (const text of [`a\u0001\n${long}\u0001\u0001b\nc\n`, `${long}\r\nz\u0001\r\n${long}`, `${'y'.repeat(chunk - 1)}\u0001\n${'q'.repeat(3 * chunk)}\nend\u0001`]) {
      const file = write(text);
      expect((await textShapeOf(file)).ctl1).toBe(true);
      await copyWithLf(file, `${file}.copy`);
      expect(fs.readFileSync(`${file}.copy`, 'utf8')).toBe(expected(text).lf);
    }
    // Invalid UTF-8 is the first reason: the line keeps its bytes, U+0001 made a space.
    const bad = write(Buffer.from([0x61, 0xff, 0x01, 0x0a, 0x62, 0x01, 0x0d]));
    await copyWithLf(bad, `${bad}.copy`);
    expect([...fs.readFileSync(`${bad}.copy`)]).toEqual([0x61, 0xff, 0x20, 0x0a, 0x01, 0x21, 0x0a]);
    // A line too long to be read in any case is written through as it is, without being held whole.
    const huge = `ok\n${'h'.repeat(9 << 20)}\u0001\nlast\u0001`;
    const file = write(huge);
    await copyWithLf(file, `${file}.copy`);
    expect(fs.readFileSync(`${file}.copy`, 'utf8')).toBe(`ok\n${'h'.repeat(9 << 20)} \n\u0001!`);
  });

  it('across read chunks (1 MiB), with CRs and LFs falling on every side of a chunk end', async () => {
    const chunk = 1 << 20;
    // Random texts over a small alphabet, long enough to span three chunks, with line ends planted at the chunk ends.
    let rng = 12345;
    const rand = (k: number): number => {
      rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0;
      return rng % k;
    };
    const around = ['\r\n', '\n', '\r', 'x\r', '\r\r', '\n\n'];
    for (const style of ['lf', 'crlf', 'mixed'] as const) {
      for (const plant of around) {
        const parts: string[] = [];
        let len = 0;
        while (len < 3 * chunk) {
          const line = 'ab,c'.repeat(1 + rand(40));
          const end = style === 'lf' ? '\n' : style === 'crlf' ? '\r\n' : ['\n', '\r\n', '\r'][rand(3)];
          parts.push(line + end);
          len += line.length + end.length;
        }
        let text = parts.join('');
        if (style === 'mixed') text = text.slice(0, chunk - 1) + plant + text.slice(chunk - 1 + plant.length);
        const file = write(text);
        const want = expected(text);
        expect(await lineEndsOf(file)).toBe(want.ends);
        await copyWithLf(file, `${file}.lf`);
        expect(fs.readFileSync(`${file}.lf`, 'utf8')).toBe(want.lf);
      }
    }
  });

  it('a CRLF file with one line end off, at the start, the middle or the last byte, is mixed', async () => {
    const body = Array.from({ length: 200_000 }, (_, i) => `line ${i}`).join('\r\n') + '\r\n';
    for (const at of [10, body.length >> 1, body.length - 1]) {
      const cut = body.lastIndexOf('\r\n', at);
      expect(cut).toBeGreaterThanOrEqual(0);
      const lfOnly = body.slice(0, cut) + body.slice(cut + 1);
      const crOnly = body.slice(0, cut + 1) + body.slice(cut + 2);
      expect(await lineEndsOf(write(lfOnly))).toBe('mixed');
      expect(await lineEndsOf(write(crOnly))).toBe('mixed');
    }
    expect(await lineEndsOf(write(body))).toBe('crlf');
    // A CR alone as the last byte of a read chunk, and a CRLF across it.
    const chunk = 1 << 20;
    const cut = body.indexOf('\r\n', chunk - 40);
    const aligned = body.slice(0, cut) + 'y'.repeat(chunk - 1 - cut) + body.slice(cut);
    expect(aligned.indexOf('\r', chunk - 40)).toBe(chunk - 1);
    expect(await lineEndsOf(write(aligned))).toBe('crlf');
    expect(await lineEndsOf(write(aligned.slice(0, chunk) + aligned.slice(chunk + 1)))).toBe('mixed');
  });
});
