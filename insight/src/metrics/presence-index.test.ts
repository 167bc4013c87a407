import { describe, expect, it } from 'vitest';
import { CellDictionary } from '../sink/cells.ts';
import { PresenceState, streamPos, type StateSink } from '../sink/presence-state.ts';
import { buildGroups, PresenceIndex } from './presence-index.ts';

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
});
