import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectClickHouse, migrateClickHouse, type ClickHouseClient } from '@geo/infra';
import { INSIGHT_MIGRATIONS } from './migrations.ts';
import { fillPairHours, filledPairHours, PairFiller, unfilledPairHours } from './pairs.ts';
import { historyRows, IN, OUT, type HistoryRow, type RegionFilter } from '../metrics/history-query.ts';
import { pairFlowRows, PairHours } from '../metrics/pair-query.ts';

/**
 * Pair atoms per settled bucket (#24 part 1) on a real ClickHouse (Debian's 18.16 here): for several
 * regions (by cell keys, and by H3 alone), windows and k, the flow series read from the pair tables
 * equal those `historyRows` computes from the moves, bucket by bucket, also after late moves refill
 * an hour and after k changes.
 */
const DB = `insight_pairs_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 11, 1, 0, 0, 0);
// 14 cells; cells 12 and 13 share cell 11's H3 index (a region holding 11 alone is not H3-exact).
const CELLS = Array.from({ length: 14 }, (_, i) => ({ key: 1000 + i, h3: 600000000000000000 + Math.min(i, 11) * 7 }));

let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;

type Move = [ts: number, sub: number, from: number, to: number];
function simulate(subs: number, hours: number, startSub = 0, t0 = T0): Move[] {
  const moves: Move[] = [];
  for (let s = startSub; s < startSub + subs; s++) {
    // Busy edges: most people shuttle between a few neighbouring cells, so many pairs reach k.
    let at = Math.floor(rand() * 4);
    moves.push([t0 + Math.floor(rand() * 600_000), 13800000000 + s, -1, at]);
    let t = t0 + 600_000;
    while (t < t0 + hours * HOUR) {
      t += Math.floor(rand() * 1_800_000) + 60_000;
      const next = rand() < 0.7 ? (at + 1 + Math.floor(rand() * 3)) % 6 : Math.floor(rand() * CELLS.length);
      if (next !== at && t < t0 + hours * HOUR) {
        moves.push([t, 13800000000 + s, at, next]);
        at = next;
      }
    }
  }
  return moves;
}

async function insertMoves(ch: ClickHouseClient, moves: Move[]): Promise<void> {
  const values = moves
    .map(([ts, sub, f, t]) => {
      const from = f < 0 ? { key: 0, h3: 0 } : CELLS[f]!;
      const to = CELLS[t]!;
      return `(toDateTime(${Math.floor(ts / 1000)}), ${sub}, ${from.key}, ${to.key}, 1, ${from.h3}, ${to.h3})`;
    })
    .join(',');
  await ch.command({ query: `INSERT INTO insight_moves_to (ts, sub, from_cell, to_cell, carrier, from_h3, to_h3) VALUES ${values}` });
}

const region = (idx: number[], h3Exact: boolean): RegionFilter => ({
  keys: idx.map((i) => CELLS[i]!.key),
  h3s: [...new Set(idx.map((i) => String(CELLS[i]!.h3)))],
  h3Exact,
});
const REGIONS: [string, RegionFilter][] = [
  ['cells 0–2 by H3', region([0, 1, 2], true)],
  ['cells 0–2 by keys', region([0, 1, 2], false)],
  ['cell 11 without its H3 neighbours', region([11], false)],
  ['cells 3, 5, 8, 11–13 by H3', region([3, 5, 8, 11, 12, 13], true)],
  ['cells 1–9 by keys', region([1, 2, 3, 4, 5, 6, 7, 8, 9], false)],
];

/** IN / OUT rows as `d:key → value`, zeros left out (a bucket with no pair and one whose pairs sum to 0 answer alike). */
const flows = (rows: HistoryRow[], upTo: number) =>
  Object.fromEntries(
    rows
      .filter(([d, key, v]) => (d === IN || d === OUT) && v > 0 && Math.floor(key / 8) * 1000 < upTo)
      .map(([d, key, v]) => [`${d}:${key}`, v])
      .sort(([a], [b]) => String(a).localeCompare(String(b))),
  );

describe('pair atoms per settled bucket (schema version 4)', () => {
  let admin: ClickHouseClient;
  let ch: ClickHouseClient;

  beforeAll(async () => {
    admin = connectClickHouse(inject('clickhouseUrl'));
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    ch = connectClickHouse(`${inject('clickhouseUrl')}/${DB}`);
    await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);
    await insertMoves(ch, simulate(400, 4));
  });
  afterAll(async () => {
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
    await ch?.close();
    await admin?.close();
  });

  async function compare(k: number, upTo: number, label: string): Promise<number> {
    let nonZero = 0;
    for (const [name, r] of REGIONS) {
      for (const [fiveFrom, hourFrom] of [
        [T0, T0],
        [T0 + 25 * 60_000, T0 + HOUR],
        [upTo - HOUR, T0],
      ] as const) {
        const at = upTo + 7 * 60_000;
        const range = { in5From: fiveFrom, out5From: fiveFrom, in1hFrom: hourFrom, out1hFrom: hourFrom, k };
        const fromMoves = flows(await historyRows(ch, r, at, { ...range, subsFrom: at, subsEdge: at }), upTo);
        const fromPairs = flows(await pairFlowRows(ch, r, { ...range, upTo }), upTo);
        expect(fromPairs, `${label}, ${name}, from ${new Date(fiveFrom).toISOString()} / ${new Date(hourFrom).toISOString()}`).toEqual(
          fromMoves,
        );
        nonZero += Object.keys(fromMoves).length;
      }
    }
    return nonZero;
  }

  it('answers every region and window as the moves do, after a filler run, a late move and a change of k', async () => {
    const filler = new PairFiller(ch, 3);
    // The newest event applied is 4 h 12 min in: hours 0–3 have settled (each ended ≥ 10 minutes before).
    const filled = await filler.run(T0 + 4 * HOUR + 12 * 60_000, T0 - 24 * HOUR);
    expect(filled).toEqual([T0, T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR]);
    expect([...(await filledPairHours(ch, 3, T0))].sort()).toEqual(filled);
    expect(await compare(3, T0 + 4 * HOUR, 'k = 3')).toBeGreaterThan(50);

    // Late moves into hour 1: the pair tables are stale until the hour is filled again.
    await insertMoves(ch, simulate(60, 1, 1000, T0 + HOUR));
    const stale = await Promise.all(
      REGIONS.map(([, r]) => pairFlowRows(ch, r, { in5From: T0, out5From: T0, in1hFrom: T0, out1hFrom: T0, upTo: T0 + 4 * HOUR, k: 3 })),
    );
    filler.touched([T0 + HOUR]);
    expect(await filler.run(T0 + 4 * HOUR + 12 * 60_000, T0 - 24 * HOUR)).toEqual([T0 + HOUR]);
    const fresh = await Promise.all(
      REGIONS.map(([, r]) => pairFlowRows(ch, r, { in5From: T0, out5From: T0, in1hFrom: T0, out1hFrom: T0, upTo: T0 + 4 * HOUR, k: 3 })),
    );
    expect(fresh).not.toEqual(stale);
    await compare(3, T0 + 4 * HOUR, 'after late moves');

    // Read at a larger k, the rows filled at 3 still answer exactly (pairs under 10 are 0 either way).
    expect(await compare(10, T0 + 4 * HOUR, 'k = 10 read from k = 3 rows')).toBeGreaterThan(0);
    // Filled at 10 (every hour): a reader at k = 2 may not use them, and a filler at 2 refills them all.
    await fillPairHours(ch, [T0, T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR], 10);
    expect((await filledPairHours(ch, 2, T0)).size).toBe(0);
    expect(await unfilledPairHours(ch, 2, T0 - 24 * HOUR, T0 + 4 * HOUR)).toEqual([T0, T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR]);
    const again = new PairFiller(ch, 2);
    expect(await again.run(T0 + 4 * HOUR + 12 * 60_000, T0 - 24 * HOUR)).toHaveLength(4);
    expect(await compare(2, T0 + 4 * HOUR, 'k = 2 after the refill')).toBeGreaterThan(50);
    // An hour not yet settled is not filled: hour 4 has no moves, and nothing is due before the edge.
    expect(await again.run(T0 + 4 * HOUR + 12 * 60_000, T0 - 24 * HOUR)).toEqual([]);
  });

  it('has readers use an hour only while no move was applied in it since its last fill, and only at a k no smaller than the fill', async () => {
    const day = T0 + 2 * 86_400_000;
    await insertMoves(ch, simulate(50, 3, 5000, day));
    const filler = new PairFiller(ch, 3);
    // At its first run the filler scans its whole window: hours before `day` without moves are recorded as filled too.
    await filler.run(day + 3 * HOUR + 11 * 60_000, day - 6 * HOUR);
    const clock = { now: Date.now() };
    const hours = new PairHours(ch, 3, 0, () => clock.now);
    expect(await hours.upTo(day - 5 * HOUR)).toBe(day + 3 * HOUR);
    // A move applied in hour 1 (a late one), a minute from now: the hour is read from the moves…
    clock.now = Date.now() + 60_000;
    hours.touched(day + HOUR);
    expect(await hours.upTo(day)).toBe(day + HOUR);
    // …also after a fill recorded before that move…
    filler.touched([day + HOUR]);
    expect(await filler.run(day + 3 * HOUR + 11 * 60_000, day - 6 * HOUR)).toEqual([day + HOUR]);
    expect(await hours.upTo(day)).toBe(day + HOUR);
    // …and used again once a fill is recorded after it (here the move is a second old).
    clock.now = Date.now() - 1000;
    hours.touched(day + HOUR);
    filler.touched([day + HOUR]);
    await filler.run(day + 3 * HOUR + 11 * 60_000, day - 6 * HOUR);
    // (This reader's clock went back a minute: read the records now rather than when due.)
    await hours.refresh(day - 6 * HOUR);
    expect(await hours.upTo(day)).toBe(day + 3 * HOUR);
    // A reader at a smaller k than the fill's uses none of it.
    expect(await new PairHours(ch, 2, 0).upTo(day)).toBe(day);
  });
});
