import { cellToParent } from 'h3-js';
import type { PresenceState } from '../sink/presence-state.ts';
import { CELL_H3_RES } from '../sink/cells.ts';
import type { Heatmap } from '../api/schemas.ts';
import { atom, kCount } from './privacy.ts';
import { PresenceIndex } from './presence-index.ts';

/**
 * H3 resolution for a web-map zoom: hexagons a few dozen pixels wide. Zoom 12 (a district) gives
 * res 8 (~0.7 km²); the finest is the stored res 9.
 */
export function resolutionForZoom(zoom: number): number {
  const z = Math.floor(zoom);
  if (z <= 3) return 2;
  if (z <= 5) return 3;
  if (z <= 7) return 4;
  if (z <= 8) return 5;
  if (z <= 10) return 6;
  if (z <= 11) return 7;
  if (z <= 13) return 8;
  return CELL_H3_RES;
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
    const res = resolutionForZoom(zoom);
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
