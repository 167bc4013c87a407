import type { AreaGeometry, Region, RegionPart, Ring } from '../contract.ts';
import { adminGeometry } from './admin-areas.ts';

/** Limits checked at submit time, so evaluation never meets a region it cannot test. */
export const REGION_LIMITS = {
  /** Parts per region. */
  maxParts: 100,
  /** Vertices of one drawn shape (polygon, multipolygon, polyline). */
  maxDrawnVertices: 10_000,
  /** Vertices of one administrative area's geometry (province outlines are large). */
  maxAdminVertices: 500_000,
  /** @default 1,000 km */
  maxRadiusM: 1_000_000,
  /** @default 50 km */
  maxBufferM: 50_000,
} as const;

export type RegionIssueReason =
  | 'empty'
  | 'too_many_parts'
  | 'too_few_vertices'
  | 'too_many_vertices'
  | 'out_of_range'
  | 'crosses_antimeridian'
  | 'self_intersection'
  | 'zero_area'
  | 'hole_outside'
  | 'radius_not_positive'
  | 'radius_too_large'
  | 'buffer_not_positive'
  | 'buffer_too_large'
  | 'degenerate_rectangle'
  | 'admin_geometry_missing';

export interface RegionIssue {
  path: (string | number)[];
  reason: RegionIssueReason;
  message: string;
}

const validLngLat = (p: readonly number[]) =>
  Number.isFinite(p[0]) && Number.isFinite(p[1]) && Math.abs(p[0]) <= 180 && Math.abs(p[1]) <= 90;

/** Ring without its closing duplicate vertex. */
function openRing(r: Ring): Ring {
  if (r.length > 1 && r[0][0] === r[r.length - 1][0] && r[0][1] === r[r.length - 1][1]) return r.slice(0, -1);
  return r;
}

function ringArea(r: Ring): number {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += (r[j][0] - r[i][0]) * (r[j][1] + r[i][1]);
  return a / 2;
}

const orient = (ax: number, ay: number, bx: number, by: number, cx: number, cy: number) => {
  const v = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
  return v > 0 ? 1 : v < 0 ? -1 : 0;
};
const onSeg = (ax: number, ay: number, bx: number, by: number, cx: number, cy: number) =>
  Math.min(ax, bx) <= cx && cx <= Math.max(ax, bx) && Math.min(ay, by) <= cy && cy <= Math.max(ay, by);

function segmentsTouch(a: number[], b: number[]): boolean {
  const [ax, ay, bx, by] = a,
    [cx, cy, dx, dy] = b;
  const o1 = orient(ax, ay, bx, by, cx, cy),
    o2 = orient(ax, ay, bx, by, dx, dy);
  const o3 = orient(cx, cy, dx, dy, ax, ay),
    o4 = orient(cx, cy, dx, dy, bx, by);
  if (o1 !== o2 && o3 !== o4) return true;
  return (
    (o1 === 0 && onSeg(ax, ay, bx, by, cx, cy)) ||
    (o2 === 0 && onSeg(ax, ay, bx, by, dx, dy)) ||
    (o3 === 0 && onSeg(cx, cy, dx, dy, ax, ay)) ||
    (o4 === 0 && onSeg(cx, cy, dx, dy, bx, by))
  );
}

/**
 * The first place two edges of a polygon (all its rings) cross or touch, other than neighbours
 * sharing their vertex; a sweep over x keeps it near O(n log n) for ordinary shapes.
 */
export function findSelfIntersection(
  rings: Ring[],
): { ring: number; edge: number; otherRing: number; otherEdge: number; at: [number, number] } | undefined {
  type Seg = { s: number[]; ring: number; edge: number; n: number; minX: number; maxX: number };
  const segs: Seg[] = [];
  rings.forEach((raw, ri) => {
    const r = openRing(raw);
    for (let i = 0; i < r.length; i++) {
      const a = r[i],
        b = r[(i + 1) % r.length];
      segs.push({ s: [a[0], a[1], b[0], b[1]], ring: ri, edge: i, n: r.length, minX: Math.min(a[0], b[0]), maxX: Math.max(a[0], b[0]) });
    }
  });
  segs.sort((p, q) => p.minX - q.minX);
  for (let i = 0; i < segs.length; i++) {
    const p = segs[i];
    for (let j = i + 1; j < segs.length && segs[j].minX <= p.maxX; j++) {
      const q = segs[j];
      if (p.ring === q.ring) {
        const d = Math.abs(p.edge - q.edge);
        if (d === 1 || d === p.n - 1) {
          // Neighbours share one vertex; they are only wrong when they fold back over each other.
          const shared = (p.edge + 1) % p.n === q.edge ? [p.s[2], p.s[3]] : [p.s[0], p.s[1]];
          const po = p.s[0] === shared[0] && p.s[1] === shared[1] ? [p.s[2], p.s[3]] : [p.s[0], p.s[1]];
          const qo = q.s[0] === shared[0] && q.s[1] === shared[1] ? [q.s[2], q.s[3]] : [q.s[0], q.s[1]];
          const collinear = orient(shared[0], shared[1], po[0], po[1], qo[0], qo[1]) === 0;
          const sameSide = (po[0] - shared[0]) * (qo[0] - shared[0]) + (po[1] - shared[1]) * (qo[1] - shared[1]) > 0;
          if (p.n > 2 && collinear && sameSide)
            return { ring: p.ring, edge: p.edge, otherRing: q.ring, otherEdge: q.edge, at: shared as [number, number] };
          continue;
        }
      }
      if (segmentsTouch(p.s, q.s)) return { ring: p.ring, edge: p.edge, otherRing: q.ring, otherEdge: q.edge, at: [p.s[0], p.s[1]] };
    }
  }
  return undefined;
}

function pointInRing(r: Ring, x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const [xi, yi] = r[i],
      [xj, yj] = r[j];
    if (yi > y !== yj > y && x < xi + ((y - yi) * (xj - xi)) / (yj - yi)) inside = !inside;
  }
  return inside;
}

function polygonIssues(rings: Ring[], path: (string | number)[], maxVertices: number, counted: { n: number }): RegionIssue[] {
  if (rings.length === 0) return [{ path, reason: 'empty', message: 'the polygon has no rings' }];
  const issues: RegionIssue[] = [];
  for (let i = 0; i < rings.length; i++) {
    const r = openRing(rings[i]);
    const where = i === 0 ? 'the outer ring' : `hole ${i}`;
    counted.n += r.length;
    if (r.length < 3)
      issues.push({
        path: [...path, i],
        reason: 'too_few_vertices',
        message: `${where} has ${r.length} distinct vertices; a polygon needs at least 3`,
      });
    const bad = r.findIndex((p) => !validLngLat(p));
    if (bad >= 0)
      issues.push({
        path: [...path, i, bad],
        reason: 'out_of_range',
        message: `vertex ${bad} of ${where} is not a valid [longitude, latitude]`,
      });
    else {
      // An edge spanning more than 180° of longitude crosses the antimeridian (RFC 7946 §3.1.9): read
      // planar, it would be the band the other way round the globe. Such shapes must come split.
      const wide = r.findIndex((p, k) => Math.abs(r[(k + 1) % r.length]![0] - p[0]) > 180);
      if (wide >= 0)
        issues.push({
          path: [...path, i, wide],
          reason: 'crosses_antimeridian',
          message: `edge ${wide} of ${where} crosses the 180° meridian; split the shape there`,
        });
    }
  }
  if (counted.n > maxVertices)
    return [
      ...issues,
      { path, reason: 'too_many_vertices', message: `the shape has ${counted.n} vertices; at most ${maxVertices} are allowed` },
    ];
  if (issues.length) return issues;
  const x = findSelfIntersection(rings);
  if (x) {
    const name = (ring: number) => (ring === 0 ? 'the outer ring' : `hole ${ring}`);
    return [
      {
        path,
        reason: 'self_intersection',
        message: `edges cross: edge ${x.edge} of ${name(x.ring)} meets edge ${x.otherEdge} of ${name(x.otherRing)} near [${x.at[0]}, ${x.at[1]}]`,
      },
    ];
  }
  for (let i = 0; i < rings.length; i++) {
    if (ringArea(openRing(rings[i])) === 0)
      issues.push({ path: [...path, i], reason: 'zero_area', message: `${i === 0 ? 'the outer ring' : `hole ${i}`} encloses no area` });
    else if (i > 0) {
      const [hx, hy] = rings[i][0];
      if (!pointInRing(openRing(rings[0]), hx, hy))
        issues.push({ path: [...path, i], reason: 'hole_outside', message: `hole ${i} lies outside the outer ring` });
    }
  }
  return issues;
}

function geometryIssues(g: AreaGeometry, path: (string | number)[]): RegionIssue[] {
  const counted = { n: 0 };
  if (g.type === 'Polygon') return polygonIssues(g.coordinates, [...path, 'coordinates'], REGION_LIMITS.maxAdminVertices, counted);
  if (g.coordinates.length === 0) return [{ path, reason: 'empty', message: 'the area geometry has no polygons' }];
  return g.coordinates.flatMap((p, i) => polygonIssues(p, [...path, 'coordinates', i], REGION_LIMITS.maxAdminVertices, counted));
}

function partIssues(part: RegionPart, path: (string | number)[]): RegionIssue[] {
  switch (part.kind) {
    case 'polygon':
      return polygonIssues(part.rings, [...path, 'rings'], REGION_LIMITS.maxDrawnVertices, { n: 0 });
    case 'multipolygon': {
      if (part.polygons.length === 0) return [{ path, reason: 'empty', message: 'the multipolygon has no polygons' }];
      const counted = { n: 0 };
      return part.polygons.flatMap((p, i) => polygonIssues(p, [...path, 'polygons', i], REGION_LIMITS.maxDrawnVertices, counted));
    }
    case 'rectangle': {
      const { west, south, east, north } = part;
      if (
        ![
          [west, south],
          [east, north],
        ].every(validLngLat)
      )
        return [{ path, reason: 'out_of_range', message: 'the rectangle has corners outside valid longitude/latitude' }];
      if (!(west < east && south < north))
        return [{ path, reason: 'degenerate_rectangle', message: 'the rectangle needs west < east and south < north' }];
      return [];
    }
    case 'circle': {
      if (!validLngLat(part.center))
        return [{ path: [...path, 'center'], reason: 'out_of_range', message: 'the circle centre is not a valid [longitude, latitude]' }];
      if (!(part.radiusM > 0))
        return [
          {
            path: [...path, 'radiusM'],
            reason: 'radius_not_positive',
            message: `the circle radius must be greater than 0 m (got ${part.radiusM})`,
          },
        ];
      if (part.radiusM > REGION_LIMITS.maxRadiusM)
        return [
          {
            path: [...path, 'radiusM'],
            reason: 'radius_too_large',
            message: `the circle radius may be at most ${REGION_LIMITS.maxRadiusM} m`,
          },
        ];
      return [];
    }
    case 'polyline': {
      const issues: RegionIssue[] = [];
      if (part.path.length < 2)
        issues.push({ path: [...path, 'path'], reason: 'too_few_vertices', message: 'a polyline needs at least 2 points' });
      if (part.path.length > REGION_LIMITS.maxDrawnVertices)
        issues.push({
          path: [...path, 'path'],
          reason: 'too_many_vertices',
          message: `the polyline has ${part.path.length} points; at most ${REGION_LIMITS.maxDrawnVertices} are allowed`,
        });
      const bad = part.path.findIndex((p) => !validLngLat(p));
      if (bad >= 0)
        issues.push({
          path: [...path, 'path', bad],
          reason: 'out_of_range',
          message: `point ${bad} of the polyline is not a valid [longitude, latitude]`,
        });
      if (!(part.bufferM > 0))
        issues.push({
          path: [...path, 'bufferM'],
          reason: 'buffer_not_positive',
          message: `the polyline's buffer width must be greater than 0 m (got ${part.bufferM})`,
        });
      else if (part.bufferM > REGION_LIMITS.maxBufferM)
        issues.push({
          path: [...path, 'bufferM'],
          reason: 'buffer_too_large',
          message: `the buffer width may be at most ${REGION_LIMITS.maxBufferM} m`,
        });
      return issues;
    }
    case 'admin': {
      // A boundary supplied with the task is checked like a drawn shape. The reference outlines
      // (ingest's geography) touch themselves at rounded vertices in most districts; an operator
      // cannot fix them and the exact test handles them, so they are not refused.
      if (part.geometry) return geometryIssues(part.geometry, [...path, 'geometry']);
      if (!adminGeometry(part))
        return [
          {
            path: [...path, 'geometry'],
            reason: 'admin_geometry_missing',
            message: `no boundary is known for administrative area ${part.code}; supply its geometry`,
          },
        ];
      return [];
    }
  }
}

/**
 * Everything wrong with a region, each with a stable reason code and a message a person can act on;
 * empty when the region can be evaluated. Run at submit time (the task contract's refinement does).
 *
 * @example
 * regionIssues({ parts: [{ kind: 'circle', center: [113.9, 22.5], radiusM: 0 }], edgeBufferM: 0 })
 * // → [{ path: ['parts', 0, 'radiusM'], reason: 'radius_not_positive', message: '…' }]
 */
export function regionIssues(region: Pick<Region, 'parts'>): RegionIssue[] {
  if (region.parts.length === 0)
    return [{ path: ['parts'], reason: 'empty', message: 'the region is empty: add an administrative area or draw a shape' }];
  if (region.parts.length > REGION_LIMITS.maxParts)
    return [{ path: ['parts'], reason: 'too_many_parts', message: `a region has at most ${REGION_LIMITS.maxParts} parts` }];
  return region.parts.flatMap((p, i) => partIssues(p, ['parts', i]));
}
