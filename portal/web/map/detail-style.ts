import type { LayerSpecification, SourceSpecification } from 'maplibre-gl';
import type { MapTheme } from './offline-style.ts';

/** What `/api/map/meta` says of an imported OpenStreetMap extract. */
export interface MapDetail {
  bounds: [number, number, number, number];
  minzoom: number;
  maxzoom: number;
  layers: string[];
  /** Tile URL template, relative to the portal. */
  tiles: string;
}

const PALETTE: Record<
  MapTheme,
  {
    water: string;
    park: string;
    building: string;
    major: string;
    road: string;
    minor: string;
    rail: string;
    text: string;
    halo: string;
    waterText: string;
    tower: string;
  }
> = {
  dark: {
    water: '#1b3f6b',
    park: '#15302c',
    building: '#22344f',
    major: '#b98b4a',
    road: '#5d7392',
    minor: '#4a6285',
    rail: '#8a95a8',
    text: '#d8e4f5',
    halo: '#0b1526',
    waterText: '#8fb8e8',
    tower: '#c58be8',
  },
  light: {
    water: '#a8cbe9',
    park: '#d3e8cd',
    building: '#e2ddd5',
    major: '#f2b45c',
    road: '#c3ccd8',
    minor: '#d3d9e1',
    rail: '#8c8c8c',
    text: '#2b3a4f',
    halo: '#ffffff',
    waterText: '#2f6aa8',
    tower: '#8a3fb8',
  },
};

/**
 * Fonts of the labels. The style has no `glyphs` URL, so maplibre draws every glyph in the browser
 * from these local fonts (TinySDF) — no glyph server, no glyph files: offline, and every Chinese
 * character the system fonts have.
 */
export const LABEL_FONTS = ['Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'Microsoft YaHei', 'PingFang SC'];

/** Towers are drawn from this zoom on (the API's tiles start at 12, `TOWERS_MIN_ZOOM`); their labels from 15. */
export const TOWER_ZOOM = 13;

/**
 * The imported tiles, the platform's own places, and the towers (base-station sites) the platform
 * knows, as vector tiles of the map API (`<map api>/towers/{z}/{x}/{y}.pbf`, beside `places`).
 */
export function detailSources(
  detail: MapDetail | undefined,
  placesUrl: string,
  towersUrl = placesUrl.replace(/places$/, 'towers/{z}/{x}/{y}.pbf'),
): Record<string, SourceSpecification> {
  const abs = (u: string) => new URL(u, location.href).href.replace(/%7B/g, '{').replace(/%7D/g, '}');
  return {
    towers: { type: 'vector', tiles: [abs(towersUrl)], minzoom: 12, maxzoom: 14 } satisfies SourceSpecification,
    ...(detail
      ? {
          osm: {
            type: 'vector',
            tiles: [abs(detail.tiles)],
            minzoom: detail.minzoom,
            maxzoom: detail.maxzoom,
            bounds: detail.bounds,
          } satisfies SourceSpecification,
        }
      : {}),
    'platform-places': { type: 'geojson', data: abs(placesUrl) },
  };
}

/** A line width growing with the zoom: `base` pixels at zoom 12 (a number, or an expression of the feature). */
const width = (base: number | unknown[]) =>
  ['interpolate', ['exponential', 1.6], ['zoom'], 8, ['*', base, 0.4], 12, ['*', base, 1], 16, ['*', base, 6]] as never;
const ROAD_WIDTH = ['match', ['get', 'class'], ['motorway', 'trunk'], 2.2, 'primary', 1.8, 'secondary', 1.4, 'tertiary', 1.1, 0.7];

/** Water, parks, buildings, roads and railways, drawn under the administrative outlines. */
export function detailLayers(theme: MapTheme, detail: MapDetail | undefined): LayerSpecification[] {
  if (!detail) return [];
  const c = PALETTE[theme];
  return [
    { id: 'park', type: 'fill', source: 'osm', 'source-layer': 'park', paint: { 'fill-color': c.park } },
    { id: 'water', type: 'fill', source: 'osm', 'source-layer': 'water', paint: { 'fill-color': c.water } },
    {
      id: 'waterway',
      type: 'line',
      source: 'osm',
      'source-layer': 'waterway',
      paint: { 'line-color': c.water, 'line-width': ['match', ['get', 'class'], 'river', 2, 'canal', 1.5, 0.8] },
    },
    { id: 'building', type: 'fill', source: 'osm', 'source-layer': 'building', minzoom: 14, paint: { 'fill-color': c.building } },
    {
      id: 'road',
      type: 'line',
      source: 'osm',
      'source-layer': 'transportation',
      filter: ['!', ['in', ['get', 'class'], ['literal', ['rail', 'transit']]]],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: {
        'line-color': ['match', ['get', 'class'], ['motorway', 'trunk', 'primary'], c.major, ['secondary', 'tertiary'], c.road, c.minor],
        'line-width': width(ROAD_WIDTH),
      },
    },
    {
      id: 'railway',
      type: 'line',
      source: 'osm',
      'source-layer': 'transportation',
      filter: ['in', ['get', 'class'], ['literal', ['rail', 'transit']]],
      paint: { 'line-color': c.rail, 'line-width': width(1.2), 'line-dasharray': [3, 2] },
    },
  ];
}

type SymbolLayer = Extract<LayerSpecification, { type: 'symbol' }>;
/** A name label's layout and paint; `below` puts it under its point (a dot drawn by another layer). */
const text = (c: (typeof PALETTE)[MapTheme], size: number, opts: { color?: string; below?: number } = {}) => ({
  layout: {
    'text-field': ['get', 'name'],
    'text-font': LABEL_FONTS,
    'text-size': size,
    ...(opts.below ? { 'text-offset': [0, opts.below], 'text-anchor': 'top' } : {}),
  } as SymbolLayer['layout'],
  paint: { 'text-color': opts.color ?? c.text, 'text-halo-color': c.halo, 'text-halo-width': 1.4 } as SymbolLayer['paint'],
});

/**
 * Names, drawn above everything: the lake and place names and stations of the import, the towers
 * the platform knows (dots from zoom 13, their carriers from 15), and the platform's own places
 * (scenic spots, venues) — except those the import names nearby (`namedBy`, set by the places API),
 * so that West Lake is labelled once. Cities and districts are named by the map module's area
 * labels, so the import's `city` places are left out here.
 */
export function labelLayers(theme: MapTheme, detail: MapDetail | undefined): LayerSpecification[] {
  const c = PALETTE[theme];
  const fromImport: LayerSpecification[] = detail
    ? [
        { id: 'water-name', type: 'symbol', source: 'osm', 'source-layer': 'water_name', ...text(c, 13, { color: c.waterText }) },
        {
          id: 'place-name',
          type: 'symbol',
          source: 'osm',
          'source-layer': 'place',
          filter: ['!=', ['get', 'class'], 'city'],
          ...text(c, 12),
        },
        {
          id: 'station-dot',
          type: 'circle',
          source: 'osm',
          'source-layer': 'poi',
          paint: { 'circle-radius': 4, 'circle-color': c.rail, 'circle-stroke-color': c.halo, 'circle-stroke-width': 1.5 },
        },
        {
          id: 'station-name',
          type: 'symbol',
          source: 'osm',
          'source-layer': 'poi',
          ...text(c, 13, { below: 1.1 }),
        },
      ]
    : [];
  // A place the import names too (West Lake: the lake's own name) keeps the import's label only.
  const ownLabel = ['!', ['has', 'namedBy']] as never;
  return [
    ...fromImport,
    {
      id: 'tower-dot',
      type: 'circle',
      source: 'towers',
      'source-layer': 'towers',
      minzoom: TOWER_ZOOM,
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], TOWER_ZOOM, 2, 16, 4.5],
        'circle-color': c.tower,
        'circle-stroke-color': c.halo,
        'circle-stroke-width': 1,
      },
    },
    {
      id: 'tower-name',
      type: 'symbol',
      source: 'towers',
      'source-layer': 'towers',
      minzoom: 15,
      ...text(c, 10, { color: c.tower, below: 0.8 }),
    },
    {
      id: 'platform-place-dot',
      type: 'circle',
      source: 'platform-places',
      filter: ownLabel,
      minzoom: 8,
      paint: { 'circle-radius': 3.5, 'circle-color': '#e0863a', 'circle-stroke-color': c.halo, 'circle-stroke-width': 1.2 },
    },
    {
      id: 'platform-place-name',
      type: 'symbol',
      source: 'platform-places',
      filter: ownLabel,
      minzoom: 8,
      ...text(c, 13, { below: 0.9 }),
    },
  ];
}
