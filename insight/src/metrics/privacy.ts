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
 * (from cell → to cell, category) count — taken as 0 below k. Every figure insight releases is a
 * sum of atoms, so any difference of two answers is a signed sum of counts each ≥ k or 0: a cell
 * (or a crossing) with 1 to k−1 people changes no answer. See README "Privacy model".
 *
 * @example atom(9, 10) // 0
 * @example atom(12, 10) // 12
 */
export const atom = (n: number, k: number): number => (n >= k ? n : 0);

/** Shows one released sum: under k (zero included) it is suppressed. */
export function kCount(n: number, k: number): Count {
  return n >= k ? { value: n, suppressed: false } : { value: null, suppressed: true };
}

/**
 * Top-N groups whose (atom-summed) count is at least k; the others are folded into `other` so that
 * their labels (e.g. a rare home city) are never shown. `counts` are sums of atoms.
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
