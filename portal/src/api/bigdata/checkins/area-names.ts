import { compileRegion, RegionIndex, type AreaGeometry } from '@geo/alerting';
import type { AdminArea } from '@geo/ingest';
import { cellToLatLng } from 'h3-js';
import { activeBoundaryVersion, areasByCode } from '../geography.ts';

/** A named administrative area: GB/T 2260 code and name. */
export interface AreaName {
  code: string;
  name: string;
}

/** Finds the district (else the city) a point lies in, over the areas that have a boundary. */
export type AreaNamer = (lng: number, lat: number) => AreaName | null;

/**
 * A namer over administrative areas: the district whose boundary holds the point, else its city
 * (a district without a boundary, such as 临平区 in the shipped data, leaves its ground to the city),
 * else null. Exact test on the boundaries behind a bounding-box index, as alerting's city locator.
 *
 * @example
 * const nameOf = areaNamer(shippedAreas());
 * nameOf(120.13, 30.25) // → { code: '330106', name: '西湖区' }
 */
export function areaNamer(areas: Iterable<AdminArea>): AreaNamer {
  const levels = (['district', 'city'] as const).map((level) => {
    const list = [...areas].filter((a) => a.level === level && a.geometry);
    const index = new RegionIndex(
      list.map((a, key) => ({
        key,
        region: compileRegion({ parts: [{ kind: 'admin', code: a.code, geometry: a.geometry as AreaGeometry }] }),
      })),
    );
    return { list, index };
  });
  return (lng, lat) => {
    for (const { list, index } of levels) {
      const hit = index.matching(lng, lat);
      // Neighbouring outlines may overlap by a hair: the lowest code wins, the same on every call.
      if (hit.length) {
        const a = hit.map((k) => list[k]!).sort((x, y) => (x.code < y.code ? -1 : 1))[0]!;
        return { code: a.code, name: a.name };
      }
    }
    return null;
  };
}

let cached: { version: number | null; namer: AreaNamer } | undefined;

/** The area a point lies in, over the boundaries in force (the namer rebuilt when their version changes). */
export function areaAt(lng: number, lat: number): AreaName | null {
  const version = activeBoundaryVersion();
  if (!cached || cached.version !== version) cached = { version, namer: areaNamer(areasByCode().values()) };
  return cached.namer(lng, lat);
}

/** The area an H3 hexagon's centre lies in. */
export function hexagonArea(h3: string): AreaName | null {
  const [lat, lng] = cellToLatLng(h3);
  return areaAt(lng, lat);
}
