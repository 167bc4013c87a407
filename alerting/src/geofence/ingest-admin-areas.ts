import { readFileSync } from 'node:fs';
import { loadAdminAreas } from '@geo/ingest';
import { AreaGeometry } from '../contract.ts';
import { setAdminAreaOverlay, setAdminAreaResolver } from './admin-areas.ts';
import { cityLocator, type CityLocator } from './city-locator.ts';

export interface IngestAdminAreasOptions {
  /**
   * A GeoJSON FeatureCollection of boundaries loaded over the shipped geography, keyed by
   * `properties.adcode` or `code`: the portal's active version as it downloads it
   * (`GET /api/operator/boundaries/{id}/geojson`). Tasks from the portal carry these geometries
   * themselves; this is for tasks given by code alone (the CLI), so that they test the same outline.
   */
  boundariesFile?: string;
}

/**
 * Reads a boundaries file into geometries by code.
 * @throws Error naming the file and the first feature it cannot use
 */
export function readBoundariesFile(path: string): Map<string, AreaGeometry> {
  const fc = JSON.parse(readFileSync(path, 'utf8')) as { type?: string; features?: unknown[] };
  if (fc.type !== 'FeatureCollection' || !Array.isArray(fc.features)) throw new Error(`${path}: not a GeoJSON FeatureCollection`);
  const out = new Map<string, AreaGeometry>();
  fc.features.forEach((f, i) => {
    const { properties: p, geometry } = (f ?? {}) as { properties?: Record<string, unknown>; geometry?: unknown };
    const code = String(p?.adcode ?? p?.code ?? '');
    const g = AreaGeometry.safeParse(geometry);
    if (!/^\d{6}$/.test(code) || !g.success) throw new Error(`${path}: feature ${i} has no six-digit adcode or no Polygon / MultiPolygon`);
    out.set(code, g.data);
  });
  return out;
}

/**
 * Resolves administrative areas in tasks by GB/T 2260 code from ingest's geography (loaded once),
 * with an operator's boundaries file over it when given.
 */
export function installIngestAdminAreas(provinceCode?: string, opts: IngestAdminAreasOptions = {}): void {
  const areas = new Map(loadAdminAreas(provinceCode).map((a) => [a.code, a.geometry as AreaGeometry | null]));
  setAdminAreaResolver((code) => areas.get(code) ?? undefined);
  if (opts.boundariesFile) setAdminAreaOverlay(readBoundariesFile(opts.boundariesFile));
}

const locators = new Map<string, CityLocator>();

/** The city of a point from ingest's geography (built once per province and process). */
export function ingestCityLocator(provinceCode?: string): CityLocator {
  const key = provinceCode ?? '';
  let l = locators.get(key);
  if (!l) locators.set(key, (l = cityLocator(loadAdminAreas(provinceCode))));
  return l;
}
