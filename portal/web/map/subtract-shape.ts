import type { RegionPart } from '@geo/alerting';
import { difference } from '@turf/turf';
import type { Feature, MultiPolygon, Polygon } from 'geojson';
import { circleRing } from './region-parts.ts';

type Ring = [number, number][];
type Area = Extract<RegionPart, { kind: 'polygon' | 'multipolygon' | 'rectangle' | 'circle' }>;

const round = (n: number) => Math.round(n * 1e7) / 1e7;

/** A drawn area as GeoJSON polygons (a circle as its 64-gon, the way the map draws it). */
function asGeometry(p: Area): Polygon | MultiPolygon {
  switch (p.kind) {
    case 'polygon':
      return { type: 'Polygon', coordinates: p.rings };
    case 'multipolygon':
      return { type: 'MultiPolygon', coordinates: p.polygons };
    case 'rectangle': {
      const { west: w, south: s, east: e, north: n } = p;
      return {
        type: 'Polygon',
        coordinates: [
          [
            [w, s],
            [e, s],
            [e, n],
            [w, n],
            [w, s],
          ],
        ],
      };
    }
    case 'circle':
      return { type: 'Polygon', coordinates: [circleRing(p.center, p.radiusM)] };
  }
}

const feature = (geometry: Polygon | MultiPolygon): Feature<Polygon | MultiPolygon> => ({ type: 'Feature', properties: {}, geometry });
const isArea = (p: RegionPart): p is Area =>
  p.kind === 'polygon' || p.kind === 'multipolygon' || p.kind === 'rectangle' || p.kind === 'circle';

/**
 * 挖空 / 减去区域: the drawn areas with a shape cut out of them. An area the shape lies inside gets a
 * hole (a Polygon's second ring); one it crosses loses that part (and may fall in two: a
 * MultiPolygon); one it covers goes. Areas it does not touch stay exactly as they were (a circle stays
 * a circle). Polylines and administrative areas are not cut: a polyline's buffer is no polygon here,
 * and an area's outline is the server's.
 *
 * @param cutter the shape to take away, a closed ring [lng, lat][]
 * @returns the new parts, and how many were cut
 * @example
 * subtractShape([{ kind: 'rectangle', west: 0, south: 0, east: 4, north: 4 }], [[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]])
 * // → { parts: [{ kind: 'polygon', rings: [outer, hole] }], cut: 1 }
 */
export function subtractShape(parts: RegionPart[], cutter: Ring): { parts: RegionPart[]; cut: number } {
  const knife = feature({ type: 'Polygon', coordinates: [cutter] });
  let cut = 0;
  const out: RegionPart[] = [];
  for (const p of parts) {
    if (!isArea(p)) {
      out.push(p);
      continue;
    }
    const before = asGeometry(p);
    const after = difference({ type: 'FeatureCollection', features: [feature(before), knife] });
    if (!after) {
      cut++;
      continue;
    }
    const g = after.geometry;
    const rounded = (rings: number[][][]) => rings.map((r) => r.map(([x, y]) => [round(x!), round(y!)] as [number, number]));
    const area = (rings: number[][][]) => Math.abs(ringArea(rings[0]!)) - rings.slice(1).reduce((s, r) => s + Math.abs(ringArea(r)), 0);
    const beforeArea = before.type === 'Polygon' ? area(before.coordinates) : before.coordinates.reduce((s, r) => s + area(r), 0);
    const afterArea = g.type === 'Polygon' ? area(g.coordinates) : g.coordinates.reduce((s, r) => s + area(r), 0);
    // Not touched (turf may rewrite the vertices of an area it did not cut): keep the part as drawn.
    if (Math.abs(beforeArea - afterArea) <= beforeArea * 1e-9) {
      out.push(p);
      continue;
    }
    cut++;
    out.push(
      g.type === 'Polygon'
        ? { kind: 'polygon', rings: rounded(g.coordinates) }
        : { kind: 'multipolygon', polygons: g.coordinates.map((poly) => rounded(poly)) },
    );
  }
  return { parts: out, cut };
}

function ringArea(r: number[][]): number {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += (r[j]![0]! - r[i]![0]!) * (r[j]![1]! + r[i]![1]!);
  return a / 2;
}
