import { raw, sql, list, type ClickHouseClient, type Sql } from '@geo/infra';
import type { PresenceState } from '../sink/presence-state.ts';
import type { RegionResolver, Region } from '../regions/region.ts';
import { AGE_BANDS, DWELL_BUCKETS, GENDERS, type RegionMetrics } from '../api/schemas.ts';
import { kCount, topGroups } from './privacy.ts';
import type { HistoryCache } from './history-cache.ts';

export interface MetricsContext {
  state: PresenceState;
  ch: ClickHouseClient;
  regions: RegionResolver;
  /** k-anonymity threshold. @default 10 */
  k: number;
  /** Settled history per region, for live polling. */
  cache?: HistoryCache;
  /** The clock, to tell live queries from replays. */
  now?: () => number;
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

const secs = (ms: number) => Math.floor(ms / 1000);
const dt = (ms: number): Sql => raw(`toDateTime(${secs(ms)})`);
const iso = (ms: number) => new Date(ms).toISOString();
// Big regions make long IN lists; 18.16's default max_query_size (256 KiB) would refuse them.
const SETTINGS = { max_query_size: '67108864' } as Record<string, string>;

async function rows<T>(ch: ClickHouseClient, q: Sql): Promise<T[]> {
  const rs = await ch.query({ query: q.text, format: 'JSONEachRow', clickhouse_settings: SETTINGS });
  return rs.json<T>();
}

/**
 * Every metric of one region at time `at`. Live figures (population, origin, dwell membership,
 * portrait) come from the streaming stage's presence in memory; history (weekly maximum, flows,
 * entry times, series) from ClickHouse, with the region resolved to cell keys here.
 */
export async function regionMetrics(ctx: MetricsContext, region: Region, at: number, top = 10): Promise<RegionMetrics> {
  const { state, k } = ctx;
  const { mask, keys } = ctx.regions.resolve(region);
  const cells = state.cells;
  const R = list(keys);
  const empty = keys.length === 0;

  // --- live pass over presence (typed arrays, one loop) ---
  const byCarrier = [0, 0, 0, 0];
  const gender = [0, 0, 0];
  const age = new Array<number>(AGE_BANDS.length).fill(0);
  const genderAge = new Array<number>(GENDERS.length * AGE_BANDS.length).fill(0);
  const provinces = new Map<string, number>();
  const cities = new Map<string, number>();
  let unknownHome = 0;
  let local = 0;
  let roaming = 0;
  let unknownLocality = 0;
  const present: number[] = [];
  const bandIndex = new Map(AGE_BANDS.map((b, i) => [b, i]));
  for (let i = 0; i < state.count; i++) {
    const c = state.cell[i]!;
    if (c < 0 || mask[c] !== 1 || !state.isPresent(i, at)) continue;
    present.push(i);
    byCarrier[state.carrier[i]!]!++;
    const g = state.gender[i] === 1 ? 0 : state.gender[i] === 2 ? 1 : 2;
    const a = bandIndex.get(ageBand(state.age[i]!))!;
    gender[g]!++;
    age[a]!++;
    genderAge[g * AGE_BANDS.length + a]!++;
    const home = state.home[i]!;
    if (home === 0) unknownHome++;
    else {
      const p = String(Math.floor(home / 10000) * 10000);
      const ci = String(Math.floor(home / 100) * 100);
      provinces.set(p, (provinces.get(p) ?? 0) + 1);
      cities.set(ci, (cities.get(ci) ?? 0) + 1);
    }
    const here = cells.city[c]!;
    if (home === 0 || here === 0) unknownLocality++;
    else if (Math.floor(home / 100) * 100 === here) local++;
    else roaming++;
  }
  const total = present.length;

  // --- history from ClickHouse ---
  const midnight = shanghaiMidnight(at);
  const hourAgo = at - HOUR;
  const weekFrom = at - 7 * DAY;
  // First series points: the 5-minute bucket / hour after "24 h ago" / "7 days ago".
  const dayFrom = Math.floor((at - DAY) / FIVE) * FIVE + FIVE;
  const weekStart = Math.floor(weekFrom / HOUR) * HOUR + HOUR;
  const q = async <T>(query: Sql): Promise<T[]> => (empty ? [] : rows<T>(ctx.ch, query));
  const inside = raw(`to_cell IN ${R.text} AND from_cell NOT IN ${R.text} AND from_cell != 0`);
  const outside = raw(`from_cell IN ${R.text} AND to_cell NOT IN ${R.text}`);
  const toMap = (r: { b: number; p: number }[]) => new Map(r.map((x) => [Number(x.b) * 1000, Number(x.p)]));
  // Settled history is cached per region only for live queries (replays with `at` read everything).
  const live = ctx.cache && ctx.now && Math.abs(ctx.now() - at) < 60_000;
  const regionId = JSON.stringify(region);
  const series = (kind: string, from: number, unit: number, fetch: (lo: number) => Promise<{ b: number; p: number }[]>) =>
    live ? ctx.cache!.series(`${kind}|${regionId}`, from, at, unit, async (lo) => toMap(await fetch(lo))) : fetch(from).then(toMap);
  const [popAt, flowNow, outNow, entries, inD, outD, inW, outW] = await Promise.all([
    series('pop', weekFrom + 1000, FIVE, (lo) => q<{ b: number; p: number }>(sql`SELECT toUInt32(bucket) AS b, sum(n) AS p FROM insight_population_5m FINAL
      WHERE cell IN ${R} AND bucket >= ${dt(lo)} AND bucket <= ${dt(at)} GROUP BY bucket`)),
    q<{ hour: number; day: number }>(sql`SELECT uniqExactIf(sub, ts >= ${dt(hourAgo)}) AS hour, uniqExactIf(sub, ts >= ${dt(midnight)}) AS day
      FROM insight_moves WHERE ${inside} AND ts >= ${dt(Math.min(hourAgo, midnight))} AND ts <= ${dt(at)}`),
    q<{ hour: number; day: number }>(sql`SELECT uniqExactIf(sub, ts >= ${dt(hourAgo)}) AS hour, uniqExactIf(sub, ts >= ${dt(midnight)}) AS day
      FROM insight_moves_out WHERE ${outside} AND ts >= ${dt(Math.min(hourAgo, midnight))} AND ts <= ${dt(at)}`),
    // Last entry (a move from outside, or a first sighting) within the dwell horizon, per person.
    q<{ sub: string; t: number }>(sql`SELECT toString(sub) AS sub, toUInt32(max(ts)) AS t FROM insight_moves
      WHERE to_cell IN ${R} AND from_cell NOT IN ${R} AND ts > ${dt(at - 8 * HOUR)} AND ts <= ${dt(at)} GROUP BY sub`),
    series('in5', dayFrom, FIVE, (lo) => q<{ b: number; p: number }>(sql`SELECT toUInt32(toStartOfFiveMinute(ts)) AS b, uniqExact(sub) AS p FROM insight_moves
      WHERE ${inside} AND ts >= ${dt(lo)} AND ts <= ${dt(at)} GROUP BY b`)),
    series('out5', dayFrom, FIVE, (lo) => q<{ b: number; p: number }>(sql`SELECT toUInt32(toStartOfFiveMinute(ts)) AS b, uniqExact(sub) AS p FROM insight_moves_out
      WHERE ${outside} AND ts >= ${dt(lo)} AND ts <= ${dt(at)} GROUP BY b`)),
    series('in1h', weekStart, HOUR, (lo) => q<{ b: number; p: number }>(sql`SELECT toUInt32(toStartOfHour(ts)) AS b, uniqExact(sub) AS p FROM insight_moves
      WHERE ${inside} AND ts >= ${dt(lo)} AND ts <= ${dt(at)} GROUP BY b`)),
    series('out1h', weekStart, HOUR, (lo) => q<{ b: number; p: number }>(sql`SELECT toUInt32(toStartOfHour(ts)) AS b, uniqExact(sub) AS p FROM insight_moves_out
      WHERE ${outside} AND ts >= ${dt(lo)} AND ts <= ${dt(at)} GROUP BY b`)),
  ]);

  // Weekly maximum: the highest snapshot, or now when now is higher (latest wins a tie).
  let maxN = -1;
  let maxAt = 0;
  for (const [t, n] of popAt) if (n > maxN || (n === maxN && t > maxAt)) [maxN, maxAt] = [n, t];
  if (total >= maxN) [maxN, maxAt] = [total, at];

  // Dwell of present people: time since their last entry, or > 8 h when none is that recent.
  const entryOf = new Map(entries.map((r) => [Number(r.sub), Number(r.t) * 1000]));
  const dwell = new Array<number>(DWELL_BUCKETS.length).fill(0);
  for (const i of present) {
    const t = entryOf.get(state.msisdn[i]!);
    dwell[t === undefined ? DWELL_BUCKETS.length - 1 : dwellBucket(at - t)]!++;
  }

  const day: RegionMetrics['series']['day'] = [];
  for (let t = dayFrom; t <= at; t += FIVE) {
    day.push({ t: iso(t), population: kCount(popAt.get(t) ?? 0, k), inflow: kCount(inD.get(t) ?? 0, k), outflow: kCount(outD.get(t) ?? 0, k) });
  }
  const hourMax = new Map<number, number>();
  for (const [t, n] of popAt) {
    const h = Math.floor(t / HOUR) * HOUR;
    hourMax.set(h, Math.max(hourMax.get(h) ?? 0, n));
  }
  const week: RegionMetrics['series']['week'] = [];
  for (let t = weekStart; t <= at; t += HOUR) {
    week.push({ t: iso(t), population: kCount(hourMax.get(t) ?? 0, k), inflow: kCount(inW.get(t) ?? 0, k), outflow: kCount(outW.get(t) ?? 0, k) });
  }

  const prov = topGroups(provinces, top, k);
  const city = topGroups(cities, top, k);
  const n = (x: number) => kCount(x, k);
  const fNow = flowNow[0];
  const oNow = outNow[0];
  return {
    at: iso(at),
    k,
    stalenessMinutes: state.stalenessMs / MIN,
    cells: keys.length,
    population: { total: n(total), byCarrier: { cmcc: n(byCarrier[1]!), cucc: n(byCarrier[2]!), ctcc: n(byCarrier[3]!) } },
    weeklyMax: { count: n(maxN), at: maxN > 0 ? iso(maxAt) : null },
    flow: {
      lastHour: { inflow: n(Number(fNow?.hour ?? 0)), outflow: n(Number(oNow?.hour ?? 0)) },
      sinceMidnight: { since: iso(midnight), inflow: n(Number(fNow?.day ?? 0)), outflow: n(Number(oNow?.day ?? 0)) },
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
      genderByAge: GENDERS.flatMap((g, gi) => AGE_BANDS.map((band, bi) => ({ gender: g, band, count: n(genderAge[gi * AGE_BANDS.length + bi]!) }))),
    },
    series: { day, week },
  };
}
