import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MultipartFileExtractor, multipartBoundary } from './multipart.ts';

const B = '----cordonBoundary7MA4YWxk';

function body(fileText: string): Buffer {
  return Buffer.from(
    `preamble ignored\r\n--${B}\r\nContent-Disposition: form-data; name="note"\r\n\r\na text field\r\n` +
      `--${B}\r\nContent-Disposition: form-data; name="file"; filename="scans.csv"\r\nContent-Type: text/csv\r\n\r\n${fileText}\r\n` +
      `--${B}--\r\n`,
  );
}

async function extract(chunks: Buffer[]): Promise<{ text: string; filename: string | null }> {
  const sut = new MultipartFileExtractor(B);
  const parts: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    Readable.from(chunks).pipe(sut).on('data', (c: Buffer) => parts.push(c)).on('end', resolve).on('error', reject);
  });
  return { text: Buffer.concat(parts).toString('utf8'), filename: sut.filename };
}

describe('multipart file extraction', () => {
  it('reads the boundary from the content type', () => {
    expect(multipartBoundary(`multipart/form-data; boundary=${B}`)).toBe(B);
    expect(multipartBoundary(`multipart/form-data; boundary="${B}"`)).toBe(B);
    expect(multipartBoundary('text/csv')).toBeNull();
    expect(() => multipartBoundary('multipart/form-data')).toThrow(/without a boundary/);
  });

  it('gives the first file\'s bytes exactly, however the body is split into chunks', async () => {
    const fileText = 'id_kind,id_value\r\nphone,138\r\n--not-a-boundary\r\n中文,"a,b"';
    const whole = body(fileText);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: whole.length }), { maxLength: 12 }), async (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let at = 0;
        for (const p of [...points, whole.length]) {
          if (p > at) chunks.push(whole.subarray(at, p));
          at = p;
        }
        const got = await extract(chunks);
        expect(got).toEqual({ text: fileText, filename: 'scans.csv' });
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a form without a file, and a body cut short', async () => {
    const noFile = Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--${B}--\r\n`);
    await expect(extract([noFile])).rejects.toThrow(/the form holds no file/);
    const cut = body('a,b\n1,2').subarray(0, 150);
    await expect(extract([cut])).rejects.toThrow(/no closing boundary|no file/);
  });
});
