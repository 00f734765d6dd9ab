/**
 * @module Recognising an input file: its format (CSV, JSON Lines, Parquet) from its first bytes, and its
 * kind (presences, identity links, people, places) from its header. A file that is none of these is
 * refused before anything is written.
 */
import fs from 'node:fs';
import { FILE_KINDS, type FileKind } from '../domain/formats.ts';
import { parseCsvLine } from './csv-line.ts';

export type FileFormat = 'csv' | 'jsonl' | 'parquet';

/** A file that cannot be ingested at all (empty, unknown format, unknown header). Nothing was written. */
export class IngestFormatError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'IngestFormatError';
  }
}

/** What a file was recognised as. */
export interface SniffResult {
  format: FileFormat;
  /** Columns as the file names them (CSV header order; JSON keys of the first line; Parquet columns). */
  header: string[];
}

const SNIFF_BYTES = 1 << 16;

/** Reads the start of a file and tells its format and header; throws IngestFormatError when it is neither. */
export function sniffFormat(file: string): SniffResult {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new IngestFormatError(file, `cannot open: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const buf = Buffer.alloc(SNIFF_BYTES);
  let got: number;
  try {
    got = fs.readSync(fd, buf, 0, SNIFF_BYTES, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (got === 0) throw new IngestFormatError(file, 'the file is empty (expected a header line naming the columns)');
  const head = buf.subarray(0, got);
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return { format: 'parquet', header: [] };
  let start = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) start = 3;
  // The header ends at the first line end: an LF, a CRLF or a CR alone (see line-ends.ts).
  const lf = head.indexOf(0x0a, start);
  const cr = head.indexOf(0x0d, start);
  let nl = cr >= 0 && (lf < 0 || cr < lf) ? cr : lf;
  if (nl < 0) {
    if (got === SNIFF_BYTES) throw new IngestFormatError(file, `not a known format: no line end in the first ${SNIFF_BYTES} bytes`);
    nl = got;
  }
  const firstBytes = head.subarray(start, nl);
  if (firstBytes.includes(0)) throw new IngestFormatError(file, 'not a known format: binary content (expected CSV, JSON Lines or Parquet)');
  let first: string;
  try {
    first = new TextDecoder('utf-8', { fatal: true }).decode(firstBytes);
  } catch {
    throw new IngestFormatError(file, 'not a known format: the first line is not UTF-8 text');
  }
  if (first.trim() === '') throw new IngestFormatError(file, 'the first line is empty (expected a header line naming the columns)');
  if (first.trimStart().startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(first);
    } catch {
      throw new IngestFormatError(file, 'not a known format: the first line starts like JSON but is not a JSON object');
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new IngestFormatError(file, 'not a known format: the first line is not a JSON object');
    return { format: 'jsonl', header: Object.keys(obj) };
  }
  const parsed = parseCsvLine(first);
  if (!parsed.ok) throw new IngestFormatError(file, `not a known format: header line: ${parsed.reason}`);
  return { format: 'csv', header: parsed.fields.map((f) => f.trim()) };
}

/**
 * The kind whose columns the header names: every required column present and no column unknown to
 * the kind. For JSON Lines only the first line's keys are seen, so optional keys may be absent.
 */
export function kindOfHeader(file: string, header: readonly string[]): FileKind {
  const names = header.map((h) => h.trim());
  const dupe = names.find((h, i) => names.indexOf(h) !== i);
  if (dupe !== undefined) throw new IngestFormatError(file, `header names column "${dupe}" twice`);
  const fits = (Object.keys(FILE_KINDS) as FileKind[]).filter((k) => {
    const spec = FILE_KINDS[k];
    return spec.required.every((c) => names.includes(c)) && names.every((h) => spec.columns.includes(h));
  });
  // People's columns are a subset pattern of no other kind's required set, but prefer the kind with most required columns.
  fits.sort((a, b) => FILE_KINDS[b].required.length - FILE_KINDS[a].required.length);
  if (fits.length > 0) return fits[0];
  const shown = names.slice(0, 12).join(',');
  const kinds = (Object.keys(FILE_KINDS) as FileKind[]).map((k) => `${k} (${FILE_KINDS[k].columns.join(',')}; required ${FILE_KINDS[k].required.join(',')})`);
  throw new IngestFormatError(file, `not a known format: header "${shown}" matches no canonical file kind. Expected one of: ${kinds.join('; ')}`);
}
