import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CellDictionary } from '../sink/cells.ts';
import { PresenceState, streamPos, type StateSink } from '../sink/presence-state.ts';
import { buildGroups, LiveGroups, PresenceIndex, type CellGroups } from './presence-index.ts';

const T0 = Date.UTC(2026, 10, 20, 6, 0, 0);
const MIN = 60_000;
const none: StateSink = { move: () => undefined, snapshot: () => undefined };

function population() {
  const s = new PresenceState(new CellDictionary(), 120 * MIN);
  const put = (n: number, ts: number, cell: string, kind = 'periodic') =>
    s.apply({ msisdn: String(13900000000 + n), carrier: 'cmcc', ts, cell, lat: 30, lng: 120, kind }, streamPos(n + 1, 0), none);
  put(0, T0 - 10 * MIN, 'a');
  put(1, T0 - 20 * MIN, 'b');
  put(2, T0 - 30 * MIN, 'a');
  put(3, T0 - 130 * MIN, 'a'); // stale
  put(4, T0 - 5 * MIN, 'b', 'detach'); // detached
  put(5, T0 + 5 * MIN, 'b'); // after `at`
  return s;
}

describe('PresenceIndex', () => {
  it('groups present subscribers by cell, leaving out stale, detached and later ones', () => {
    const s = population();
    const g = buildGroups(s, T0);
    const a = s.cells.indexOfName(1, 'a')!;
    const b = s.cells.indexOfName(1, 'b')!;
    const members = (c: number) => [...g.members.subarray(g.start[c]!, g.start[c + 1]!)].map((i) => s.msisdn[i]! - 13900000000).sort();
    expect(members(a)).toEqual([0, 2]);
    expect(members(b)).toEqual([1]);
    expect(g.members.length).toBe(3);
  });

  it('reuses a live index within the interval and rebuilds after it, never for replays', () => {
    const s = population();
    let clock = 0;
    const idx = new PresenceIndex(s, 2000, () => clock);
    const first = idx.groups(T0, true);
    expect(idx.groups(T0 + 500, true)).toBe(first);
    expect(idx.groups(T0, false)).not.toBe(first);
    clock = 2500;
    expect(idx.groups(T0 + 500, true)).not.toBe(first);
  });

  it('a live index updated by what changed gives the groups of a full build, for any events and instants (#24)', () => {
    const byCell = (s: PresenceState, g: CellGroups) => {
      const out: string[] = [];
      for (let c = 0; c + 1 < g.start.length; c++) {
        const run = [...g.members.subarray(g.start[c]!, g.start[c + 1]!)].sort((x, y) => x - y);
        if (run.length > 0) out.push(`${s.cells.names[c]}:${run.join(',')}`);
      }
      return out.sort();
    };
    let updates = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            // An event: subscriber, seconds after the last instant (some ahead of it, some late), cell, kind.
            fc.tuple(
              fc.constant(0),
              fc.integer({ min: 0, max: 30 }),
              fc.integer({ min: -40, max: 90 }),
              fc.integer({ min: 0, max: 5 }),
              fc.integer({ min: 0, max: 6 }),
            ),
            // A live query, seconds on (now and then backwards).
            fc.tuple(fc.constant(1), fc.integer({ min: -5, max: 200 }), fc.constant(0), fc.constant(0), fc.constant(0)),
          ),
          { minLength: 10, maxLength: 200, size: 'max' },
        ),
        (steps) => {
          const s = new PresenceState(new CellDictionary(), 120_000);
          const idx = new LiveGroups(s);
          let at = T0;
          let pos = 1;
          for (const [what, a, b, c, k] of steps) {
            if (what === 0) {
              s.apply(
                {
                  msisdn: String(13900000000 + a),
                  carrier: 'cmcc',
                  ts: at + b * 1000,
                  cell: `c${c}`,
                  lat: 30,
                  lng: 120,
                  kind: k === 0 ? 'detach' : 'periodic',
                },
                streamPos(pos++, 0),
                none,
              );
            } else {
              at += a * 1000;
              const g = idx.at(at);
              expect(byCell(s, g)).toEqual(byCell(s, buildGroups(s, at)));
              expect(g.members.length).toBe(g.start[g.start.length - 1]);
            }
          }
          updates += idx.updates;
        },
      ),
      { numRuns: 300 },
    );
    // Most builds were updates by what changed, not full sorts.
    expect(updates).toBeGreaterThan(300);
  });

  it('rebuilds by what changed: people who moved, went stale, detached, or whose early-stamped event came due', () => {
    const s = population();
    const idx = new LiveGroups(s);
    const names = (g: CellGroups) => byName(s, g);
    expect(names(idx.at(T0))).toEqual({ a: [0, 2], b: [1] });
    // 5 was stamped 5 minutes ahead; 2 (seen 30 minutes before) goes stale at T0 + 90 min.
    expect(names(idx.at(T0 + 6 * MIN))).toEqual({ a: [0, 2], b: [1, 5] });
    s.apply(
      { msisdn: '13900000000', carrier: 'cmcc', ts: T0 + 7 * MIN, cell: 'b', lat: 30, lng: 120, kind: 'periodic' },
      streamPos(99, 0),
      none,
    );
    s.apply(
      { msisdn: '13900000001', carrier: 'cmcc', ts: T0 + 7 * MIN, cell: 'b', lat: 30, lng: 120, kind: 'detach' },
      streamPos(99, 1),
      none,
    );
    expect(names(idx.at(T0 + 8 * MIN))).toEqual({ a: [2], b: [0, 5] });
    expect(names(idx.at(T0 + 91 * MIN))).toEqual({ b: [0, 5] });
    expect(idx.full).toBe(1);
    expect(idx.updates).toBe(3);
  });
});

function byName(s: PresenceState, g: CellGroups): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (let c = 0; c + 1 < g.start.length; c++) {
    const run = [...g.members.subarray(g.start[c]!, g.start[c + 1]!)].map((i) => s.msisdn[i]! - 13900000000).sort((x, y) => x - y);
    if (run.length > 0) out[s.cells.names[c]!] = run;
  }
  return out;
}
