/**
 * @module Safe SQL text for ClickHouse. Release 18.16 has no query parameters, so every value that
 * reaches a query is written as a literal by this module and nowhere else: strings are quoted with
 * every byte that could end or bend the literal escaped, numbers are checked to be finite integers,
 * and names are checked against a strict pattern.
 */

/** Thrown when a value cannot be written safely (a non-integer where an integer is needed, a bad name). */
export class UnsafeSqlValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeSqlValueError';
  }
}

/**
 * A ClickHouse string literal: `'…'` with backslash, quote and every control character escaped
 * (`\\`, `\'`, `\xHH`). Text outside ASCII passes as UTF-8, which cannot close the literal.
 * Lone UTF-16 surrogates become U+FFFD, as they would on the wire anyway.
 */
export function sqlString(value: string): string {
  let out = "'";
  for (const ch of wellFormed(value)) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + "'";
}

/** The text with lone UTF-16 surrogates replaced by U+FFFD (what UTF-8 on the wire makes of them). */
export function wellFormed(value: string): string {
  return value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** An integer literal; throws unless `value` is a safe integer within [min, max]. */
export function sqlInt(value: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): string {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UnsafeSqlValueError(`expected an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return String(value);
}

/** An unsigned 32-bit literal (dictionary ids, epoch seconds). */
export function sqlUInt32(value: number): string {
  return sqlInt(value, 0, 0xffffffff);
}

/** A list `(a, b, c)` of literals for `IN`; an empty list becomes `(NULL)`, which matches nothing. */
export function sqlList<T>(values: readonly T[], literal: (v: T) => string): string {
  return values.length === 0 ? '(NULL)' : `(${values.map(literal).join(', ')})`;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A database or table name: letters, digits and `_` only, so it never needs quoting. */
export function sqlName(name: string): string {
  if (!NAME.test(name)) {
    throw new UnsafeSqlValueError(`"${name}" is not a valid ClickHouse name (letters, digits and _ only, not starting with a digit)`);
  }
  return name;
}
