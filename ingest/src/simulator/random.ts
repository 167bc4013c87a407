/**
 * Small, fast, deterministic randomness. Every subscriber draws from its own stream (a 32-bit
 * state in a typed array), so the events do not depend on the order subscribers are processed in.
 */

/** A 32-bit avalanche hash of up to three integers (murmur3 finaliser). */
export function mix32(a: number, b = 0, c = 0): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35) ^ Math.imul(c + 0x165667b1, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in [0, 1) from a hash. */
export const unit = (h: number): number => h / 4294967296;

/** Advances one xorshift32 state in place and returns a number in [0, 1). */
export function nextUnit(state: Uint32Array, i: number): number {
  let x = state[i] || 0x6d2b79f5;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state[i] = x >>> 0;
  return (x >>> 0) / 4294967296;
}

/** A seeded generator for set-up work (cells, tables): one home, `@geo/infra/basics`. */
export { seededRandom } from '@geo/infra/basics';

/** Picks an index from a cumulative weight array (binary search). */
export function pickCumulative(cum: Float64Array | number[], r: number): number {
  const target = r * cum[cum.length - 1];
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cum[mid] > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

const KM_PER_DEG_LAT = 111.32;
/** Distance in km between two lng/lat points (equirectangular; fine at province scale). */
export function distanceKm(lat1: number, lng1: number, lat2: number, lng2: number): number {
  const x = (lng2 - lng1) * KM_PER_DEG_LAT * Math.cos(((lat1 + lat2) / 2) * (Math.PI / 180));
  const y = (lat2 - lat1) * KM_PER_DEG_LAT;
  return Math.sqrt(x * x + y * y);
}
/** Moves a point by (east, north) km. */
export function offsetKm(lat: number, lng: number, eastKm: number, northKm: number): [number, number] {
  return [lat + northKm / KM_PER_DEG_LAT, lng + eastKm / (KM_PER_DEG_LAT * Math.cos(lat * (Math.PI / 180)))];
}
