import { describe, expect, it } from 'vitest';
import { HistoryCache } from './history-cache.ts';

const H = 3_600_000;

describe('HistoryCache', () => {
  it('reads only buckets after the settled edge on the next poll, and merges them', async () => {
    const cache = new HistoryCache();
    const truth = new Map([0, 1, 2, 3, 4].map((h) => [h * H, h * 10]));
    const asked: number[] = [];
    const fetch = async (lo: number) => {
      asked.push(lo);
      return new Map([...truth].filter(([b]) => b >= lo));
    };
    const at = 4 * H + 30 * 60_000;
    expect(await cache.series('k', 0, at, H, fetch)).toEqual(truth);
    truth.set(4 * H, 41);
    expect(await cache.series('k', 0, at + 60_000, H, fetch)).toEqual(truth);
    // The first poll read everything; the second only from the settled edge (hour 4).
    expect(asked).toEqual([0, 4 * H]);
  });

  it('drops buckets that fell out of the window, and ignores a cache that does not cover it', async () => {
    const cache = new HistoryCache();
    const fetch = async (lo: number) => new Map([0, H, 2 * H, 3 * H].filter((b) => b >= lo).map((b) => [b, 1]));
    await cache.series('k', 0, 3 * H + 20 * 60_000, H, fetch);
    expect([...(await cache.series('k', H, 3 * H + 30 * 60_000, H, fetch)).keys()]).toEqual([H, 2 * H, 3 * H]);
    const asked: number[] = [];
    await cache.series('other', 0, 3 * H, H, async (lo) => (asked.push(lo), new Map()));
    expect(asked).toEqual([0]);
  });

  it('settles nothing the sink has not applied yet (a lagging feed): the edge follows the newest event applied', () => {
    const cache = new HistoryCache();
    const at = 4 * H + 30 * 60_000;
    const plan = cache.plan('k', 0, at);
    cache.merge('k', 0, at, H, plan, new Map([[0, 1]]), 2 * H + 5 * 60_000);
    // Settled up to hour 1 only (2 h 5 min − 10 min, by the hour): the next poll reads from there.
    expect(cache.plan('k', 0, at + 60_000).lo).toBe(H);
    cache.clear();
    expect(cache.plan('k', 0, at + 60_000).lo).toBe(0);
  });
});
