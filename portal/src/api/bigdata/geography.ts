import { loadAdminAreas, type AdminArea, type AdminLevel } from '@geo/ingest';
import { simplify } from '@turf/turf';
import type { Feature, FeatureCollection, MultiPolygon, Polygon } from 'geojson';

/** One area of the province → city → district pickers. */
export interface AreaNode {
  code: string;
  name: string;
  level: AdminLevel;
  parent: string | null;
  center: [number, number] | null;
  /** False for the few districts without a drawn boundary (the validator refuses them alone). */
  hasBoundary: boolean;
}

/**
 * Display tolerance per level, in degrees: outlines for the map, never for the region test
 * (alerting tests against the exact geometry). ~1 km for the province, ~100 m for districts.
 */
const TOLERANCE: Record<AdminLevel, number> = { province: 0.01, city: 0.003, district: 0.001 };

let areas: AdminArea[] | undefined;
const all = () => (areas ??= loadAdminAreas());

export function areaTree(): AreaNode[] {
  return all().map((a) => ({
    code: a.code,
    name: a.name,
    level: a.level,
    parent: a.parent,
    center: a.center,
    hasBoundary: a.geometry !== null,
  }));
}

export function areaByCode(code: string): AdminArea | undefined {
  return all().find((a) => a.code === code);
}

const outlines = new Map<AdminLevel, string>();

/**
 * The outlines of one level as GeoJSON text (built once, simplified for display), each feature with
 * `code`, `name` and `level`: the offline base map draws these instead of external tiles.
 */
export function boundariesJson(level: AdminLevel): string {
  let s = outlines.get(level);
  if (!s) {
    const features: Feature<Polygon | MultiPolygon>[] = [];
    for (const a of all()) {
      if (a.level !== level || !a.geometry) continue;
      const f: Feature<Polygon | MultiPolygon> = {
        type: 'Feature',
        properties: { code: a.code, name: a.name, level },
        geometry: a.geometry,
      };
      features.push(simplify(f, { tolerance: TOLERANCE[level], highQuality: false, mutate: false }));
    }
    const fc: FeatureCollection = { type: 'FeatureCollection', features };
    s = JSON.stringify(fc, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 1e5) / 1e5 : v));
    outlines.set(level, s);
  }
  return s;
}
