import { connectNats, natsHealth, startServiceHttp, type Logger, type Stoppable } from '@geo/infra';
import { installIngestAdminAreas } from './geofence/ingest-admin-areas.ts';
import { Counter, Gauge } from 'prom-client';
import { Presence } from './presence/presence.ts';
import { runEngine } from './engine/run-engine.ts';
import { shardsHealth } from './engine/shard-health.ts';
import type { AlertingConfig } from './config.ts';
import { connectClickHouse } from '@geo/infra';
import { ingestCityLocator } from './geofence/ingest-admin-areas.ts';
import { answerWhatIf } from './what-if/responder.ts';

/** The alerting service: presence and task evaluation over its LOCATION shards. */
export async function createAlerting(cfg: AlertingConfig, log: Logger): Promise<Stoppable> {
  const http = await startServiceHttp('alerting', cfg.HEALTH_PORT);
  // Administrative areas in tasks are resolved by GB/T 2260 code from ingest's geography, with an
  // operator's boundaries file over it when one is given.
  installIngestAdminAreas(undefined, { boundariesFile: cfg.ADMIN_BOUNDARIES_FILE });
  const nc = await connectNats(cfg.NATS_URL, 'alerting');
  // Not healthy until every request responder is listening at the server: a portal that asked for a
  // what-if replay right after /healthz said ok got 503 (no responder yet).
  let started = false;
  http.addCheck('started', () => ({ ok: started, detail: started ? 'started' : 'starting' }));
  http.addCheck('nats', natsHealth(nc));
  const events = new Counter({ name: 'alerting_events_total', help: 'location events evaluated', registers: [http.registry] });
  const jobs = new Counter({ name: 'alerting_jobs_total', help: 'SMS jobs published', registers: [http.registry] });
  const presence = new Presence({ stalenessMs: cfg.PRESENCE_STALENESS_MIN * 60_000 });
  new Gauge({
    name: 'alerting_subscribers',
    help: 'subscribers tracked',
    registers: [http.registry],
    collect() {
      this.set(presence.size);
    },
  });
  let relocated = 0;
  new Counter({
    name: 'alerting_cell_position_conflicts_total',
    help: "positions of a carrier's cell more than 100 m from where it was known; each is taken as a cell of its own (invariant 8)",
    registers: [http.registry],
    collect() {
      this.inc(presence.cells.relocated - relocated);
      relocated = presence.cells.relocated;
    },
  });
  const running = await runEngine({
    nc,
    log,
    presence,
    shards: cfg.ALERTING_SHARDS,
    instance: cfg.INSTANCE_ID,
    replicas: cfg.STREAM_REPLICAS,
    jobBatch: cfg.JOB_BATCH_SIZE,
    registry: http.registry,
    leases: cfg.ALERTING_LEASES ? { ttlMs: cfg.LEASE_TTL_MS } : undefined,
    stallMs: cfg.CONSUMER_STALL_MS,
    onBatch: (e, j) => {
      events.inc(e);
      if (j) jobs.inc(j);
    },
  });
  await running.ready;
  // A shard held here and consumed by nobody (its consumer or take-over failing on) is unhealthy (#19).
  http.addCheck('shards', () => shardsHealth(running.shards()));
  // What-if replays of draft tasks over insight's history (#21).
  const whatIfCh = connectClickHouse(cfg.CLICKHOUSE_URL);
  const stopWhatIf = answerWhatIf(nc, { instance: running.instance, ch: whatIfCh, cityOf: ingestCityLocator(), log });
  // The subscriptions reach the server with the next flush; only then can a request find them.
  await nc.flush();
  started = true;
  log.info({ health: http.url, instance: running.instance }, 'alerting ready');
  return {
    async stop() {
      stopWhatIf();
      await whatIfCh.close();
      await running.stop();
      await nc.drain();
      await http.close();
    },
  };
}
