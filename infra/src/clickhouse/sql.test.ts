import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ident, join, list, literal, quoteString, raw, sql, SqlFormatError } from './sql.ts';

/** Reads a ClickHouse single-quoted literal back, as the server's lexer would. */
function unquote(lit: string): string {
  if (!(lit.startsWith("'") && lit.endsWith("'"))) throw new Error(`not a quoted literal: ${lit}`);
  const body = lit.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "'") throw new Error(`unescaped quote at ${i} in ${lit}`);
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[++i];
    out += ({ n: '\n', r: '\r', t: '\t', '0': '\0', b: '\b', f: '\f' } as Record<string, string>)[n!] ?? n;
  }
  return out;
}

describe('ClickHouse SQL formatting', () => {
  it.each([
    ["Robert'); DROP TABLE users;--", "'Robert\\'); DROP TABLE users;--'"],
    ["a\\' OR 1=1 --", "'a\\\\\\' OR 1=1 --'"],
    ['line\nbreak', "'line\\nbreak'"],
    ['nul\0byte', "'nul\\0byte'"],
    ['浙江省杭州市', "'浙江省杭州市'"],
  ])('escapes %j so it stays one string literal', (input, expected) => {
    expect(quoteString(input)).toBe(expected);
    expect(unquote(quoteString(input))).toBe(input);
  });

  it('round-trips any string through the literal form (property)', () => {
    // Any UTF-16 code units, with the characters that matter for escaping made frequent.
    const unit = fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0x27, 0x5c, 0x0a, 0x0d, 0x00, 0x09, 0x60, 0x22));
    const text = fc.array(unit, { maxLength: 200 }).map((a) => String.fromCharCode(...a));
    fc.assert(
      fc.property(text, (s) => unquote(quoteString(s)) === s),
      { numRuns: 500 },
    );
  });

  it('formats numbers, bigints, booleans, nulls, dates and arrays', () => {
    expect(literal(42)).toBe('42');
    expect(literal(-1.5)).toBe('-1.5');
    expect(literal(18446744073709551615n)).toBe('18446744073709551615');
    expect(literal(true)).toBe('1');
    expect(literal(null)).toBe('NULL');
    expect(literal(new Date('2026-01-01T00:00:00Z'))).toBe('toDateTime(1767225600)');
    expect(literal(['a', "b'", 3])).toBe("['a', 'b\\'', 3]");
  });

  it('refuses NaN, Infinity and invalid dates instead of writing them into SQL', () => {
    expect(() => literal(Number.NaN)).toThrow(SqlFormatError);
    expect(() => literal(Infinity)).toThrow(SqlFormatError);
    expect(() => literal(new Date('nope'))).toThrow(SqlFormatError);
  });

  it('refuses identifiers that could smuggle SQL', () => {
    expect(ident('moves').text).toBe('moves');
    expect(ident('geo.moves').text).toBe('geo.moves');
    for (const bad of ['moves; DROP TABLE x', 'a b', '`x`', '1abc', '', 'a.b.c', "x'"]) {
      expect(() => ident(bad)).toThrow(SqlFormatError);
    }
  });

  it('builds queries with the tagged template, keeping injected text inside literals', () => {
    const carrier = "cmcc' OR '1'='1";
    const q = sql`SELECT count() FROM ${ident('moves')} WHERE carrier = ${carrier} AND cell IN ${list([1n, 2n])} ${raw('FORMAT JSON')}`;
    expect(q.text).toBe("SELECT count() FROM moves WHERE carrier = 'cmcc\\' OR \\'1\\'=\\'1' AND cell IN (1, 2) FORMAT JSON");
    expect(join([1, 'x']).text).toBe("1, 'x'");
    expect(list([]).text).toBe('(NULL)');
  });
});
