import { describe, expect, it } from 'vitest';
import { kCount, topGroups } from './privacy.ts';
import { resolutionForZoom } from './heatmap.ts';
import { ageBand, dwellBucket, shanghaiMidnight } from './region-metrics.ts';

describe('k-anonymity', () => {
  it.each([
    [0, { value: 0, suppressed: false }],
    [1, { value: null, suppressed: true }],
    [9, { value: null, suppressed: true }],
    [10, { value: 10, suppressed: false }],
  ])('shows %i as %j with k = 10', (n, want) => expect(kCount(n, 10)).toEqual(want));

  it('lists only groups of at least k, folding the rest (and their labels) into other', () => {
    const r = topGroups(new Map([['330100', 40], ['110100', 3], ['440300', 12], ['510100', 12]]), 2, 10);
    expect(r.groups).toEqual([{ code: '330100', count: { value: 40, suppressed: false } }, { code: '440300', count: { value: 12, suppressed: false } }]);
    expect(r.other).toEqual({ value: 15, suppressed: false });
    expect(topGroups(new Map([['110100', 3]]), 5, 10)).toEqual({ groups: [], other: { value: null, suppressed: true } });
  });
});

describe('buckets', () => {
  it.each([[0, 0], [29 * 60_000, 0], [30 * 60_000, 1], [3600_000, 2], [2 * 3600_000, 3], [4 * 3600_000, 4], [8 * 3600_000, 5], [30 * 3600_000, 5]])('dwell of %i ms is bucket %i', (ms, b) => expect(dwellBucket(ms)).toBe(b));
  it.each([[17, '<18'], [18, '18-24'], [34, '25-34'], [64, '55-64'], [65, '65+'], [255, 'unknown']])('age %i is band %s', (a, band) => expect(ageBand(a)).toBe(band));
  it('finds midnight in Asia/Shanghai', () => {
    expect(new Date(shanghaiMidnight(Date.UTC(2026, 10, 25, 17, 0))).toISOString()).toBe('2026-11-25T16:00:00.000Z');
    expect(new Date(shanghaiMidnight(Date.UTC(2026, 10, 25, 15, 59))).toISOString()).toBe('2026-11-24T16:00:00.000Z');
  });
  it('picks finer H3 cells as the map zooms in', () => {
    const res = [2, 5, 8, 10, 12, 16].map(resolutionForZoom);
    expect(res).toEqual([...res].sort((a, b) => a - b));
    expect(resolutionForZoom(12)).toBe(8);
  });
});
