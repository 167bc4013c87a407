import { cellToBoundary, cellToLatLng, getResolution, isPentagon } from 'h3-js';

/** One H3 cell with its count; `count: null` is a suppressed (k-anonymity) value. */
export interface HexCell {
  h3: string;
  count: number | null;
}

/** Insight's heat map answer (`/api/insight/heatmap`) as cells, suppressed counts as `null`. */
export function heatmapCells(body: { cells: { h3: string; count: { value: number | null } }[] }): HexCell[] {
  return body.cells.map((c) => ({ h3: c.h3, count: c.count.value }));
}

export type Rgba = [number, number, number, number];

/**
 * Cells as deck.gl binary attributes: one centroid (lng, lat) and one RGBA colour per cell, and the
 * outline of one cell of the set as metre offsets from its centre (every res-r hexagon has nearly
 * the same shape, so one outline drawn at every centroid is what deck.gl's H3 layer does in its
 * low-precision mode). `vertices` is null when the set mixes resolutions or holds a pentagon:
 * those need per-cell polygons.
 */
export interface HexColumns {
  length: number;
  positions: Float64Array;
  colors: Uint8Array;
  resolution: number;
  /** Six [east, north] offsets in metres, or null (per-cell polygons needed). */
  vertices: [number, number][] | null;
}

/** A heat colour from pale yellow to deep red by share of the maximum (`build` inlines the same). */
export function heat(v: number): Rgba {
  const t = Math.max(0, Math.min(1, v));
  return [255, Math.round(230 - 200 * t), Math.round(120 - 110 * t), Math.round(90 + 140 * t)];
}
export const SUPPRESSED: Rgba = [150, 150, 160, 90];

const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;
const mercY = (lat: number) => Math.log(Math.tan(Math.PI / 4 + (lat * RAD) / 2));

/**
 * A cell's outline as [east, north] metre offsets from its centre, in Web Mercator as the map
 * draws it (Mercator is conformal: near a point, metres east and north scale alike).
 */
export function hexOffsets(h3: string): [number, number][] {
  const [lat, lng] = cellToLatLng(h3);
  const k = EARTH_RADIUS_M * Math.cos(lat * RAD);
  return cellToBoundary(h3).map(([vLat, vLng]) => {
    let d = vLng - lng;
    if (d > 180) d -= 360;
    else if (d < -180) d += 360;
    return [d * RAD * k, (mercY(vLat) - mercY(lat)) * k];
  });
}

/** The outline of a middle cell of the set with six vertices (one crossing an icosahedron edge has more). */
function outline(cells: readonly HexCell[]): [number, number][] | null {
  for (let k = 0; k < Math.min(cells.length, 16); k++) {
    const h3 = cells[(Math.floor(cells.length / 2) + k) % cells.length]!.h3;
    const v = hexOffsets(h3);
    if (v.length === 6) return v;
  }
  return null;
}

/**
 * Turns cells into binary columns, keeping the centroids of the previous set: a live map re-sends
 * mostly the same cells with new counts, and the centroid (an h3-js call) is the costly part. Only
 * the previous set is kept, so memory follows the current set and does not grow over hours.
 */
export class HexColumnBuilder {
  private ids: string[] = [];
  private positions = new Float64Array(0);

  build(cells: readonly HexCell[]): HexColumns {
    const n = cells.length;
    const positions = new Float64Array(n * 2);
    const colors = new Uint8Array(n * 4);
    const ids = new Array<string>(n);
    const prevIds = this.ids;
    // Built only when a cell is not where it was in the previous set (a refresh keeps the order).
    let prevIndex: Map<string, number> | undefined;
    let max = 1;
    for (let i = 0; i < n; i++) {
      const c = cells[i]!.count;
      if (c !== null && c > max) max = c;
    }
    // Resolution and pentagons are checked on new cells only when the previous set passed.
    const checkAll = this.resolution < 0;
    let resolution = -1;
    let uniform = true;
    let known = 0;
    for (let i = 0; i < n; i++) {
      const cell = cells[i]!;
      let prev: number | undefined = prevIds[i] === cell.h3 ? i : undefined;
      if (prev === undefined && prevIds.length) prev = (prevIndex ??= new Map(prevIds.map((h, j) => [h, j]))).get(cell.h3);
      if (prev !== undefined) {
        positions[i * 2] = this.positions[prev * 2]!;
        positions[i * 2 + 1] = this.positions[prev * 2 + 1]!;
        known++;
      } else {
        const [lat, lng] = cellToLatLng(cell.h3);
        positions[i * 2] = lng;
        positions[i * 2 + 1] = lat;
      }
      if (uniform && (prev === undefined || checkAll)) {
        const r = getResolution(cell.h3);
        if (resolution < 0) resolution = r;
        if (r !== resolution || isPentagon(cell.h3)) uniform = false;
      }
      ids[i] = cell.h3;
      const o = i * 4;
      if (cell.count === null) colors.set(SUPPRESSED, o);
      else {
        const t = Math.max(0, Math.min(1, cell.count / max));
        colors[o] = 255;
        colors[o + 1] = Math.round(230 - 200 * t);
        colors[o + 2] = Math.round(120 - 110 * t);
        colors[o + 3] = Math.round(90 + 140 * t);
      }
    }
    if (!checkAll && known > 0) {
      if (resolution < 0) resolution = this.resolution;
      else if (resolution !== this.resolution) uniform = false;
    }
    this.ids = ids;
    this.positions = positions;
    this.resolution = uniform && n > 0 ? resolution : -1;
    return { length: n, positions, colors, resolution, vertices: uniform && n > 0 ? outline(cells) : null };
  }

  /** The resolution every kept cell shares, -1 when mixed (so a mix is noticed across sets). */
  private resolution = -1;
}
