import { cellToBoundary, getPentagons, gridDisk, latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { heat, SUPPRESSED } from './hex-cells.ts';
import { cellRing, HexPolygonBuilder } from './hex-polygons.ts';

const pairs = (ring: Float64Array) => Array.from({ length: ring.length / 2 }, (_, i) => `${ring[i * 2]},${ring[i * 2 + 1]}`);

describe('HexPolygonBuilder', () => {
  it('gives neighbours bit-identical shared vertices (an edge drawn once, no seam)', () => {
    const centre = latLngToCell(30.25, 123.5, 7);
    const own = new Set(pairs(cellRing(centre)));
    for (const n of gridDisk(centre, 1).filter((c) => c !== centre)) {
      const shared = pairs(cellRing(n)).filter((p) => own.has(p));
      // Each of the six neighbours shares one edge: two vertices (the closing repeat aside).
      expect(new Set(shared).size, n).toBe(2);
    }
  });

  it('closes every ring, pentagons included, and colours every vertex of a cell alike', () => {
    const pentagon = getPentagons(7)[0]!;
    const cells = [
      { h3: latLngToCell(30.25, 120.17, 7), count: 10 },
      { h3: pentagon, count: null },
    ];
    const p = new HexPolygonBuilder().build(cells);
    expect(p.length).toBe(2);
    expect(Array.from(p.startIndices)).toEqual([0, 7]);
    expect(p.positions.length / 2).toBe(7 + cellToBoundary(pentagon).length + 1);
    for (const [start, end] of [
      [0, 6],
      [7, p.positions.length / 2 - 1],
    ] as const) {
      expect([p.positions[end * 2], p.positions[end * 2 + 1]]).toEqual([p.positions[start * 2], p.positions[start * 2 + 1]]);
    }
    expect(Array.from(p.colors.subarray(0, 4))).toEqual(heat(1));
    expect(Array.from(p.colors.subarray(6 * 4, 7 * 4))).toEqual(heat(1));
    expect(Array.from(p.colors.subarray(7 * 4, 8 * 4))).toEqual(SUPPRESSED);
  });

  it('reuses the previous set’s rings and keeps only the current set', () => {
    const b = new HexPolygonBuilder();
    const cells = gridDisk(latLngToCell(30.25, 120.17, 8), 2).map((h3, i) => ({ h3, count: i }));
    const first = b.build(cells);
    const again = b.build(cells.map((c) => ({ ...c, count: 5 })));
    expect(Array.from(again.positions)).toEqual(Array.from(first.positions));
    const rings = (b as unknown as { rings: Map<string, Float64Array> }).rings;
    expect(rings.size).toBe(cells.length);
    b.build(cells.slice(0, 3));
    expect((b as unknown as { rings: Map<string, Float64Array> }).rings.size).toBe(3);
  });
});
