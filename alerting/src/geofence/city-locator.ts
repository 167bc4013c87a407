import type { AreaGeometry } from '../contract.ts';
import { compileRegion } from './point-in-region.ts';
import { RegionIndex } from './region-index.ts';

/**
 * The city (GB/T 2260 code, `xxxx00`) a point lies in, or undefined outside every known city.
 * Local vs roaming is decided with it: a person is local when their home city (归属地) is the city
 * their current cell lies in, whatever shape the task's region has (a drawn rectangle has no
 * administrative codes; a picked district lies in one city).
 */
export type CityLocator = (lng: number, lat: number) => string | undefined;

/** No geography: every point is in an unknown city (local/roaming rules then match nobody). */
export const NO_CITIES: CityLocator = () => undefined;

/**
 * A locator over city-level areas (exact test on their boundaries behind a bounding-box index).
 *
 * @example
 * const cityOf = cityLocator(loadAdminAreas()); // Zhejiang
 * cityOf(120.12, 30.24) // → '330100' (杭州市)
 */
export function cityLocator(areas: readonly { code: string; level: string; geometry: unknown }[]): CityLocator {
  const cities = areas.filter((a) => a.level === 'city' && a.geometry);
  if (cities.length === 0) return NO_CITIES;
  const index = new RegionIndex(
    cities.map((a, key) => ({
      key,
      region: compileRegion({ parts: [{ kind: 'admin', code: a.code, geometry: a.geometry as AreaGeometry }] }),
    })),
  );
  return (lng, lat) => {
    const hit = index.matching(lng, lat);
    return hit.length ? cities[hit[0]!]!.code : undefined;
  };
}
