import { describe, expect, it } from 'vitest';
import { RecentMoves } from './recent-moves.ts';

const S = 1000;
const all = (r: RecentMoves, from = 0, to = 2 ** 32) => {
  const out: number[][] = [];
  r.scan(from, to, (t, sub, f, c) => out.push([t, sub, f, c]));
  return out;
};

describe('RecentMoves', () => {
  it('covers nothing before start, then everything after the restored watermark', () => {
    const r = new RecentMoves(60 * S, 4);
    r.record(100 * S, 13900000001, -1, 3);
    expect(r.covers(0)).toBe(false);
    r.start(99_500); // a watermark of 99.5 s: moves in second 99 may predate the restart
    expect(r.covers(99 * S)).toBe(false);
    expect(r.covers(100 * S)).toBe(true);
    expect(r.covers(100 * S + 999)).toBe(true);
  });

  it('a fresh service (no checkpoint) covers everything it recorded', () => {
    const r = new RecentMoves(60 * S);
    r.start(0);
    r.record(5 * S, 1, -1, 0);
    expect(r.covers(1 * S)).toBe(true);
    expect(all(r)).toEqual([[5, 1, -1, 0]]);
  });

  it('grows past its capacity keeping the order applied, and scans by time (inclusive)', () => {
    const r = new RecentMoves(3600 * S, 2);
    r.start(0);
    for (let i = 0; i < 9; i++) r.record((10 + (i % 3)) * S + 250, 100 + i, i - 1, i);
    expect(r.size).toBe(9);
    expect(all(r).map((m) => m[1])).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108]);
    expect(all(r, 11, 11).map((m) => m[1])).toEqual([101, 104, 107]);
  });

  it('evicts moves older than keepMs before the newest event, and then covers only after them', () => {
    const r = new RecentMoves(10 * S, 4);
    r.start(0);
    r.record(1 * S, 1, -1, 0);
    r.record(2 * S, 2, -1, 0);
    r.record(1 * S, 3, -1, 0); // late: applied after a newer one
    r.record(5 * S, 4, -1, 0);
    expect(r.covers(1 * S)).toBe(true);
    r.record(12 * S, 5, -1, 0); // keeps seconds ≥ 2: evicts the first (1 s), stops at 2 s
    expect(all(r).map((m) => m[1])).toEqual([2, 3, 4, 5]);
    expect(r.covers(1 * S)).toBe(false);
    expect(r.covers(2 * S)).toBe(true);
    r.record(14 * S, 6, -1, 0); // keeps ≥ 4: evicts 2 s and the late 1 s
    expect(all(r).map((m) => m[1])).toEqual([4, 5, 6]);
    expect(r.covers(2 * S)).toBe(false);
    expect(r.covers(3 * S)).toBe(true);
  });

  it('counts moves that arrive more than lateMs after newer ones (a lagging feed), and only those', () => {
    const r = new RecentMoves(3600 * S, 4, 600 * S);
    r.start(0);
    r.record(1000 * S, 1, -1, 0);
    r.record(500 * S, 2, -1, 0); // 500 s late: within the grace period
    expect(r.late).toBe(0);
    r.record(300 * S, 3, -1, 0); // 700 s late
    expect(r.late).toBe(1);
  });
});
