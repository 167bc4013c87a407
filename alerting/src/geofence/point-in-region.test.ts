import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as turf from '@turf/turf';
import type { RegionPart, Ring } from '../contract.ts';
import { compileRegion } from './point-in-region.ts';
import { regionIssues } from './validate-region.ts';

/** A star-shaped (so simple, usually concave) ring around a centre, counter-clockwise. */
function starRing(cx: number, cy: number, radii: number[]): Ring {
  const n = radii.length;
  const ring: Ring = radii.map((r, i) => {
    const a = (i / n) * 2 * Math.PI;
    return [cx + r * Math.cos(a), cy + r * Math.sin(a)];
  });
  return [...ring, ring[0]];
}

const radiiArb = (min: number, max: number) => fc.array(fc.double({ min, max, noNaN: true }), { minLength: 5, maxLength: 40 });
const centreArb = fc.tuple(fc.double({ min: 100, max: 125, noNaN: true }), fc.double({ min: 18, max: 45, noNaN: true }));

/**
 * A polygon: a concave star, optionally with a star hole inside its inner radius. The outer ring's
 * edges come as close to its centre as 0.02 · cos(π / 5) ≈ 0.0162 (two neighbours of 5 at the
 * smallest radius); the hole, 0.0014 off centre, stays within 0.0134 of it, so it never touches the
 * outer ring (holes up to 0.015 did: CI found a hole crossing an outer edge, rightly refused by
 * regionIssues).
 */
const polygonArb = fc
  .tuple(centreArb, radiiArb(0.02, 0.1), fc.option(radiiArb(0.003, 0.012), { nil: undefined }))
  .map(([[cx, cy], outer, hole]) => {
    const rings = [starRing(cx, cy, outer)];
    if (hole) rings.push(starRing(cx + 0.001, cy - 0.001, hole).reverse());
    return rings;
  });

const randomPointsNear = (rings: Ring[], n: number, rnd: () => number): [number, number][] => {
  const all = rings.flat();
  const w = Math.min(...all.map((q) => q[0])),
    e = Math.max(...all.map((q) => q[0]));
  const s = Math.min(...all.map((q) => q[1])),
    nn = Math.max(...all.map((q) => q[1]));
  const dx = (e - w) * 0.2,
    dy = (nn - s) * 0.2;
  return Array.from({ length: n }, () => [w - dx + rnd() * (e - w + 2 * dx), s - dy + rnd() * (nn - s + 2 * dy)] as [number, number]);
};

/** Points 5 cm to 1 m off the middle part of each edge, on a known side, with the side that is inside. */
function nearBoundary(rings: Ring[], rnd: () => number): { p: [number, number]; inside: boolean }[] {
  const out: { p: [number, number]; inside: boolean }[] = [];
  rings.forEach((ring, ri) => {
    // Outer ring is counter-clockwise (inside on the left); holes were reversed (inside the polygon on their right).
    for (let i = 0; i + 1 < ring.length; i++) {
      const [x1, y1] = ring[i],
        [x2, y2] = ring[i + 1];
      const t = 0.3 + rnd() * 0.4;
      const mx = x1 + t * (x2 - x1),
        my = y1 + t * (y2 - y1);
      const k = Math.cos((my * Math.PI) / 180);
      // Unit normal to the left in metres, converted back to degrees.
      const ex = (x2 - x1) * k * 111_195,
        ey = (y2 - y1) * 111_195;
      const len = Math.hypot(ex, ey);
      const d = 0.05 + rnd() * 0.95;
      const side = rnd() < 0.5 ? 1 : -1;
      const px = mx + ((-ey / len) * d * side) / (k * 111_195),
        py = my + ((ex / len) * d * side) / 111_195;
      // Counter-clockwise outer ring: its inside is on the left; a clockwise hole: the polygon is on its left too.
      const leftIsInside = ri >= 0;
      out.push({ p: [px, py], inside: side === 1 ? leftIsInside : !leftIsInside });
    }
  });
  return out;
}

const seeded = (seed: number) => () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;

describe('exact point-in-region against independent oracles', () => {
  it('agrees with turf on thousands of random points in concave polygons with holes', () => {
    let checked = 0;
    fc.assert(
      fc.property(polygonArb, fc.integer(), (rings, seed) => {
        expect(regionIssues({ parts: [{ kind: 'polygon', rings }] })).toEqual([]);
        const region = compileRegion({ parts: [{ kind: 'polygon', rings }] });
        const poly = turf.polygon(rings);
        for (const p of randomPointsNear(rings, 60, seeded(seed))) {
          expect(region.contains(p[0], p[1])).toBe(turf.booleanPointInPolygon(p, poly));
          checked++;
        }
      }),
      { numRuns: 100 },
    );
    expect(checked).toBe(6000);
  });

  it('decides points within a metre of a boundary by the side they are on (and turf agrees)', () => {
    let checked = 0;
    fc.assert(
      fc.property(polygonArb, fc.integer(), (rings, seed) => {
        const region = compileRegion({ parts: [{ kind: 'polygon', rings }] });
        const poly = turf.polygon(rings);
        for (const { p, inside } of nearBoundary(rings, seeded(seed))) {
          expect(region.contains(p[0], p[1])).toBe(inside);
          expect(turf.booleanPointInPolygon(p, poly)).toBe(inside);
          checked++;
        }
      }),
      { numRuns: 100 },
    );
    expect(checked).toBeGreaterThan(1000);
  });

  it('treats a multipolygon and several parts as a union', () => {
    fc.assert(
      fc.property(polygonArb, polygonArb, fc.integer(), (a, b, seed) => {
        const shift = (rings: Ring[]): Ring[] => rings.map((r) => r.map(([x, y]) => [x + 0.3, y] as [number, number]));
        const b2 = shift(b.map((r) => r.map(([x, y]) => [x - b[0][0][0] + a[0][0][0], y - b[0][0][1] + a[0][0][1]] as [number, number])));
        const parts: RegionPart[] = [{ kind: 'multipolygon', polygons: [a, b2] }];
        const region = compileRegion({ parts });
        const mp = turf.multiPolygon([a, b2]);
        const rnd = seeded(seed);
        for (const p of [...randomPointsNear(a, 30, rnd), ...randomPointsNear(b2, 30, rnd)])
          expect(region.contains(p[0], p[1])).toBe(turf.booleanPointInPolygon(p, mp));
      }),
      { numRuns: 50 },
    );
  });

  it('includes a circle exactly up to its radius (turf distance as oracle, points within a metre of the edge)', () => {
    fc.assert(
      fc.property(centreArb, fc.double({ min: 50, max: 50_000, noNaN: true }), fc.integer(), (c, radiusM, seed) => {
        const region = compileRegion({ parts: [{ kind: 'circle', center: c, radiusM }] });
        const rnd = seeded(seed);
        for (let i = 0; i < 40; i++) {
          const bearing = rnd() * 360 - 180;
          const d = i < 20 ? radiusM + (rnd() * 2 - 1) : rnd() * radiusM * 2;
          const p = turf.destination(c, d / 1000, bearing, { units: 'kilometers' }).geometry.coordinates as [number, number];
          const oracle = turf.distance(c, p, { units: 'kilometers' }) * 1000;
          if (Math.abs(oracle - radiusM) < 0.01) continue; // closer than a centimetre: the two spheres' radii differ
          expect(region.contains(p[0], p[1])).toBe(oracle <= radiusM);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('includes points within a polyline buffer (turf pointToLineDistance as oracle)', () => {
    fc.assert(
      fc.property(
        centreArb,
        fc.array(fc.tuple(fc.double({ min: -0.05, max: 0.05, noNaN: true }), fc.double({ min: -0.05, max: 0.05, noNaN: true })), {
          minLength: 2,
          maxLength: 8,
        }),
        fc.double({ min: 20, max: 2000, noNaN: true }),
        fc.integer(),
        (c, offs, bufferM, seed) => {
          const path = offs.map(([dx, dy]) => [c[0] + dx, c[1] + dy] as [number, number]);
          // turf has no answer for a zero-length segment; a drawn polyline never has one that short.
          if (path.some((p, i) => i > 0 && Math.hypot(p[0] - path[i - 1][0], p[1] - path[i - 1][1]) < 1e-4)) return;
          const region = compileRegion({ parts: [{ kind: 'polyline', path, bufferM }] });
          const line = turf.lineString(path);
          const rnd = seeded(seed);
          for (const p of randomPointsNear([path], 40, rnd)) {
            const oracle = turf.pointToLineDistance(p, line, { units: 'meters' });
            if (Math.abs(oracle - bufferM) < Math.max(0.5, bufferM * 1e-3)) continue; // projection error of either side
            expect(region.contains(p[0], p[1])).toBe(oracle <= bufferM);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('counts an explicit edge buffer around polygons and nothing beyond it', () => {
    const sq: Ring = [
      [120, 30],
      [120.01, 30],
      [120.01, 30.01],
      [120, 30.01],
      [120, 30],
    ];
    const exact = compileRegion({ parts: [{ kind: 'polygon', rings: [sq] }] });
    const buffered = compileRegion({ parts: [{ kind: 'polygon', rings: [sq] }], edgeBufferM: 100 });
    const east80m = 120.01 + 80 / (111_195 * Math.cos((30.005 * Math.PI) / 180));
    const east120m = 120.01 + 120 / (111_195 * Math.cos((30.005 * Math.PI) / 180));
    expect(exact.contains(east80m, 30.005)).toBe(false);
    expect(buffered.contains(east80m, 30.005)).toBe(true);
    expect(buffered.contains(east120m, 30.005)).toBe(false);
  });

  it('includes rectangle edges and excludes a hair outside them', () => {
    const r = compileRegion({ parts: [{ kind: 'rectangle', west: 120, south: 30, east: 120.1, north: 30.1 }] });
    expect(r.contains(120, 30.05)).toBe(true);
    expect(r.contains(120.1, 30.1)).toBe(true);
    expect(r.contains(120 - 1e-7, 30.05)).toBe(false);
    expect(r.contains(120.05, 30.1 + 1e-7)).toBe(false);
  });
});

describe('RegionIndex (bbox pre-filter, exact decision)', () => {
  it('returns exactly the regions whose exact test contains the point', async () => {
    const { RegionIndex } = await import('./region-index.ts');
    const rnd = seeded(7);
    const regions = Array.from({ length: 100 }, (_, key) => {
      const cx = 120 + rnd(),
        cy = 30 + rnd();
      const part: RegionPart =
        key % 3 === 0
          ? { kind: 'circle', center: [cx, cy], radiusM: 2000 + rnd() * 5000 }
          : key % 3 === 1
            ? {
                kind: 'polygon',
                rings: [
                  starRing(
                    cx,
                    cy,
                    Array.from({ length: 12 }, () => 0.01 + rnd() * 0.05),
                  ),
                ],
              }
            : {
                kind: 'polyline',
                path: [
                  [cx, cy],
                  [cx + 0.05, cy + 0.02],
                  [cx + 0.1, cy - 0.01],
                ],
                bufferM: 500,
              };
      return { key, region: compileRegion({ parts: [part] }) };
    });
    const index = new RegionIndex(regions);
    for (let i = 0; i < 5000; i++) {
      const x = 120 + rnd() * 1.1,
        y = 30 + rnd() * 1.1;
      expect(index.matching(x, y)).toEqual(regions.filter((r) => r.region.contains(x, y)).map((r) => r.key));
    }
  });
});
