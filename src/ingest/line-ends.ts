/**
 * @module Line ends of a text file. Cordon reads a line end as a line feed (LF), a carriage return
 * and line feed (CRLF), or a carriage return alone (CR), in any mix within one file: exports edited
 * on different systems and joined end to end are common, and a stray CR must not make a whole file
 * unreadable. DuckDB's CSV reader takes one kind of line end per file and refuses a file with a CR
 * anywhere else, so the SQL engine reads such a file from a copy with every line end made an LF
 * (`copyWithLf`): each line end stays one line end, so line numbers do not change.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const LF = 10;
const CR = 13;
const CHUNK = 1 << 20;

/** How a file ends its lines: LF only (or no line end at all), CRLF only, or anything else. */
export type LineEnds = 'lf' | 'crlf' | 'mixed';

/** Reads the file once: `lf` when it has no CR, `crlf` when every LF follows a CR and every CR precedes an LF, else `mixed`. */
export async function lineEndsOf(file: string): Promise<LineEnds> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let offset = 0;
    let sawCr = false;
    let sawLf = false;
    // Whether every LF so far followed a CR, and the byte before this chunk was a CR.
    let allCrlf = true;
    let prevCr = false;
    for (;;) {
      const { bytesRead: n } = await fd.read(buf, 0, CHUNK, offset);
      if (n === 0) break;
      offset += n;
      const b = buf.subarray(0, n);
      // A CR must be followed by an LF (the first byte of this chunk, for a CR that ended the last one).
      if (prevCr && b[0] !== LF) return 'mixed';
      const firstCr = b.indexOf(CR);
      if (firstCr >= 0) {
        if (!allCrlf) return 'mixed';
        sawCr = true;
        for (let i = firstCr; i >= 0; i = b.indexOf(CR, i + 1)) if (i + 1 < n && b[i + 1] !== LF) return 'mixed';
      }
      // An LF must follow a CR. Once one does not, only the absence of CRs is left to check.
      if (allCrlf) {
        for (let i = b.indexOf(LF); i >= 0; i = b.indexOf(LF, i + 1)) {
          sawLf = true;
          if (!(i > 0 ? b[i - 1] === CR : prevCr)) {
            if (sawCr) return 'mixed';
            allCrlf = false;
            break;
          }
        }
      }
      prevCr = b[n - 1] === CR;
    }
    if (prevCr) return 'mixed'; // a CR as the last byte ends the last line alone
    if (!sawCr) return 'lf';
    return sawLf && allCrlf ? 'crlf' : 'mixed';
  } finally {
    await fd.close();
  }
}

/** Writes a copy of `file` to `out` with every line end (CRLF, LF or a CR alone) as an LF. */
export async function copyWithLf(file: string, out: string): Promise<void> {
  const src = await fs.promises.open(file, 'r');
  const dst = await fs.promises.open(out, 'w');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    const res = Buffer.allocUnsafe(CHUNK);
    let offset = 0;
    let prevCr = false;
    for (;;) {
      const { bytesRead: n } = await src.read(buf, 0, CHUNK, offset);
      if (n === 0) break;
      offset += n;
      let w = 0;
      let from = 0;
      // An LF right after a CR at the end of the last chunk: that CR was written as the line end already.
      if (prevCr && buf[0] === LF) from = 1;
      for (let i = buf.indexOf(CR, from); i >= 0 && i < n; i = buf.indexOf(CR, from)) {
        w += buf.copy(res, w, from, i);
        res[w++] = LF;
        from = i + 1;
        if (from < n && buf[from] === LF) from++;
      }
      if (from < n) w += buf.copy(res, w, from, n);
      prevCr = buf[n - 1] === CR;
      await dst.write(res, 0, w);
    }
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
}

/** A path for a temporary copy of a file, in the system's temporary folder. */
export function tempCopyPath(file: string): string {
  return path.join(os.tmpdir(), `cordon-lf-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}-${path.basename(file)}`);
}
