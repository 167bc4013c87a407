import { serve } from '@hono/node-server';
import { INSIGHT_LEASES_BUCKET } from './streams.ts';
import { loadAdminAreas } from '@geo/ingest';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import {
  connectClickHouse,
  connectNats,
  ensureDeadLetterStream,
  ensureKv,
  LeaseManager,
  migrateClickHouse,
  natsHealth,
  selectRows,
  startServiceHttp,
  type ClickHouseClient,
  type Logger,
  type Stoppable,
} from '@geo/infra';
import { INSIGHT_MIGRATIONS } from './schema/migrations.ts';
import { compactClosedDays, dropOldPartitions } from './schema/retention.ts';
import { PairFiller } from './schema/pairs.ts';
import { PairHours } from './metrics/pair-query.ts';
import { CellDictionary } from './sink/cells.ts';
import { PresenceState } from './sink/presence-state.ts';
import { LocationSink } from './sink/sink.ts';
import { adminAreasFrom, NO_ADMIN_AREAS, RegionResolver, type AdminAreas } from './regions/region.ts';
import { HeatmapIndex } from './metrics/heatmap.ts';
import { HistoryCache } from './metrics/history-cache.ts';
import { PresenceIndex } from './metrics/presence-index.ts';
import { PopulationRing } from './metrics/population-ring.ts';
import { RecentMoves } from './metrics/recent-moves.ts';
import { restoreRecentMoves } from './metrics/recent-moves-restore.ts';
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
  /** The current replica's sink: writing (the lease holder) or following (a standby). */
  readonly sink: LocationSink;
  /** Population per cell over the last 7 days in memory (`ready` once restored). */
  readonly population: PopulationRing;
  /** The last 25 hours of moves in memory, for first queries and polls (#24). */
  readonly recent: RecentMoves;
  /** Live presence (and the cell dictionary), as the sink keeps it. */
  readonly state: PresenceState;
  /**
   * `holder`: runs the sink (holds the lease); `standby`: follows the stream for queries only;
   * `switching`: the lease was lost and the standby replica is being built (the old state answers).
   */
  readonly role: 'holder' | 'standby' | 'switching';
  /** This instance's id in the lease group. */
  readonly instance: string;
  /** Resolves when this instance runs the sink (holds the lease, its sink consumes): now, or once it takes over. */
  holding(): Promise<void>;
  /**
   * Runs the holder's fill step of pair atoms now (it runs every minute anyway) and has this
   * replica's queries read the fill records again; resolves to the hours filled (none on a standby).
   */
  fillPairs(): Promise<number[]>;
  /** Region queries that read part of their flow series from the pair atoms. */
  readonly pairReads: number;
}

/** Metrics a holder's sink registers (LocationSink and its GapFiller). */
const SINK_METRICS = ['insight_sink_events_total', 'insight_sink_gap_messages_total'];

/** The KV bucket of insight's sink lease (one lease per durable consumer, `insight.<consumer>`). */
export { INSIGHT_LEASES_BUCKET } from './streams.ts';

/**
 * Everything that answers queries, built around one PresenceState: the holder's (writing) or a
 * standby's (following). A role change builds a new replica and swaps it in once it consumes.
 */
interface Replica {
  role: 'holder' | 'standby';
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

/**
 * Starts insight. With `INSIGHT_LEASES` (the default), the sink runs only on the instance holding
 * the lease `insight.<consumer>` (LeaseManager: one shard, renewed by compare-and-swap, taken over
 * after `INSIGHT_LEASE_TTL_MS`); any other instance is a standby that keeps its own live state from
 * the stream and answers the same queries. When the holder dies, a standby takes the lease over,
 * restores the checkpoint and consumes the durable from its ack floor (see README "Standby").
 */
export async function createInsight(cfg: InsightConfig, log: Logger, opts: InsightOptions = {}): Promise<RunningInsight> {
  const admin = opts.admin ?? defaultAdminAreas(log);
  const http = await startServiceHttp('insight', cfg.HEALTH_PORT);
  const ch = connectClickHouse(cfg.CLICKHOUSE_URL);
  http.addCheck('clickhouse', async () => ({ ok: (await ch.ping()).success }));
  const nc = await connectNats(cfg.NATS_URL, 'insight');
  http.addCheck('nats', natsHealth(nc));
  // Malformed batches are dead-lettered; without the stream that publish would fail forever.
  await ensureDeadLetterStream(nc);
  const instance =
    cfg.INSTANCE_ID ??
    `insight-${hostname()
      .replace(/[^\w-]/g, '_')
      .slice(0, 20)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const shard = cfg.INSIGHT_CONSUMER;
  let stopped = false;
  let current: Replica | undefined;
  const now = opts.now ?? Date.now;

  const build = async (role: 'holder' | 'standby'): Promise<Replica> => {
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
      // One set of sink metrics per process: the holder's.
      registry: role === 'holder' ? http.registry : undefined,
      population: ring,
      recent,
      pairs,
      pairHours,
      mode: role === 'holder' ? 'write' : 'follow',
      mayWrite: leases ? () => leases!.fence('sink') !== undefined : undefined,
      alwaysRewind: leases !== undefined,
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
        for (let attempt = 0; !stopped && !replica.stopped; attempt++) {
          try {
            await restore();
            return;
          } catch (err) {
            if (stopped || replica.stopped) return;
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
      now,
      log,
    });
    return replica;
  };

  // Role changes run one after another; the replica serving queries is swapped only once its
  // successor consumes, so queries keep being answered during a takeover.
  let roles: Promise<void> = Promise.resolve();
  /** Callers of `holding()` waiting for this instance to run the sink. */
  let holdWaiters: (() => void)[] = [];
  const switchTo = async (role: 'holder' | 'standby') => {
    if (role === 'holder') await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);
    else await waitForSchema(ch, () => stopped);
    const t0 = performance.now();
    const next = await build(role);
    const old = current;
    current = next;
    if (old && !old.stopped) {
      old.stopped = true;
      await old.sink.stop({ flush: false });
    }
    log.info(
      { instance, role, ms: Math.round(performance.now() - t0), subscribers: next.state.count },
      role === 'holder' ? 'insight sink running (lease held)' : 'insight standby following the stream',
    );
    if (role === 'holder') {
      for (const w of holdWaiters) w();
      holdWaiters = [];
    }
  };
  /** Whether `role` is still this instance's (the lease says so). */
  const wanted = (role: 'holder' | 'standby') =>
    role === 'holder' ? !leases || leases.fence('sink') !== undefined : leases !== undefined && leases.fence('sink') === undefined;
  const become = (role: 'holder' | 'standby') => {
    roles = roles.then(async () => {
      for (let attempt = 0; !stopped && wanted(role) && !(current?.role === role && !current.stopped); attempt++) {
        try {
          await switchTo(role);
          return;
        } catch (err) {
          log.error({ err, role, attempt }, 'insight role change failed; retrying');
          await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** attempt)));
        }
      }
    });
    return roles;
  };

  let leases: LeaseManager | undefined;
  if (cfg.INSIGHT_LEASES) {
    leases = new LeaseManager({
      kv: await ensureKv(nc, INSIGHT_LEASES_BUCKET),
      // One group per durable: the members who share it (another consumer's instances, e.g. other
      // tests on one server, must not win its rendezvous and leave it to nobody).
      group: `insight-${shard}`,
      shards: ['sink'],
      instance,
      ttlMs: cfg.INSIGHT_LEASE_TTL_MS,
      log: (msg, fields) => log.info({ instance, ...fields }, msg),
      // Never wait here: the tick renews the lease, and a restore takes seconds.
      onAcquired: () => void become('holder'),
      onLost: async (_shard, _epoch, reason) => {
        // The sink stops writing at once (its flushes check the fence); a standby replica takes
        // over queries. Nothing is flushed: the next holder re-reads from the ack floor.
        log.warn({ instance, reason }, 'insight sink lease lost: stopping the sink');
        if (current?.role === 'holder' && !current.stopped) {
          const old = current;
          old.stopped = true;
          await old.sink.stop({ flush: false });
        }
        if (!stopped) void become('standby');
      },
    });
    // The first round decides the first role (taking a free lease at once), then renewals run.
    await leases.tick();
    if (leases.fence('sink') === undefined) void become('standby');
    leases.start();
  } else {
    await switchTo('holder');
  }
  await roles;
  while (!current) {
    await new Promise((r) => setTimeout(r, 100));
    await roles;
  }

  // Hourly history upkeep (the holder's): drop days past retention, then merge each closed day
  // into one part (a region's first query costs per part read). Also once shortly after start. Its
  // own client: a day's merge (`OPTIMIZE … FINAL`, ~1.5 s per table at 1M subscribers) grows with
  // the day and must not end at the queries' 60 s request timeout (the merge would go on, the rest
  // of the days would wait an hour).
  const upkeepCh = connectClickHouse(cfg.CLICKHOUSE_URL, 'default', { requestTimeoutMs: 30 * 60_000 });
  const upkeep = async () => {
    if (current?.role !== 'holder') return;
    const dropped = await dropOldPartitions(upkeepCh, cfg.INSIGHT_RETENTION_DAYS);
    if (dropped.length) log.info({ dropped }, 'dropped old partitions');
    const merged = await compactClosedDays(upkeepCh);
    if (merged.length) log.info({ merged }, 'merged closed days into one part each');
  };
  const runUpkeep = () => void upkeep().catch((err: unknown) => log.error({ err }, 'history upkeep failed'));
  const retention = setInterval(runUpkeep, 3600_000);
  // The holder fills the pair atoms of each hour once it has settled, and again when late moves
  // touched it (PairFiller), checking every minute; the window is the retention's.
  const fillPairs = async (): Promise<number[]> => {
    const holder = current;
    if (holder?.role !== 'holder' || holder.stopped || !holder.pairs || holder.state.watermark === 0) return [];
    const settledAt = holder.state.watermark;
    const from = settledAt - cfg.INSIGHT_RETENTION_DAYS * 86_400_000;
    const filled = await holder.pairs.run(settledAt, from);
    if (filled.length) await holder.pairHours.refresh(from);
    return filled;
  };
  const pairFill = setInterval(() => void fillPairs().catch((err: unknown) => log.error({ err }, 'filling pair atoms failed')), 60_000);
  pairFill.unref();
  const firstUpkeep = setTimeout(runUpkeep, 60_000);
  firstUpkeep.unref();
  retention.unref();

  http.addCheck('role', () => ({
    ok: current !== undefined,
    detail: `${!current ? 'starting' : current.stopped ? 'switching' : current.role} (${instance})`,
  }));
  const api = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: (req) => current!.app.fetch(req), port: cfg.API_PORT, hostname: cfg.API_HOST }, () => resolve(s));
  });
  const addr = api.address();
  const apiUrl = `http://${cfg.API_HOST}:${typeof addr === 'object' && addr ? addr.port : cfg.API_PORT}`;
  log.info(
    { health: http.url, api: apiUrl, role: current.role, instance, subscribers: current.state.count, cells: current.state.cells.size },
    'insight ready',
  );
  return {
    apiUrl,
    instance,
    get sink() {
      return current!.sink;
    },
    get population() {
      return current!.population;
    },
    get recent() {
      return current!.recent;
    },
    get state() {
      return current!.state;
    },
    get role() {
      return current!.stopped ? ('switching' as const) : current!.role;
    },
    fillPairs,
    get pairReads() {
      return current!.pairHours.reads;
    },
    holding: () => (current?.role === 'holder' && !current.stopped ? Promise.resolve() : new Promise<void>((r) => holdWaiters.push(r))),
    async stop() {
      stopped = true;
      clearInterval(retention);
      clearInterval(pairFill);
      clearTimeout(firstUpkeep);
      await new Promise<void>((r) => api.close(() => r()));
      await roles;
      // The holder flushes and acks while the lease is still its own, then hands the lease back.
      if (current && !current.stopped) {
        current.stopped = true;
        await current.sink.stop({ flush: current.role === 'holder' });
      }
      await leases?.stop();
      await nc.drain();
      await ch.close();
      await upkeepCh.close();
      await http.close();
    },
  };
}

/** Waits until insight's ClickHouse schema is at its newest version (the lease holder migrates). */
async function waitForSchema(ch: ClickHouseClient, stopped: () => boolean): Promise<void> {
  const latest = Math.max(...INSIGHT_MIGRATIONS.map((m) => m.version));
  for (;;) {
    try {
      const [r] = await selectRows<{ v: number }>(ch, "SELECT toUInt32(max(version)) AS v FROM schema_migrations WHERE owner = 'insight'");
      if (Number(r?.v ?? 0) >= latest) return;
    } catch {
      // schema_migrations not there yet
    }
    if (stopped()) throw new Error('stopped while waiting for the schema');
    await new Promise((r) => setTimeout(r, 500));
  }
}
