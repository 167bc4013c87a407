import { cellToBoundary } from 'h3-js';
import { heat, SUPPRESSED, type HexCell } from './hex-cells.ts';

/**
 * Up to this many cells the map draws each cell's own outline (h3-js `cellToBoundary`); above it,
 * one shared hexagon at every centre (`HexColumnBuilder`), which is cheaper but leaves thin slanted
 * seams between neighbours, since real H3 cells differ slightly in shape. The big screen's ~3,000
 * cells and a district's heat map are well under it; a 50,000-cell province view is not.
 */
export const POLYGON_CELL_LIMIT = 20_000;

/**
 * Cells as deck.gl binary polygons (SolidPolygonLayer with `_normalize: false`): every cell's own
 * closed ring of [lng, lat] vertices, rings one after another (`startIndices` says where each
 * begins), and one RGBA colour per vertex (binary polygon attributes are per vertex).
 */
export interface HexPolygons {
  length: number;
  startIndices: Uint32Array;
  positions: Float64Array;
  colors: Uint8Array;
}

/**
 * A vertex rounded to 1e-7° (about 1 cm): two neighbours compute their shared vertex separately
 * and may differ in the last bits, and a shared edge must be the same two points in both cells for
 * the GPU to fill every pixel along it exactly once (no gap, no doubled translucent line).
 */
const snap = (deg: number) => Math.round(deg * 1e7) / 1e7;

/** A cell's closed ring as [lng, lat, lng, lat, …], first vertex repeated at the end. */
export function cellRing(h3: string): Float64Array {
  const b = cellToBoundary(h3);
  const ring = new Float64Array((b.length + 1) * 2);
  for (let i = 0; i <= b.length; i++) {
    const [lat, lng] = b[i % b.length]!;
    ring[i * 2] = snap(lng);
    ring[i * 2 + 1] = snap(lat);
  }
  return ring;
}

/**
 * Turns cells into binary polygons, keeping the rings of the previous set (a live map re-sends
 * mostly the same cells with new counts; the outline is the costly part). Only the previous set is
 * kept, so memory follows the current set.
 */
export class HexPolygonBuilder {
  private rings = new Map<string, Float64Array>();

  build(cells: readonly HexCell[]): HexPolygons {
    const n = cells.length;
    const rings = new Map<string, Float64Array>();
    const list = new Array<Float64Array>(n);
    let vertices = 0;
    let max = 1;
    for (let i = 0; i < n; i++) {
      const cell = cells[i]!;
      if (cell.count !== null && cell.count > max) max = cell.count;
      let ring = rings.get(cell.h3) ?? this.rings.get(cell.h3);
      if (!ring) ring = cellRing(cell.h3);
      rings.set(cell.h3, ring);
      list[i] = ring;
      vertices += ring.length / 2;
    }
    this.rings = rings;
    const startIndices = new Uint32Array(n);
    const positions = new Float64Array(vertices * 2);
    const colors = new Uint8Array(vertices * 4);
    let v = 0;
    for (let i = 0; i < n; i++) {
      const ring = list[i]!;
      startIndices[i] = v;
      positions.set(ring, v * 2);
      const count = cells[i]!.count;
      const rgba = count === null ? SUPPRESSED : heat(count / max);
      for (let k = 0; k < ring.length / 2; k++) colors.set(rgba, (v + k) * 4);
      v += ring.length / 2;
    }
    return { length: n, startIndices, positions, colors };
  }
}
