import { noHysteresis, type EdgeHysteresis } from '@geo/infra/basics';
import type { Region } from '../regions/region.ts';
import { AGE_BANDS, DWELL_BUCKETS, GENDERS, type RegionMetrics } from '../api/schemas.ts';
import { kCount, topGroups } from './privacy.ts';
import { buildGroups, liveInstant } from './presence-index.ts';
import { dwellFigures, liveFigures } from './live-figures.ts';
import { edgeHistory } from './edge-flow.ts';
import { regionHistory, type MetricsContext } from './region-history.ts';
import { series, weeklyMax } from './series.ts';
import { iso, MIN } from './time.ts';

// The pieces, for the service and the tests that import them from here.
export { ageBand, dwellBucket } from './live-figures.ts';
export { historyRows, type HistoryRange, type HistoryRow, type RegionFilter } from './history-query.ts';
export { PersonTimesCache } from './person-times.ts';
export { recentRows } from './recent-rows.ts';
export { shanghaiMidnight } from './time.ts';
export type { MetricsContext } from './region-history.ts';

const codes = (m: Map<number, number>) => new Map([...m].map(([c, n]) => [String(c), n]));

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
 *
 * `hysteresis` (edge hysteresis, as alerting applies it): inflow / outflow, their day series and the
 * entry times behind dwell count by that rule instead of every move across the edge (`edgeHistory`).
 */
export async function regionMetrics(
  ctx: MetricsContext,
  region: Region,
  at: number,
  top = 10,
  hysteresis?: EdgeHysteresis,
): Promise<RegionMetrics> {
  const { state, k } = ctx;
  const resolved = ctx.regions.resolve(region);
  const { indexes, keys } = resolved;
  // Settled history is cached per region only for live queries (replays with `at` read everything).
  const live = !!(ctx.cache && ctx.now && Math.abs(ctx.now() - at) < 60_000);

  // Live pass: only the region's cells' present members, summed as atoms per cell.
  const groups = ctx.presence ? ctx.presence.groups(at, live) : buildGroups(state, live ? liveInstant(state, at) : at);
  const fig = liveFigures(state, groups, indexes, k);
  // History: memory or one ClickHouse query.
  const h = await regionHistory(ctx, resolved, JSON.stringify(region), at, live, fig);
  const max = weeklyMax(h.popAt, fig.total, at);
  let dwell = h.dwell;
  if (hysteresis && !noHysteresis(hysteresis)) {
    const e = await edgeHistory(ctx, region, resolved, at, hysteresis);
    h.flow = e.flow;
    h.inD = e.inD;
    h.outD = e.outD;
    dwell = dwellFigures(state, fig, e.entryOf, at, k, e.entrants);
  }

  const NB = AGE_BANDS.length;
  const prov = topGroups(codes(fig.provinces), top, k);
  const city = topGroups(codes(fig.cities), top, k);
  const n = (x: number) => kCount(x, k);
  return {
    at: iso(at),
    k,
    stalenessMinutes: state.stalenessMs / MIN,
    cells: keys.length,
    population: {
      total: n(fig.total),
      byCarrier: { cmcc: n(fig.byCarrier[1]!), cucc: n(fig.byCarrier[2]!), ctcc: n(fig.byCarrier[3]!) },
    },
    weeklyMax: { count: n(max.n), at: max.n >= k ? iso(max.at) : null },
    flow: {
      lastHour: { inflow: n(h.flow.in.hour), outflow: n(h.flow.out.hour) },
      sinceMidnight: { since: iso(h.midnight), inflow: n(h.flow.in.day), outflow: n(h.flow.out.day) },
    },
    origin: {
      provinces: prov.groups,
      otherProvinces: prov.other,
      cities: city.groups,
      otherCities: city.other,
      unknownHome: n(fig.unknownHome),
      local: n(fig.local),
      roaming: n(fig.roaming),
      unknownLocality: n(fig.unknownLocality),
    },
    dwell: DWELL_BUCKETS.map((bucket, i) => ({ bucket, count: n(dwell[i]!) })),
    portrait: {
      gender: GENDERS.map((g, i) => ({ gender: g, count: n(fig.gender[i]!) })),
      age: AGE_BANDS.map((band, i) => ({ band, count: n(fig.age[i]!) })),
      genderByAge: GENDERS.flatMap((g, gi) => AGE_BANDS.map((band, bi) => ({ gender: g, band, count: n(fig.genderAge[gi * NB + bi]!) }))),
    },
    series: series(h, at, k),
  };
}
