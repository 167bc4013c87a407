/** Small spherical helpers in metres. Distances here decide circles and buffers, so they are exact enough at city scale. */

export const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;

/** Great-circle distance in metres (haversine). */
export function haversineM(lng1: number, lat1: number, lng2: number, lat2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLng = (lng2 - lng1) * RAD;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/**
 * Distance in metres from a point to a segment, in an equirectangular projection centred on the
 * point: accurate to well under a metre for segments up to tens of kilometres, which is what
 * buffers (≤ 50 km) need.
 */
export function pointSegmentM(lng: number, lat: number, ax: number, ay: number, bx: number, by: number): number {
  const k = Math.cos(lat * RAD) * RAD * EARTH_RADIUS_M;
  const m = RAD * EARTH_RADIUS_M;
  const x1 = (ax - lng) * k,
    y1 = (ay - lat) * m;
  const x2 = (bx - lng) * k,
    y2 = (by - lat) * m;
  const dx = x2 - x1,
    dy = y2 - y1;
  const len2 = dx * dx + dy * dy;
  let t = len2 === 0 ? 0 : -(x1 * dx + y1 * dy) / len2;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  return Math.hypot(x1 + t * dx, y1 + t * dy);
}

/** Degrees of latitude and longitude spanned by `m` metres around latitude `lat` (for bounding boxes). */
export function metresToDegrees(m: number, lat: number): { dLat: number; dLng: number } {
  const dLat = m / (RAD * EARTH_RADIUS_M);
  const cos = Math.max(0.01, Math.cos(Math.min(89, Math.abs(lat) + dLat) * RAD));
  return { dLat, dLng: dLat / cos };
}
