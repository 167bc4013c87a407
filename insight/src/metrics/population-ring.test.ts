import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PopulationRing, RING_SLOTS } from './population-ring.ts';
import { atom } from './privacy.ts';

const FIVE = 300_000;
const T = 1_800_000_000_000 - (1_800_000_000_000 % FIVE);
/** counts[cell * 4 + carrier] from per-cell totals (all on carrier 1). */
const counts = (...perCell: number[]) => Uint32Array.from(perCell.flatMap((n) => [0, n, 0, 0]));

describe('PopulationRing', () => {
  it('sums a region per boundary and leaves out boundaries it does not hold', () => {
    const r = new PopulationRing();
    r.record(T, counts(3, 4, 5));
    r.record(T + FIVE, counts(1, 0, 2));
    r.record(T + 3 * FIVE, counts(0, 0, 0));
    expect([...r.sums([0, 2], T - FIVE, T + 3 * FIVE)]).toEqual([
      [T, 8],
      [T + FIVE, 3],
    ]);
    expect([...r.sums([1], T + 1, T + 3 * FIVE)]).toEqual([]);
  });

  it('keeps a newer boundary when an older one maps to the same slot, and replaces an older one', () => {
    const r = new PopulationRing();
    const later = T + RING_SLOTS * FIVE;
    r.record(later, counts(7));
    r.set(T, 0, 99);
    expect([...r.sums([0], later, later)]).toEqual([[later, 7]]);
    expect([...r.sums([0], T, T)]).toEqual([]);
    const r2 = new PopulationRing();
    r2.set(T, 0, 5);
    r2.set(T, 1, 6);
    r2.record(later, counts(0, 2));
    expect([...r2.sums([0, 1], T, later)]).toEqual([[later, 2]]);
  });

  it('keeps exact figures above the Uint16 range', () => {
    const r = new PopulationRing();
    r.record(T, counts(70_000, 65_535));
    r.set(T + FIVE, 0, 100_000);
    expect([...r.sums([0, 1], T, T + FIVE)]).toEqual([
      [T, 135_535],
      [T + FIVE, 100_000],
    ]);
    r.set(T + FIVE, 0, 12);
    expect([...r.sums([0], T + FIVE, T + FIVE)]).toEqual([[T + FIVE, 12]]);
  });

  it('covers a range only once restored and within its span', () => {
    const r = new PopulationRing();
    r.record(T, counts(1));
    expect(r.covers(T - 7 * 86_400_000)).toBe(false);
    r.ready = true;
    expect(r.covers(T - 7 * 86_400_000)).toBe(true);
    expect(r.covers(T - RING_SLOTS * FIVE)).toBe(false);
  });
});

/** The sums as first written: an atom per listed cell and held boundary, the exact figure when saturated. */
function referenceSums(r: PopulationRing, perCell: Map<number, Map<number, number>>, cells: number[], from: number, to: number, k: number) {
  const out = new Map<number, number>();
  for (let b = Math.ceil(from / FIVE) * FIVE; b <= to; b += FIVE) {
    let sum = 0;
    let held = false;
    for (const c of cells) {
      const n = perCell.get(b)?.get(c);
      if (n !== undefined) held = true;
      sum += atom(n ?? 0, k);
    }
    if (held && sum > 0) out.set(b, sum);
  }
  return out;
}

describe('PopulationRing.sums (table of atoms)', () => {
  it('equals the sum of each listed cell’s atom per held boundary, saturated counts and repeated cells included, also polled after writes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 25 }),
        fc.array(
          fc.array(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 65_530, max: 140_000 })), { minLength: 6, maxLength: 6 }),
          {
            minLength: 1,
            maxLength: 12,
          },
        ),
        fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 8 }),
        fc.integer({ min: 0, max: 11 }),
        (k, boundaries, cells, skip) => {
          const r = new PopulationRing();
          const perCell = new Map<number, Map<number, number>>();
          boundaries.forEach((row, j) => {
            // Boundary `skip` is never recorded: not held, left out of the answer.
            if (j === skip) return;
            const b = T + j * FIVE;
            r.record(b, counts(...row));
            perCell.set(b, new Map(row.map((n, c) => [c, n])));
          });
          const to = T + (boundaries.length - 1) * FIVE;
          expect([...r.sums(cells, T - 1, to, k)]).toEqual([...referenceSums(r, perCell, cells, T - 1, to, k)]);
          // The same region polled again after writes (a new boundary, a rewritten and a saturated
          // count in held ones): only the slots written are summed again, and the answer is exact.
          const next = T + boundaries.length * FIVE;
          r.record(next, counts(...boundaries[0]!));
          perCell.set(next, new Map(boundaries[0]!.map((n, c) => [c, n])));
          for (const [j, c, n] of [
            [0, 1, 3],
            [boundaries.length - 1, 2, 70_000],
            [skip, 3, 12],
          ] as const) {
            const b = T + j * FIVE;
            r.set(b, c, n);
            perCell.set(b, new Map(perCell.get(b) ?? new Map(Array.from({ length: 6 }, (_, x) => [x, 0]))).set(c, n));
          }
          expect([...r.sums(cells, T - 1, next, k)]).toEqual([...referenceSums(r, perCell, cells, T - 1, next, k)]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
