import { cellToLatLng, getHexagonEdgeLengthAvg, getPentagons, gridDisk, latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { heat, heatmapCells, hexOffsets, HexColumnBuilder, SUPPRESSED, type HexCell } from './hex-cells.ts';

const disk = gridDisk(latLngToCell(30.25, 120.17, 8), 5);
const cells = (ids: string[], count = (i: number) => i + 1): HexCell[] => ids.map((h3, i) => ({ h3, count: count(i) }));

function expectColumns(built: ReturnType<HexColumnBuilder['build']>, set: HexCell[]) {
  expect(built.length).toBe(set.length);
  const max = Math.max(1, ...set.map((c) => c.count ?? 0));
  set.forEach((c, i) => {
    const [lat, lng] = cellToLatLng(c.h3);
    expect([built.positions[i * 2], built.positions[i * 2 + 1]]).toEqual([lng, lat]);
    expect([...built.colors.subarray(i * 4, i * 4 + 4)]).toEqual(c.count === null ? SUPPRESSED : heat(c.count / max));
  });
}

describe('HexColumnBuilder', () => {
  it('gives each cell its centroid and heat colour, suppressed cells grey, and one hexagon outline', () => {
    const set = cells(disk, (i) => (i === 3 ? (null as never) : i * 10));
    const built = new HexColumnBuilder().build(set);
    expectColumns(built, set);
    expect(built.resolution).toBe(8);
    expect(built.vertices).toHaveLength(6);
  });

  it('keeps centroids right when the next set reorders, drops and adds cells', () => {
    const b = new HexColumnBuilder();
    b.build(cells(disk));
    const next = cells([...disk.slice(10).reverse(), ...gridDisk(latLngToCell(31, 121, 8), 2)]);
    expectColumns(b.build(next), next);
    const same = cells(
      next.map((c) => c.h3),
      (i) => 1000 - i,
    );
    expectColumns(b.build(same), same);
  });

  it('asks for per-cell polygons when resolutions mix or a pentagon is in the set, also across sets', () => {
    const b = new HexColumnBuilder();
    expect(b.build(cells([...disk, latLngToCell(30.25, 120.17, 7)])).vertices).toBeNull();
    expect(b.build(cells(disk)).vertices).toHaveLength(6);
    expect(new HexColumnBuilder().build(cells([...disk, getPentagons(8)[0]!])).vertices).toBeNull();
    // A set of another resolution alone is uniform again.
    expect(b.build(cells(gridDisk(latLngToCell(30.25, 120.17, 7), 2))).resolution).toBe(7);
    expect(new HexColumnBuilder().build([]).length).toBe(0);
  });
});

describe('hexOffsets', () => {
  it('gives a hexagon around its centre with edges of the resolution average, in metres', () => {
    const v = hexOffsets(disk[0]!);
    const edge = getHexagonEdgeLengthAvg(8, 'm');
    for (let i = 0; i < 6; i++) {
      const [a, b] = [v[i]!, v[(i + 1) % 6]!];
      // Mercator scales east and north alike by 1/cos(lat) beyond the cell: metres here are on the map's scale.
      const len = Math.hypot(a[0] - b[0], a[1] - b[1]);
      expect(len).toBeGreaterThan(edge * 0.8);
      expect(len).toBeLessThan(edge * 1.2);
      expect(Math.hypot(a[0], a[1])).toBeLessThan(edge * 1.2);
    }
  });
});

describe('heatmapCells', () => {
  it('turns insight\u2019s answer into cells, suppressed counts as null', () => {
    expect(
      heatmapCells({
        cells: [
          { h3: 'a', count: { value: 3 } },
          { h3: 'b', count: { value: null } },
        ],
      }),
    ).toEqual([
      { h3: 'a', count: 3 },
      { h3: 'b', count: null },
    ]);
  });
});
