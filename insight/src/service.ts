import { serve } from '@hono/node-server';
import { loadAdminAreas } from '@geo/ingest';
import { connectClickHouse, connectNats, ensureDeadLetterStream, migrateClickHouse, natsHealth, startServiceHttp, type Logger, type Stoppable } from '@geo/infra';
import { INSIGHT_MIGRATIONS } from './schema/migrations.ts';
import { compactClosedDays, dropOldPartitions } from './schema/retention.ts';
import { CellDictionary } from './sink/cells.ts';
import { PresenceState } from './sink/presence-state.ts';
import { LocationSink } from './sink/sink.ts';
import { adminAreasFrom, NO_ADMIN_AREAS, RegionResolver, type AdminAreas } from './regions/region.ts';
import { HeatmapIndex } from './metrics/heatmap.ts';
import { HistoryCache } from './metrics/history-cache.ts';
import { PresenceIndex } from './metrics/presence-index.ts';
import { PopulationRing } from './metrics/population-ring.ts';
import { RecentMoves } from './metrics/recent-moves.ts';
import { PersonTimesCache } from './metrics/region-metrics.ts';
import { insightApi } from './api/routes.ts';
import type { InsightConfig } from './config.ts';

/**
 * Administrative boundaries from ingest's geography (`loadAdminAreas`, Zhejiang by default); when
 * the file is missing, area codes are refused with a clear message and local/roaming is "unknown".
 */
export function defaultAdminAreas(log?: Logger): AdminAreas {
  try {
    return adminAreasFrom(loadAdminAreas());
  } catch (err) {
    log?.warn({ err }, 'no administrative boundaries: area codes will be refused');
    return NO_ADMIN_AREAS;
  }
}

/** The insight service: the ClickHouse sink (live presence in memory) and the crowd metrics API. */
export interface InsightOptions {
  /** Administrative boundaries. @default ingest's, when available */
  admin?: AdminAreas;
  /** The API's clock ("now"). Tests and replays set it. @default Date.now */
  now?: () => number;
}

export interface RunningInsight extends Stoppable {
  apiUrl: string;
  sink: LocationSink;
  /** Population per cell over the last 7 days in memory (`ready` once restored). */
  population: PopulationRing;
  /** The last 90 minutes of moves in memory, for polls. */
  recent: RecentMoves;
  /** Live presence (and the cell dictionary), as the sink keeps it. */
  state: PresenceState;
}

export async function createInsight(cfg: InsightConfig, log: Logger, opts: InsightOptions = {}): Promise<RunningInsight> {
  const admin = opts.admin ?? defaultAdminAreas(log);
  const http = await startServiceHttp('insight', cfg.HEALTH_PORT);
  const ch = connectClickHouse(cfg.CLICKHOUSE_URL);
  await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);
  http.addCheck('clickhouse', async () => ({ ok: (await ch.ping()).success }));
  const nc = await connectNats(cfg.NATS_URL, 'insight');
  http.addCheck('nats', natsHealth(nc));
  // Malformed batches are dead-lettered; without the stream that publish would fail forever.
  await ensureDeadLetterStream(nc);

  const cells = new CellDictionary((lng, lat) => admin.cityAt(lng, lat));
  const state = new PresenceState(cells, cfg.INSIGHT_STALENESS_MIN * 60_000, 1 << 16);
  const ring = new PopulationRing();
  const recent = new RecentMoves();
  let stopped = false;
  const sink = new LocationSink({
    nc, ch, state, log,
    stream: cfg.INSIGHT_STREAM,
    consumer: cfg.INSIGHT_CONSUMER,
    filterSubject: cfg.INSIGHT_FILTER_SUBJECT,
    registry: http.registry,
    population: ring,
    recent,
  });
  await sink.start();
  // Moves after the restored state's newest event were all applied since the start, so they are
  // all in memory (read after the start: a later watermark only covers less).
  recent.start(state.watermark);
  // The population ring's history comes from ClickHouse in the background; region queries read
  // ClickHouse until it is there.
  void (async () => {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        await ring.restore(ch, sink.restoredBoundary, (key) => cells.indexOfKey(key), log);
        return;
      } catch (err) {
        if (stopped) return;
        log.error({ err, attempt }, 'could not restore the population ring; retrying');
        await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** attempt)).unref());
      }
    }
  })();

  // Hourly history upkeep: drop days past retention, then merge each closed day into one part
  // (a region's first query costs per part read). Also once shortly after start. Its own client:
  // a day's merge (`OPTIMIZE … FINAL`, ~1.5 s per table at 1M subscribers) grows with the day and
  // must not end at the queries' 60 s request timeout (the merge would go on, the rest of the
  // days would wait an hour).
  const upkeepCh = connectClickHouse(cfg.CLICKHOUSE_URL, 'default', { requestTimeoutMs: 30 * 60_000 });
  const upkeep = async () => {
    const dropped = await dropOldPartitions(upkeepCh, cfg.INSIGHT_RETENTION_DAYS);
    if (dropped.length) log.info({ dropped }, 'dropped old partitions');
    const merged = await compactClosedDays(upkeepCh);
    if (merged.length) log.info({ merged }, 'merged closed days into one part each');
  };
  const runUpkeep = () => void upkeep().catch((err: unknown) => log.error({ err }, 'history upkeep failed'));
  const retention = setInterval(runUpkeep, 3600_000);
  const firstUpkeep = setTimeout(runUpkeep, 60_000);
  firstUpkeep.unref();
  retention.unref();

  const presence = new PresenceIndex(state);
  const app = insightApi({
    state, ch, regions: new RegionResolver(cells, admin), k: cfg.INSIGHT_K, heat: new HeatmapIndex(state, cfg.INSIGHT_K, presence),
    cache: new HistoryCache(), times: new PersonTimesCache(), presence, population: ring, recent, now: opts.now ?? Date.now, log,
  });
  const api = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: cfg.API_PORT, hostname: cfg.API_HOST }, () => resolve(s));
  });
  const addr = api.address();
  const apiUrl = `http://${cfg.API_HOST}:${typeof addr === 'object' && addr ? addr.port : cfg.API_PORT}`;
  log.info({ health: http.url, api: apiUrl, subscribers: state.count, cells: cells.size }, 'insight ready');
  return {
    apiUrl,
    sink,
    population: ring,
    recent,
    state,
    async stop() {
      stopped = true;
      clearInterval(retention);
      clearTimeout(firstUpkeep);
      await new Promise<void>((r) => api.close(() => r()));
      await sink.stop();
      await nc.drain();
      await ch.close();
      await upkeepCh.close();
      await http.close();
    },
  };
}
