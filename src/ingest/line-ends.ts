/**
 * @module Line ends of a text file. Cordon reads a line end as a line feed (LF), a carriage return
 * and line feed (CRLF), or a carriage return alone (CR), in any mix within one file: exports edited
 * on different systems and joined end to end are common, and a stray CR must not make a whole file
 * unreadable. DuckDB's CSV reader takes one kind of line end per file and refuses a file with a CR
 * anywhere else, so the SQL engine reads such a file from a copy with every line end made an LF
 * (`copyForReader`): each line end stays one line end, so line numbers do not change. The same copy
 * serves a file that holds U+0001, which that reader misses at the end of a line (`TextShape.ctl1`).
 */
import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const LF = 10;
const CR = 13;
const CTL1 = 1;
const SPACE = 32;
const LF_BYTE = Buffer.from([LF]);
/** A line the reader always rejects for an extra column (see `copyForReader`). */
const MARKER = Buffer.from([CTL1, 0x21]);
const CHUNK = 1 << 20;
/** A line longer than this is written through, not held (longer than any line the readers accept: staging's MAX_LINE_BYTES). */
const HOLD_MAX = 4 << 20;

/** How a file ends its lines: LF only (or no line end at all), CRLF only, or anything else. */
export type LineEnds = 'lf' | 'crlf' | 'mixed';

/** What a reader of lines needs to know of a file before DuckDB reads it. */
export interface TextShape {
  ends: LineEnds;
  /**
   * The file holds U+0001 (the byte 0x01). The SQL engine reads lines with it as the column delimiter
   * and rejects a line that holds it by the extra column; DuckDB's reader takes one at the very end of
   * a line for an empty last column and drops it, so such a file is read from a copy (`copyForReader`).
   */
  ctl1: boolean;
}

/** Whether the SQL engine must read the file from a copy made by `copyForReader`. */
export function needsCopy(shape: TextShape): boolean {
  return shape.ends === 'mixed' || shape.ctl1;
}

/** Reads the file once: `lf` when it has no CR, `crlf` when every LF follows a CR and every CR precedes an LF, else `mixed`; and whether it holds the byte 0x01. */
export async function textShapeOf(file: string): Promise<TextShape> {
  let ctl1 = false;
  let mixed = false;
  let sawCr = false;
  let sawLf = false;
  // Whether every LF so far followed a CR, and the byte before this chunk was a CR.
  let allCrlf = true;
  let prevCr = false;
  for await (const b of chunksOf(file)) {
    const n = b.length;
    if (!ctl1 && b.indexOf(CTL1) >= 0) ctl1 = true;
    if (mixed) {
      if (ctl1) break;
      continue;
    }
    mixed = mixedIn(b, prevCr, allCrlf);
    if (!mixed) {
      // An LF must follow a CR. Once one does not, only the absence of CRs is left to check.
      if (b.indexOf(CR) >= 0) sawCr = true;
      if (allCrlf) {
        for (let i = b.indexOf(LF); i >= 0; i = b.indexOf(LF, i + 1)) {
          sawLf = true;
          if (!(i > 0 ? b[i - 1] === CR : prevCr)) {
            if (sawCr) mixed = true;
            allCrlf = false;
            break;
          }
        }
      }
    }
    prevCr = b[n - 1] === CR;
  }
  // A CR as the last byte ends the last line alone.
  if (mixed || prevCr) return { ends: 'mixed', ctl1 };
  if (!sawCr) return { ends: 'lf', ctl1 };
  return { ends: sawLf && allCrlf ? 'crlf' : 'mixed', ctl1 };
}

/** Whether a chunk shows the file's line ends mixed: a CR not followed by an LF, or a CR after an LF alone. */
function mixedIn(b: Buffer, prevCr: boolean, allCrlf: boolean): boolean {
  const n = b.length;
  // A CR must be followed by an LF (the first byte of this chunk, for a CR that ended the last one).
  if (prevCr && b[0] !== LF) return true;
  const firstCr = b.indexOf(CR);
  if (firstCr < 0) return false;
  if (!allCrlf) return true;
  for (let i = firstCr; i >= 0; i = b.indexOf(CR, i + 1)) if (i + 1 < n && b[i + 1] !== LF) return true;
  return false;
}

/**
 * Writes a copy of `file` to `out` that DuckDB's reader reads line for line as Cordon does: every line
 * end (CRLF, LF or a CR alone) an LF, so each stays one line end and line numbers do not change. A
 * line that holds U+0001 is rejected for it, unless it is rejected first for being too long
 * (`maxLine` bytes or more without its line end) or for invalid UTF-8, as the fast engine checks: it
 * becomes a line the reader always rejects for an extra column (`U+0001 !`; the reader takes
 * empty extra columns, as at the end of a line, for none), or in the other two cases keeps its bytes
 * with each U+0001 made a space, so only the first reason is given.
 */
export async function copyForReader(file: string, out: string, maxLine: number): Promise<void> {
  const dst = await fs.promises.open(out, 'w');
  try {
    const res = Buffer.allocUnsafe(CHUNK + 1);
    let w = 0;
    const flush = async (): Promise<void> => {
      if (w > 0) await dst.write(res, 0, w);
      w = 0;
    };
    /** A line with U+0001 (and its line end when `end`). */
    const odd = async (line: Buffer, end: boolean): Promise<void> => {
      await flush();
      const keep = line.length >= maxLine || !isUtf8(line);
      const text = keep ? Buffer.from(line).map((x) => (x === CTL1 ? SPACE : x)) : MARKER;
      await dst.write(end ? Buffer.concat([text, LF_BYTE]) : text);
    };
    let prevCr = false;
    // The start of a line that runs on past the chunk (copied: the chunk's buffer is read into again).
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let pendingCtl = false;
    // The line's start is written already: a line longer than any the readers accept is not held.
    let through = false;
    for await (const b of chunksOf(file)) {
      const n = b.length;
      let s = 0;
      // The LF of a CRLF whose CR ended the last chunk: that CR was written as the line end already.
      if (prevCr && b[0] === LF) s = 1;
      let nextLf = -1;
      let nextCr = -1;
      let nextCtl = -1;
      for (;;) {
        if (nextLf < s) nextLf = upTo(b.indexOf(LF, s), n);
        if (nextCr < s) nextCr = upTo(b.indexOf(CR, s), n);
        if (nextCtl < s) nextCtl = upTo(b.indexOf(CTL1, s), n);
        const e = nextLf < nextCr ? nextLf : nextCr;
        const ctl = nextCtl < e;
        if (through) {
          // The rest of a line too long to read: its bytes as they are, U+0001 made a space.
          await flush();
          await dst.write(ctl ? Buffer.from(b.subarray(s, e)).map((x) => (x === CTL1 ? SPACE : x)) : b.subarray(s, e));
          if (e < n) {
            await dst.write(LF_BYTE);
            through = false;
          }
        } else if (e === n) {
          if (s < n) {
            pending.push(Buffer.from(b.subarray(s, n)));
            pendingBytes += n - s;
            if (ctl) pendingCtl = true;
            if (pendingBytes > HOLD_MAX) {
              await flush();
              const head = Buffer.concat(pending);
              await dst.write(pendingCtl ? head.map((x) => (x === CTL1 ? SPACE : x)) : head);
              pending = [];
              pendingBytes = 0;
              pendingCtl = false;
              through = true;
            }
          }
        } else if (pending.length) {
          const line = Buffer.concat([...pending, b.subarray(s, e)]);
          if (pendingCtl || ctl) await odd(line, true);
          else {
            await flush();
            await dst.write(Buffer.concat([line, LF_BYTE]));
          }
          pending = [];
          pendingBytes = 0;
          pendingCtl = false;
        } else if (ctl) {
          await odd(b.subarray(s, e), true);
        } else {
          w += b.copy(res, w, s, e);
          res[w++] = LF;
        }
        if (e === n) break;
        s = e + 1;
        if (b[e] === CR && s < n && b[s] === LF) s++;
      }
      prevCr = b[n - 1] === CR;
      await flush();
    }
    // The last line, with no line end.
    if (pending.length) {
      const line = Buffer.concat(pending);
      if (pendingCtl) await odd(line, false);
      else await dst.write(line);
    }
  } finally {
    await dst.close();
  }
}

/** The file's bytes, a chunk at a time, each in the same buffer (valid until the next is read). */
async function* chunksOf(file: string): AsyncGenerator<Buffer> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let offset = 0; ; ) {
      const { bytesRead: n } = await fd.read(buf, 0, CHUNK, offset);
      if (n === 0) return;
      offset += n;
      yield buf.subarray(0, n);
    }
  } finally {
    await fd.close();
  }
}

function upTo(i: number, n: number): number {
  return i < 0 || i > n ? n : i;
}

/** A path for a temporary copy of a file, in the system's temporary folder. */
export function tempCopyPath(file: string): string {
  return path.join(os.tmpdir(), `cordon-lf-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}-${path.basename(file)}`);
}
