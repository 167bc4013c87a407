import type { RegionPart } from '@geo/alerting';
import { mt } from './zh-CN.ts';

/** Drawn shapes as terra-draw stores them: a GeoJSON feature with `properties.mode`. */
export interface DrawnFeature {
  id?: string | number;
  type: 'Feature';
  geometry:
    | { type: 'Polygon'; coordinates: number[][][] }
    | { type: 'LineString'; coordinates: number[][] }
    | { type: string; coordinates: unknown };
  properties: { mode?: string; radiusKilometers?: number; bufferM?: number; [k: string]: unknown };
}

/** The default buffer on each side of a drawn or imported polyline, metres. @default 500 */
export const DEFAULT_BUFFER_M = 500;

const R = 6_371_008.8;
const rad = (d: number) => (d * Math.PI) / 180;
export function haversineM(a: number[], b: number[]): number {
  const dLat = rad(b[1]! - a[1]!),
    dLng = rad(b[0]! - a[0]!);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a[1]!)) * Math.cos(rad(b[1]!)) * Math.sin(dLng / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(h));
}

const round = (n: number) => Math.round(n * 1e7) / 1e7;
const pt = (p: number[]): [number, number] => [round(p[0]!), round(p[1]!)];

/**
 * A drawn feature as a region part of the alert-task contract. A circle keeps its centre and
 * radius (the exact test is on the circle, not on the drawn polygon's vertices).
 */
export function featureToPart(f: DrawnFeature): RegionPart | undefined {
  const mode = f.properties.mode;
  if (f.geometry.type === 'LineString') {
    const path = (f.geometry.coordinates as number[][]).map(pt);
    return { kind: 'polyline', path, bufferM: Number(f.properties.bufferM ?? DEFAULT_BUFFER_M) };
  }
  if (f.geometry.type !== 'Polygon') return undefined;
  const rings = (f.geometry.coordinates as number[][][]).map((r) => r.map(pt));
  const outer = rings[0] ?? [];
  if (mode === 'rectangle') {
    const xs = outer.map((p) => p[0]),
      ys = outer.map((p) => p[1]);
    return { kind: 'rectangle', west: Math.min(...xs), south: Math.min(...ys), east: Math.max(...xs), north: Math.max(...ys) };
  }
  if (mode === 'circle') {
    const ring = outer.length > 1 ? outer.slice(0, -1) : outer;
    const center: [number, number] = pt([
      ring.reduce((s, p) => s + p[0], 0) / ring.length,
      ring.reduce((s, p) => s + p[1], 0) / ring.length,
    ]);
    const radiusM = f.properties.radiusKilometers ? f.properties.radiusKilometers * 1000 : haversineM(center, ring[0]!);
    return { kind: 'circle', center, radiusM: Math.round(radiusM) };
  }
  return { kind: 'polygon', rings };
}

/** A circle as a polygon of `steps` vertices (for drawing it back on the map). */
export function circleRing(center: [number, number], radiusM: number, steps = 64): [number, number][] {
  const out: [number, number][] = [];
  const dLat = (radiusM / R) * (180 / Math.PI);
  const dLng = dLat / Math.cos(rad(center[1]));
  for (let i = 0; i < steps; i++) {
    const a = (2 * Math.PI * i) / steps;
    out.push(pt([center[0] + dLng * Math.cos(a), center[1] + dLat * Math.sin(a)]));
  }
  out.push(out[0]!);
  return out;
}

/** A region part as a feature terra-draw can edit (admin parts and multipolygons are not drawn shapes). */
export function partToFeature(p: RegionPart): DrawnFeature | undefined {
  switch (p.kind) {
    case 'polygon':
      return { type: 'Feature', geometry: { type: 'Polygon', coordinates: p.rings }, properties: { mode: 'polygon' } };
    case 'rectangle': {
      const { west: w, south: s, east: e, north: n } = p;
      return {
        type: 'Feature',
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [w, s],
              [e, s],
              [e, n],
              [w, n],
              [w, s],
            ],
          ],
        },
        properties: { mode: 'rectangle' },
      };
    }
    case 'circle':
      return {
        type: 'Feature',
        geometry: { type: 'Polygon', coordinates: [circleRing(p.center, p.radiusM)] },
        properties: { mode: 'circle', radiusKilometers: p.radiusM / 1000 },
      };
    case 'polyline':
      return {
        type: 'Feature',
        geometry: { type: 'LineString', coordinates: p.path },
        properties: { mode: 'linestring', bufferM: p.bufferM },
      };
    default:
      return undefined;
  }
}

/** The GeoJSON objects an import reads (others, such as points, are skipped). */
type GeoNode =
  | { type: 'FeatureCollection'; features?: GeoNode[] }
  | { type: 'Feature'; geometry?: GeoNode }
  | { type: 'GeometryCollection'; geometries?: GeoNode[] }
  | { type: 'Polygon'; coordinates: number[][][] }
  | { type: 'MultiPolygon'; coordinates: number[][][][] }
  | { type: 'LineString'; coordinates: number[][] }
  | { type: 'MultiLineString'; coordinates: number[][][] }
  | { type: 'Point' | 'MultiPoint' };

/** Why an imported file gave no region. */
export class ImportError extends Error {
  override name = 'ImportError';
}

/**
 * A GeoJSON file (FeatureCollection, Feature or bare geometry) as region parts: polygons and
 * multipolygons as they are, lines as polylines with the default buffer. Points are refused (a
 * point is no region); so is anything that is not GeoJSON.
 */
export function geojsonToParts(input: unknown, bufferM = DEFAULT_BUFFER_M): RegionPart[] {
  const parts: RegionPart[] = [];
  const visit = (g: GeoNode | null | undefined): void => {
    if (!g || typeof g !== 'object') return;
    switch (g.type) {
      case 'FeatureCollection':
        return (g.features ?? []).forEach(visit);
      case 'Feature':
        return visit(g.geometry);
      case 'GeometryCollection':
        return (g.geometries ?? []).forEach(visit);
      case 'Polygon':
        parts.push({ kind: 'polygon', rings: g.coordinates.map((r: number[][]) => r.map(pt)) });
        return;
      case 'MultiPolygon':
        parts.push({ kind: 'multipolygon', polygons: g.coordinates.map((p: number[][][]) => p.map((r) => r.map(pt))) });
        return;
      case 'LineString':
        parts.push({ kind: 'polyline', path: g.coordinates.map(pt), bufferM });
        return;
      case 'MultiLineString':
        for (const l of g.coordinates) parts.push({ kind: 'polyline', path: l.map(pt), bufferM });
        return;
    }
  };
  if (!input || typeof input !== 'object' || typeof (input as { type?: unknown }).type !== 'string') throw new ImportError(mt.notGeoJSON);
  visit(input as GeoNode);
  if (!parts.length) throw new ImportError(mt.noParts);
  return parts;
}

/** The parts' GeoJSON, for drawing imported and selected regions on the map. */
export function partsToGeoJSON(parts: RegionPart[]): { type: 'FeatureCollection'; features: unknown[] } {
  const features: unknown[] = [];
  for (const p of parts) {
    if (p.kind === 'multipolygon')
      features.push({ type: 'Feature', properties: {}, geometry: { type: 'MultiPolygon', coordinates: p.polygons } });
    else if (p.kind === 'admin') continue;
    else {
      const f = partToFeature(p);
      if (f) features.push({ ...f, properties: {} });
    }
  }
  return { type: 'FeatureCollection', features };
}
