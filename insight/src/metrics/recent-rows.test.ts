import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { atom } from './privacy.ts';
import { ENTRY, IN, K_FIVE, K_HOUR, LEFT, OUT, type HistoryRange, type HistoryRow } from './history-query.ts';
import { RecentMoves } from './recent-moves.ts';
import { recentRows } from './recent-rows.ts';

/**
 * The rows by the rules `historyRows` states, written plainly over every move (no crossing scan,
 * string keys): inflow / outflow buckets as sums of each crossing pair's atom, and per person and
 * pair the last entry (a first sighting counts) and last outflow, settled before the edge, fresh from it.
 */
function reference(
  moves: [number, number, number, number][],
  inRegion: Uint8Array,
  keyOf: number[],
  atS: number,
  r: HistoryRange,
  k: number,
) {
  const s = (ms: number) => Math.floor(ms / 1000);
  const flows = new Map<string, Set<number>>();
  const person = new Map<string, number>();
  for (const [t, sub, f, c] of moves) {
    if (t > atS) continue;
    const wasIn = f >= 0 && inRegion[f] === 1;
    const isIn = inRegion[c] === 1;
    if (wasIn === isIn) continue;
    const pair = `${f >= 0 ? keyOf[f] : 0}:${keyOf[c]}`;
    const d = isIn ? IN : OUT;
    const [five, hour] = isIn ? [s(r.in5From), s(r.in1hFrom)] : [s(r.out5From), s(r.out1hFrom)];
    if (isIn ? f >= 0 : true) {
      if (t >= hour)
        flows.set(
          `${d}:${Math.floor(t / 3600) * 3600 * 8 + K_HOUR}:${pair}`,
          (flows.get(`${d}:${Math.floor(t / 3600) * 3600 * 8 + K_HOUR}:${pair}`) ?? new Set()).add(sub),
        );
      if (t >= five)
        flows.set(
          `${d}:${Math.floor(t / 300) * 300 * 8 + K_FIVE}:${pair}`,
          (flows.get(`${d}:${Math.floor(t / 300) * 300 * 8 + K_FIVE}:${pair}`) ?? new Set()).add(sub),
        );
    }
    if (t >= s(r.subsFrom)) {
      const code = (isIn ? ENTRY : LEFT) + (t < s(r.subsEdge) ? 0 : 1);
      const id = `${code}:${sub}:${pair}`;
      person.set(id, Math.max(person.get(id) ?? -1, t));
    }
  }
  const sums = new Map<string, number>();
  for (const [id, subs] of flows) {
    const [d, key] = id.split(':');
    sums.set(`${d}:${key}`, (sums.get(`${d}:${key}`) ?? 0) + atom(subs.size, k));
  }
  const rows: HistoryRow[] = [...sums].map(([id, v]) => {
    const [d, key] = id.split(':').map(Number);
    return [d!, key!, v, 0, 0];
  });
  for (const [id, t] of person) {
    const [code, sub, a, b] = id.split(':').map(Number);
    rows.push([code!, sub!, t, a!, b!]);
  }
  return rows;
}
const sorted = (rows: HistoryRow[]) => rows.map((r) => r.join(',')).sort();

describe('recentRows', () => {
  it('gives the rows of every move by the stated rules, for any region, window and k', () => {
    const CELLS = 8;
    const keyOf = Array.from({ length: CELLS }, (_, i) => 2 ** 52 - 1 - i * 7_777_777);
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 7200 }),
            fc.integer({ min: 0, max: 5 }),
            fc.integer({ min: -1, max: CELLS - 1 }),
            fc.integer({ min: 0, max: CELLS - 1 }),
          ),
          {
            maxLength: 120,
          },
        ),
        fc.array(fc.boolean(), { minLength: CELLS, maxLength: CELLS }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 7200 }),
        fc.integer({ min: 0, max: 7200 }),
        (raw, inside, k, a, b) => {
          const moves = raw.map(([t, s, f, c]) => [100_000 + t, 13_900_000_000 + s, f, c] as [number, number, number, number]);
          moves.sort((x, y) => x[0] - y[0]);
          const recent = new RecentMoves(10 * 3_600_000, 16);
          recent.start(0);
          for (const [t, sub, f, c] of moves) recent.record(t * 1000, sub, f, c);
          const inRegion = Uint8Array.from(inside, (x) => (x ? 1 : 0));
          const lo = (100_000 + Math.min(a, b)) * 1000;
          const r: HistoryRange = {
            in5From: lo,
            out5From: lo + 300_000,
            in1hFrom: lo - 3_600_000,
            out1hFrom: lo,
            subsFrom: lo,
            subsEdge: (100_000 + Math.max(a, b)) * 1000,
            k,
          };
          const atS = 100_000 + 7000;
          expect(sorted(recentRows(recent, inRegion, keyOf, atS * 1000, r))).toEqual(sorted(reference(moves, inRegion, keyOf, atS, r, k)));
        },
      ),
      { numRuns: 300 },
    );
  });
});
