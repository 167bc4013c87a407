import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CellDictionary } from '../sink/cells.ts';
import { PresenceState } from '../sink/presence-state.ts';
import { buildGroups } from './presence-index.ts';
import { dwellFigures, liveFigures } from './live-figures.ts';

const AT = 1_800_000_000_000;
const MIN = 60_000;

describe('dwellFigures', () => {
  it('gives the same atoms when only the entrants (any superset of who has an entry) are looked up', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 150 })), { minLength: 1, maxLength: 60 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 600 })), { maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 90 }), { maxLength: 20 }),
        fc.integer({ min: 1, max: 4 }),
        (people, entries, extra, k) => {
          const cells = new CellDictionary();
          for (let c = 0; c < 5; c++) cells.restore(1, `C${c}`, 1000 + c, 30 + c * 0.01, 120, 0);
          const state = new PresenceState(cells, 2 * 60 * MIN, 4);
          people.forEach(([cell, ago], i) =>
            state.restore({
              sub: 13_900_000_000 + i,
              cell,
              ts: AT - ago * 1000,
              carrier: 1,
              gender: 0,
              age: 255,
              home: 0,
              detached: 0,
              pos: 0,
            }),
          );
          // Entry times (s) of some people (and of people nowhere near), minutes to 10 h ago.
          const entry = new Map<number, number>();
          for (const [i, agoMin] of entries) entry.set(13_900_000_000 + i, Math.floor((AT - agoMin * MIN) / 1000));
          const fig = liveFigures(state, buildGroups(state, AT), [0, 1, 2, 4], k);
          const entryOf = (sub: number) => entry.get(sub);
          const entrants = new Set([...entry.keys(), ...extra.map((i) => 13_900_000_000 + i)]);
          expect(dwellFigures(state, fig, entryOf, AT, k, entrants)).toEqual(dwellFigures(state, fig, entryOf, AT, k));
        },
      ),
      { numRuns: 300 },
    );
  });
});
