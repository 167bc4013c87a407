import { z } from 'zod';

/**
 * A count as the API shows it. Below the k-anonymity threshold the value is withheld:
 * `{ value: null, suppressed: true }` — zero included, so that "nobody" and "a few" look the same
 * (a category shown as 0 beside one shown as suppressed would say which one has people).
 */
export const Count = z.object({ value: z.number().int().nonnegative().nullable(), suppressed: z.boolean() });
export type Count = z.infer<typeof Count>;

/** The default k: no figure about fewer than 10 people is shown (DESIGN.md invariant 7). */
export const DEFAULT_K = 10;

/**
 * One atom of a released figure: a (serving cell, category) count — or, for flows, a
 * (from cell → to cell, category) count — **quantised to the grid of k**: 0 under k, otherwise the
 * nearest multiple of k (a tie, n = (q + ½)·k, goes to the even multiple). Every figure insight
 * releases is a sum of atoms, so every released figure is a multiple of k, and any difference of
 * two answers — two regions, two moments, two cross-tab cells, a region with and without a hidden
 * cell — is 0 or at least k people. See README "Privacy model".
 *
 * Nearest rather than floor: a region sums hundreds or thousands of atoms, and flooring would take
 * k/2 on average off each (a 2,600-cell region ~13,000 people low at k = 10); rounding to the
 * nearest is unbiased over a spread of counts (ties to even, so that ties are not all pushed up).
 * A count of k or more never rounds to 0, so "someone is here" and "nobody is" stay as before.
 * k = 1 is the identity (exact sums, used for checks).
 *
 * @example atom(9, 10) // 0
 * @example atom(12, 10) // 10
 * @example atom(15, 10) // 20 (tie: to the even multiple)
 * @example atom(25, 10) // 20
 * @example atom(26, 10) // 30
 */
export function atom(n: number, k: number): number {
  if (n < k) return 0;
  const q = Math.floor(n / k);
  const r = n - q * k;
  return (2 * r > k || (2 * r === k && q % 2 === 1) ? q + 1 : q) * k;
}

/**
 * {@link atom} as a ClickHouse expression over an unsigned integer column or expression `n`
 * (integer arithmetic only: runs on 18.16 and current releases). `k` is a number from the
 * configuration, never user input.
 */
export function atomSql(n: string, k: number): string {
  const kk = String(Math.max(1, Math.floor(k)));
  return `if(${n} >= ${kk}, (intDiv(${n}, ${kk}) + if(2 * (${n} % ${kk}) > ${kk} OR (2 * (${n} % ${kk}) = ${kk} AND intDiv(${n}, ${kk}) % 2 = 1), 1, 0)) * ${kk}, 0)`;
}

/** Shows one released sum: under k (zero included) it is suppressed. */
export function kCount(n: number, k: number): Count {
  return n >= k ? { value: n, suppressed: false } : { value: null, suppressed: true };
}

/**
 * Top-N groups whose (atom-summed) count is at least k; the others are folded into `other` so that
 * their labels (e.g. a rare home city) are never shown. `counts` are sums of atoms (multiples of
 * k), so `other` is one too.
 */
export function topGroups(counts: Map<string, number>, n: number, k: number): { groups: { code: string; count: Count }[]; other: Count } {
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const groups: { code: string; count: Count }[] = [];
  let other = 0;
  for (const [code, c] of sorted) {
    if (groups.length < n && c >= k) groups.push({ code, count: kCount(c, k) });
    else other += c;
  }
  return { groups, other: kCount(other, k) };
}
