import type { RegionPart } from '../src/contract.ts';

/** The benches' population: cells over a Hangzhou-sized box, numbers, and task regions of every kind. */
let seed = 42;
/** A seeded generator: every run draws the same cells, regions and people. */
export const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;

export const W = 120.0,
  S = 30.1,
  E = 120.4,
  N = 30.4; // a Hangzhou-sized box
export const CELLS = 20_000;
export const cells = Array.from({ length: CELLS }, (_, i) => ({ id: `c${i}`, lng: W + rnd() * (E - W), lat: S + rnd() * (N - S) }));
export const msisdn = (i: number) => `15${String(i).padStart(9, '0')}`;

export function mixedRegion(k: number): RegionPart {
  const cx = W + 0.02 + rnd() * (E - W - 0.04),
    cy = S + 0.02 + rnd() * (N - S - 0.04);
  switch (k % 4) {
    case 0:
      return { kind: 'circle', center: [cx, cy], radiusM: 100 + rnd() * 150 };
    case 1: {
      const n = 12,
        ring: [number, number][] = [];
      for (let i = 0; i < n; i++) {
        const a = (i / n) * 2 * Math.PI,
          r = (i % 2 ? 0.0007 : 0.002) * (0.5 + rnd());
        ring.push([cx + r * Math.cos(a), cy + r * Math.sin(a)]);
      }
      return { kind: 'polygon', rings: [[...ring, ring[0]]] };
    }
    case 2:
      return { kind: 'rectangle', west: cx, south: cy, east: cx + 0.002, north: cy + 0.0017 };
    default:
      return {
        kind: 'polyline',
        path: [
          [cx, cy],
          [cx + 0.004, cy + 0.0015],
          [cx + 0.008, cy - 0.001],
        ],
        bufferM: 60,
      };
  }
}
