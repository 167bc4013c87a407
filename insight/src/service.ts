/**
 * The insight service's lifecycle: connections, the sink lease and the role it gives this instance
 * (holder or standby), swapping replicas on a role change, the API server, and stopping in order.
 * What a replica is (presence, ring, moves, sink, API) is built in `replica.ts`; the holder's
 * timers (retention, merging closed days, filling pair atoms) are `upkeep.ts`.
 */
import { serve } from '@hono/node-server';
import { INSIGHT_LEASES_BUCKET } from './streams.ts';
import { loadAdminAreas } from '@geo/ingest';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
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
import type { LocationSink } from './sink/sink.ts';
import type { PresenceState } from './sink/presence-state.ts';
import { adminAreasFrom, NO_ADMIN_AREAS, type AdminAreas } from './regions/region.ts';
import type { PopulationRing } from './metrics/population-ring.ts';
import type { RecentMoves } from './metrics/recent-moves.ts';
import { buildReplica, type Replica, type Role } from './replica.ts';
import { startUpkeep } from './upkeep.ts';
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
  readonly role: Role | 'switching';
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

  let leases: LeaseManager | undefined;
  const build = (role: Role): Promise<Replica> =>
    buildReplica(
      {
        cfg,
        ch,
        nc,
        http,
        log,
        admin,
        now,
        mayWrite: leases ? () => leases!.fence('sink') !== undefined : undefined,
        stopped: () => stopped,
      },
      role,
    );

  // Role changes run one after another; the replica serving queries is swapped only once its
  // successor consumes, so queries keep being answered during a takeover.
  let roles: Promise<void> = Promise.resolve();
  /** Callers of `holding()` waiting for this instance to run the sink. */
  let holdWaiters: (() => void)[] = [];
  const switchTo = async (role: Role) => {
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
  const wanted = (role: Role) =>
    role === 'holder' ? !leases || leases.fence('sink') !== undefined : leases !== undefined && leases.fence('sink') === undefined;
  const become = (role: Role) => {
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

  // Retention, merging closed days and filling pair atoms: the holder's (upkeep.ts).
  const upkeep = startUpkeep(cfg, log, () => current);

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
    fillPairs: upkeep.fillPairs,
    get pairReads() {
      return current!.pairHours.reads;
    },
    holding: () => (current?.role === 'holder' && !current.stopped ? Promise.resolve() : new Promise<void>((r) => holdWaiters.push(r))),
    async stop() {
      stopped = true;
      upkeep.stop();
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
      await upkeep.close();
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
