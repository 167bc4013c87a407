/**
 * One replica of insight: everything that answers queries, built around one `PresenceState` — the
 * lease holder's (its sink writes to ClickHouse) or a standby's (its sink follows the stream and
 * writes nothing). The service (`service.ts`) decides the role and swaps replicas; this file only
 * builds one: cells, presence, the population ring, the moves of the last day, the pair atoms'
 * fill records, the sink, the background restores and the HTTP API over them.
 */
import type { Hono } from 'hono';
import type { ClickHouseClient, Logger, NatsConnection, ServiceHttp } from '@geo/infra';
import { PairFiller } from './schema/pairs.ts';
import { PairHours } from './metrics/pair-query.ts';
import { CellDictionary } from './sink/cells.ts';
import { PresenceState } from './sink/presence-state.ts';
import { LocationSink } from './sink/sink.ts';
import { RegionResolver, type AdminAreas } from './regions/region.ts';
import { HeatmapIndex } from './metrics/heatmap.ts';
import { HistoryCache } from './metrics/history-cache.ts';
import { PresenceIndex } from './metrics/presence-index.ts';
import { PopulationRing } from './metrics/population-ring.ts';
import { RecentMoves } from './metrics/recent-moves.ts';
import { restoreRecentMoves } from './metrics/recent-moves-restore.ts';
import { PersonTimesCache } from './metrics/region-metrics.ts';
import { insightApi } from './api/routes.ts';
import type { InsightConfig } from './config.ts';

export type Role = 'holder' | 'standby';

export interface Replica {
  role: Role;
  sink: LocationSink;
  state: PresenceState;
  population: PopulationRing;
  recent: RecentMoves;
  /** The holder's fill step of pair atoms (none on a standby). */
  pairs?: PairFiller;
  pairHours: PairHours;
  app: Hono;
  stopped: boolean;
}

/** What a replica is built from: the service's connections and settings. */
export interface ReplicaDeps {
  cfg: InsightConfig;
  ch: ClickHouseClient;
  nc: NatsConnection;
  http: ServiceHttp;
  log: Logger;
  admin: AdminAreas;
  now: () => number;
  /** With leases: whether this instance may write now (the sink checks before each flush and ack). */
  mayWrite?: () => boolean;
  /** The service is stopping: background restores give up. */
  stopped: () => boolean;
}

/** Metrics a holder's sink registers (LocationSink and its GapFiller). */
const SINK_METRICS = ['insight_sink_events_total', 'insight_sink_gap_messages_total'];

/**
 * Builds and starts a replica in `role`: its sink consumes (holder: the durable from its ack floor;
 * standby: an ordered consumer), and the population ring and the last day of moves are restored
 * from ClickHouse in the background (region queries read ClickHouse until they are there).
 */
export async function buildReplica(deps: ReplicaDeps, role: Role): Promise<Replica> {
  const { cfg, ch, nc, http, log, admin } = deps;
  const cells = new CellDictionary((lng, lat) => admin.cityAt(lng, lat));
  const state = new PresenceState(cells, cfg.INSIGHT_STALENESS_MIN * 60_000, 1 << 16);
  const ring = new PopulationRing();
  const recent = new RecentMoves(cfg.INSIGHT_MOVES_HOURS * 3_600_000);
  // Pair atoms of settled hours (#24): the holder fills them; every replica's queries read them.
  const pairs = role === 'holder' ? new PairFiller(ch, cfg.INSIGHT_K, log) : undefined;
  const pairHours = new PairHours(ch, cfg.INSIGHT_K);
  // The sink's metrics are the holder's; a new holder (a takeover) registers them afresh, counting
  // from 0 as after a restart.
  if (role === 'holder') for (const name of SINK_METRICS) http.registry.removeSingleMetric(name);
  const sink = new LocationSink({
    nc,
    ch,
    state,
    log,
    stream: cfg.INSIGHT_STREAM,
    consumer: cfg.INSIGHT_CONSUMER,
    filterSubject: cfg.INSIGHT_FILTER_SUBJECT,
    stallMs: cfg.CONSUMER_STALL_MS,
    // One set of sink metrics per process: the holder's.
    registry: role === 'holder' ? http.registry : undefined,
    population: ring,
    recent,
    pairs,
    pairHours,
    mode: role === 'holder' ? 'write' : 'follow',
    mayWrite: deps.mayWrite,
    alwaysRewind: deps.mayWrite !== undefined,
  });
  await sink.start();
  // Moves after the restored state's newest event were all applied since the start, so they are
  // all in memory (read after the start: a later watermark only covers less).
  recent.start(state.watermark);
  const replica: Replica = {
    role,
    sink,
    state,
    population: ring,
    recent,
    pairs,
    pairHours,
    app: undefined as unknown as Hono,
    stopped: false,
  };
  // The population ring's history and the last day of moves come from ClickHouse in the
  // background; region queries read ClickHouse until they are there.
  const inBackground = (what: string, restore: () => Promise<unknown>) =>
    void (async () => {
      for (let attempt = 0; !deps.stopped() && !replica.stopped; attempt++) {
        try {
          await restore();
          return;
        } catch (err) {
          if (deps.stopped() || replica.stopped) return;
          log.error({ err, attempt }, `could not restore ${what}; retrying`);
          await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** attempt)).unref());
        }
      }
    })();
  inBackground('the population ring', () => ring.restore(ch, sink.restoredBoundary, (key) => cells.indexOfKey(key), log));
  const watermark = state.watermark;
  inBackground('the moves of the last day', () => restoreRecentMoves(ch, recent, watermark, (key) => cells.indexOfKey(key), log));
  const presence = new PresenceIndex(state);
  replica.app = insightApi({
    state,
    ch,
    regions: new RegionResolver(cells, admin),
    k: cfg.INSIGHT_K,
    heat: new HeatmapIndex(state, cfg.INSIGHT_K, presence),
    cache: new HistoryCache(),
    times: new PersonTimesCache(),
    presence,
    population: ring,
    recent,
    pairs: pairHours,
    now: deps.now,
    log,
  });
  return replica;
}
