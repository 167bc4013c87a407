import { loadAdminAreas } from '@geo/ingest';
import type { AreaGeometry } from '../contract.ts';
import { setAdminAreaResolver } from './admin-areas.ts';
import { cityLocator, type CityLocator } from './city-locator.ts';

/** Resolves administrative areas in tasks by GB/T 2260 code from ingest's geography (loaded once). */
export function installIngestAdminAreas(provinceCode?: string): void {
  const areas = new Map(loadAdminAreas(provinceCode).map((a) => [a.code, a.geometry as AreaGeometry | null]));
  setAdminAreaResolver((code) => areas.get(code) ?? undefined);
}

const locators = new Map<string, CityLocator>();

/** The city of a point from ingest's geography (built once per province and process). */
export function ingestCityLocator(provinceCode?: string): CityLocator {
  const key = provinceCode ?? '';
  let l = locators.get(key);
  if (!l) locators.set(key, (l = cityLocator(loadAdminAreas(provinceCode))));
  return l;
}
