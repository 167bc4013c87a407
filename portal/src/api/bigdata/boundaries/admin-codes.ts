import type { AdminLevel } from '@geo/ingest';

/** A six-digit GB/T 2260 code: province `PP0000`, city `PPCC00`, district / county `PPCCDD`. */
export const GB_2260 = /^[1-9]\d{5}$/;

/**
 * The level a GB/T 2260 code names, from its digits alone.
 *
 * @example
 * levelOfCode('330000') // 'province'
 * levelOfCode('330100') // 'city'
 * levelOfCode('330114') // 'district' (钱塘区)
 */
export function levelOfCode(code: string): AdminLevel {
  if (code.endsWith('0000')) return 'province';
  if (code.endsWith('00')) return 'city';
  return 'district';
}

/**
 * The code of the enclosing area; null for a province. County-level cities governed by the province
 * directly (`PP90DD`, e.g. 湖北 仙桃 429004) have the province as parent: `PP9000` is no city.
 *
 * @example
 * parentOfCode('330114') // '330100'
 * parentOfCode('330100') // '330000'
 * parentOfCode('429004') // '420000'
 */
export function parentOfCode(code: string): string | null {
  const level = levelOfCode(code);
  if (level === 'province') return null;
  if (level === 'city' || code.slice(2, 4) === '90') return `${code.slice(0, 2)}0000`;
  return `${code.slice(0, 4)}00`;
}
