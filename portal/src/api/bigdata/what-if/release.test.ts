import { describe, expect, it } from 'vitest';
import type { WhatIfReply } from '@geo/alerting';
import { releaseWhatIf } from './release.ts';

const H = 3_600_000;
/** Shanghai midnight of 2026-12-05 (16:00 UTC the day before). */
const MIDNIGHT = Date.UTC(2026, 11, 4, 16);
/** One cmcc cell with `perBucket[b]` people sent in bucket b. */
const part = (perBucket: number[], bucketMs = H): WhatIfReply => ({
  v: 1,
  instance: 't',
  bucketMs,
  buckets: perBucket.length,
  cells: {
    cmcc: {
      ids: ['c1'],
      lng: [120.3],
      lat: [30.3],
      cell: perBucket.map(() => 0),
      bucket: perBucket.map((_, b) => b),
      n: perBucket,
    },
  },
  stats: { regionCells: 1, moves: 0, matched: 0, skipped: {}, readMs: 0, replayMs: 0 },
  part: 0,
  parts: 1,
});
const values = (r: ReturnType<typeof releaseWhatIf>) => r.series.map((s) => s.reached.cmcc.value);

describe('releaseWhatIf with the draft’s caps (applied to released figures)', () => {
  it('caps each Shanghai day’s released increase and the running sum, from figures already on the grid', () => {
    // Two buckets of 12 hours: 40 people before midnight, 40 after; cumulative atoms 40, 80.
    const from = MIDNIGHT - 12 * H;
    const r = releaseWhatIf([part([40, 40], 12 * H)], from, 10, 7, { cmcc: { total: 55, dailyCap: 30 } });
    expect(values(r)).toEqual([30, 55]);
    expect(r.reached.cmcc).toEqual({ value: 55, suppressed: false });
    expect(r.reached.total).toEqual({ value: 55, suppressed: false });
    // The areas are where the people who qualify were, uncapped.
    expect(r.areas.map((a) => a.count.value)).toEqual([80]);
  });

  it('gives the uncapped answer when no cap binds, and withholds a capped figure whose uncapped one is under k', () => {
    const from = MIDNIGHT + H;
    expect(values(releaseWhatIf([part([12, 3, 11])], from, 10, 7, { cmcc: { total: 1000, dailyCap: 1000 } }))).toEqual(
      values(releaseWhatIf([part([12, 3, 11])], from, 10, 7)),
    );
    const small = releaseWhatIf([part([4, 3])], from, 10, 7, { cmcc: { total: 2, dailyCap: 2 } });
    expect(small.reached.cmcc).toEqual({ value: null, suppressed: true });
    expect(small.series.every((s) => s.reached.cmcc.suppressed)).toBe(true);
  });

  it('answers the same for any cap between two grid points of the uncapped figure: a cap swept one by one tells nothing more', () => {
    const from = MIDNIGHT + H;
    // 26 people: the released figure is 30; a cap shows itself below it, 30 at or above it.
    for (let cap = 1; cap <= 40; cap++) {
      const r = releaseWhatIf([part([26])], from, 10, 7, { cmcc: { total: cap, dailyCap: cap } });
      expect(r.reached.cmcc.value).toBe(Math.min(cap, 30));
    }
  });
});
