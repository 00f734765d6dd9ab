/**
 * @module A buffered CSV file writer: rows are appended to a string and written in chunks of about
 * a megabyte, so memory stays flat however large the file grows. Counts lines (header = line 1).
 */
import fs from 'node:fs';

const CHUNK = 1 << 20;

/** Quotes a CSV field when it holds a comma, quote or line break. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export class CsvSink {
  private fd: number;
  private buf = '';
  /** Lines written so far, the header included; the next row will be line `lines + 1`. */
  lines = 0;
  /** Data rows written (lines minus the header). */
  get rows(): number {
    return this.lines - 1;
  }
  bytes = 0;

  constructor(readonly path: string, header: readonly string[]) {
    this.fd = fs.openSync(path, 'w');
    this.line(header.join(','));
  }

  /** Appends one line (without its line break). */
  line(text: string): void {
    this.buf += text + '\n';
    this.lines++;
    if (this.buf.length > CHUNK) this.flush();
  }

  /** Writes what is buffered. */
  flush(): void {
    if (this.buf.length === 0) return;
    this.bytes += fs.writeSync(this.fd, this.buf);
    this.buf = '';
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}

/**
 * A CSV writer for the big presence files that encodes straight into a byte buffer: no string is
 * built per row, so the hot loop makes no garbage. Fields are appended between `begin()` and `end()`;
 * a row can be repeated (a duplicate) or replaced by a corrupted copy after it is written.
 */
export class RowWriter {
  private fd: number;
  private buf = Buffer.allocUnsafe(CHUNK + 8192);
  private pos = 0;
  private rowStart = 0;
  /** Lines written so far, the header included; the next row will be line `lines + 1`. */
  lines = 0;
  bytes = 0;

  get rows(): number {
    return this.lines - 1;
  }

  constructor(readonly path: string, header: readonly string[]) {
    this.fd = fs.openSync(path, 'w');
    this.begin();
    this.ascii(header.join(','));
    this.end();
  }

  /** Starts a row; rows are at most a few hundred bytes, so one check here keeps the buffer from overflowing. */
  begin(): void {
    this.rowStart = this.pos;
    if (this.pos > CHUNK) this.flush();
  }

  /** Appends one byte. */
  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** Appends an ASCII string. */
  ascii(s: string): void {
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
    this.pos = pos;
  }

  /** Appends any string as UTF-8 (for the few non-ASCII fields, like plates). */
  utf8(s: string): void {
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Appends pre-encoded bytes. */
  raw(b: Uint8Array): void {
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < b.length; i++) buf[pos++] = b[i];
    this.pos = pos;
  }

  /** Appends `len` bytes of `src` from `offset`. */
  rawRange(src: Uint8Array, offset: number, len: number): void {
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < len; i++) buf[pos++] = src[offset + i];
    this.pos = pos;
  }

  /** Appends a comma. */
  comma(): void {
    this.buf[this.pos++] = 44;
  }

  /** Appends n commas. */
  commas(n: number): void {
    for (let i = 0; i < n; i++) this.buf[this.pos++] = 44;
  }

  /** Appends two digits. */
  digits2(n: number): void {
    this.buf[this.pos++] = 48 + ((n / 10) | 0);
    this.buf[this.pos++] = 48 + (n % 10);
  }

  /** Ends the row with a line break. */
  end(): void {
    this.buf[this.pos++] = 10;
    this.lines++;
  }

  /** The text of the row just ended (without its line break). */
  lastRow(): string {
    return this.buf.toString('utf8', this.rowStart, this.pos - 1);
  }

  /** Writes the row just ended once more (an exact duplicate line). */
  repeatLast(): void {
    const len = this.pos - this.rowStart;
    this.buf.copyWithin(this.pos, this.rowStart, this.pos);
    this.rowStart = this.pos;
    this.pos += len;
    this.lines++;
  }

  /** Appends a whole line given as text. */
  line(text: string): void {
    this.begin();
    this.utf8(text);
    this.end();
  }

  flush(): void {
    if (this.pos === 0) return;
    // Keep the current row's bytes: it may still be repeated after the flush.
    let off = 0;
    while (off < this.rowStart) off += fs.writeSync(this.fd, this.buf, off, this.rowStart - off);
    this.bytes += this.rowStart;
    this.buf.copyWithin(0, this.rowStart, this.pos);
    this.pos -= this.rowStart;
    this.rowStart = 0;
  }

  close(): void {
    this.rowStart = this.pos;
    this.flush();
    fs.closeSync(this.fd);
  }
}
