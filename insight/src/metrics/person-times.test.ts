import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ENTRY, LEFT } from './history-query.ts';
import { PersonTimesCache, personTimes, type TimesAnswer } from './person-times.ts';
import { GRACE_MS } from './history-cache.ts';
import { HOUR, secs, shanghaiMidnight } from './time.ts';

/** A move across the region's edge: in (an entry; from 0 = a first sighting) or out. */
interface Move {
  t: number;
  sub: number;
  from: number;
  to: number;
  out: boolean;
}

/** The per-person rows a history query returns for moves in [lo, at]: per (code, person, pair) the last time, settled = before `edge`. */
function rowsOf(moves: Move[], lo: number, edge: number, at: number): [number, number, number, number, number][] {
  const last = new Map<string, [number, number, number, number, number]>();
  for (const m of moves) {
    if (m.t < secs(lo) || m.t > secs(at)) continue;
    const d = (m.out ? LEFT : ENTRY) + (m.t < secs(edge) ? 0 : 1);
    const id = `${d}|${m.sub}|${m.from}|${m.to}`;
    const o = last.get(id);
    if (!o || m.t > o[2]) last.set(id, [d, m.sub, m.t, m.from, m.to]);
  }
  return [...last.values()];
}

/** One poll as `regionHistory` does it: the cached settled part, then the rows after it. */
function poll(cache: PersonTimesCache | undefined, moves: Move[], at: number): TimesAnswer {
  const from = Math.min(shanghaiMidnight(at), at - 8 * HOUR);
  const hit = cache?.get('r', from, at);
  const lo = hit ? hit.upTo : from;
  const edge = cache ? Math.max(lo, Math.floor((at - GRACE_MS) / 1000) * 1000) : at + 1000;
  return personTimes(cache, 'r', hit, from, edge, rowsOf(moves, lo, edge, at));
}

// 2026-11-25 00:00 Asia/Shanghai and the hours around it, so that "since midnight" moves.
const T0 = Date.UTC(2026, 10, 24, 16, 0, 0);
const SPAN = 20 * HOUR;
const arbMove = fc.record({
  t: fc.integer({ min: secs(T0 - 10 * HOUR), max: secs(T0 + SPAN) }),
  sub: fc.integer({ min: 1, max: 40 }),
  from: fc.integer({ min: 0, max: 3 }),
  to: fc.integer({ min: 1, max: 3 }),
  out: fc.boolean(),
});

describe('per-person times of polled regions', () => {
  it('a poll answered from the cached settled times equals the same poll read whole', () => {
    fc.assert(
      fc.property(
        fc.array(arbMove, { minLength: 1, maxLength: 300 }),
        // Polls at increasing times: seconds to hours apart (past the grace period, past midnight).
        fc.array(fc.integer({ min: 1, max: 3 * 3600 }), { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 4 }),
        (moves, steps, k) => {
          const cache = new PersonTimesCache();
          let at = T0 - 2 * HOUR;
          for (const step of steps) {
            at += step * 1000;
            if (at > T0 + SPAN) break;
            const cached = poll(cache, moves, at);
            const whole = poll(undefined, moves, at);
            for (const fromS of [secs(at - HOUR), secs(shanghaiMidnight(at)), secs(at - 8 * HOUR)]) {
              expect(cached.entered(fromS, k)).toBe(whole.entered(fromS, k));
              expect(cached.left(fromS, k)).toBe(whole.left(fromS, k));
            }
            // Dwell reads the entry time of people present: either none, or one after 8 h ago.
            const after = secs(at - 8 * HOUR);
            for (let sub = 1; sub <= 40; sub++) {
              const a = cached.entryOf(sub);
              const b = whole.entryOf(sub);
              expect(a === undefined || a <= after ? undefined : a).toBe(b === undefined || b <= after ? undefined : b);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('counts a person once per crossing pair, the latest time deciding, each pair on the grid of k', () => {
    const at = T0 + 2 * HOUR;
    const s = secs(T0);
    const moves: Move[] = [
      // Pair 1→2 (entries): people 1–3 within the hour, 1 again earlier (one person), 4 before the hour.
      { t: s + 5000, sub: 1, from: 1, to: 2, out: false },
      { t: s + 6500, sub: 1, from: 1, to: 2, out: false },
      { t: s + 6600, sub: 2, from: 1, to: 2, out: false },
      { t: s + 6700, sub: 3, from: 1, to: 2, out: false },
      { t: s + 1000, sub: 4, from: 1, to: 2, out: false },
      // A first sighting: an entry for dwell, not inflow.
      { t: s + 7000, sub: 5, from: 0, to: 2, out: false },
    ];
    const a = poll(undefined, moves, at);
    expect(a.entered(secs(at - HOUR), 1)).toBe(3);
    expect(a.entered(secs(T0), 1)).toBe(4);
    expect(a.entered(secs(T0), 4)).toBe(4);
    expect(a.entered(secs(at - HOUR), 4)).toBe(0);
    expect(a.entryOf(5)).toBe(s + 7000);
    expect(a.entryOf(1)).toBe(s + 6500);
    expect(a.left(secs(T0), 1)).toBe(0);
  });
});
