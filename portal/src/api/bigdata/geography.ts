import { setAdminAreaOverlay, type AreaGeometry, type RegionPart } from '@geo/alerting';
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

/** The boundaries an operator loaded (`boundaries/`), in force over the shipped data; null: none. */
export interface ActiveBoundaries {
  version: number;
  areas: AdminArea[];
}

let shipped: AdminArea[] | undefined;
let active: ActiveBoundaries | null = null;
let merged: { list: AdminArea[]; byCode: Map<string, AdminArea> } | undefined;
const outlines = new Map<AdminLevel, string>();

/** The areas ingest ships (`ingest/data/admin-<province>.geo.json`), loaded once. */
export const shippedAreas = (): AdminArea[] => (shipped ??= loadAdminAreas());

function all() {
  if (!merged) {
    const byCode = new Map(shippedAreas().map((a) => [a.code, a]));
    for (const a of active?.areas ?? []) byCode.set(a.code, a);
    // Shipped order (province, cities, districts, by code), then the areas only a file has, by code.
    const extra = (active?.areas ?? []).filter((a) => !shippedAreas().some((s) => s.code === a.code));
    extra.sort((a, b) => a.code.localeCompare(b.code));
    merged = { list: [...shippedAreas().map((a) => byCode.get(a.code)!), ...extra], byCode };
  }
  return merged;
}

/**
 * Puts a version of loaded boundaries in force in this process (null: the shipped data alone): the
 * pickers, the outlines, the form's validator (alerting's resolver, through its overlay) and
 * {@link withActiveBoundaries} all read it. Called at start and whenever the active version changes
 * (`boundaries/store.ts` keeps every portal instance in step).
 */
export function setActiveBoundaries(v: ActiveBoundaries | null): void {
  active = v;
  merged = undefined;
  outlines.clear();
  setAdminAreaOverlay(v ? new Map(v.areas.filter((a) => a.geometry).map((a) => [a.code, a.geometry as AreaGeometry])) : undefined);
}

/** The version of loaded boundaries in force; null when only the shipped data is. */
export const activeBoundaryVersion = (): number | null => active?.version ?? null;

/** Every area in force by code (shipped, with the active version's over them). */
export const areasByCode = (): ReadonlyMap<string, AdminArea> => all().byCode;

export function areaTree(): AreaNode[] {
  return all().list.map((a) => ({
    code: a.code,
    name: a.name,
    level: a.level,
    parent: a.parent,
    center: a.center,
    hasBoundary: a.geometry !== null,
  }));
}

export function areaByCode(code: string): AdminArea | undefined {
  return all().byCode.get(code);
}

/**
 * The region with the loaded boundaries written into its admin parts: each part whose code the active
 * version sets carries that geometry, so that alerting (and a later replay) tests exactly the outline
 * the operator saw, whatever its own geography says. Other admin parts stay codes (alerting and the
 * portal read the same shipped file for them).
 *
 * @returns the region and the version its boundaries come from (null when it uses none)
 */
export function withActiveBoundaries<R extends { parts: RegionPart[] }>(region: R): { region: R; boundaryVersion: number | null } {
  const set = new Map((active?.areas ?? []).map((a) => [a.code, a]));
  let used = false;
  const parts = region.parts.map((p) => {
    if (p.kind !== 'admin') return p;
    const a = set.get(p.code);
    if (a?.geometry) {
      used = true;
      return { ...p, geometry: a.geometry as AreaGeometry };
    }
    // A geometry the request brought for a named area is never the area's: alerting resolves the
    // code itself (the shipped boundary), so a task cannot name 西湖区 and target somewhere else.
    if (!('geometry' in p)) return p;
    const { geometry: _ignored, ...named } = p as typeof p & { geometry?: unknown };
    return named as RegionPart;
  });
  return { region: { ...region, parts }, boundaryVersion: used && active ? active.version : null };
}

/**
 * The outlines of one level as GeoJSON text (built once per version, simplified for display), each
 * feature with `code`, `name` and `level`: the offline base map draws these instead of external tiles.
 */
export function boundariesJson(level: AdminLevel): string {
  let s = outlines.get(level);
  if (!s) {
    const features: Feature<Polygon | MultiPolygon>[] = [];
    for (const a of all().list) {
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
