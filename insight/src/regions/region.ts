import { z } from 'zod';
import { booleanPointInPolygon, distance, kinks, point, pointToLineDistance, lineString, polygon as turfPolygon } from '@turf/turf';
import type { MultiPolygon, Polygon } from 'geojson';
import type { CellDictionary } from '../sink/cells.ts';

const Lng = z.number().min(-180).max(180);
const Lat = z.number().min(-90).max(90);
const Position = z.tuple([Lng, Lat]);
/** As alerting's drawn-shape limit: enough for any outline a person draws or imports. */
const MAX_VERTICES = 10_000;
const Ring = z
  .array(Position)
  .min(3, 'a ring needs at least 3 positions')
  .max(MAX_VERTICES, `a ring may have at most ${MAX_VERTICES} positions`);

/** A drawn shape. Coordinates are `[lng, lat]` (WGS-84), as in GeoJSON. */
export const Shape = z.discriminatedUnion('type', [
  z.object({ type: z.literal('polygon'), coordinates: z.array(Ring).min(1, 'a polygon needs an outer ring') }),
  z.object({ type: z.literal('multipolygon'), coordinates: z.array(z.array(Ring).min(1)).min(1) }),
  z.object({
    type: z.literal('rectangle'),
    bbox: z
      .tuple([Lng, Lat, Lng, Lat])
      .refine((b) => b[0] < b[2] && b[1] < b[3], 'bbox must be [west, south, east, north] with west < east and south < north'),
  }),
  z.object({ type: z.literal('circle'), center: Position, radiusM: z.number().positive().max(500_000) }),
  z.object({
    type: z.literal('polyline'),
    coordinates: z
      .array(Position)
      .min(2, 'a polyline needs at least 2 positions')
      .max(MAX_VERTICES, `a polyline may have at most ${MAX_VERTICES} positions`),
    widthM: z.number().positive().max(100_000),
  }),
]);
export type Shape = z.infer<typeof Shape>;

/**
 * A region: a union of administrative areas (GB/T 2260 codes: province `330000`, city `330100`,
 * district `330106`) and drawn shapes. Inside means inside the exact geometry, tested on the
 * serving cell's position.
 *
 * @example { "areas": ["330106"], "shapes": [{ "type": "circle", "center": [120.16, 30.27], "radiusM": 2000 }] }
 */
export const Region = z
  .object({
    areas: z
      .array(z.string().regex(/^\d{6}$/, 'expected a six-digit GB/T 2260 code'))
      .max(500)
      .default([]),
    shapes: z.array(Shape).max(100).default([]),
  })
  .refine((r) => r.areas.length + r.shapes.length > 0, 'a region needs at least one area code or one shape');
export type Region = z.infer<typeof Region>;

/** Administrative boundaries, by code, and which city a position lies in. */
export interface AdminAreas {
  /** An area's boundary; undefined when the code is unknown, null when it has no drawn boundary. */
  geometry(code: string): Polygon | MultiPolygon | null | undefined;
  /** The city (six-digit code, e.g. 330100) at a position; 0 when unknown. */
  cityAt(lng: number, lat: number): number;
}

/** No administrative data: area codes are refused, cities are unknown. */
export const NO_ADMIN_AREAS: AdminAreas = { geometry: () => undefined, cityAt: () => 0 };

export class RegionError extends Error {
  override name = 'RegionError';
  readonly code = 'INVALID_REGION';
}

type Bbox = [number, number, number, number];
interface Test {
  bbox: Bbox;
  inside(lng: number, lat: number): boolean;
}

function bboxOf(rings: number[][][]): Bbox {
  const b: Bbox = [Infinity, Infinity, -Infinity, -Infinity];
  for (const ring of rings)
    for (const [x, y] of ring) {
      if (x! < b[0]) b[0] = x!;
      if (y! < b[1]) b[1] = y!;
      if (x! > b[2]) b[2] = x!;
      if (y! > b[3]) b[3] = y!;
    }
  return b;
}

const closed = (ring: number[][]) => {
  const [a, z2] = [ring[0]!, ring[ring.length - 1]!];
  return a[0] === z2[0] && a[1] === z2[1] ? ring : [...ring, a];
};

/** A ring without its closing duplicate vertex, and without repeated consecutive vertices. */
function distinctVertices(ring: number[][]): number[][] {
  const out: number[][] = [];
  for (const p of ring) {
    const q = out[out.length - 1];
    if (!q || q[0] !== p[0] || q[1] !== p[1]) out.push(p);
  }
  while (out.length > 1 && out[0]![0] === out[out.length - 1]![0] && out[0]![1] === out[out.length - 1]![1]) out.pop();
  return out;
}

function ringArea(r: number[][]): number {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += (r[j]![0]! - r[i]![0]!) * (r[j]![1]! + r[i]![1]!);
  return a / 2;
}

function pointInRing(r: number[][], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const [xi, yi] = r[i] as [number, number];
    const [xj, yj] = r[j] as [number, number];
    if (yi > y !== yj > y && x < xi + ((y - yi) * (xj - xi)) / (yj - yi)) inside = !inside;
  }
  return inside;
}

/**
 * A drawn polygon's exact test, after the checks alerting makes at task submission (its
 * `regionIssues`): each ring has at least 3 distinct vertices, no edge spans the antimeridian, the
 * edges do not cross, every ring encloses an area and every hole lies inside the outer ring.
 * Throws RegionError naming the ring (a 400), never a library's error (a 500).
 */
function polygonTest(rings: number[][][], what: string): Test {
  const open = rings.map(distinctVertices);
  open.forEach((r, i) => {
    const where = i === 0 ? 'the outer ring' : `hole ${i}`;
    if (r.length < 3) throw new RegionError(`${what}: ${where} has ${r.length} distinct vertices; a polygon needs at least 3`);
    const wide = r.findIndex((p, j) => Math.abs(r[(j + 1) % r.length]![0]! - p[0]!) > 180);
    if (wide >= 0) throw new RegionError(`${what}: edge ${wide + 1} of ${where} crosses the 180° meridian; split the shape there`);
  });
  const poly = turfPolygon(open.map((r) => [...r, r[0]!]));
  const k = kinks(poly);
  if (k.features.length > 0) {
    const [x, y] = k.features[0]!.geometry.coordinates;
    throw new RegionError(`${what}: its edges cross near [${x!.toFixed(5)}, ${y!.toFixed(5)}]`);
  }
  open.forEach((r, i) => {
    const where = i === 0 ? 'the outer ring' : `hole ${i}`;
    if (ringArea(r) === 0) throw new RegionError(`${what}: ${where} encloses no area (its vertices lie on one line)`);
    if (i > 0 && !pointInRing(open[0]!, r[0]![0]!, r[0]![1]!)) throw new RegionError(`${what}: hole ${i} lies outside the outer ring`);
  });
  return { bbox: bboxOf(rings), inside: (lng, lat) => booleanPointInPolygon([lng, lat], poly) };
}

function geometryTest(g: Polygon | MultiPolygon): Test[] {
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  // Boundaries from official data are trusted as drawn (no kinks check: some have touching rings).
  return polys.map((rings) => {
    const poly = turfPolygon(rings.map(closed));
    return { bbox: bboxOf(rings), inside: (lng: number, lat: number) => booleanPointInPolygon([lng, lat], poly) };
  });
}

const M_PER_DEG_LAT = 111_320;

function shapeTests(s: Shape, n: number): Test[] {
  const what = `shape ${n + 1} (${s.type})`;
  switch (s.type) {
    case 'polygon':
      return [polygonTest(s.coordinates, what)];
    case 'multipolygon':
      return s.coordinates.map((p, i) => polygonTest(p, `${what}, part ${i + 1}`));
    case 'rectangle': {
      const [w, so, e, no] = s.bbox;
      return [{ bbox: s.bbox, inside: (lng, lat) => lng >= w && lng <= e && lat >= so && lat <= no }];
    }
    case 'circle': {
      const [x, y] = s.center;
      const dLat = (s.radiusM / M_PER_DEG_LAT) * 1.01;
      const dLng = dLat / Math.max(0.01, Math.cos((y * Math.PI) / 180));
      const c = point(s.center);
      return [
        { bbox: [x - dLng, y - dLat, x + dLng, y + dLat], inside: (lng, lat) => distance(c, [lng, lat], { units: 'meters' }) <= s.radiusM },
      ];
    }
    case 'polyline': {
      const line = lineString(s.coordinates);
      const half = s.widthM / 2;
      const b = bboxOf([s.coordinates]);
      const mid = (b[1] + b[3]) / 2;
      const dLat = (half / M_PER_DEG_LAT) * 1.01;
      const dLng = dLat / Math.max(0.01, Math.cos((mid * Math.PI) / 180));
      return [
        {
          bbox: [b[0] - dLng, b[1] - dLat, b[2] + dLng, b[3] + dLat],
          inside: (lng, lat) => pointToLineDistance([lng, lat], line, { units: 'meters' }) <= half,
        },
      ];
    }
  }
}

/** Compiles a region into exact point tests; throws RegionError with a clear reason. */
export function compileRegion(region: Region, admin: AdminAreas): Test[] {
  const tests: Test[] = [];
  for (const code of region.areas) {
    const g = admin.geometry(code);
    if (g === undefined) throw new RegionError(`unknown area code ${code}`);
    if (g === null) throw new RegionError(`area ${code} has no boundary in the geography data; pick its parent or draw it`);
    tests.push(...geometryTest(g));
  }
  region.shapes.forEach((s, i) => tests.push(...shapeTests(s, i)));
  return tests;
}

/** Marks the known cells inside a region: mask[cell] = 1. */
export function regionMask(tests: Test[], cells: CellDictionary): Uint8Array {
  const mask = new Uint8Array(cells.size);
  const { lat, lng } = cells;
  for (const t of tests) {
    const [w, s, e, n] = t.bbox;
    for (let c = 0; c < cells.size; c++) {
      if (mask[c]) continue;
      const x = lng[c]!;
      const y = lat[c]!;
      if (x < w || x > e || y < s || y > n) continue;
      if (t.inside(x, y)) mask[c] = 1;
    }
  }
  return mask;
}

/** A region as known cells: a mask by dense index, the indexes, their keys and their H3 indexes (decimal). */
export interface ResolvedRegion {
  mask: Uint8Array;
  indexes: number[];
  keys: number[];
  h3s: string[];
  /**
   * No known cell outside the region shares an H3 cell with one inside: then "cell in the region"
   * is exactly "H3 index in `h3s`", and history queries can test the H3 columns alone (one column
   * fewer to read and decompress per table). A cell's H3 index is fixed by its position, and every
   * cell the sink writes in a move is in the dictionary before the move, so the test holds for all
   * stored rows while the dictionary's version is unchanged (a new cell re-resolves the region).
   */
  h3Exact: boolean;
}

/**
 * Resolves regions to cell masks, caching the last few (the portal polls the same regions), and
 * recomputing when new cells appear.
 */
export class RegionResolver {
  private readonly cache = new Map<string, ResolvedRegion & { version: number }>();
  constructor(
    private readonly cells: CellDictionary,
    readonly admin: AdminAreas,
    private readonly max = 64,
  ) {}

  resolve(region: Region): ResolvedRegion {
    const id = JSON.stringify(region);
    const hit = this.cache.get(id);
    if (hit && hit.version === this.cells.version) return hit;
    const mask = regionMask(compileRegion(region, this.admin), this.cells);
    const keys: number[] = [];
    const indexes: number[] = [];
    const h3s = new Set<string>();
    for (let c = 0; c < mask.length; c++) {
      if (!mask[c]) continue;
      keys.push(this.cells.key[c]!);
      indexes.push(c);
      h3s.add(this.cells.h3Dec[c]!);
    }
    let h3Exact = true;
    for (let c = 0; c < mask.length && h3Exact; c++) if (!mask[c] && h3s.has(this.cells.h3Dec[c]!)) h3Exact = false;
    const entry = { version: this.cells.version, mask, keys, indexes, h3s: [...h3s], h3Exact };
    this.cache.delete(id);
    this.cache.set(id, entry);
    if (this.cache.size > this.max) this.cache.delete(this.cache.keys().next().value!);
    return entry;
  }
}

/** Builds AdminAreas from a list of areas with boundaries (e.g. ingest's geography file). */
export function adminAreasFrom(areas: { code: string; level?: string; geometry: Polygon | MultiPolygon | null }[]): AdminAreas {
  const byCode = new Map(areas.map((a) => [a.code, a.geometry]));
  const cities = areas
    .filter((a) => a.geometry && (a.level ? a.level === 'city' : /^\d{4}00$/.test(a.code) && !/0000$/.test(a.code)))
    .flatMap((a) => geometryTest(a.geometry!).map((t) => ({ code: Number(a.code), t })));
  return {
    geometry: (code) => byCode.get(code),
    cityAt(lng, lat) {
      for (const { code, t } of cities) {
        const [w, s, e, n] = t.bbox;
        if (lng >= w && lng <= e && lat >= s && lat <= n && t.inside(lng, lat)) return code;
      }
      return 0;
    },
  };
}
