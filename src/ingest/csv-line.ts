/**
 * @module Parsing one CSV line (RFC 4180 quoting: `"` around a field, `""` for a quote inside). Used
 * for headers and for the few lines with quotes; the bulk of a file is split by the SQL engine.
 * A quoted field must close on its own line: an unterminated quote is an error for that line only,
 * so one stray quote cannot swallow the rest of a file.
 */

/** Fields of a line, or the reason it cannot be read. */
export type CsvLineResult = { ok: true; fields: string[] } | { ok: false; reason: string };

/** Splits one line (without its line end) into fields. */
export function parseCsvLine(line: string): CsvLineResult {
  const fields: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    if (line.charCodeAt(i) === 34 /* " */) {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q < 0) return { ok: false, reason: 'unbalanced quotes: a quoted field is not closed on this line' };
        value += line.slice(j, q);
        if (line.charCodeAt(q + 1) === 34) {
          value += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i === n) return { ok: true, fields };
      if (line.charCodeAt(i) !== 44 /* , */) {
        return { ok: false, reason: `unbalanced quotes: text after a closing quote at column ${i + 1}` };
      }
      i++;
    } else {
      const c = line.indexOf(',', i);
      const end = c < 0 ? n : c;
      const value = line.slice(i, end);
      if (value.includes('"')) return { ok: false, reason: `unbalanced quotes: a quote inside an unquoted field at column ${i + 1 + value.indexOf('"')}` };
      fields.push(value);
      if (c < 0) return { ok: true, fields };
      i = c + 1;
    }
  }
}
