import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MultiPolygon, Polygon } from 'geojson';

export type AdminLevel = 'province' | 'city' | 'district';

/** One administrative area (GB/T 2260), with its boundary as GeoJSON (WGS-84 lng/lat). */
export interface AdminArea {
  /** Six-digit GB/T 2260 code: `330000` province, `330100` city, `330102` district. */
  code: string;
  name: string;
  level: AdminLevel;
  /** Code of the enclosing area; null for a province. */
  parent: string | null;
  /** A representative point [lng, lat] (the label point of the source, or the ring mean). */
  center: [number, number] | null;
  /**
   * The boundary. Null for the few districts created after the source polygons were drawn (e.g.
   * 杭州钱塘区, 临平区, 温州龙港市): their ground still lies inside their parent's and the old
   * neighbours' polygons, so a point test over the city still finds it.
   */
  geometry: Polygon | MultiPolygon | null;
}

export interface AdminFile {
  v: 1;
  province: string;
  sources: string[];
  notes: string[];
  areas: AdminArea[];
}

/** Zhejiang. */
export const DEFAULT_PROVINCE = '33';

const DATA_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../data');
/** Where the generated file of a province lives (`ingest/data/admin-<2-digit code>.geo.json`). */
export const adminFilePath = (provinceCode: string): string => join(DATA_DIR, `admin-${provinceCode.slice(0, 2)}.geo.json`);

const cache = new Map<string, AdminFile>();

/**
 * The administrative areas of a province (the province, its cities and its districts), loaded once
 * from the project's generated file. Build another province's file with
 * `npx tsx ingest/src/geography/build-geography.ts <code>`.
 *
 * @example
 * const areas = loadAdminAreas();            // Zhejiang: 1 + 11 + 90
 * const hz = areas.find((a) => a.code === '330100');
 */
export function loadAdminAreas(provinceCode: string = DEFAULT_PROVINCE): AdminArea[] {
  return loadAdminFile(provinceCode).areas;
}

export function loadAdminFile(provinceCode: string = DEFAULT_PROVINCE): AdminFile {
  const key = provinceCode.slice(0, 2);
  let file = cache.get(key);
  if (!file) {
    const path = adminFilePath(key);
    if (!existsSync(path)) {
      throw new Error(`no geography for province ${key}: run \`npx tsx ingest/src/geography/build-geography.ts ${key}\` to build ${path}`);
    }
    file = JSON.parse(readFileSync(path, 'utf8')) as AdminFile;
    cache.set(key, file);
  }
  return file;
}
