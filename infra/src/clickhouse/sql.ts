/**
 * Safe formatting of values into ClickHouse SQL.
 *
 * Debian's ClickHouse 18.16 has no server-side query parameters ("Unknown setting param_…"), so
 * every value is formatted on the client. Values go through one typed formatter; nothing reaches
 * the query text unescaped except fragments built with `raw()`, which must never carry user input.
 *
 * @example
 * const q = sql`SELECT count() FROM ${ident('moves')} WHERE carrier = ${carrier} AND cell IN ${cells}`;
 * await client.query({ query: q.text, format: 'JSONEachRow' });
 */

export type SqlValue = string | number | bigint | boolean | Date | null | Sql | readonly SqlValue[];

const SQL = Symbol('sql');

export class Sql {
  readonly [SQL] = true;
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export class SqlFormatError extends Error {
  override name = 'SqlFormatError';
  readonly code = 'SQL_FORMAT';
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** A table, column or database name; refuses anything but plain identifiers (optionally `db.table`). */
export function ident(name: string): Sql {
  if (!IDENT.test(name)) throw new SqlFormatError(`not a plain identifier: ${JSON.stringify(name)}`);
  return new Sql(name);
}

/** A trusted fragment of SQL written by the programmer. Never pass user input here. */
export function raw(text: string): Sql {
  return new Sql(text);
}

/** Escapes a string into a single-quoted ClickHouse literal. */
export function quoteString(s: string): string {
  let out = "'";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    switch (c) {
      case '\\':
        out += '\\\\';
        break;
      case "'":
        out += "\\'";
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\0':
        out += '\\0';
        break;
      case '\b':
        out += '\\b';
        break;
      case '\f':
        out += '\\f';
        break;
      default:
        out += c;
    }
  }
  return out + "'";
}

/** Formats one value as a ClickHouse literal. Dates become `toDateTime(<unix seconds>)` (UTC-safe). */
export function literal(v: SqlValue): string {
  if (v === null) return 'NULL';
  if (v instanceof Sql) return v.text;
  switch (typeof v) {
    case 'string':
      return quoteString(v);
    case 'number':
      if (!Number.isFinite(v)) throw new SqlFormatError(`not a finite number: ${v}`);
      return Number.isInteger(v) ? v.toFixed(0) : String(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? '1' : '0';
    default:
  }
  if (v instanceof Date) {
    const t = v.getTime();
    if (!Number.isFinite(t)) throw new SqlFormatError('invalid date');
    return `toDateTime(${Math.floor(t / 1000)})`;
  }
  if (Array.isArray(v)) return `[${v.map(literal).join(', ')}]`;
  throw new SqlFormatError(`cannot format a value of type ${typeof v}`);
}

/** Tagged template: interpolated values are formatted with `literal()`. */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): Sql {
  let text = strings[0]!;
  for (let i = 0; i < values.length; i++) text += literal(values[i]!) + strings[i + 1]!;
  return new Sql(text);
}

/** A parenthesised list for `IN`: `(1, 2, 3)`. An empty list becomes `(NULL)`, which matches nothing. */
export function list(values: readonly SqlValue[]): Sql {
  return new Sql(values.length === 0 ? '(NULL)' : `(${values.map(literal).join(', ')})`);
}

/** Joins fragments or values with a separator, e.g. for a column list or a VALUES clause. */
export function join(parts: readonly SqlValue[], separator = ', '): Sql {
  return new Sql(parts.map(literal).join(separator));
}
