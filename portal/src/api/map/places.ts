import { ATTRACTIONS, VENUES, type Place } from '@geo/ingest';
import { gunzipSync } from 'node:zlib';
import { readPoints, toTilePixel, EXTENT } from './mvt.ts';
import type { TileStore } from './tile-store.ts';

/**
 * A name of the import closer than this to a platform place of the same name is the same place:
 * West Lake's name sits at the lake's centroid, the platform's 西湖 at the scenic area's centre,
 * a few hundred metres apart. 2 km keeps two different places of one name (a 西湖 in another city)
 * apart.
 */
export const SAME_PLACE_KM = 2;
/** The import's layers whose points carry names a person reads (lake names, places, stations). */
export const NAMED_LAYERS: ReadonlySet<string> = new Set(['water_name', 'place', 'poi']);

export interface NamedPoint {
  name: string;
  lng: number;
  lat: number;
  /** The import's layer that names it. */
  layer: string;
}

interface PlaceProperties {
  id: string;
  name: string;
  kind: 'scenic' | 'venue';
  /** Set when the imported map already names this place nearby (its layer): the map draws that label, not this one. */
  namedBy?: string;
}

const distanceKm = (a: { lng: number; lat: number }, b: { lng: number; lat: number }) => {
  const r = Math.PI / 180;
  const x = (b.lng - a.lng) * r * Math.cos(((a.lat + b.lat) / 2) * r);
  const y = (b.lat - a.lat) * r;
  return 6371 * Math.hypot(x, y);
};

/**
 * The places the platform itself names (the simulator's scenic spots and venues, which scenarios
 * and duty officers refer to), as GeoJSON points for the map's label layer. Railway stations come
 * from the imported OpenStreetMap extract (its `poi` layer). A place the import names too, within
 * {@link SAME_PLACE_KM} (West Lake: the lake's own name), is marked `namedBy` so that the map shows
 * one label for it, the import's.
 */
export function platformPlaces(imported: readonly NamedPoint[] = []) {
  const feature = (p: Place, kind: 'scenic' | 'venue') => {
    const twin = imported.find((n) => n.name === p.name && distanceKm(n, p) <= SAME_PLACE_KM);
    const properties: PlaceProperties = { id: p.id, name: p.name, kind, ...(twin ? { namedBy: twin.layer } : {}) };
    return { type: 'Feature' as const, properties, geometry: { type: 'Point' as const, coordinates: [p.lng, p.lat] } };
  };
  return {
    type: 'FeatureCollection' as const,
    features: [...ATTRACTIONS.map((p) => feature(p, 'scenic')), ...VENUES.map((p) => feature(p, 'venue'))],
  };
}

/**
 * The names the imported tiles hold around the platform's places: each place's surroundings
 * (±{@link SAME_PLACE_KM}) read from the tiles of the import's highest zoom, where every named point
 * is (tilemaker writes a lake's name once, at its centroid).
 */
export async function importedNamesNearPlaces(store: TileStore, zoom: number): Promise<NamedPoint[]> {
  const tiles = new Set<string>();
  for (const p of [...ATTRACTIONS, ...VENUES]) {
    const dLat = SAME_PLACE_KM / 111.32;
    const dLng = dLat / Math.cos((p.lat * Math.PI) / 180);
    const [x0, y0] = tileOf(p.lng - dLng, p.lat + dLat, zoom);
    const [x1, y1] = tileOf(p.lng + dLng, p.lat - dLat, zoom);
    for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) tiles.add(`${x}/${y}`);
  }
  const out: NamedPoint[] = [];
  for (const key of tiles) {
    const [x, y] = key.split('/').map(Number) as [number, number];
    const t = await store.tile(zoom, x, y);
    if (!t) continue;
    try {
      for (const p of readPoints(t.gzip ? gunzipSync(t.body) : t.body, NAMED_LAYERS, zoom, x, y)) {
        const name = p.properties.name;
        if (typeof name === 'string' && name) out.push({ name, lng: p.lng, lat: p.lat, layer: p.layer });
      }
    } catch {
      // A tile we cannot read names nothing; the place keeps its own label.
    }
  }
  return out;
}

function tileOf(lng: number, lat: number, z: number): [number, number] {
  const [px, py] = toTilePixel(lng, lat, z, 0, 0);
  const max = 2 ** z - 1;
  const clamp = (v: number) => Math.min(max, Math.max(0, Math.floor(v / EXTENT)));
  return [clamp(px), clamp(py)];
}
