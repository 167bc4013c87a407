import { z } from 'zod';

/**
 * A count as the API shows it. Below the k-anonymity threshold (and above zero) the value is
 * withheld: `{ value: null, suppressed: true }` — never a zero, so nobody mistakes "few" for "none".
 */
export const Count = z.object({ value: z.number().int().nonnegative().nullable(), suppressed: z.boolean() });
export type Count = z.infer<typeof Count>;

/** The default k: no figure about fewer than 10 people is shown (DESIGN.md invariant 7). */
export const DEFAULT_K = 10;

/** Applies the k-anonymity threshold to one count. Zero is shown: it singles nobody out. */
export function kCount(n: number, k: number): Count {
  return n === 0 || n >= k ? { value: n, suppressed: false } : { value: null, suppressed: true };
}

/**
 * Top-N groups that each have at least k people; smaller groups are folded into `other` so that
 * their labels (e.g. a rare home city) are never shown for fewer than k people.
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
