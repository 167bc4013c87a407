import { cellToParent, getHexagonEdgeLengthAvg, UNITS } from 'h3-js';
import type { PresenceState } from '../sink/presence-state.ts';
import { CELL_H3_RES } from '../sink/cells.ts';
import type { Heatmap } from '../api/schemas.ts';
import { atom, kCount } from './privacy.ts';
import { PresenceIndex } from './presence-index.ts';

/** The smallest a heat-map hexagon is drawn, corner to corner, in CSS pixels (so 20–53 px: each finer H3 resolution is √7 ≈ 2.65 times smaller). */
export const MIN_HEXAGON_PX = 20;

/** The latitude assumed when none is given: the platform's own (Zhejiang, 27–31° N). */
export const DEFAULT_LATITUDE = 30;

/** maplibre's ground resolution at the equator at zoom 0: its tiles are 512 px (a 256-px map's zoom z is maplibre's z − 1). */
const METRES_PER_PX_Z0 = 40075016.686 / 512;

/** Each resolution's average hexagon, corner to corner (twice the edge), in metres, 0 to the stored resolution. */
const HEXAGON_M = Array.from({ length: CELL_H3_RES + 1 }, (_, r) => 2 * getHexagonEdgeLengthAvg(r, UNITS.m));

/**
 * H3 resolution for a maplibre zoom at a latitude: the finest whose average hexagon is still at least
 * {@link MIN_HEXAGON_PX} across on the map, capped at the stored {@link CELL_H3_RES}. Over Hangzhou,
 * zoom 8 (a whole city) gives res 6 (~7 km, 28 px), zoom 10 res 7 (~2.8 km, 43 px), zoom 12 res 9.
 * (It once assumed 256-px tiles, one resolution coarser: a city fitted on the big screen got 50 km hexagons.)
 *
 * @default lat {@link DEFAULT_LATITUDE}
 */
export function resolutionForZoom(zoom: number, lat = DEFAULT_LATITUDE): number {
  const metresPerPx = (METRES_PER_PX_Z0 * Math.cos((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180)) / 2 ** zoom;
  let res = 0;
  while (res < CELL_H3_RES && HEXAGON_M[res + 1]! / metresPerPx >= MIN_HEXAGON_PX) res++;
  return res;
}

/**
 * The live heat map: present people per H3 cell in a viewport. Per-cell counts come from the
 * presence index (one pass over presence per poll interval, shared with region queries), so
 * panning and zooming only re-aggregates cells.
 *
 * Privacy: a hexagon's count is the sum of its serving cells' counts, each quantised to the grid
 * of k (`atom`: 0 below k, else the nearest multiple of k; the same atoms as region metrics, at
 * every resolution), so every hexagon is a multiple of k, a coarse hexagon minus its released
 * children is a sum of atoms too and reveals no suppressed cell, and two polls of one hexagon
 * differ by 0 or at least k.
 */
export class HeatmapIndex {
  private readonly parents = new Map<number, string[]>();

  constructor(
    private readonly state: PresenceState,
    private readonly k: number,
    private readonly presence = new PresenceIndex(state),
  ) {}

  private parent(cell: number, res: number): string {
    let arr = this.parents.get(res);
    if (!arr) this.parents.set(res, (arr = []));
    let p = arr[cell];
    if (p === undefined) {
      const h = this.state.cells.h3[cell]!;
      p = arr[cell] = res >= CELL_H3_RES ? h : cellToParent(h, res);
    }
    return p;
  }

  heatmap(bbox: [number, number, number, number], zoom: number, at: number, live = true): Heatmap {
    const res = resolutionForZoom(zoom, (bbox[1] + bbox[3]) / 2);
    const { start } = this.presence.groups(at, live);
    const { lat, lng } = this.state.cells;
    const [w, s, e, n] = bbox;
    const hex = new Map<string, number>();
    for (let c = 0; c + 1 < start.length; c++) {
      const v = atom(start[c + 1]! - start[c]!, this.k);
      if (v === 0) continue;
      const x = lng[c]!;
      const y = lat[c]!;
      if (x < w || x > e || y < s || y > n) continue;
      const h = this.parent(c, res);
      hex.set(h, (hex.get(h) ?? 0) + v);
    }
    // A hexagon whose cells all hold fewer than k people is not listed: it looks like an empty one
    // (listing it as suppressed would say that someone is there).
    return {
      at: new Date(at).toISOString(),
      k: this.k,
      resolution: res,
      // In H3 order, not cell-dictionary order (which differs between instances and restarts), so
      // that every instance gives the same answer.
      cells: [...hex].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)).map(([h3, v]) => ({ h3, count: kCount(v, this.k) })),
    };
  }
}
