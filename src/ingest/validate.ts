/**
 * @module Validation of staged text fields, in SQL: each record gets the first problem found (field and
 * reason) or its normalised, typed values. Every cast is checked: a value that matches the expected
 * shape but does not convert (2020-13-45) is rejected as impossible, never stored as NULL.
 */
import { DEFAULT_DWELL_SECONDS } from '../domain/dwell.ts';
import { FILE_KINDS, ID_KINDS, PLACE_KINDS, type FileKind, type PlaceKind } from '../domain/formats.ts';
import type { SqlRunner } from '../stores/presence/presence-store.ts';
import { MAX_FIELD_CHARS, ident, lit, type StagingTables } from './staging.ts';

/** A problem check: when `when` holds, the record is rejected for `field` with `reason` (SQL expressions). */
interface Check {
  field: string;
  when: string;
  reason: string;
  /** The offending value shown in the rejects file (SQL expression). */
  value?: string;
}

const RE_DATE = String.raw`\d{4}-\d{2}-\d{2}`;
const RE_DATETIME = String.raw`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s?(Z|z|[+-]\d{2}(:?\d{2})?)?`;
/** Latest time a UINTEGER epoch column holds, with a day to spare for end times. */
const MAX_EPOCH = 2 ** 32 - 1 - 86_400;

/**
 * Checks shared by every kind: a line of spaces only, and field lengths. The character count is only
 * taken when the byte length (≥ characters) is over the limit: CASE evaluates its branches lazily.
 */
function commonChecks(kind: FileKind): Check[] {
  const cols = FILE_KINDS[kind].columns;
  const n = cols.length;
  const out: Check[] = [
    { field: '(line)', when: `nf = 1 AND trim(${ident(cols[0])}) = ''`, reason: `'blank line (spaces only)'` },
    { field: '(row)', when: `nf <> ${n}`, reason: `'wrong number of columns: expected ${n}, found ' || nf` },
  ];
  for (const c of cols) {
    out.push({
      field: c,
      when: `CASE WHEN maxbytes > ${MAX_FIELD_CHARS} THEN length(${ident(c)}) > ${MAX_FIELD_CHARS} ELSE false END`,
      reason: `'too long: ' || length(${ident(c)}) || ' characters (at most ${MAX_FIELD_CHARS})'`,
      value: `left(${ident(c)}, 60) || '…'`,
    });
  }
  return out;
}


function requiredText(col: string, what: string): Check {
  return { field: col, when: `${ident(col)} IS NULL`, reason: lit(`empty ${what}`) };
}

function kindCheck(col: string, allowed: readonly string[], what: string): Check[] {
  return [
    requiredText(col, what),
    {
      field: col,
      // list_contains rather than NOT IN: the planner turns a long NOT IN into a join.
      when: `NOT list_contains([${allowed.map(lit).join(', ')}], ${ident(col)})`,
      reason: lit(`unknown ${what} (expected one of ${allowed.join(', ')})`),
      value: ident(col),
    },
  ];
}

function coordinateChecks(latCol: string, lonCol: string): Check[] {
  const out: Check[] = [];
  for (const [col, limit, what] of [[latCol, 90, 'latitude'], [lonCol, 180, 'longitude']] as const) {
    const c = ident(col);
    out.push(
      { field: col, when: `${c} IS NOT NULL AND try_cast(${c} AS DOUBLE) IS NULL`, reason: `'not a number'`, value: c },
      { field: col, when: `${c} IS NOT NULL AND NOT (abs(try_cast(${c} AS DOUBLE)) <= ${limit})`, reason: lit(`${what} out of range (-${limit} to ${limit})`), value: c },
    );
  }
  return out;
}

/**
 * Separates field, reason and value in a problem text. Field names and reasons never hold U+0001; a
 * value may (JSON `\u0001`, Parquet), so the value is everything after the second separator.
 */
const SEP = '\u0001';

/** The rejects row (field, reason, value) of a problem text `field SEP reason [SEP value]`, as SQL select items. */
function problemParts(col: string): string {
  const rest = `substr(${col}, strpos(${col}, chr(1)) + 1)`;
  return `split_part(${col}, chr(1), 1),
  CASE WHEN strpos(${rest}, chr(1)) > 0 THEN left(${rest}, strpos(${rest}, chr(1)) - 1) ELSE ${rest} END,
  CASE WHEN strpos(${rest}, chr(1)) > 0 THEN substr(${rest}, strpos(${rest}, chr(1)) + 1) END`;
}

/**
 * `CASE` giving the first failed check as one text (field, reason, value), or NULL when the record is
 * valid (a NULL condition is false). One text rather than a struct: the column is stored for every
 * row, and a NULL text is much cheaper to store than a NULL struct of three texts.
 */
function firstProblem(checks: readonly Check[]): string {
  const arms = checks
    // The reason is never NULL (that would make the whole text NULL, a valid row): coalesce guards it.
    .map((c) => `WHEN ${c.when} THEN ${lit(c.field + SEP)} || coalesce(${c.reason}, 'invalid') || ${c.value ? `coalesce(${lit(SEP)} || CAST(${c.value} AS VARCHAR), '')` : `''`}`)
    .join('\n    ');
  return `CASE ${arms}\n    ELSE NULL END`;
}

/**
 * Columns with empty text as NULL. Identifiers and place ids are trimmed (feeds pad them); other
 * fields are taken as given, so a padded kind or time is reported rather than guessed at.
 */
function cleanColumns(kind: FileKind, trimmed: readonly string[]): string {
  return FILE_KINDS[kind].columns
    .map((c) => (trimmed.includes(c) ? `${trimExpr(ident(c))} AS ${ident(c)}` : `nullif(${ident(c)}, '') AS ${ident(c)}`))
    .join(', ');
}

/**
 * A field with its spaces trimmed (DuckDB's trim removes spaces only), empty as NULL. trim() copies
 * every value it is given, which cost a third of the validation pass; almost no value is padded, so
 * only values that start or end with a space go through it.
 */
function trimExpr(c: string): string {
  return `CASE WHEN starts_with(${c}, ' ') OR ends_with(${c}, ' ') THEN nullif(trim(${c}), '') ELSE nullif(${c}, '') END`;
}

const DATE_SHAPE = '____-__-__';

/**
 * Time text → TIMESTAMPTZ in the session time zone; a date alone → its local midnight (the next one
 * for an end). NULL when the text does not have an ISO 8601 shape or does not convert. The shape test
 * is a cheap LIKE because DuckDB's casts alone accept more than ISO 8601 (`2020/01/25`, trailing text
 * after a date).
 */
function timeExpr(col: string, dateOnlyEnd: boolean): string {
  const c = ident(col);
  const date = dateOnlyEnd ? `(try_cast(${c} AS DATE) + 1)::TIMESTAMPTZ` : `try_cast(${c} AS DATE)::TIMESTAMPTZ`;
  // ISO 8601 allows leaving out the seconds; DuckDB wants them.
  const noSeconds = `CASE WHEN substr(${c}, 17, 1) <> ':' THEN try_cast(substr(${c}, 1, 16) || ':00' || substr(${c}, 17) AS TIMESTAMPTZ) END`;
  // One LIKE for the date part: the cast itself refuses anything but a time after it ('2020-01-25x').
  return `CASE WHEN ${c} LIKE '${DATE_SHAPE}%' THEN
            CASE WHEN strlen(${c}) = 10 THEN ${date} ELSE coalesce(try_cast(${c} AS TIMESTAMPTZ), ${noSeconds}) END END`;
}

/** Time checks; the reason tells a malformed text from an impossible date (evaluated for failing rows only). */
function timeChecks(col: string, required: boolean): Check[] {
  const c = ident(col);
  const shapeOk = `(regexp_full_match(${c}, '${RE_DATE}') OR regexp_full_match(${c}, '${RE_DATETIME}'))`;
  const out: Check[] = [];
  if (required) out.push(requiredText(col, 'time'));
  out.push(
    {
      field: col,
      when: `${c} IS NOT NULL AND ${col}_ts IS NULL`,
      reason: `CASE WHEN ${shapeOk} THEN 'impossible date or time' ELSE 'not an ISO 8601 date or date-time (e.g. 2020-01-25T14:05:00+08:00)' END`,
      value: `left(${c}, 60)`,
    },
    { field: col, when: `${c} IS NOT NULL AND (${col}_e < 0 OR ${col}_e > ${MAX_EPOCH})`, reason: `'outside the supported range (1970 to 2105)'`, value: c },
  );
  return out;
}

/** The dwell of a point event at each kind of place, as a SQL expression of `place_kind`. */
function dwellExpr(): string {
  const arms = (Object.keys(DEFAULT_DWELL_SECONDS) as PlaceKind[]).map((k) => `WHEN ${lit(k)} THEN ${DEFAULT_DWELL_SECONDS[k]}`).join(' ');
  return `(CASE place_kind ${arms} END)`;
}

/**
 * A cheap test that a presence passes every check, so the full CASE that names the first problem runs
 * only on the few rows that fail it (CASE evaluates a branch only for the rows that reach it). It must
 * never be true for a row a check would reject; it may be false for a valid row (the CASE then finds
 * no problem).
 */
function presenceLooksValid(): string {
  const n = FILE_KINDS.presences.columns.length;
  return `(nf = ${n} AND maxbytes <= ${MAX_FIELD_CHARS}
    AND list_contains([${ID_KINDS.map(lit).join(', ')}], id_kind) AND id_value IS NOT NULL
    AND list_contains([${PLACE_KINDS.map(lit).join(', ')}], place_kind) AND place_id IS NOT NULL
    AND start_e BETWEEN 0 AND ${MAX_EPOCH}
    AND ("end" IS NULL OR (end_e BETWEEN 0 AND ${MAX_EPOCH} AND end_e >= start_e))
    AND (lat IS NULL OR abs(try_cast(lat AS DOUBLE)) <= 90)
    AND (lon IS NULL OR abs(try_cast(lon AS DOUBLE)) <= 180))`;
}

/**
 * Validates staged presences into the view `valid` (line + the presence staging layout) over the table
 * `${valid}_checked`, appending rejects to `t.rej`. Times without an offset and date-only times are read in the session's time zone, which the
 * caller sets to the deployment's.
 */
export async function validatePresences(sql: SqlRunner, t: StagingTables, valid: string): Promise<void> {
  const checks: Check[] = [
    ...commonChecks('presences'),
    ...kindCheck('id_kind', ID_KINDS, 'identifier kind'),
    requiredText('id_value', 'identifier'),
    ...kindCheck('place_kind', PLACE_KINDS, 'place kind'),
    requiredText('place_id', 'place id'),
    ...timeChecks('start', true),
    ...timeChecks('end', false),
    { field: 'end', when: `end_e < start_e`, reason: `'end is before start (' || start || ')'`, value: '"end"' },
    ...coordinateChecks('lat', 'lon'),
  ];
  // One pass computes the problem and the normalised values; `valid` is a view of the good rows.
  await sql.run(`
CREATE OR REPLACE TEMP TABLE ${valid}_checked AS
WITH r AS (SELECT * FROM ${t.raw}),
t AS (SELECT line, nf, maxbytes, ${cleanColumns('presences', ['id_value', 'place_id'])} FROM r),
ts AS (SELECT *, ${timeExpr('start', false)} AS start_ts, ${timeExpr('end', true)} AS end_ts FROM t),
e AS (SELECT *, floor(epoch(start_ts))::BIGINT AS start_e, floor(epoch(end_ts))::BIGINT AS end_e FROM ts),
p AS (SELECT *, CASE WHEN coalesce(${presenceLooksValid()}, false) THEN NULL ELSE ${firstProblem(checks)} END AS problem,
           start AS start_text, "end" AS end_text FROM e)
SELECT line, problem,
  id_kind, id_value, place_kind, place_id, start_e AS start,
  CASE WHEN end_e > start_e THEN end_e
       WHEN end_e IS NULL AND start_text LIKE '${DATE_SHAPE}' THEN floor(epoch((try_cast(start_text AS DATE) + 1)::TIMESTAMPTZ))::BIGINT
       ELSE start_e + ${dwellExpr()} END AS "end",
  sub,
  ((CASE WHEN start_text LIKE '${DATE_SHAPE}' OR coalesce(end_text LIKE '${DATE_SHAPE}', false) THEN 1 ELSE 0 END)
   | (CASE WHEN (end_e IS NULL AND start_text NOT LIKE '${DATE_SHAPE}') OR end_e = start_e THEN 2 ELSE 0 END))::UTINYINT AS flags,
  try_cast(lat AS DOUBLE) AS lat, try_cast(lon AS DOUBLE) AS lon, source
FROM p;
INSERT INTO ${t.rej} SELECT line, ${problemParts('problem')} FROM ${valid}_checked WHERE problem IS NOT NULL;
CREATE OR REPLACE TEMP VIEW ${valid} AS SELECT * EXCLUDE (problem) FROM ${valid}_checked WHERE problem IS NULL;`);
}

/** Validates staged identity links into `valid(line, a_kind, a_value, b_kind, b_value, source)`. */
export async function validateIdentityLinks(sql: SqlRunner, t: StagingTables, valid: string): Promise<void> {
  const checks: Check[] = [
    ...commonChecks('identity_links'),
    ...kindCheck('a_kind', ID_KINDS, 'identifier kind'),
    requiredText('a_value', 'identifier'),
    ...kindCheck('b_kind', ID_KINDS, 'identifier kind'),
    requiredText('b_value', 'identifier'),
    { field: 'b_value', when: `a_kind = b_kind AND a_value = b_value`, reason: `'links an identifier to itself'`, value: 'b_value' },
  ];
  await runSimple(sql, t, valid, 'identity_links', checks, 'line, a_kind, a_value, b_kind, b_value, source');
}

/** Validates staged people into `valid(line, id_kind, id_value, name, address, lat, lon, jurisdiction)`. */
export async function validatePeople(sql: SqlRunner, t: StagingTables, valid: string): Promise<void> {
  const checks: Check[] = [
    ...commonChecks('people'),
    ...kindCheck('id_kind', ID_KINDS, 'identifier kind'),
    requiredText('id_value', 'identifier'),
    ...coordinateChecks('lat', 'lon'),
  ];
  await runSimple(sql, t, valid, 'people', checks,
    'line, id_kind, id_value, name, address, try_cast(lat AS DOUBLE) AS lat, try_cast(lon AS DOUBLE) AS lon, jurisdiction');
}

/** Validates staged places into `valid(line, place_kind, place_id, name, lat, lon, jurisdiction, category)`. */
export async function validatePlaces(sql: SqlRunner, t: StagingTables, valid: string): Promise<void> {
  const checks: Check[] = [
    ...commonChecks('places'),
    ...kindCheck('place_kind', PLACE_KINDS, 'place kind'),
    requiredText('place_id', 'place id'),
    ...coordinateChecks('lat', 'lon'),
  ];
  await runSimple(sql, t, valid, 'places', checks,
    'line, place_kind, place_id, name, try_cast(lat AS DOUBLE) AS lat, try_cast(lon AS DOUBLE) AS lon, jurisdiction, category');
}

async function runSimple(sql: SqlRunner, t: StagingTables, valid: string, kind: FileKind, checks: Check[], select: string): Promise<void> {
  await sql.run(`
CREATE OR REPLACE TEMP TABLE ${valid}_checked AS
WITH r AS (SELECT * FROM ${t.raw}),
t AS (SELECT line, nf, maxbytes, ${cleanColumns(kind, FILE_KINDS[kind].columns)} FROM r)
SELECT *, ${firstProblem(checks)} AS problem FROM t;
INSERT INTO ${t.rej} SELECT line, ${problemParts('problem')} FROM ${valid}_checked WHERE problem IS NOT NULL;
CREATE OR REPLACE TEMP VIEW ${valid} AS SELECT ${select} FROM ${valid}_checked WHERE problem IS NULL;`);
}
