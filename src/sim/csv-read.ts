/**
 * @module A small CSV reader for checking generated files in tests: RFC 4180 quoting, one record
 * per line (the generator never writes line breaks inside fields), with 1-based line numbers.
 */
import fs from 'node:fs';

export interface CsvRecord {
  /** 1-based line number in the file; the header is line 1. */
  line: number;
  fields: string[];
  /** The raw line, without its line break. */
  text: string;
}

/** Splits one line into fields; throws on an unbalanced quote. */
export function splitCsvLine(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error(`unbalanced quote in: ${text}`);
        value += text.slice(i, q);
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(value);
    } else {
      const c = text.indexOf(',', i);
      out.push(text.slice(i, c < 0 ? text.length : c));
      i = c < 0 ? text.length : c;
    }
    if (i >= text.length) break;
    i++; // the comma
    if (i === text.length) {
      out.push('');
      break;
    }
  }
  return out;
}

/** Reads a whole CSV file: its header and every record after it. */
export function readCsv(path: string): { header: string[]; records: CsvRecord[] } {
  const text = fs.readFileSync(path, 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const header = splitCsvLine(lines[0] ?? '');
  const records: CsvRecord[] = [];
  for (let i = 1; i < lines.length; i++) records.push({ line: i + 1, fields: splitCsvLine(lines[i]), text: lines[i] });
  return { header, records };
}
