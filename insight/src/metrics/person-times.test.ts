import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ENTRY, LEFT } from './history-query.ts';
import { PersonTimesCache, edgeRows, personTimes, type Move as StoredMove, type TimesAnswer } from './person-times.ts';
import { edgeCrossings, type EdgeHysteresis, type EdgeZone } from '@geo/infra/basics';
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

/** One poll as `regionHistory` does it: the cached settled part, then (`finish`, after the query) the rows after it. */
function start(cache: PersonTimesCache | undefined, moves: Move[], at: number): { finish: () => TimesAnswer } {
  const from = Math.min(shanghaiMidnight(at), at - 8 * HOUR);
  const hit = cache?.get('r', from, at);
  const lo = hit ? hit.upTo : from;
  const edge = cache ? Math.max(lo, Math.floor((at - GRACE_MS) / 1000) * 1000) : at + 1000;
  const rows = rowsOf(moves, lo, edge, at);
  return { finish: () => personTimes(cache, 'r', hit, from, edge, rows) };
}
const poll = (cache: PersonTimesCache | undefined, moves: Move[], at: number): TimesAnswer => start(cache, moves, at).finish();

/** Every figure an answer at `at` gives: flows from the last hour, midnight and 8 h back; entry times as dwell reads them. */
function figures(a: TimesAnswer, at: number, k: number): number[] {
  const out: number[] = [];
  for (const fromS of [secs(at - HOUR), secs(shanghaiMidnight(at)), secs(at - 8 * HOUR)]) out.push(a.entered(fromS, k), a.left(fromS, k));
  // Dwell reads the entry time of people present: none, or one after 8 h ago.
  const after = secs(at - 8 * HOUR);
  for (let sub = 1; sub <= SUBS; sub++) {
    const t = a.entryOf(sub);
    out.push(t === undefined || t <= after ? -1 : t);
  }
  return out;
}

// 2026-11-25 00:00 Asia/Shanghai and the hours around it, so that "since midnight" moves.
const T0 = Date.UTC(2026, 10, 24, 16, 0, 0);
const SUBS = 40;
/** Moves in [lo, hi] (ms) among `subs` people over `cells` cells, and polls from `first` at most `maxStep` s apart up to `hi`. */
const scenario = (lo: number, hi: number, subs: number, cells: number, first: number, maxStep: number) =>
  fc.record({
    moves: fc.array(
      fc.record({
        t: fc.integer({ min: secs(lo), max: secs(hi) }),
        sub: fc.integer({ min: 1, max: subs }),
        from: fc.integer({ min: 0, max: cells }),
        to: fc.integer({ min: 1, max: cells }),
        out: fc.boolean(),
      }),
      { minLength: 1, maxLength: 300 },
    ),
    // Some polls with a second poll of the region in flight at once (both start from the same cache).
    polls: fc.array(fc.record({ step: fc.integer({ min: 1, max: maxStep }), overlap: fc.integer({ min: -1, max: 120 }) }), {
      minLength: 1,
      maxLength: 25,
    }),
    first: fc.constant(first),
    hi: fc.constant(hi),
  });

describe('per-person times of polled regions', () => {
  it('a poll answered from the cached settled times equals the same poll read whole', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          // A day: polls hours apart, across midnight and past the 8 h window.
          scenario(T0 - 10 * HOUR, T0 + 20 * HOUR, SUBS, 3, T0 - 2 * HOUR, 3 * 3600),
          // Two busy hours: few people and cells, so that one person crosses one pair again and again.
          scenario(T0 - HOUR, T0 + HOUR, 6, 2, T0 - 30 * 60_000, 900),
        ),
        fc.integer({ min: 1, max: 4 }),
        ({ moves, polls, first, hi }, k) => {
          const cache = new PersonTimesCache();
          let at = first;
          for (const { step, overlap } of polls) {
            at += step * 1000;
            if (at > hi) break;
            const whole = figures(poll(undefined, moves, at), at, k);
            if (overlap < 0) {
              expect(figures(poll(cache, moves, at), at, k)).toEqual(whole);
              continue;
            }
            const at2 = at + overlap * 1000;
            const [a, b] = [start(cache, moves, at), start(cache, moves, at2)];
            // Each answer is read as soon as its rows are in, as regionHistory does.
            expect(figures(a.finish(), at, k)).toEqual(whole);
            expect(figures(b.finish(), at2, k)).toEqual(figures(poll(undefined, moves, at2), at2, k));
            at = at2;
          }
        },
      ),
      { numRuns: 400 },
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

describe('edge hysteresis in inflow / outflow', () => {
  // Cells: 1 inside the region, 2–4 just outside (within the buffer), 9 far away.
  const zoneOf = (c: number): EdgeZone => (c === 1 ? 'inside' : c >= 2 && c <= 4 ? 'near' : 'far');
  const T0 = 1_800_000_000;
  /** Ten people: from far away in, then handovers to the three cells outside the edge and back, every 30 s. */
  const jitter = (): StoredMove[] => {
    const path = [9, 1, 2, 1, 3, 1, 4, 1, 2, 1];
    const out: StoredMove[] = [];
    for (let sub = 1; sub <= 10; sub++) for (let k = 1; k < path.length; k++) out.push([sub, T0 + k * 30, path[k - 1]!, path[k]!]);
    return out;
  };
  const answer = (rows: ReturnType<typeof edgeRows>) =>
    personTimes(undefined, 'r', undefined, (T0 - 3600) * 1000, (T0 + 3600) * 1000, rows);

  it('counts the jitter across the edge as one inflow per person with hysteresis, one per crossing pair without', () => {
    const plain = answer(edgeRows(jitter(), zoneOf, undefined, T0 + 600));
    // Pairs 9→1, 2→1, 3→1, 4→1 in; 1→2, 1→3, 1→4 out: ten people each.
    expect(plain.entered(T0 - 60, 10)).toBe(40);
    expect(plain.left(T0 - 60, 10)).toBe(30);
    const hyst = answer(edgeRows(jitter(), zoneOf, { bufferMeters: 500, minOutsideSeconds: 300 }, T0 + 600));
    expect(hyst.entered(T0 - 60, 10)).toBe(10);
    expect(hyst.left(T0 - 60, 10)).toBe(0);
    expect(hyst.entryOf(1)).toBe(T0 + 30);
  });

  it('counts a real leave once the time away has passed, at its end, under the move that took them out', () => {
    const moves: StoredMove[] = [];
    for (let sub = 1; sub <= 10; sub++) moves.push([sub, T0, 9, 1], [sub, T0 + 60, 1, 2], [sub, T0 + 90, 2, 9], [sub, T0 + 1_000, 9, 1]);
    const h = { bufferMeters: 500, minOutsideSeconds: 300 };
    const rows = edgeRows(moves, zoneOf, h, T0 + 2_000);
    expect(rows.filter((r) => r[1] === 1)).toEqual([
      [ENTRY, 1, T0, 9, 1],
      [LEFT, 1, T0 + 390, 1, 2],
      [ENTRY, 1, T0 + 1_000, 9, 1],
    ]);
    // Not yet long enough when the answer is asked at T0 + 300.
    expect(
      edgeRows(
        moves.filter((m) => m[1] <= T0 + 90),
        zoneOf,
        h,
        T0 + 300,
      ).some((r) => r[0] === LEFT),
    ).toBe(false);
  });

  it('with zero buffer and zero time gives the rows of the stored moves: an entry per move in, a leave per move out', () => {
    const cell = fc.constantFrom(0, 1, 5, 6, 7, 9);
    const person = fc.array(fc.tuple(fc.integer({ min: 1, max: 600 }), cell), { minLength: 1, maxLength: 30 });
    const zone =
      (inside: Set<number>) =>
      (c: number): EdgeZone =>
        inside.has(c) ? 'inside' : 'far';
    fc.assert(
      fc.property(
        fc.array(person, { minLength: 1, maxLength: 6 }),
        fc.subarray([1, 5, 6, 7, 9]),
        fc.constantFrom(undefined, {}, { bufferMeters: 0, minOutsideSeconds: 0 }),
        (people, ins, h) => {
          const inside = new Set(ins);
          const moves: StoredMove[] = [];
          people.forEach((steps, sub) => {
            let t = T0,
              at = 0;
            for (const [dt, c] of steps) {
              if (c === 0 || c === at) continue;
              moves.push([sub, (t += dt), at, c]);
              at = c;
            }
          });
          const today: number[][] = [];
          for (const [sub, t, from, to] of moves) {
            const fromIn = from !== 0 && inside.has(from);
            if (inside.has(to) && !fromIn) today.push([ENTRY, sub, t, from, to]);
            if (fromIn && !inside.has(to)) today.push([LEFT, sub, t, from, to]);
          }
          const byKey = (a: number[], b: number[]) => a[1]! - b[1]! || a[2]! - b[2]! || a[0]! - b[0]!;
          expect(edgeRows(moves, zone(inside), h, T0 + 100_000).sort(byKey)).toEqual(today.sort(byKey));
        },
      ),
    );
  });

  it('agrees with the rule alerting applies, on any movement sequence: entries and leaves at the same times', () => {
    // Two cells per zone (a move needs a new cell): 1, 2 inside; 3, 4 near; 8, 9 far.
    const cellOf: Record<EdgeZone, [number, number]> = { inside: [1, 2], near: [3, 4], far: [8, 9] };
    const zoneOfCell = (c: number): EdgeZone => (c <= 2 ? 'inside' : c <= 4 ? 'near' : 'far');
    const seq = fc.array(fc.tuple(fc.integer({ min: 1, max: 400 }), fc.constantFrom<EdgeZone>('inside', 'near', 'far')), {
      minLength: 1,
      maxLength: 40,
    });
    const hyst = fc.oneof(
      fc.constant<EdgeHysteresis | undefined>(undefined),
      fc.record({ bufferMeters: fc.constantFrom(0, 500), minOutsideSeconds: fc.constantFrom(0, 60, 300, 600) }),
    );
    fc.assert(
      fc.property(seq, hyst, (steps, h) => {
        const moves: StoredMove[] = [];
        const sightings: [number, EdgeZone][] = [];
        let t = T0,
          at = 0;
        for (const [dt, zone] of steps) {
          const c = cellOf[zone][0] === at ? cellOf[zone][1] : cellOf[zone][0];
          moves.push([7, (t += dt), at, c]);
          sightings.push([t, zone]);
          at = c;
        }
        const until = t + 1_000;
        const rule = edgeCrossings(sightings, h, until);
        const rows = edgeRows(moves, zoneOfCell, h, until);
        expect(rows.filter((r) => r[0] === ENTRY).map((r) => r[2])).toEqual(rule.entries);
        expect(rows.filter((r) => r[0] === LEFT).map((r) => r[2])).toEqual(rule.leaves);
      }),
    );
  });
});
