/**
 * @module Reading a file into a staging table of text fields, one row per record with its line number,
 * in a DuckDB-dialect SQL engine. Every field is read as text so that nothing is turned into NULL by
 * a lenient cast; structural problems (invalid UTF-8, overlong lines, wrong column counts, unbalanced
 * quotes, invalid JSON) become reject rows with their line number instead.
 */
import fs from 'node:fs';
import { FILE_KINDS, type FileKind } from '../domain/formats.ts';
import type { SqlRunner, SqlValue } from '../stores/presence/presence-store.ts';
import { parseCsvLine } from './csv-line.ts';
import { copyForReader, needsCopy, tempCopyPath, textShapeOf } from './line-ends.ts';
import type { FileFormat } from './sniff.ts';

/** Longest accepted line, in bytes: longer lines are rejected, not read. */
export const MAX_LINE_BYTES = 1 << 20;
/** A line whose quotes only wrap whole fields, with no comma or quote inside them. */
const SIMPLE_QUOTED = '("[^",]*"|[^",]*)(,("[^",]*"|[^",]*))*';
/** Longest accepted field, in characters. */
export const MAX_FIELD_CHARS = 1024;

/** Names of the staging tables of one ingest. */
export interface StagingTables {
  /**
   * A view `line UBIGINT, nf INTEGER, <kind's columns> VARCHAR, maxbytes BIGINT`: the text fields of
   * each record and a bound on the bytes of its longest field (see fieldBytes). For
   * CSV it splits lines as it is read, so the bulk of a file is never copied into a table of fields.
   */
  raw: string;
  /** `line UBIGINT, field VARCHAR, reason VARCHAR, value VARCHAR`: rejected records. */
  rej: string;
}

/** Quotes a text as a SQL string literal (no backslash escapes in DuckDB's standard strings). */
export function lit(s: string): string {
  if (s.includes('\u0000')) throw new Error('text with a NUL character');
  return `'${s.replace(/'/g, "''")}'`;
}

/** Quotes an identifier (a column name). */
export function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/**
 * `maxbytes`: the byte length of the record's longest field, or a bound above it. Validation measures
 * a field's characters only when this is over the limit.
 */
function fieldBytes(kind: FileKind): string {
  return `greatest(${FILE_KINDS[kind].columns.map((c) => `strlen(${ident(c)})`).join(', ')}) AS maxbytes`;
}

/** Creates the empty staging tables for a file of `kind`: `${raw}_t` holds fields not split by the view. */
async function createStagingTables(sql: SqlRunner, t: StagingTables, kind: FileKind): Promise<void> {
  const cols = FILE_KINDS[kind].columns.map((c) => `${ident(c)} VARCHAR`).join(', ');
  await sql.run(`CREATE OR REPLACE TEMP TABLE ${t.raw}_t (line UBIGINT, nf INTEGER, ${cols});
CREATE OR REPLACE TEMP TABLE ${t.rej} (line UBIGINT, field VARCHAR, reason VARCHAR, value VARCHAR);`);
}

/**
 * Reads every physical line of a text file, numbered with its true line number.
 * DuckDB's CSV reader does the I/O and UTF-8 checks in parallel; lines it cannot read (invalid UTF-8,
 * too long) go to the rejects table with their line number, and the numbers of the lines after them
 * are shifted back into place.
 */
async function readLines(sql: SqlRunner, file: string, prefix: string, t: StagingTables): Promise<Lines> {
  const lines = `${prefix}_lines`;
  const errs = `${prefix}_errs`;
  // DuckDB's reader takes one kind of line end per file, and misses a U+0001 at the end of a line: a
  // file with mixed line ends (or a CR alone) or with U+0001 is read from a copy made for it, numbered
  // the same (line-ends.ts). Its line length limit counts a CR before the LF; the limit is on the line
  // without its line end, so a CRLF file gets one byte more.
  const shape = await textShapeOf(file);
  const copy = needsCopy(shape) ? tempCopyPath(file) : undefined;
  if (copy) await copyForReader(file, copy, MAX_LINE_BYTES);
  const ends = copy ? 'lf' : shape.ends;
  const maxLine = ends === 'crlf' ? MAX_LINE_BYTES + 1 : MAX_LINE_BYTES;
  // Delimiter U+0001 so each physical line is one field; quotes are left for the field splitter.
  // Line numbers come from rowid, which follows the file only while insertion order is preserved.
  // Everything after this read carries its line number in a column, so order is given up again at
  // once (for this connection only): it lets the validation and the batch inserts run unordered, in parallel.
  try {
    await sql.run(`SET SESSION preserve_insertion_order = true; CREATE OR REPLACE TEMP TABLE ${lines} AS SELECT l FROM read_csv(${lit(copy ?? file)},
  columns = {'l': 'VARCHAR'}, delim = '\u0001', quote = '', escape = '', header = false, auto_detect = false,
  store_rejects = true, rejects_table = '${errs}', rejects_scan = '${errs}_scan', max_line_size = ${maxLine}, new_line = '${ends === 'crlf' ? '\\r\\n' : '\\n'}');
SET SESSION preserve_insertion_order = false;`);
  } finally {
    if (copy) await fs.promises.rm(copy, { force: true });
  }
  const errors = Number((await sql.rows(`SELECT count(DISTINCT line) AS n FROM ${errs}`))[0].n);
  const drop = [`DROP TABLE IF EXISTS ${lines}`, `DROP TABLE IF EXISTS ${errs}`, `DROP TABLE IF EXISTS ${errs}_scan`];
  if (errors === 0) return { numbered: `(SELECT (rowid + 1)::UBIGINT AS line, l FROM ${lines})`, drop };
  await sql.run(`
INSERT INTO ${t.rej}
SELECT line, '(line)', CASE any_value(error_type)
    WHEN 'INVALID ENCODING' THEN 'invalid UTF-8: the file must be UTF-8 encoded'
    WHEN 'LINE SIZE OVER MAXIMUM' THEN 'line too long (more than ${MAX_LINE_BYTES} bytes)'
    WHEN 'TOO MANY COLUMNS' THEN 'contains the control character U+0001'
    ELSE any_value(error_type) || ': ' || any_value(error_message) END, NULL
FROM ${errs} GROUP BY line;
CREATE OR REPLACE TEMP TABLE ${prefix}_shift AS
  SELECT k, max(j) AS j FROM (SELECT line - row_number() OVER (ORDER BY line) AS k, row_number() OVER (ORDER BY line) AS j
                             FROM (SELECT DISTINCT line FROM ${errs})) GROUP BY k;`);
  drop.push(`DROP TABLE IF EXISTS ${prefix}_shift`);
  // Row r of the lines read comes after the j-th unreadable line when r > (that line's number - j).
  return {
    numbered: `(SELECT (n.r + coalesce(s.j, 0))::UBIGINT AS line, n.l FROM (SELECT rowid + 1 AS r, l FROM ${lines}) n
      ASOF LEFT JOIN ${prefix}_shift s ON n.r > s.k)`,
    drop,
  };
}

/** The lines of a file as a subquery `(line, l)`, and the statements that drop what it reads from. */
interface Lines {
  numbered: string;
  drop: string[];
}

/** Builds a multi-row VALUES insert; values are literals quoted here. */
function valuesInsert(table: string, rows: readonly (readonly SqlValue[])[]): string {
  const body = rows
    .map((r) => `(${r.map((v) => (v === null ? 'NULL' : typeof v === 'string' ? lit(v) : String(v))).join(', ')})`)
    .join(',\n');
  return `INSERT INTO ${table} VALUES ${body}`;
}

/** Inserts rows into a temporary table: by the engine's appender when it has one, else by INSERT text. */
async function insertRows(sql: SqlRunner, table: string, rows: readonly (readonly SqlValue[])[]): Promise<void> {
  if (rows.length === 0) return;
  if (sql.append) return sql.append(table, rows);
  for (let i = 0; i < rows.length; i += 1000) await sql.run(valuesInsert(table, rows.slice(i, i + 1000)));
}

/** Stages a CSV file (header already recognised) into `t.raw` / `t.rej`; returns the statements that drop what the view reads. */
async function stageCsv(sql: SqlRunner, file: string, kind: FileKind, header: readonly string[], prefix: string, t: StagingTables): Promise<string[]> {
  const { numbered: num, drop } = await readLines(sql, file, prefix, t);
  const cols = FILE_KINDS[kind].columns;
  // 1-based position of each canonical column in the file's header, or absent.
  const pos = cols.map((c) => header.indexOf(c) + 1);
  const picks = pos.map((p, i) => `${p > 0 ? `f[${p}]` : 'NULL::VARCHAR'} AS ${ident(cols[i])}`).join(', ');
  // One scan picks out the few lines that need more than a split (a quote or a NUL character).
  const special = `${prefix}_special`;
  await sql.run(`CREATE OR REPLACE TEMP TABLE ${special} AS SELECT line, l, contains(l, chr(0)) AS nul
    FROM ${num} WHERE line > 1 AND (contains(l, '"') OR contains(l, chr(0)));
INSERT INTO ${t.rej} SELECT line, '(line)', 'contains a NUL character', NULL FROM ${special} WHERE nul`);
  drop.unshift(`DROP TABLE IF EXISTS ${special}`);
  // Lines with quotes are picked out in one scan. Those whose quotes only wrap whole fields with no
  // comma or quote inside (`"a","b",c`: typical of exports that quote everything) are split in SQL
  // like the rest; the others go through an RFC 4180 parser here, page by page (by rowid, so no page
  // rescans the file).
  const quoted = `${prefix}_quoted`;
  await sql.run(`CREATE OR REPLACE TEMP TABLE ${quoted} AS SELECT line, l, regexp_full_match(l, '${SIMPLE_QUOTED}') AS simple
    FROM ${special} WHERE NOT nul`);
  drop.unshift(`DROP TABLE IF EXISTS ${quoted}`);
  const unquote = (x: string): string => `CASE WHEN ${x}[1] = '"' THEN ${x}[2:-2] ELSE ${x} END`;
  const quotedPicks = pos.map((p, i) => `${p > 0 ? unquote(`f[${p}]`) : 'NULL::VARCHAR'} AS ${ident(cols[i])}`).join(', ');
  // A split line's length bounds each of its fields: one strlen instead of one per field.
  await sql.run(`CREATE OR REPLACE TEMP VIEW ${t.raw} AS
SELECT line, len(f) AS nf, ${picks}, strlen(l) AS maxbytes FROM (SELECT line, l, string_split(l, ',') AS f FROM ${num}
  WHERE line > 1 AND l IS NOT NULL AND NOT contains(l, '"') AND NOT contains(l, chr(0)))
UNION ALL SELECT line, len(f) AS nf, ${quotedPicks}, strlen(l) AS maxbytes FROM (SELECT line, l, string_split(l, ',') AS f FROM ${quoted} WHERE simple)
UNION ALL SELECT *, ${fieldBytes(kind)} FROM ${t.raw}_t`);
  await sql.run(`CREATE OR REPLACE TEMP TABLE ${quoted}_hard AS SELECT line, l FROM ${quoted} WHERE NOT simple`);
  drop.unshift(`DROP TABLE IF EXISTS ${quoted}_hard`);
  const total = Number((await sql.rows(`SELECT count(*) AS n FROM ${quoted}_hard`))[0].n);
  const PAGE = 50_000;
  for (let from = 0; from < total; from += PAGE) {
    const [lineCol, textCol] = await sql.columns(`SELECT line, l FROM ${quoted}_hard WHERE rowid >= ${from} AND rowid < ${from + PAGE}`);
    const good: SqlValue[][] = [];
    const bad: SqlValue[][] = [];
    for (let i = 0; i < lineCol.length; i++) {
      const line = Number(lineCol[i]);
      const parsed = parseCsvLine(String(textCol[i]).replace(/\r$/, ''));
      if (!parsed.ok) {
        bad.push([line, '(line)', parsed.reason, null]);
        continue;
      }
      good.push([line, parsed.fields.length, ...pos.map((p) => (p > 0 ? (parsed.fields[p - 1] ?? null) : null))]);
    }
    await insertRows(sql, `${t.raw}_t`, good);
    await insertRows(sql, t.rej, bad);
  }
  return drop;
}

/** Stages a JSON Lines file: each line one JSON object with the canonical field names. */
async function stageJsonl(sql: SqlRunner, file: string, kind: FileKind, prefix: string, t: StagingTables): Promise<void> {
  const { numbered: num, drop } = await readLines(sql, file, prefix, t);
  const cols = FILE_KINDS[kind].columns;
  const known = `[${cols.map(lit).join(', ')}]`;
  await sql.run(`
CREATE OR REPLACE TEMP TABLE ${prefix}_json AS
SELECT line, l, json_valid(l) AS ok,
  CASE WHEN json_valid(l) THEN json_type(l) END AS typ,
  CASE WHEN json_valid(l) AND json_type(l) = 'OBJECT' THEN list_filter(json_keys(l), k -> NOT list_contains(${known}, k)) END AS unknown
FROM ${num} WHERE l IS NOT NULL AND trim(l) <> '';
INSERT INTO ${t.rej}
SELECT line, '(line)', 'not valid JSON', left(l, 200) FROM ${prefix}_json WHERE NOT ok
UNION ALL SELECT line, '(line)', 'not a JSON object', left(l, 200) FROM ${prefix}_json WHERE ok AND typ <> 'OBJECT'
UNION ALL SELECT line, unknown[1], 'unknown field for a ${kind} file (expected ${cols.join(', ')})', NULL
  FROM ${prefix}_json WHERE ok AND typ = 'OBJECT' AND len(unknown) > 0;
INSERT INTO ${t.raw}_t
SELECT line, ${cols.length}, ${cols.map((_, i) => `j[${i + 1}]`).join(', ')}
FROM (SELECT line, json_extract_string(l, [${cols.map((c) => lit(`$.${c}`)).join(', ')}]) AS j
      FROM ${prefix}_json WHERE ok AND typ = 'OBJECT' AND len(unknown) = 0);
DROP TABLE ${prefix}_json;`);
  for (const d of drop) await sql.run(d);
}

/** Column names of a Parquet file (for recognising its kind). */
export async function parquetColumns(sql: SqlRunner, file: string): Promise<string[]> {
  const rows = await sql.rows(`DESCRIBE SELECT * FROM read_parquet(${lit(file)})`);
  return rows.map((r) => String(r.column_name));
}

/** Stages a Parquet file; "line" is the 1-based row number. Typed columns are read back as text and validated like CSV. */
async function stageParquet(sql: SqlRunner, file: string, kind: FileKind, header: readonly string[], t: StagingTables): Promise<void> {
  const cols = FILE_KINDS[kind].columns;
  const picks = cols.map((c) => (header.includes(c) ? `CAST(${ident(c)} AS VARCHAR)` : 'NULL')).join(', ');
  await sql.run(`INSERT INTO ${t.raw}_t SELECT file_row_number + 1, ${cols.length}, ${picks} FROM read_parquet(${lit(file)}, file_row_number = true)`);
}

/**
 * Reads a file of a recognised format and kind into the staging view and rejects table. Returns the
 * statements that drop every staging object (run them when the view is no longer read).
 */
export async function stageFile(
  sql: SqlRunner,
  file: string,
  format: FileFormat,
  kind: FileKind,
  header: readonly string[],
  prefix: string,
  t: StagingTables,
): Promise<string[]> {
  await createStagingTables(sql, t, kind);
  const own = [`DROP VIEW IF EXISTS ${t.raw}`, `DROP TABLE IF EXISTS ${t.raw}_t`];
  switch (format) {
    case 'csv':
      return [...own, ...(await stageCsv(sql, file, kind, header, prefix, t))];
    case 'jsonl':
      await stageJsonl(sql, file, kind, prefix, t);
      break;
    case 'parquet':
      await stageParquet(sql, file, kind, header, t);
      break;
  }
  await sql.run(`CREATE OR REPLACE TEMP VIEW ${t.raw} AS SELECT *, ${fieldBytes(kind)} FROM ${t.raw}_t`);
  return own;
}
