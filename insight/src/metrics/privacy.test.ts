import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { atom, kCount, topGroups } from './privacy.ts';
import { PopulationRing } from './population-ring.ts';
import { resolutionForZoom } from './heatmap.ts';
import { ageBand, dwellBucket, shanghaiMidnight } from './region-metrics.ts';

describe('k-anonymity', () => {
  it.each([
    // Zero looks like a few: a sum of atoms is 0 both when nobody is there and when only cells
    // (or categories) of fewer than k are.
    [0, { value: null, suppressed: true }],
    [1, { value: null, suppressed: true }],
    [9, { value: null, suppressed: true }],
    [10, { value: 10, suppressed: false }],
  ])('shows %i as %j with k = 10', (n, want) => expect(kCount(n, 10)).toEqual(want));

  it.each([
    // [n, k, atom]: 0 under k; else the nearest multiple of k, a tie to the even multiple.
    [0, 10, 0],
    [1, 10, 0],
    [9, 10, 0],
    [10, 10, 10],
    [11, 10, 10],
    [12, 10, 10],
    [14, 10, 10],
    [15, 10, 20],
    [16, 10, 20],
    [24, 10, 20],
    [25, 10, 20],
    [26, 10, 30],
    [35, 10, 40],
    [48, 10, 50],
    [133, 10, 130],
    [6, 7, 0],
    [7, 7, 7],
    [10, 7, 7],
    [11, 7, 14],
    [3, 2, 4],
    [5, 2, 4],
    [7, 2, 8],
    [0, 1, 0],
    [1, 1, 1],
    [37, 1, 37],
  ])('quantises %i with k = %i to %i', (n, k, want) => expect(atom(n, k)).toBe(want));

  const counts = fc.nat({ max: 100_000 });
  const ks = fc.integer({ min: 1, max: 50 });

  it('puts every atom on the grid of k: 0 exactly under k, else a multiple of k within k/2 of the count', () => {
    fc.assert(
      fc.property(counts, ks, (n, k) => {
        const a = atom(n, k);
        expect(a % k).toBe(0);
        expect(a === 0).toBe(n < k);
        if (n >= k) expect(Math.abs(a - n)).toBeLessThanOrEqual(k / 2);
      }),
    );
  });

  it('is monotone, the identity for k = 1, and unbiased over every run of 2k counts from k on', () => {
    fc.assert(
      fc.property(counts, counts, ks, (a, b, k) => {
        if (a <= b) expect(atom(a, k)).toBeLessThanOrEqual(atom(b, k));
        expect(atom(a, 1)).toBe(a);
      }),
    );
    fc.assert(
      fc.property(ks, fc.integer({ min: 0, max: 100 }), (k, q) => {
        // Rounding errors over [qk + k, qk + 3k) cancel exactly (ties alternate up and down).
        let err = 0;
        for (let n = (q + 1) * k; n < (q + 3) * k; n++) err += atom(n, k) - n;
        expect(err).toBe(0);
      }),
    );
  });

  it('makes any two sums of atoms — two regions, two moments, with or without a hidden cell — differ by 0 or at least k', () => {
    fc.assert(
      fc.property(fc.array(counts, { maxLength: 30 }), fc.array(counts, { maxLength: 30 }), ks, (xs, ys, k) => {
        const sum = (cells: number[]) => cells.reduce((s, n) => s + atom(n, k), 0);
        const d = Math.abs(sum(xs) - sum(ys));
        expect(d % k).toBe(0);
        expect(d === 0 || d >= k).toBe(true);
      }),
    );
  });

  it('hides one person leaving a cell of 12 (time differencing), and a hidden cell of 1 to k-1 people', () => {
    expect(atom(11, 10)).toBe(atom(12, 10));
    expect(kCount(atom(11, 10), 10)).toEqual(kCount(atom(12, 10), 10));
  });

  it('takes an atom under k as 0, so that adding a cell of 1 to k-1 people changes no sum', () => {
    const busy = [48, 12, 30];
    for (let hidden = 1; hidden < 10; hidden++) {
      const sum = (cells: number[]) => cells.reduce((s, n) => s + atom(n, 10), 0);
      expect(sum([...busy, hidden])).toBe(sum(busy));
    }
    expect(atom(10, 10)).toBe(10);
  });

  it('sums the population ring per boundary with each cell quantised to the grid of k', () => {
    const ring = new PopulationRing();
    ring.ready = true;
    const T = 1_800_000_000_000;
    const counts = new Uint32Array(3 * 4);
    counts[0 * 4 + 1] = 12;
    counts[1 * 4 + 2] = 7;
    counts[2 * 4 + 3] = 10;
    ring.record(T, counts);
    expect([...ring.sums([0, 1, 2], T, T, 10)]).toEqual([[T, atom(12, 10) + atom(10, 10)]]);
    expect([...ring.sums([0, 1, 2], T, T, 10)]).toEqual([[T, 20]]);
    expect([...ring.sums([1], T, T, 10)]).toEqual([]);
    expect([...ring.sums([1], T, T)]).toEqual([[T, 7]]);
  });

  it('lists only groups of at least k, folding the rest (and their labels) into other', () => {
    const r = topGroups(
      new Map([
        ['330100', 40],
        ['110100', 3],
        ['440300', 12],
        ['510100', 12],
      ]),
      2,
      10,
    );
    expect(r.groups).toEqual([
      { code: '330100', count: { value: 40, suppressed: false } },
      { code: '440300', count: { value: 12, suppressed: false } },
    ]);
    expect(r.other).toEqual({ value: 15, suppressed: false });
    expect(topGroups(new Map([['110100', 3]]), 5, 10)).toEqual({ groups: [], other: { value: null, suppressed: true } });
  });
});

describe('buckets', () => {
  it.each([
    [0, 0],
    [29 * 60_000, 0],
    [30 * 60_000, 1],
    [3600_000, 2],
    [2 * 3600_000, 3],
    [4 * 3600_000, 4],
    [8 * 3600_000, 5],
    [30 * 3600_000, 5],
  ])('dwell of %i ms is bucket %i', (ms, b) => expect(dwellBucket(ms)).toBe(b));
  it.each([
    [17, '<18'],
    [18, '18-24'],
    [34, '25-34'],
    [64, '55-64'],
    [65, '65+'],
    [255, 'unknown'],
  ])('age %i is band %s', (a, band) => expect(ageBand(a)).toBe(band));
  it('finds midnight in Asia/Shanghai', () => {
    expect(new Date(shanghaiMidnight(Date.UTC(2026, 10, 25, 17, 0))).toISOString()).toBe('2026-11-25T16:00:00.000Z');
    expect(new Date(shanghaiMidnight(Date.UTC(2026, 10, 25, 15, 59))).toISOString()).toBe('2026-11-24T16:00:00.000Z');
  });
  it('picks finer H3 cells as the map zooms in', () => {
    const res = [2, 5, 8, 10, 12, 16].map(resolutionForZoom);
    expect(res).toEqual([...res].sort((a, b) => a - b));
    expect(resolutionForZoom(12)).toBe(9);
  });
});
