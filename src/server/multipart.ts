/**
 * @module A streaming reader of the first file in a `multipart/form-data` body (RFC 7578), so an upload
 * form can send a data file of any size without it being held in memory. Fields that are not files
 * are skipped; a body without a file, or cut short, is a clear error.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class MultipartError extends Error {
  readonly statusCode = 400;
  constructor(message: string) {
    super(`upload: ${message}`);
    this.name = 'MultipartError';
  }
}

/** The boundary of a `multipart/form-data` content type, or null when it is not one. */
export function multipartBoundary(contentType: string | undefined): string | null {
  if (!contentType || !/^multipart\/form-data\b/i.test(contentType)) return null;
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const b = m?.[1] ?? m?.[2];
  if (!b) throw new MultipartError('multipart/form-data without a boundary');
  return b;
}

const MAX_HEADER_BYTES = 16 * 1024;

/** Passes through the bytes of the first file part; `filename` is set once its headers are read. */
export class MultipartFileExtractor extends Transform {
  filename: string | null = null;
  private readonly opening: Buffer;
  private readonly delimiter: Buffer;
  private buf: Buffer = Buffer.alloc(0);
  private state: 'preamble' | 'headers' | 'skip' | 'file' | 'done' = 'preamble';

  constructor(boundary: string) {
    super();
    this.opening = Buffer.from(`--${boundary}`);
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    try {
      this.pump();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.state === 'done') return cb();
    cb(new MultipartError(this.state === 'file' ? 'the body ended inside the file (no closing boundary)' : 'the form holds no file'));
  }

  private pump(): void {
    for (;;) {
      switch (this.state) {
        case 'preamble': {
          const i = this.buf.indexOf(this.opening);
          if (i < 0) return this.keepTail(this.opening.length);
          this.buf = this.buf.subarray(i + this.opening.length);
          this.state = 'headers';
          break;
        }
        case 'headers': {
          if (this.buf.length >= 2 && this.buf[0] === 0x2d && this.buf[1] === 0x2d) {
            // `--boundary--`: the last part ended without a file.
            throw new MultipartError('the form holds no file');
          }
          const end = this.buf.indexOf('\r\n\r\n');
          if (end < 0) {
            if (this.buf.length > MAX_HEADER_BYTES) throw new MultipartError('part headers too long');
            return;
          }
          const headers = this.buf.subarray(0, end).toString('utf8');
          this.buf = this.buf.subarray(end + 4);
          const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
          const filename = /filename\*?=(?:"([^"]*)"|([^;\s]+))/i.exec(disposition);
          if (filename) {
            this.filename = filename[1] ?? filename[2] ?? 'upload';
            this.state = 'file';
          } else {
            this.state = 'skip';
          }
          break;
        }
        case 'skip':
        case 'file': {
          const i = this.buf.indexOf(this.delimiter);
          if (i < 0) {
            // Keep enough bytes to find a delimiter split across chunks; pass the rest on.
            const safe = this.buf.length - (this.delimiter.length - 1);
            if (safe > 0) {
              if (this.state === 'file') this.push(this.buf.subarray(0, safe));
              this.buf = this.buf.subarray(safe);
            }
            return;
          }
          if (this.state === 'file') {
            this.push(this.buf.subarray(0, i));
            this.state = 'done';
            this.buf = Buffer.alloc(0);
            return;
          }
          this.buf = this.buf.subarray(i + this.delimiter.length);
          this.state = 'headers';
          // Skip the CRLF after the boundary line.
          if (this.buf.subarray(0, 2).toString() === '\r\n') this.buf = this.buf.subarray(2);
          break;
        }
        case 'done':
          this.buf = Buffer.alloc(0);
          return;
      }
    }
  }

  private keepTail(n: number): void {
    if (this.buf.length > n) this.buf = this.buf.subarray(this.buf.length - n);
  }
}
