import { raw, sql, list, type ClickHouseClient, type Sql } from '@geo/infra';
import type { PresenceState } from '../sink/presence-state.ts';
import type { RegionResolver, Region } from '../regions/region.ts';
import { AGE_BANDS, DWELL_BUCKETS, GENDERS, type RegionMetrics } from '../api/schemas.ts';
import { atom, atomSql, kCount, topGroups } from './privacy.ts';
import { GRACE_MS, type HistoryCache, type Plan } from './history-cache.ts';
import { buildGroups, liveInstant, type PresenceIndex } from './presence-index.ts';
import type { PopulationRing } from './population-ring.ts';
import type { RecentMoves } from './recent-moves.ts';

export interface MetricsContext {
  state: PresenceState;
  ch: ClickHouseClient;
  regions: RegionResolver;
  /** k-anonymity threshold. @default 10 */
  k: number;
  /** Settled history per region, for live polling. */
  cache?: HistoryCache;
  /** Present people by cell, shared by regions for a poll interval. */
  presence?: PresenceIndex;
  /** The clock, to tell live queries from replays. */
  now?: () => number;
  /** Settled per-person entry / exit times of polled regions. */
  times?: PersonTimesCache;
  /** Population per cell at every boundary of the last 7 days (in memory), when restored. */
  population?: PopulationRing;
  /** The last minutes of moves (in memory): polls read their fresh history here when it covers it. */
  recent?: RecentMoves;
}

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const FIVE = 5 * MIN;
/** China Standard Time has no DST: midnight is 16:00 UTC the day before. */
const SHANGHAI_OFFSET = 8 * HOUR;

export const shanghaiMidnight = (at: number): number => Math.floor((at + SHANGHAI_OFFSET) / DAY) * DAY - SHANGHAI_OFFSET;

export function ageBand(age: number): (typeof AGE_BANDS)[number] {
  if (age === 255) return 'unknown';
  if (age < 18) return '<18';
  if (age < 25) return '18-24';
  if (age < 35) return '25-34';
  if (age < 45) return '35-44';
  if (age < 55) return '45-54';
  if (age < 65) return '55-64';
  return '65+';
}

const DWELL_LIMITS = [30 * MIN, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR];
export function dwellBucket(ms: number): number {
  let b = 0;
  while (b < DWELL_LIMITS.length && ms >= DWELL_LIMITS[b]!) b++;
  return b;
}

/** Age band index per stored age (0–254, 255 = unknown). */
const AGE_BAND_INDEX = Uint8Array.from({ length: 256 }, (_, a) => AGE_BANDS.indexOf(ageBand(a)));

const secs = (ms: number) => Math.floor(ms / 1000);
const dt = (ms: number): Sql => raw(`toDateTime(${secs(ms)})`);
const iso = (ms: number) => new Date(ms).toISOString();
const codes = (m: Map<number, number>) => new Map([...m].map(([c, n]) => [String(c), n]));
// Big regions make long IN lists; 18.16's default max_query_size (256 KiB) would refuse them.
// No uncompressed cache (on by default in 18.16, off in current releases): a first query's blocks
// are almost all misses, and inserting them into a full cache (evicting others) cost more than the
// hits saved. A/B on one 1M-subscriber bench database, 25 regions, quiet machine: first-query p95
// 233–294 ms with the cache, 153–155 ms without (ClickHouse CPU ~2× on misses into a full cache);
// polls 45–59 vs 60–72 ms.
const SETTINGS = { max_query_size: '67108864', use_uncompressed_cache: '0' } as Record<string, string>;

export interface HistoryRange {
  /** Snapshots from here; none read when undefined (they come from the population ring). */
  popFrom?: number;
  in5From: number;
  out5From: number;
  in1hFrom: number;
  out1hFrom: number;
  /** Per-person last entry / inflow / outflow times from here (ms)… */
  subsFrom: number;
  /** …split at this edge: rows before it are settled (cacheable), from it on fresh. */
  subsEdge: number;
  /**
   * The privacy grid: flow series are sums over crossing (from cell → to cell) pairs of the
   * pair's distinct people, each quantised to the grid of k (`atom`); snapshots sum cells' counts,
   * each quantised the same way. @default 1 (exact sums)
   */
  k?: number;
}

/** One history row: what (`d`), a bucket / subscriber (`key`), a value, and for per-person rows the move's (from, to) cell keys. */
export type HistoryRow = [d: number, key: number, value: number, from: number, to: number];

/**
 * How a history query tells the region's rows: by the cells' keys (always exact), or — when no known
 * cell outside the region shares an H3 cell with one inside (`ResolvedRegion.h3Exact`) — by the H3
 * columns alone, which the primary key needs anyway: one column fewer to read and decompress.
 */
export interface RegionFilter {
  keys: number[];
  h3s: string[];
  h3Exact: boolean;
}

/**
 * The region's history in one round trip: `[d, key, value]` rows for inflow and outflow
 * (hourly, 5-minute, last hour, since midnight: distinct people, exact), each present-able
 * person's last entry within 8 h, and the population snapshots.
 *
 * Cost: a region's cells form a few dozen runs in H3 order, and each run costs a compressed block
 * (≥ 64 KiB) per column per part whatever few rows it needs, so a first query's time goes with
 * runs × parts × columns (a 150-cell region reads ~0.8M rows of a week for ~0.4M it needs). Closed
 * days are merged into one part each (`compactClosedDays`) and the H3-only filter drops a column.
 */
export async function historyRows(ch: ClickHouseClient, region: RegionFilter, at: number, r: HistoryRange): Promise<HistoryRow[]> {
  const { keys, h3s } = region;
  const R = list(keys);
  const k = Math.max(1, Math.floor(r.k ?? 1));
  // Decimal H3 indexes produced by CellDictionary (digits only), not user input.
  const H = raw(`(${h3s.map((h) => (/^\d+$/.test(h) ? h : '0')).join(',')})`);
  // "To / from a cell inside" and "from a known cell outside" (from = 0: a first sighting).
  const toIn = region.h3Exact ? sql`to_h3 IN ${H}` : sql`to_h3 IN ${H} AND to_cell IN ${R}`;
  const fromIn = region.h3Exact ? sql`from_h3 IN ${H}` : sql`from_h3 IN ${H} AND from_cell IN ${R}`;
  const fromOut = region.h3Exact ? sql`from_h3 NOT IN ${H}` : sql`from_cell NOT IN ${R}`;
  const knownFrom = region.h3Exact ? raw('from_h3 != 0') : raw('from_cell != 0');
  const toOut = region.h3Exact ? sql`to_h3 NOT IN ${H}` : sql`to_cell NOT IN ${R}`;
  const flowKeys = (inFive: number, inHour: number) =>
    raw(`arrayJoin(arrayFilter(x -> x != 0, [
      if(ts >= ${secs(inHour)}, toUInt64(toStartOfHour(ts)) * 8 + ${K_HOUR}, 0),
      if(ts >= ${secs(inFive)}, toUInt64(toStartOfFiveMinute(ts)) * 8 + ${K_FIVE}, 0)]))`);
  const lo = (a: number, b: number) => dt(Math.min(a, b));
  // A flow bucket is the sum over crossing (from cell → to cell) pairs of the pair's distinct
  // people, each pair's count quantised to the grid of k (privacy atoms; see README).
  const pairSums = (code: number, table: string, where: Sql, inFive: number, inHour: number) => sql`
    SELECT toUInt8(${raw(String(code))}) AS d, key, toUInt64(sum(${raw(atomSql('n', k))})) AS v, toUInt64(0) AS a, toUInt64(0) AS b FROM (
      SELECT key, from_cell, to_cell, uniqExact(sub) AS n FROM (
        SELECT sub, from_cell, to_cell, ${flowKeys(inFive, inHour)} AS key FROM ${raw(table)}
        WHERE ${where} AND ts >= ${lo(inFive, inHour)} AND ts <= ${dt(at)}
      ) GROUP BY key, from_cell, to_cell
    ) GROUP BY key`;
  // Settled (before the edge) or fresh: `settled` code, `settled + 1`. Per person and crossing
  // pair, the last time: entries (a first sighting, from 0, counts: dwell) and outflows.
  const part = (settled: number) => raw(`toUInt8(if(ts < ${secs(r.subsEdge)}, ${settled}, ${settled + 1}))`);
  const q = sql`
    ${pairSums(IN, 'insight_moves_to', sql`${toIn} AND ${fromOut} AND ${knownFrom}`, r.in5From, r.in1hFrom)}
    UNION ALL
    ${pairSums(OUT, 'insight_moves_from', sql`${fromIn} AND ${toOut}`, r.out5From, r.out1hFrom)}
    UNION ALL
    SELECT ${part(ENTRY)} AS d, sub AS key, toUInt64(max(ts)) AS v, from_cell AS a, to_cell AS b FROM insight_moves_to
    WHERE ${toIn} AND ${fromOut} AND ts >= ${dt(r.subsFrom)} AND ts <= ${dt(at)}
    GROUP BY d, sub, from_cell, to_cell
    UNION ALL
    SELECT ${part(LEFT)} AS d, sub AS key, toUInt64(max(ts)) AS v, from_cell AS a, to_cell AS b FROM insight_moves_from
    WHERE ${fromIn} AND ${toOut} AND ts >= ${dt(r.subsFrom)} AND ts <= ${dt(at)}
    GROUP BY d, sub, from_cell, to_cell${
      r.popFrom === undefined
        ? raw('')
        : sql`
    UNION ALL
    SELECT toUInt8(${POP}) AS d, toUInt64(bucket) AS key, toUInt64(sum(${raw(atomSql('n', k))})) AS v, toUInt64(0) AS a, toUInt64(0) AS b FROM (
      SELECT bucket, cell, n FROM insight_population FINAL
      WHERE h3 IN ${H} AND cell IN ${R} AND bucket >= ${dt(r.popFrom)} AND bucket <= ${dt(at)}
    ) GROUP BY bucket`
    }`;
  const rs = await ch.query({ query: q.text, format: 'TabSeparated', clickhouse_settings: SETTINGS });
  const text = await rs.text();
  const out: HistoryRow[] = [];
  for (let a = 0; a < text.length;) {
    let b = text.indexOf('\n', a);
    if (b < 0) b = text.length;
    const t1 = text.indexOf('\t', a);
    const t2 = text.indexOf('\t', t1 + 1);
    const t3 = text.indexOf('\t', t2 + 1);
    const t4 = text.indexOf('\t', t3 + 1);
    out.push([
      Number(text.slice(a, t1)),
      Number(text.slice(t1 + 1, t2)),
      Number(text.slice(t2 + 1, t3)),
      Number(text.slice(t3 + 1, t4)),
      Number(text.slice(t4 + 1, b)),
    ]);
    a = b + 1;
  }
  return out;
}

/**
 * {@link historyRows} from the moves held in memory (`recent` must cover the earliest of the
 * range's starts): the same rows, by the same rules, with the region given as a mask over cell
 * indexes (membership by cell, as the cell-key filter) and `keyOf` the cells' stored keys. No
 * ClickHouse round trip.
 */
export function recentRows(recent: RecentMoves, inRegion: Uint8Array, keyOf: ArrayLike<number>, at: number, r: HistoryRange): HistoryRow[] {
  const k = Math.max(1, Math.floor(r.k ?? 1));
  const atS = secs(at);
  const edgeS = secs(r.subsEdge);
  const subsS = secs(r.subsFrom);
  const in5 = secs(r.in5From),
    in1h = secs(r.in1hFrom),
    out5 = secs(r.out5From),
    out1h = secs(r.out1hFrom);
  // Flow bucket → crossing pair → distinct people.
  const inKeys = new Map<number, Map<string, Set<number>>>();
  const outKeys = new Map<number, Map<string, Set<number>>>();
  const add = (m: Map<number, Map<string, Set<number>>>, key: number, pair: string, sub: number) => {
    let pairs = m.get(key);
    if (!pairs) m.set(key, (pairs = new Map()));
    let set = pairs.get(pair);
    if (!set) pairs.set(pair, (set = new Set()));
    set.add(sub);
  };
  // Per (settled | fresh) × person and pair: the last entry (a first sighting counts), the last outflow.
  const entry = [new Map<string, number>(), new Map<string, number>()];
  const left = [new Map<string, number>(), new Map<string, number>()];
  const max = (m: Map<string, number>, id: string, t: number) => {
    const o = m.get(id);
    if (o === undefined || t > o) m.set(id, t);
  };
  const from = Math.min(in5, in1h, out5, out1h, subsS);
  recent.scan(from, atS, (t, sub, f, c) => {
    const toIn = inRegion[c] === 1;
    const fromIn = f >= 0 && inRegion[f] === 1;
    if (toIn === fromIn) return;
    const pair = `${f >= 0 ? keyOf[f]! : 0}\t${keyOf[c]!}`;
    if (toIn) {
      if (f >= 0) {
        if (t >= in1h) add(inKeys, Math.floor(t / 3600) * 3600 * 8 + K_HOUR, pair, sub);
        if (t >= in5) add(inKeys, Math.floor(t / 300) * 300 * 8 + K_FIVE, pair, sub);
      }
      if (t >= subsS) max(entry[t < edgeS ? 0 : 1]!, `${sub}\t${pair}`, t);
    } else {
      if (t >= out1h) add(outKeys, Math.floor(t / 3600) * 3600 * 8 + K_HOUR, pair, sub);
      if (t >= out5) add(outKeys, Math.floor(t / 300) * 300 * 8 + K_FIVE, pair, sub);
      if (t >= subsS) max(left[t < edgeS ? 0 : 1]!, `${sub}\t${pair}`, t);
    }
  });
  const out: HistoryRow[] = [];
  const sums = (d: number, m: Map<number, Map<string, Set<number>>>) => {
    for (const [key, pairs] of m) {
      let v = 0;
      for (const subs of pairs.values()) v += atom(subs.size, k);
      out.push([d, key, v, 0, 0]);
    }
  };
  sums(IN, inKeys);
  sums(OUT, outKeys);
  const perPerson = (d: number, m: Map<string, number>) => {
    for (const [id, t] of m) {
      const [sub, a, b] = id.split('\t');
      out.push([d, Number(sub), t, Number(a), Number(b)]);
    }
  };
  for (let p = 0; p < 2; p++) {
    perPerson(ENTRY + p, entry[p]!);
    perPerson(LEFT + p, left[p]!);
  }
  return out;
}

/** One query's rows: what (`d`), a bucket / subscriber (`key`), a value, a move's cells. */
const IN = 1;
const OUT = 2;
const POP = 4;
/**
 * Per person and crossing pair (from cell → to cell), the last time (s) they entered (from 0: a
 * first sighting, which counts for dwell but not as inflow) and left; settled = code, fresh = code + 1.
 */
const ENTRY = 10;
const LEFT = 14;
// Flow keys: bucket seconds × 8 + kind (an hour, a 5-minute bucket).
const K_HOUR = 1;
const K_FIVE = 2;

/** People by crossing pair ("from\tto" cell keys): MSISDN → the last time (s). */
type PairTimes = Map<string, Map<number, number>>;

/**
 * Per person, last entry time (s) in the window (for dwell), and per crossing pair the last time
 * each person moved in (inflow) or out (outflow), keyed by MSISDN: internal only.
 */
interface PersonTimes {
  entry: Map<number, number>;
  entered: PairTimes;
  left: PairTimes;
}
const newTimes = (): PersonTimes => ({ entry: new Map(), entered: new Map(), left: new Map() });
const keepMax = (m: Map<number, number>, sub: number, t: number) => {
  const o = m.get(sub);
  if (o === undefined || t > o) m.set(sub, t);
};
const keepPairMax = (m: PairTimes, pair: string, sub: number, t: number) => {
  let subs = m.get(pair);
  if (!subs) m.set(pair, (subs = new Map()));
  keepMax(subs, sub, t);
};
/** Adds one per-person row (`ENTRY` / `LEFT` code, settled or fresh) to `times`. */
function addPersonRow(times: PersonTimes, d: number, sub: number, t: number, from: number, to: number): void {
  if ((d & ~1) === ENTRY) {
    keepMax(times.entry, sub, t);
    if (from !== 0) keepPairMax(times.entered, `${from}\t${to}`, sub, t);
  } else if ((d & ~1) === LEFT) keepPairMax(times.left, `${from}\t${to}`, sub, t);
}
const copyPairs = (m: PairTimes, fromS: number): PairTimes => {
  const out: PairTimes = new Map();
  for (const [pair, subs] of m) {
    const kept = new Map<number, number>();
    for (const [sub, t] of subs) if (t >= fromS) kept.set(sub, t);
    if (kept.size) out.set(pair, kept);
  }
  return out;
};
/** A flow figure: over crossing pairs, the pair's people with a time ≥ `fromS`, each pair's count quantised to the grid of k. */
function pairSum(m: PairTimes, fromS: number, k: number): number {
  let sum = 0;
  for (const subs of m.values()) {
    if (subs.size < k) continue;
    let n = 0;
    for (const t of subs.values()) if (t >= fromS) n++;
    sum += atom(n, k);
  }
  return sum;
}

/**
 * The settled part (before `upTo`) of each polled region's per-person times since `from`: a poll
 * then reads only the moves after `upTo` for "last hour", "since midnight" and dwell. Few regions
 * (each can hold tens of thousands of people).
 */
export class PersonTimesCache {
  private readonly entries = new Map<string, { from: number; upTo: number; times: PersonTimes }>();
  constructor(private readonly max = 32) {}

  /** Cached settled times usable for a window starting at `from`, evaluated at `at`. */
  get(key: string, from: number, at: number): { upTo: number; times: PersonTimes } | undefined {
    const hit = this.entries.get(key);
    return hit && hit.from <= from && hit.upTo <= at ? hit : undefined;
  }

  clear(): void {
    this.entries.clear();
  }

  set(key: string, from: number, upTo: number, times: PersonTimes): void {
    this.entries.delete(key);
    this.entries.set(key, { from, upTo, times });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}

/**
 * Every metric of one region at time `at`. Live figures (population, origin, dwell membership,
 * portrait) come from the streaming stage's presence in memory, grouped by cell once per poll
 * interval for all regions (`PresenceIndex`); history (weekly maximum, flows, entry times, series)
 * from ClickHouse in **one** query (UNION ALL of inflow, outflow, entries and snapshots), each
 * part reading only the region's cells (`h3 IN …` prunes by the primary key). Polls reuse the
 * settled buckets of earlier answers (`HistoryCache`).
 *
 * Privacy (README "Privacy model"): every figure about present people is a sum over the region's
 * serving cells of the cell's count in that category quantised to the grid of k (`atom`: 0 under
 * k, else the nearest multiple of k); flows are sums over crossing (from cell → to cell) pairs of
 * the pair's distinct people, quantised the same way. Every released figure is a multiple of k; a
 * sum of 0 is shown suppressed.
 */
export async function regionMetrics(ctx: MetricsContext, region: Region, at: number, top = 10): Promise<RegionMetrics> {
  const { state, k } = ctx;
  const resolved = ctx.regions.resolve(region);
  const { indexes, keys } = resolved;
  const cells = state.cells;
  const empty = keys.length === 0;
  // Settled history is cached per region only for live queries (replays with `at` read everything).
  const live = !!(ctx.cache && ctx.now && Math.abs(ctx.now() - at) < 60_000);

  // --- live pass: only the region's cells' present members, summed as atoms per cell ---
  const groups = ctx.presence ? ctx.presence.groups(at, live) : buildGroups(state, live ? liveInstant(state, at) : at);
  const NB = AGE_BANDS.length;
  const byCarrier = [0, 0, 0, 0];
  const gender = [0, 0, 0];
  const genderAge = new Array<number>(GENDERS.length * NB).fill(0);
  const age = new Array<number>(NB).fill(0);
  const provinces = new Map<number, number>();
  const cities = new Map<number, number>();
  let unknownHome = 0;
  let local = 0;
  let roaming = 0;
  let unknownLocality = 0;
  let total = 0;
  // A cell with fewer than k people present contributes nothing to any figure (each of its
  // categories holds fewer than k): skipped whole. `counted` is how many people the counted cells
  // hold (exact, internal); `total` their released sum of atoms.
  let counted = 0;
  for (const c of indexes) {
    const n = groups.start[c + 1]! - groups.start[c]!;
    if (n < k) continue;
    counted += n;
    total += atom(n, k);
  }
  const present = new Uint32Array(counted);
  /** Where each counted cell's people start in `present` (and one past the last). */
  const cellEdges: number[] = [0];
  let np = 0;
  const cCarrier = [0, 0, 0, 0];
  const cGender = [0, 0, 0];
  const cAge = new Array<number>(NB).fill(0);
  const cGenderAge = new Array<number>(GENDERS.length * NB).fill(0);
  const cProvinces = new Map<number, number>();
  const cCities = new Map<number, number>();
  for (const c of indexes) {
    const s0 = groups.start[c]!;
    const end = groups.start[c + 1]!;
    if (end - s0 < k) continue;
    const here = cells.city[c]!;
    cCarrier.fill(0);
    cGender.fill(0);
    cAge.fill(0);
    cGenderAge.fill(0);
    cProvinces.clear();
    cCities.clear();
    let cNoHome = 0;
    let cLocal = 0;
    let cRoaming = 0;
    let cUnknownLocality = 0;
    for (let j = s0; j < end; j++) {
      const i = groups.members[j]!;
      present[np++] = i;
      cCarrier[state.carrier[i]!]!++;
      const g = state.gender[i] === 1 ? 0 : state.gender[i] === 2 ? 1 : 2;
      const a = AGE_BAND_INDEX[state.age[i]!]!;
      cGender[g]!++;
      cAge[a]!++;
      cGenderAge[g * NB + a]!++;
      const home = state.home[i]!;
      if (home === 0) cNoHome++;
      else {
        const p = Math.floor(home / 10000) * 10000;
        const ci = Math.floor(home / 100) * 100;
        cProvinces.set(p, (cProvinces.get(p) ?? 0) + 1);
        cCities.set(ci, (cCities.get(ci) ?? 0) + 1);
      }
      if (home === 0 || here === 0) cUnknownLocality++;
      else if (Math.floor(home / 100) * 100 === here) cLocal++;
      else cRoaming++;
    }
    cellEdges.push(np);
    for (let x = 0; x < 4; x++) byCarrier[x]! += atom(cCarrier[x]!, k);
    for (let x = 0; x < 3; x++) gender[x]! += atom(cGender[x]!, k);
    for (let x = 0; x < NB; x++) age[x]! += atom(cAge[x]!, k);
    for (let x = 0; x < cGenderAge.length; x++) genderAge[x]! += atom(cGenderAge[x]!, k);
    for (const [code, n] of cProvinces) if (n >= k) provinces.set(code, (provinces.get(code) ?? 0) + atom(n, k));
    for (const [code, n] of cCities) if (n >= k) cities.set(code, (cities.get(code) ?? 0) + atom(n, k));
    unknownHome += atom(cNoHome, k);
    local += atom(cLocal, k);
    roaming += atom(cRoaming, k);
    unknownLocality += atom(cUnknownLocality, k);
  }

  // --- history from ClickHouse: one query ---
  // What the sink has not applied yet is not settled: a feed that lags (or a backlog after a
  // restart) delivers moves older than the grace period, which cached history would never see.
  const settledAt = Math.min(at, state.watermark);
  if (live && ctx.recent && ctx.cache!.lateSeen !== ctx.recent.late) {
    ctx.cache!.clear();
    ctx.times?.clear();
    ctx.cache!.lateSeen = ctx.recent.late;
  }
  const midnight = shanghaiMidnight(at);
  const hourAgo = at - HOUR;
  const weekFrom = at - 7 * DAY;
  // First series points: the 5-minute bucket / hour after "24 h ago" / "7 days ago".
  const dayFrom = Math.floor((at - DAY) / FIVE) * FIVE + FIVE;
  const weekStart = Math.floor(weekFrom / HOUR) * HOUR + HOUR;
  const regionId = JSON.stringify(region);
  const plan = (kind: string, from: number): Plan => (live ? ctx.cache!.plan(`${kind}|${regionId}`, from, at) : { lo: from });
  // The population series from memory when the ring holds the whole week, else ClickHouse's snapshots.
  const popInMemory = !!ctx.population?.covers(weekFrom + 1000);
  const plans = {
    pop: popInMemory ? { lo: weekFrom + 1000 } : plan('pop', weekFrom + 1000),
    in5: plan('in5', dayFrom),
    out5: plan('out5', dayFrom),
    in1h: plan('in1h', weekStart),
    out1h: plan('out1h', weekStart),
  };
  // Per-person times since midnight (inflow / outflow totals) and 8 h back (dwell), whichever is
  // earlier; polls reuse the settled part and read only the moves after it.
  const subsFrom = Math.min(midnight, at - 8 * HOUR);
  const timesKey = `times|${regionId}`;
  const cachedTimes = live && ctx.times ? ctx.times.get(timesKey, subsFrom, at) : undefined;
  const subsLo = cachedTimes ? cachedTimes.upTo : subsFrom;
  // Settled: older than the grace period (whole seconds, as stored); replays cache nothing.
  const subsEdge = live ? Math.max(subsLo, Math.floor((settledAt - GRACE_MS) / 1000) * 1000) : at + 1000;
  const range: HistoryRange = {
    popFrom: popInMemory ? undefined : plans.pop.lo,
    in5From: plans.in5.lo,
    out5From: plans.out5.lo,
    in1hFrom: plans.in1h.lo,
    out1hFrom: plans.out1h.lo,
    subsFrom: subsLo,
    subsEdge,
    k,
  };
  // A live poll whose fresh history is all in memory asks ClickHouse nothing.
  const recent = ctx.recent;
  const inMemory =
    live &&
    popInMemory &&
    !!recent &&
    recent.covers(Math.min(range.in5From, range.out5From, range.in1hFrom, range.out1hFrom, range.subsFrom));
  const fromMemory = (held: RecentMoves) => {
    const mask = new Uint8Array(cells.size);
    for (const c of indexes) mask[c] = 1;
    held.served++;
    return recentRows(held, mask, cells.key, at, range);
  };
  const rowsOf = empty ? [] : inMemory ? fromMemory(recent!) : await historyRows(ctx.ch, resolved, at, range);
  const fresh = {
    pop: new Map<number, number>(),
    in5: new Map<number, number>(),
    out5: new Map<number, number>(),
    in1h: new Map<number, number>(),
    out1h: new Map<number, number>(),
  };
  // Settled per-person times: the cached ones still in the window, plus the settled rows read now.
  const settled = newTimes();
  if (cachedTimes) {
    const from = secs(subsFrom);
    for (const [sub, t] of cachedTimes.times.entry) if (t >= from) settled.entry.set(sub, t);
    settled.entered = copyPairs(cachedTimes.times.entered, from);
    settled.left = copyPairs(cachedTimes.times.left, from);
  }
  const freshRows: HistoryRow[] = [];
  for (const row of rowsOf) {
    const [d, key, v, a, b] = row;
    if (d === POP) fresh.pop.set(key * 1000, v);
    else if (d === IN || d === OUT) {
      const kind = key % 8;
      const t = ((key - kind) / 8) * 1000;
      const dir = d === IN ? 'in' : 'out';
      if (kind === K_HOUR) fresh[`${dir}1h`].set(t, v);
      else if (kind === K_FIVE) fresh[`${dir}5`].set(t, v);
    } else if ((d & 1) === 0) addPersonRow(settled, d, key, v, a, b);
    else freshRows.push(row);
  }
  if (live && ctx.times)
    ctx.times.set(timesKey, subsFrom, subsEdge, {
      entry: new Map(settled.entry),
      entered: copyPairs(settled.entered, 0),
      left: copyPairs(settled.left, 0),
    });
  for (const [d, key, v, a, b] of freshRows) addPersonRow(settled, d, key, v, a, b);
  const now = {
    in: { hour: pairSum(settled.entered, secs(hourAgo), k), day: pairSum(settled.entered, secs(midnight), k) },
    out: { hour: pairSum(settled.left, secs(hourAgo), k), day: pairSum(settled.left, secs(midnight), k) },
  };
  const merged = (kind: keyof typeof plans, from: number, unit: number) =>
    live ? ctx.cache!.merge(`${kind}|${regionId}`, from, at, unit, plans[kind], fresh[kind], settledAt) : fresh[kind];
  const popAt = popInMemory ? ctx.population!.sums(indexes, weekFrom + 1000, at, k) : merged('pop', weekFrom + 1000, FIVE);
  const inD = merged('in5', dayFrom, FIVE);
  const outD = merged('out5', dayFrom, FIVE);
  const inW = merged('in1h', weekStart, HOUR);
  const outW = merged('out1h', weekStart, HOUR);

  // Weekly maximum: the highest snapshot, or now when now is higher (latest wins a tie).
  let maxN = -1;
  let maxAt = 0;
  for (const [t, n] of popAt) if (n > maxN || (n === maxN && t > maxAt)) [maxN, maxAt] = [n, t];
  if (total >= maxN) [maxN, maxAt] = [total, at];

  // Dwell of present people: time since their last entry, or > 8 h when none is that recent;
  // summed as atoms per (cell, band).
  const dwell = new Array<number>(DWELL_BUCKETS.length).fill(0);
  const cDwell = new Array<number>(DWELL_BUCKETS.length).fill(0);
  const entryAfter = secs(at - 8 * HOUR);
  for (let e = 0; e + 1 < cellEdges.length; e++) {
    cDwell.fill(0);
    for (let j = cellEdges[e]!; j < cellEdges[e + 1]!; j++) {
      const t = settled.entry.get(state.msisdn[present[j]!]!);
      cDwell[t === undefined || t <= entryAfter ? DWELL_BUCKETS.length - 1 : dwellBucket(at - t * 1000)]!++;
    }
    for (let b = 0; b < cDwell.length; b++) dwell[b]! += atom(cDwell[b]!, k);
  }

  const day: RegionMetrics['series']['day'] = [];
  for (let t = dayFrom; t <= at; t += FIVE) {
    day.push({
      t: iso(t),
      population: kCount(popAt.get(t) ?? 0, k),
      inflow: kCount(inD.get(t) ?? 0, k),
      outflow: kCount(outD.get(t) ?? 0, k),
    });
  }
  const hourMax = new Map<number, number>();
  for (const [t, n] of popAt) {
    const h = Math.floor(t / HOUR) * HOUR;
    hourMax.set(h, Math.max(hourMax.get(h) ?? 0, n));
  }
  const week: RegionMetrics['series']['week'] = [];
  for (let t = weekStart; t <= at; t += HOUR) {
    week.push({
      t: iso(t),
      population: kCount(hourMax.get(t) ?? 0, k),
      inflow: kCount(inW.get(t) ?? 0, k),
      outflow: kCount(outW.get(t) ?? 0, k),
    });
  }

  const prov = topGroups(codes(provinces), top, k);
  const city = topGroups(codes(cities), top, k);
  const n = (x: number) => kCount(x, k);
  return {
    at: iso(at),
    k,
    stalenessMinutes: state.stalenessMs / MIN,
    cells: keys.length,
    population: { total: n(total), byCarrier: { cmcc: n(byCarrier[1]!), cucc: n(byCarrier[2]!), ctcc: n(byCarrier[3]!) } },
    weeklyMax: { count: n(maxN), at: maxN >= k ? iso(maxAt) : null },
    flow: {
      lastHour: { inflow: n(now.in.hour), outflow: n(now.out.hour) },
      sinceMidnight: { since: iso(midnight), inflow: n(now.in.day), outflow: n(now.out.day) },
    },
    origin: {
      provinces: prov.groups,
      otherProvinces: prov.other,
      cities: city.groups,
      otherCities: city.other,
      unknownHome: n(unknownHome),
      local: n(local),
      roaming: n(roaming),
      unknownLocality: n(unknownLocality),
    },
    dwell: DWELL_BUCKETS.map((bucket, i) => ({ bucket, count: n(dwell[i]!) })),
    portrait: {
      gender: GENDERS.map((g, i) => ({ gender: g, count: n(gender[i]!) })),
      age: AGE_BANDS.map((band, i) => ({ band, count: n(age[i]!) })),
      genderByAge: GENDERS.flatMap((g, gi) => AGE_BANDS.map((band, bi) => ({ gender: g, band, count: n(genderAge[gi * NB + bi]!) }))),
    },
    series: { day, week },
  };
}
