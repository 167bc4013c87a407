import { ATTRACTIONS, VENUES, type Place } from '@geo/ingest';

/**
 * The places the platform itself names (the simulator's scenic spots and venues, which scenarios
 * and duty officers refer to), as GeoJSON points for the map's label layer. Railway stations come
 * from the imported OpenStreetMap extract (its `poi` layer).
 */
export function platformPlaces() {
  const feature = (p: Place, kind: 'scenic' | 'venue') => ({
    type: 'Feature' as const,
    properties: { id: p.id, name: p.name, kind },
    geometry: { type: 'Point' as const, coordinates: [p.lng, p.lat] },
  });
  return {
    type: 'FeatureCollection' as const,
    features: [...ATTRACTIONS.map((p) => feature(p, 'scenic')), ...VENUES.map((p) => feature(p, 'venue'))],
  };
}
