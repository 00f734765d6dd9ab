/**
 * @module A buffered CSV file writer: rows are appended to a string and written in chunks of about
 * a megabyte, so memory stays flat however large the file grows. Counts lines (header = line 1).
 */
import fs from 'node:fs';

const CHUNK = 1 << 20;
/** Words built by viewing bytes as a Uint32Array are in the platform's byte order; store them the same way. */
const NATIVE_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

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
/** Chunks of a file being written at once. */
const MAX_INFLIGHT = 3;

export class RowWriter {
  private fd: number;
  private buf: Buffer = Buffer.allocUnsafe(CHUNK + 8192);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private free: Buffer[] = [];
  private inflight = 0;
  private fileOffset = 0;
  private waiters: Array<() => void> = [];
  private error: Error | null = null;
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

  /**
   * Appends `len` bytes held in `src` from word `word` on: whole 32-bit words are stored (unaligned,
   * in the platform's byte order), so a 25-byte timestamp is 7 stores instead of 25. The bytes past `len` in the last
   * word land beyond the row's end and are overwritten by what follows; the buffer has room for them.
   */
  words(src: Uint32Array, word: number, len: number): void {
    const view = this.view;
    let pos = this.pos;
    const end = word + ((len + 3) >> 2);
    for (let i = word; i < end; i++) {
      view.setUint32(pos, src[i], NATIVE_LITTLE_ENDIAN);
      pos += 4;
    }
    this.pos += len;
  }

  /** Appends a comma. */
  comma(): void {
    this.buf[this.pos++] = 44;
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

  /**
   * Hands the buffered rows to the file system and carries on in a fresh buffer. Writes are
   * positional and asynchronous, so the kernel copies one chunk on the thread pool while the
   * generator fills the next; `busy` tells the caller to `drain()` before memory piles up.
   */
  flush(): void {
    // Rows are complete here: begin() marks the row start before flushing, close() after the last row.
    const len = this.rowStart;
    if (len === 0) return;
    const buf = this.buf;
    const carry = this.pos - len;
    this.buf = this.free.pop() ?? Buffer.allocUnsafe(CHUNK + 8192);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    if (carry > 0) buf.copy(this.buf, 0, len, this.pos);
    this.pos = carry;
    this.rowStart = 0;
    this.writeAt(buf, 0, len, this.fileOffset);
    this.fileOffset += len;
    this.bytes += len;
  }

  private writeAt(buf: Buffer, offset: number, len: number, position: number): void {
    this.inflight++;
    fs.write(this.fd, buf, offset, len, position, (err, written) => {
      this.inflight--;
      if (err) this.error ??= err;
      else if (written < len) {
        this.writeAt(buf, offset + written, len - written, position + written);
        return;
      }
      this.free.push(buf);
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    });
  }

  /** True when several chunks are still being written; the caller should `await drain()`. */
  get busy(): boolean {
    return this.inflight >= MAX_INFLIGHT;
  }

  /** Resolves once fewer than `limit` chunks are in flight; rejects if a write failed. */
  async drain(limit = MAX_INFLIGHT): Promise<void> {
    while (this.inflight >= limit) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.error) throw new Error(`${this.path}: ${this.error.message}`);
  }

  /** Writes what is left, waits for every write and closes the file. */
  async close(): Promise<void> {
    this.rowStart = this.pos;
    this.flush();
    await this.drain(1);
    fs.closeSync(this.fd);
  }
}
