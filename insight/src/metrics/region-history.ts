/**
 * A region's history for one request, and where it comes from: the population series from the
 * ring in memory (or ClickHouse's snapshots until it is restored), the flow series of filled hours
 * from the pair atoms, the later series and the per-person entry / exit times from the moves held in
 * memory (the last 25 h) when they cover a live query's window, else from ClickHouse in one query;
 * settled buckets and times of polled regions are cached.
 */
import type { ClickHouseClient } from '@geo/infra';
import type { PresenceState } from '../sink/presence-state.ts';
import type { RegionResolver, ResolvedRegion } from '../regions/region.ts';
import { GRACE_MS, type HistoryCache, type Plan } from './history-cache.ts';
import { ENTRY, historyRows, IN, K_FIVE, K_HOUR, OUT, POP, type HistoryRange, type HistoryRow } from './history-query.ts';
import { personTimes, type CachedTimes, type PersonTimesCache } from './person-times.ts';
import { dwellFigures, type LiveFigures } from './live-figures.ts';
import type { PopulationRing } from './population-ring.ts';
import type { PresenceIndex } from './presence-index.ts';
import type { RecentMoves } from './recent-moves.ts';
import { recentRows } from './recent-rows.ts';
import { pairFlowRows, type PairHours } from './pair-query.ts';
import { DAY, FIVE, HOUR, MIN, secs, shanghaiMidnight } from './time.ts';

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
  /** Hours whose pair atoms are filled (`insight_pairs_*`): their flow series are read there instead of from the moves. */
  pairs?: PairHours;
}

/**
 * Per polled region's cached per-person times (`PersonTimesCache`, by identity): every MSISDN with
 * an entry row merged into them, a superset of who has an entry time there (`dwellFigures`).
 */
const ENTRANTS = new WeakMap<CachedTimes, { last: Map<number, number>; prunedFrom: number }>();

/** What a request needs of the history (bucket start ms → sum of atoms; times in seconds). */
export interface RegionHistory {
  midnight: number;
  /** First points of the day (5-minute) and week (hourly) series. */
  dayFrom: number;
  weekStart: number;
  popAt: Map<number, number>;
  inD: Map<number, number>;
  outD: Map<number, number>;
  inW: Map<number, number>;
  outW: Map<number, number>;
  /** Present people (`live`) by time since their last entry (atoms per cell and band). */
  dwell: number[];
  flow: { in: { hour: number; day: number }; out: { hour: number; day: number } };
}

/**
 * The history of a region (`regionId`: its request form, the cache key) at `at`, and the dwell of
 * its `present` people (from the last entry times read with it). `live`: a poll near the clock,
 * whose settled part is cached and reused; replays read everything.
 */
export async function regionHistory(
  ctx: MetricsContext,
  resolved: ResolvedRegion,
  regionId: string,
  at: number,
  live: boolean,
  present: LiveFigures,
): Promise<RegionHistory> {
  const { state, k } = ctx;
  const { indexes } = resolved;
  const empty = resolved.keys.length === 0;
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
  // Live queries read the moves held in memory where they cover (first queries too, #24); the
  // rest from the pair atoms and ClickHouse.
  const recent = live && popInMemory ? ctx.recent : undefined;
  const rowsOf = empty ? [] : await readHistory(ctx, resolved, at, range, recent);
  const fresh = {
    pop: new Map<number, number>(),
    in5: new Map<number, number>(),
    out5: new Map<number, number>(),
    in1h: new Map<number, number>(),
    out1h: new Map<number, number>(),
  };
  const personRows: HistoryRow[] = [];
  for (const row of rowsOf) {
    const [d, key, v] = row;
    if (d === POP) fresh.pop.set(key * 1000, v);
    else if (d === IN || d === OUT) {
      const kind = key % 8;
      const t = ((key - kind) / 8) * 1000;
      const dir = d === IN ? 'in' : 'out';
      if (kind === K_HOUR) fresh[`${dir}1h`].set(t, v);
      else if (kind === K_FIVE) fresh[`${dir}5`].set(t, v);
    } else personRows.push(row);
  }
  // Settled per-person times: the cached ones still in the window, plus the rows read now.
  const times = personTimes(live ? ctx.times : undefined, timesKey, cachedTimes, subsFrom, subsEdge, personRows);
  // Who may have an entry time: the people of the region's entry rows since its times were first
  // cached (kept beside them), so that dwell looks up those instead of every present person.
  // Each with their latest entry row, pruned as the window moves (an older entry is never read).
  const entrants = cachedTimes ? ENTRANTS.get(cachedTimes) : { last: new Map<number, number>(), prunedFrom: subsFrom };
  if (entrants) {
    for (const [d, sub, t] of personRows) if ((d & ~1) === ENTRY && !((entrants.last.get(sub) ?? -1) >= t)) entrants.last.set(sub, t);
    if (subsFrom - entrants.prunedFrom >= 5 * MIN) {
      const fromS = secs(subsFrom);
      for (const [sub, t] of entrants.last) if (t < fromS) entrants.last.delete(sub);
      entrants.prunedFrom = subsFrom;
    }
  }
  const holder = live && ctx.times ? ctx.times.get(timesKey, subsFrom, at) : undefined;
  if (holder && entrants && holder !== cachedTimes) ENTRANTS.set(holder, entrants);
  if (holder && !entrants) ENTRANTS.delete(holder);
  const flow = {
    in: { hour: times.entered(secs(hourAgo), k), day: times.entered(secs(midnight), k) },
    out: { hour: times.left(secs(hourAgo), k), day: times.left(secs(midnight), k) },
  };
  const merged = (kind: keyof typeof plans, from: number, unit: number) =>
    live ? ctx.cache!.merge(`${kind}|${regionId}`, from, at, unit, plans[kind], fresh[kind], settledAt) : fresh[kind];
  const popAt = popInMemory ? ctx.population!.sums(indexes, weekFrom + 1000, at, k) : merged('pop', weekFrom + 1000, FIVE);
  return {
    midnight,
    dayFrom,
    weekStart,
    popAt,
    inD: merged('in5', dayFrom, FIVE),
    outD: merged('out5', dayFrom, FIVE),
    inW: merged('in1h', weekStart, HOUR),
    outW: merged('out1h', weekStart, HOUR),
    // Read now, before any await: the cached times are merged in place by the region's next poll.
    dwell: dwellFigures(state, present, times.entryOf, at, k, entrants?.last.keys()),
    flow,
  };
}

/**
 * The region's history rows for `range` at `at`. The flow series of filled hours come from the pair
 * atoms (a region's busy edges per bucket) instead of the moves: whole hours before `at`, from the
 * earliest series start while every hour is filled. The rest — the series after those hours and the
 * per-person times — from the moves held in memory (`recent`) when they cover it, else from
 * ClickHouse (`historyRows`); both sources give identical rows (the pipeline test compares them).
 * So a live region's first query asks ClickHouse only for the pair atoms, and a poll nothing.
 */
async function readHistory(
  ctx: MetricsContext,
  resolved: ResolvedRegion,
  at: number,
  range: HistoryRange,
  recent: RecentMoves | undefined,
): Promise<HistoryRow[]> {
  const lo = Math.min(range.in5From, range.out5From, range.in1hFrom, range.out1hFrom);
  const moves = (r: HistoryRange) => {
    if (!recent?.covers(Math.min(r.in5From, r.out5From, r.in1hFrom, r.out1hFrom, r.subsFrom))) return historyRows(ctx.ch, resolved, at, r);
    const mask = new Uint8Array(ctx.state.cells.size);
    for (const c of resolved.indexes) mask[c] = 1;
    recent.served++;
    return recentRows(recent, mask, ctx.state.cells.key, at, r);
  };
  // A poll (or any query) whose moves are all held asks ClickHouse nothing, not even the fill records.
  if (recent?.covers(Math.min(lo, range.subsFrom))) return moves(range);
  const upTo = ctx.pairs ? Math.min(await ctx.pairs.upTo(lo), Math.floor(at / HOUR) * HOUR) : 0;
  if (upTo <= lo) return moves(range);
  ctx.pairs!.reads++;
  const rest: HistoryRange = {
    ...range,
    in5From: Math.max(range.in5From, upTo),
    out5From: Math.max(range.out5From, upTo),
    in1hFrom: Math.max(range.in1hFrom, upTo),
    out1hFrom: Math.max(range.out1hFrom, upTo),
  };
  const [settled, fresh] = await Promise.all([pairFlowRows(ctx.ch, resolved, { ...range, upTo, k: ctx.k }), moves(rest)]);
  return settled.concat(fresh);
}
