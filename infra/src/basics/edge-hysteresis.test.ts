import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EDGE_OUT, edgeCrossings, edgeStep, noHysteresis, type EdgeHysteresis, type EdgeZone } from './edge-hysteresis.ts';

type Seq = [number, EdgeZone][];
const I = 'inside',
  N = 'near',
  F = 'far';

describe('edge hysteresis', () => {
  const h: EdgeHysteresis = { bufferMeters: 300, minOutsideSeconds: 300 };
  it.each<[string, Seq, EdgeHysteresis | undefined, number[], number[]]>([
    ['first sighting inside is an entry', [[0, I]], h, [0], []],
    [
      'a sighting only near or far is no entry',
      [
        [0, N],
        [10, F],
      ],
      h,
      [],
      [],
    ],
    [
      'jitter in and near every 30 s: one entry, never left',
      [
        [0, I],
        [30, N],
        [60, I],
        [90, N],
        [120, I],
        [600, N],
        [630, I],
      ],
      h,
      [0],
      [],
    ],
    [
      'near for an hour is not a leave',
      [
        [0, I],
        [30, N],
        [3630, I],
      ],
      h,
      [0],
      [],
    ],
    [
      'far for less than the minimum is not a leave',
      [
        [0, I],
        [30, F],
        [329, I],
      ],
      h,
      [0],
      [],
    ],
    [
      'far for exactly the minimum is a leave, at its end',
      [
        [0, I],
        [30, F],
        [330, I],
      ],
      h,
      [0, 330],
      [330],
    ],
    [
      'far for long: left when the minimum passed, the return is a new entry',
      [
        [0, I],
        [30, F],
        [2000, I],
      ],
      h,
      [0, 2000],
      [330],
    ],
    [
      'a near sighting breaks the far stretch',
      [
        [0, I],
        [30, F],
        [200, N],
        [400, F],
        [500, I],
      ],
      h,
      [0],
      [],
    ],
    [
      'the stretch goes on from far to far',
      [
        [0, I],
        [30, F],
        [200, F],
        [400, F],
        [500, I],
      ],
      h,
      [0, 500],
      [330],
    ],
    [
      'sightings after the leave change nothing until inside',
      [
        [0, I],
        [10, F],
        [400, F],
        [500, N],
        [600, I],
      ],
      h,
      [0, 600],
      [310],
    ],
    [
      'no hysteresis: every step in is an entry, every step out a leave',
      [
        [0, I],
        [30, F],
        [60, I],
        [90, F],
        [120, I],
      ],
      undefined,
      [0, 60, 120],
      [30, 90],
    ],
    [
      'time only (no buffer): near never happens, far for the minimum',
      [
        [0, I],
        [30, F],
        [60, I],
        [90, F],
        [400, I],
      ],
      { minOutsideSeconds: 300 },
      [0, 400],
      [390],
    ],
    [
      'no buffer: a near sighting is far',
      [
        [0, I],
        [30, N],
        [60, I],
      ],
      { minOutsideSeconds: 0 },
      [0, 60],
      [30],
    ],
    [
      'buffer only (no time): leaving means going far',
      [
        [0, I],
        [30, N],
        [60, I],
        [90, F],
        [91, I],
      ],
      { bufferMeters: 300 },
      [0, 91],
      [90],
    ],
  ])('%s', (_name, seq, hy, entries, leaves) => {
    const r = edgeCrossings(seq, hy);
    expect(r.entries).toEqual(entries);
    expect(r.leaves).toEqual(leaves);
  });

  it('settles at the answer time: still far long enough is a leave, not yet is none', () => {
    const seq: Seq = [
      [0, I],
      [30, F],
    ];
    expect(edgeCrossings(seq, h, 200).leaves).toEqual([]);
    expect(edgeCrossings(seq, h, 330).leaves).toEqual([330]);
    expect(edgeCrossings(seq, h, 330).state).toEqual(EDGE_OUT);
  });

  it('knows when a setting changes nothing', () => {
    expect(noHysteresis(undefined)).toBe(true);
    expect(noHysteresis({})).toBe(true);
    expect(noHysteresis({ bufferMeters: 0, minOutsideSeconds: 0 })).toBe(true);
    expect(noHysteresis({ bufferMeters: 1 })).toBe(false);
    expect(noHysteresis({ minOutsideSeconds: 1 })).toBe(false);
  });

  it('with zero buffer and zero time is today: every move outside → inside an entry, inside → outside a leave', () => {
    // Without a buffer nothing is near: outside is far.
    const zone = fc.constantFrom<EdgeZone>('inside', 'far');
    const seq = fc.array(fc.tuple(fc.nat(600), zone), { maxLength: 60 }).map((steps) => {
      let t = 0;
      return steps.map(([dt, z]) => [(t += dt), z] as [number, EdgeZone]);
    });
    fc.assert(
      fc.property(seq, fc.constantFrom<EdgeHysteresis | undefined>(undefined, {}, { bufferMeters: 0, minOutsideSeconds: 0 }), (s, hy) => {
        // Today: a person is in the region after an inside sighting, out after an outside one.
        const entries: number[] = [];
        const leaves: number[] = [];
        let inside = false;
        for (const [t, z] of s) {
          if (z === 'inside' && !inside) entries.push(t);
          if (z !== 'inside' && inside) leaves.push(t);
          inside = z === 'inside';
        }
        const r = edgeCrossings(s, hy);
        expect(r.entries).toEqual(entries);
        expect(r.leaves).toEqual(leaves);
        expect(r.state.phase).toBe(inside ? 'in' : 'out');
      }),
    );
  });

  it('never counts more entries with hysteresis than without, and every entry is an inside sighting', () => {
    const seq = fc.array(fc.tuple(fc.nat(600), fc.constantFrom<EdgeZone>('inside', 'near', 'far')), { maxLength: 60 }).map((steps) => {
      let t = 0;
      return steps.map(([dt, z]) => [(t += dt), z] as [number, EdgeZone]);
    });
    const hy = fc.record({ bufferMeters: fc.nat(5000), minOutsideSeconds: fc.nat(3600) });
    fc.assert(
      fc.property(seq, hy, (s, hh) => {
        const plain = edgeCrossings(s, undefined);
        const with_ = edgeCrossings(s, hh);
        expect(with_.entries.length).toBeLessThanOrEqual(plain.entries.length);
        expect(with_.leaves.length).toBeLessThanOrEqual(plain.leaves.length);
        const insideAt = new Set(s.filter(([, z]) => z === 'inside').map(([t]) => t));
        for (const t of with_.entries) expect(insideAt.has(t)).toBe(true);
        // Entries and leaves alternate: in, left, in, left…
        expect(with_.leaves.length === with_.entries.length || with_.leaves.length === with_.entries.length - 1).toBe(true);
      }),
    );
  });

  it('a step returns a fresh state, leaving the one passed unchanged', () => {
    const s = { phase: 'away' as const, farSince: 10 };
    edgeStep(s, 'far', 20, h);
    expect(s).toEqual({ phase: 'away', farSince: 10 });
  });
});
