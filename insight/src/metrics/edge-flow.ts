import { raw, sql, list, type ClickHouseClient } from '@geo/infra';
import type { EdgeHysteresis, EdgeZone } from '@geo/infra/basics';
import type { AdminAreas, Region, ResolvedRegion } from '../regions/region.ts';
import { ENTRY, LEFT } from './history-query.ts';
import { edgeRows, personTimes, type Move } from './person-times.ts';
import { atom } from './privacy.ts';
import type { MetricsContext } from './region-history.ts';
import { DAY, FIVE, HOUR, secs, shanghaiMidnight } from './time.ts';

const RAD = Math.PI / 180;
const EARTH_RADIUS_M = 6_371_008.8;

function haversineM(lng1: number, lat1: number, lng2: number, lat2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLng = (lng2 - lng1) * RAD;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Metres from a point to a segment, in an equirectangular projection centred on the point (as alerting's buffers). */
function pointSegmentM(lng: number, lat: number, ax: number, ay: number, bx: number, by: number): number {
  const kx = Math.cos(lat * RAD) * RAD * EARTH_RADIUS_M;
  const ky = RAD * EARTH_RADIUS_M;
  const x1 = (ax - lng) * kx,
    y1 = (ay - lat) * ky,
    dx = (bx - ax) * kx,
    dy = (by - ay) * ky;
  const len2 = dx * dx + dy * dy;
  let t = len2 === 0 ? 0 : -(x1 * dx + y1 * dy) / len2;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  return Math.hypot(x1 + t * dx, y1 + t * dy);
}

const ringsDistanceM = (rings: number[][][], x: number, y: number): number => {
  let best = Infinity;
  for (const r of rings)
    for (let i = 0; i + 1 < r.length; i++) best = Math.min(best, pointSegmentM(x, y, r[i]![0]!, r[i]![1]!, r[i + 1]![0]!, r[i + 1]![1]!));
  return best;
};

/**
 * "No more than `metres` outside the region" as a test of positions outside it: within `metres` of
 * an area's or polygon's edge (the rectangle's too), of a circle (radius + metres) or of a corridor's
 * line (half its width + metres). The same growth alerting gives a task's region (`haloRegion`).
 */
export function haloTest(region: Region, admin: AdminAreas, metres: number): (lng: number, lat: number) => boolean {
  const polygons: number[][][][] = [];
  for (const code of region.areas) {
    const g = admin.geometry(code);
    if (g) polygons.push(...(g.type === 'Polygon' ? [g.coordinates] : g.coordinates));
  }
  const tests: ((x: number, y: number) => boolean)[] = [];
  for (const s of region.shapes)
    if (s.type === 'polygon') polygons.push(s.coordinates);
    else if (s.type === 'multipolygon') polygons.push(...s.coordinates);
    else if (s.type === 'rectangle') {
      const [w, so, e, n] = s.bbox;
      polygons.push([
        [
          [w, so],
          [e, so],
          [e, n],
          [w, n],
          [w, so],
        ],
      ]);
    } else if (s.type === 'circle') tests.push((x, y) => haversineM(s.center[0], s.center[1], x, y) <= s.radiusM + metres);
    else {
      const half = s.widthM / 2 + metres;
      tests.push((x, y) => ringsDistanceM([s.coordinates], x, y) <= half);
    }
  const closed = polygons.map((rings) =>
    rings.map((r) => (r[0]![0] === r[r.length - 1]![0] && r[0]![1] === r[r.length - 1]![1] ? r : [...r, r[0]!])),
  );
  // Each polygon's box grown by the buffer first: a district's outline has thousands of edges, and
  // every known cell of the network is asked (most of them far from the region).
  const dLat = metres / 111_000;
  for (const rings of closed) {
    let [w, so, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const [x, y] of rings[0]!) [w, so, e, n] = [Math.min(w, x!), Math.min(so, y!), Math.max(e, x!), Math.max(n, y!)];
    const dLng = metres / (111_000 * Math.max(0.01, Math.cos(Math.max(Math.abs(so), Math.abs(n)) * RAD)));
    tests.push((x, y) => x >= w - dLng && x <= e + dLng && y >= so - dLat && y <= n + dLat && ringsDistanceM(rings, x, y) <= metres);
  }
  return (x, y) => tests.some((t) => t(x, y));
}

/** The moves of `keys` (cells) in [fromS, toS], into or out of them, once each, in time order per person. */
async function movesAround(ch: ClickHouseClient, keys: number[], h3s: string[], fromS: number, toS: number): Promise<Move[]> {
  const K = list(keys);
  // Decimal H3 indexes from the cell dictionary (digits only), not user input.
  const H = raw(`(${h3s.map((h) => (/^\d+$/.test(h) ? h : '0')).join(',')})`);
  const span = sql`ts >= toDateTime(${fromS}) AND ts <= toDateTime(${toS})`;
  const q = sql`
    SELECT sub, toUInt32(ts) AS t, from_cell, to_cell FROM insight_moves_to WHERE to_h3 IN ${H} AND to_cell IN ${K} AND ${span}
    UNION ALL
    SELECT sub, toUInt32(ts) AS t, from_cell, to_cell FROM insight_moves_from WHERE from_h3 IN ${H} AND from_cell IN ${K} AND ${span}`;
  const rs = await ch.query({ query: q.text, format: 'TabSeparated', clickhouse_settings: { max_query_size: '67108864' } });
  const seen = new Set<string>();
  const out: Move[] = [];
  for (const line of (await rs.text()).split('\n')) {
    if (!line || seen.has(line)) continue;
    seen.add(line);
    const [sub, t, from, to] = line.split('\t').map(Number) as [number, number, number, number];
    out.push([sub, t, from, to]);
  }
  return out.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/**
 * {@link movesAround}, the part the moves in memory hold (`RecentMoves`: every move after its
 * `completeAfterS`) read there, only the older rest from ClickHouse: a city's day of moves around
 * it from ClickHouse takes seconds, a scan of the day in memory tens of milliseconds.
 */
async function movesAroundFrom(
  ctx: MetricsContext,
  around: Uint8Array,
  keys: number[],
  h3s: string[],
  fromS: number,
  toS: number,
): Promise<Move[]> {
  const recent = ctx.recent;
  const heldAfter = recent ? recent.completeAfterS : Infinity;
  if (!recent || heldAfter >= toS) return movesAround(ctx.ch, keys, h3s, fromS, toS);
  // Memory first, before the await: meanwhile the oldest moves held may be evicted.
  const key = ctx.state.cells.key;
  const held: Move[] = [];
  // Only the moves into or out of the cells around the region, read by cell runs (a pass over
  // every move held was 83M moves at 10M subscribers).
  recent.touching(around, Math.max(fromS, heldAfter + 1), toS, (t, sub, from, to) => {
    held.push([sub, t, from >= 0 ? key[from]! : 0, key[to]!]);
  });
  const older = heldAfter >= fromS ? await movesAround(ctx.ch, keys, h3s, fromS, heldAfter) : [];
  recent.served++;
  // In time order per person. Two moves of one person within one second keep no defined order, as
  // from ClickHouse (whole seconds; memory's older moves are kept by cell).
  return older.concat(held).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/** What the region's history is under edge hysteresis: {@link edgeHistory}'s answer. */
export interface EdgeHistory {
  /** Inflow / outflow in the last hour and since midnight (sums of pair atoms, like `RegionHistory.flow`). */
  flow: { in: { hour: number; day: number }; out: { hour: number; day: number } };
  /** The day series' inflow / outflow: 5-minute bucket start (ms) → sum of pair atoms. */
  inD: Map<number, number>;
  outD: Map<number, number>;
  /** A person's (MSISDN) last entry by the rule (s), for dwell. */
  entryOf: (sub: number) => number | undefined;
  /** Everyone with an entry by the rule in the window (a superset of who has an entry time). */
  entrants: Iterable<number>;
}

/** Bucket (ms) → crossing pair → distinct people, summed as atoms: a flow series. */
function bucketSums(
  rows: Iterable<readonly [d: number, sub: number, t: number, from: number, to: number]>,
  d: number,
  fromS: number,
  k: number,
) {
  const buckets = new Map<number, Map<string, Set<number>>>();
  for (const [code, sub, t, from, to] of rows) {
    // An entry from nowhere (a first sighting) counts for dwell, not as inflow.
    if (code !== d || t < fromS || (d === ENTRY && from === 0)) continue;
    const b = Math.floor(t / 300) * 300_000;
    let pairs = buckets.get(b);
    if (!pairs) buckets.set(b, (pairs = new Map()));
    const pair = `${from}\t${to}`;
    let subs = pairs.get(pair);
    if (!subs) pairs.set(pair, (subs = new Set()));
    subs.add(sub);
  }
  const out = new Map<number, number>();
  for (const [b, pairs] of buckets) {
    let v = 0;
    for (const subs of pairs.values()) v += atom(subs.size, k);
    out.set(b, v);
  }
  return out;
}

/**
 * The region's inflow and outflow (last hour, since midnight, the day's 5-minute series) and its
 * people's last entry times (dwell) under edge hysteresis: each person's moves into, out of and
 * around the region (its cells and those within the buffer), from the moves held in memory where
 * they reach and from ClickHouse before that (`movesAroundFrom`), judged by the shared
 * rule (`edgeRows`), then counted as every flow is: per crossing pair, distinct people, each pair on
 * the grid of k. So the series add up to the totals as they do without hysteresis, and someone who
 * stepped out near the edge (or not for long) keeps their first entry time. A person's state
 * before the moves read (from an hour plus the minimum time away before the series' first bucket)
 * is taken from where their first move started.
 *
 * The week's hourly series is not read here (a week of moves around the region per query): it
 * counts every move across the edge.
 */
export async function edgeHistory(
  ctx: MetricsContext,
  region: Region,
  resolved: ResolvedRegion,
  at: number,
  h: EdgeHysteresis,
): Promise<EdgeHistory> {
  const { k } = ctx;
  const cells = ctx.state.cells;
  const midnight = shanghaiMidnight(at);
  const dayFrom = Math.floor((at - DAY) / FIVE) * FIVE + FIVE;
  const near = haloTest(region, ctx.regions.admin, h.bufferMeters ?? 0);
  const zone = new Map<number, EdgeZone>();
  // The same by cell index: the cells inside or within the buffer (for the moves in memory).
  const around = new Uint8Array(cells.size);
  const keys: number[] = [];
  const h3s = new Set<string>();
  for (let c = 0; c < cells.size; c++) {
    const z: EdgeZone = resolved.mask[c] ? 'inside' : (h.bufferMeters ?? 0) > 0 && near(cells.lng[c]!, cells.lat[c]!) ? 'near' : 'far';
    if (z === 'far') continue;
    zone.set(cells.key[c]!, z);
    around[c] = 1;
    keys.push(cells.key[c]!);
    h3s.add(cells.h3Dec[c]!);
  }
  // Since the first bucket of the day series (before midnight, and before dwell's 8 h).
  const windowS = secs(Math.min(dayFrom, midnight, at - 8 * HOUR));
  const fromS = windowS - Math.max(3600, h.minOutsideSeconds ?? 0);
  const moves = keys.length ? await movesAroundFrom(ctx, around, keys, [...h3s], fromS, secs(at)) : [];
  const rows = edgeRows(moves, (c) => zone.get(c) ?? 'far', h, secs(at));
  const times = personTimes(undefined, '', undefined, fromS * 1000, at + 1000, rows);
  const entrants = new Set<number>();
  for (const [d, sub] of rows) if (d === ENTRY) entrants.add(sub);
  return {
    flow: {
      in: { hour: times.entered(secs(at - HOUR), k), day: times.entered(secs(midnight), k) },
      out: { hour: times.left(secs(at - HOUR), k), day: times.left(secs(midnight), k) },
    },
    inD: bucketSums(rows, ENTRY, secs(dayFrom), k),
    outD: bucketSums(rows, LEFT, secs(dayFrom), k),
    entryOf: times.entryOf,
    entrants,
  };
}
