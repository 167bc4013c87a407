import type { GeoJSONSourceSpecification, LayerSpecification, StyleSpecification } from 'maplibre-gl';

export type MapTheme = 'dark' | 'light';

const PALETTE: Record<MapTheme, { bg: string; land: string; district: string; city: string; province: string }> = {
  dark: { bg: '#0b1526', land: '#13233d', district: '#2b4a74', city: '#4f7fbf', province: '#7fb2ff' },
  light: { bg: '#dfe9f3', land: '#f7f9fb', district: '#c2cddb', city: '#8797ad', province: '#3d5a80' },
};

/**
 * A base map with no external tiles: the project's own province, city and district outlines
 * (GeoJSON from the portal's API). Area names are drawn by the map module's deck.gl text layer;
 * an imported OpenStreetMap extract adds its detail and names on top (`detail-style.ts`).
 *
 * @example new maplibregl.Map({ container, style: offlineStyle('dark') })
 */
export function offlineStyle(theme: MapTheme, api = '/api/bigdata/boundaries'): StyleSpecification {
  const c = PALETTE[theme];
  return {
    version: 8,
    name: `offline-${theme}`,
    sources: outlineSources(api),
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': c.bg } },
      { id: 'land', type: 'fill', source: 'province', paint: { 'fill-color': c.land } },
      ...outlineLayers(theme),
    ],
  };
}

/** The province, city and district outlines as GeoJSON sources named by their level. */
export function outlineSources(api = '/api/bigdata/boundaries'): Record<'province' | 'city' | 'district', GeoJSONSourceSpecification> {
  const url = (level: string) => new URL(`${api}/${level}`, location.href).href;
  return {
    province: { type: 'geojson', data: url('province') },
    city: { type: 'geojson', data: url('city') },
    district: { type: 'geojson', data: url('district') },
  };
}

/**
 * The outlines' line layers, districts from zoom 7. Over a deployment's own style they are added with
 * a prefix on source and layer ids (`geo-`), so that they cannot collide with that style's own.
 */
export function outlineLayers(theme: MapTheme, prefix = ''): LayerSpecification[] {
  const c = PALETTE[theme];
  return [
    {
      id: `${prefix}district-line`,
      type: 'line',
      source: `${prefix}district`,
      minzoom: 7,
      paint: { 'line-color': c.district, 'line-width': 0.8 },
    },
    {
      id: `${prefix}city-line`,
      type: 'line',
      source: `${prefix}city`,
      paint: { 'line-color': c.city, 'line-width': ['interpolate', ['linear'], ['zoom'], 5, 0.8, 10, 1.6] },
    },
    { id: `${prefix}province-line`, type: 'line', source: `${prefix}province`, paint: { 'line-color': c.province, 'line-width': 2 } },
  ];
}

/** Label colours of a theme, for the text layer. */
export const LABEL_COLOR: Record<MapTheme, [number, number, number, number]> = { dark: [210, 225, 245, 230], light: [40, 55, 75, 230] };

const KEY = 'geo.map.settings';
export interface MapSettings {
  theme: MapTheme;
  /** A deployment's own style URL (vector or raster tiles); empty = the offline base map. */
  styleUrl: string;
}

export function loadMapSettings(): MapSettings {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<MapSettings>;
    return { theme: s.theme === 'light' ? 'light' : 'dark', styleUrl: typeof s.styleUrl === 'string' ? s.styleUrl : '' };
  } catch {
    return { theme: 'dark', styleUrl: '' };
  }
}

export function saveMapSettings(s: MapSettings): void {
  localStorage.setItem(KEY, JSON.stringify(s));
}
