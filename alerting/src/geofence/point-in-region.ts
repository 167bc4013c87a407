import type { Region, RegionPart, Ring } from '../contract.ts';
import { adminGeometry } from './admin-areas.ts';
import { haversineM, metresToDegrees, pointSegmentM } from './geo-math.ts';

export type BBox = [west: number, south: number, east: number, north: number];

/** One region part ready for point tests: its bounding box (a pre-filter only) and the exact test. */
export interface CompiledPart {
  bbox: BBox;
  contains(lng: number, lat: number): boolean;
}

/** A region compiled for point tests: inside = inside any part. */
export interface CompiledRegion {
  parts: CompiledPart[];
  bbox: BBox;
  contains(lng: number, lat: number): boolean;
}

/** Flat ring storage: x0,y0,x1,y1,… closed (last = first). */
type FlatRing = Float64Array;

function flatten(ring: Ring): FlatRing {
  const closed = ring.length > 0 && (ring[0][0] !== ring[ring.length - 1][0] || ring[0][1] !== ring[ring.length - 1][1]);
  const n = ring.length + (closed ? 1 : 0);
  const out = new Float64Array(n * 2);
  for (let i = 0; i < ring.length; i++) {
    out[i * 2] = ring[i][0];
    out[i * 2 + 1] = ring[i][1];
  }
  if (closed) {
    out[n * 2 - 2] = ring[0][0];
    out[n * 2 - 1] = ring[0][1];
  }
  return out;
}

/**
 * Even-odd point-in-polygon over all rings (so holes exclude), in the plane of longitude/latitude as
 * GeoJSON defines polygons. A point exactly on an edge counts as inside.
 */
export function pointInRings(rings: FlatRing[], x: number, y: number): boolean {
  let inside = false;
  for (const r of rings) {
    for (let i = 0, n = r.length - 2; i < n; i += 2) {
      const x1 = r[i],
        y1 = r[i + 1],
        x2 = r[i + 2],
        y2 = r[i + 3];
      // On the edge: collinear and within the segment's box.
      const cross = (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1);
      if (cross === 0 && x >= Math.min(x1, x2) && x <= Math.max(x1, x2) && y >= Math.min(y1, y2) && y <= Math.max(y1, y2)) return true;
      if (y1 > y !== y2 > y) {
        const xi = x1 + ((y - y1) * (x2 - x1)) / (y2 - y1);
        if (x < xi) inside = !inside;
      }
    }
  }
  return inside;
}

function ringsDistanceM(rings: FlatRing[], x: number, y: number): number {
  let best = Infinity;
  for (const r of rings)
    for (let i = 0, n = r.length - 2; i < n; i += 2) best = Math.min(best, pointSegmentM(x, y, r[i], r[i + 1], r[i + 2], r[i + 3]));
  return best;
}

function ringsBBox(rings: FlatRing[]): BBox {
  const b: BBox = [Infinity, Infinity, -Infinity, -Infinity];
  for (const r of rings)
    for (let i = 0; i < r.length; i += 2) {
      b[0] = Math.min(b[0], r[i]);
      b[1] = Math.min(b[1], r[i + 1]);
      b[2] = Math.max(b[2], r[i]);
      b[3] = Math.max(b[3], r[i + 1]);
    }
  return b;
}

function grow(b: BBox, metres: number): BBox {
  if (metres <= 0) return b;
  const { dLat, dLng } = metresToDegrees(metres * 1.01 + 1, Math.max(Math.abs(b[1]), Math.abs(b[3])));
  return [b[0] - dLng, b[1] - dLat, b[2] + dLng, b[3] + dLat];
}

function polygonPart(rings: Ring[], bufferM: number): CompiledPart {
  const flat = rings.map(flatten);
  return {
    bbox: grow(ringsBBox(flat), bufferM),
    contains: (x, y) => pointInRings(flat, x, y) || (bufferM > 0 && ringsDistanceM(flat, x, y) <= bufferM),
  };
}

/** Compiles one part. Assumes the region passed {@link regionIssues} (validation happens at submit). */
export function compilePart(part: RegionPart, edgeBufferM = 0): CompiledPart[] {
  switch (part.kind) {
    case 'polygon':
      return [polygonPart(part.rings, edgeBufferM)];
    case 'multipolygon':
      return part.polygons.map((p) => polygonPart(p, edgeBufferM));
    case 'admin': {
      const g = adminGeometry(part);
      if (!g) throw new Error(`no geometry for administrative area ${part.code}`);
      return g.type === 'Polygon' ? [polygonPart(g.coordinates, edgeBufferM)] : g.coordinates.map((p) => polygonPart(p, edgeBufferM));
    }
    case 'rectangle': {
      const { west, south, east, north } = part;
      const rings = [
        [
          [west, south],
          [east, south],
          [east, north],
          [west, north],
          [west, south],
        ],
      ] as Ring[];
      if (edgeBufferM > 0) return [polygonPart(rings, edgeBufferM)];
      return [{ bbox: [west, south, east, north], contains: (x, y) => x >= west && x <= east && y >= south && y <= north }];
    }
    case 'circle': {
      const [cx, cy] = part.center;
      const r = part.radiusM;
      const { dLat, dLng } = metresToDegrees(r * 1.01 + 1, cy);
      return [{ bbox: [cx - dLng, cy - dLat, cx + dLng, cy + dLat], contains: (x, y) => haversineM(cx, cy, x, y) <= r }];
    }
    case 'polyline': {
      const path = flatten(part.path).subarray(0, part.path.length * 2);
      const r = part.bufferM;
      return [
        {
          bbox: grow(ringsBBox([path]), r),
          contains: (x, y) => {
            if (path.length === 2) return haversineM(path[0], path[1], x, y) <= r;
            for (let i = 0, n = path.length - 2; i < n; i += 2)
              if (pointSegmentM(x, y, path[i], path[i + 1], path[i + 2], path[i + 3]) <= r) return true;
            return false;
          },
        },
      ];
    }
  }
}

/** Compiles a whole region: the union of its parts. */
export function compileRegion(region: Pick<Region, 'parts'> & { edgeBufferM?: number }): CompiledRegion {
  const parts = region.parts.flatMap((p) => compilePart(p, region.edgeBufferM ?? 0));
  const bbox: BBox = [Infinity, Infinity, -Infinity, -Infinity];
  for (const p of parts) {
    bbox[0] = Math.min(bbox[0], p.bbox[0]);
    bbox[1] = Math.min(bbox[1], p.bbox[1]);
    bbox[2] = Math.max(bbox[2], p.bbox[2]);
    bbox[3] = Math.max(bbox[3], p.bbox[3]);
  }
  return {
    parts,
    bbox,
    contains(x, y) {
      for (const p of parts) if (x >= p.bbox[0] && x <= p.bbox[2] && y >= p.bbox[1] && y <= p.bbox[3] && p.contains(x, y)) return true;
      return false;
    },
  };
}
