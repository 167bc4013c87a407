import { connectNats, ensureDeadLetterStream, natsHealth, startServiceHttp, type Logger, type Stoppable } from '@geo/infra';
import type { Subscription } from '@nats-io/transport-node';
import { DEFAULT_SHARDS } from './contract.ts';
import { declareLocationStream } from './streams.ts';
import type { IngestConfig } from './config.ts';
import { ingestMetrics } from './metrics.ts';
import { BatchPublisher } from './publish/batch-publisher.ts';
import { FeedPipeline } from './feeds/feed-pipeline.ts';
import { parseIngestKeys, startHttpFeed } from './feeds/http-feed.ts';
import { startNatsFeed } from './feeds/nats-feed.ts';
import { loadAdminAreas } from './geography/admin-areas.ts';
import { Simulator } from './simulator/simulator.ts';
import { SimulatorRunner } from './simulator/run-simulator.ts';
import { startControl, type Control } from './control.ts';

/**
 * The ingest service: owns the LOCATION stream, runs the external feeds (HTTP NDJSON, NATS
 * subject) and, with SIM_ENABLED, the province simulator; answers status and scenario requests.
 */
export async function createIngest(cfg: IngestConfig, log: Logger): Promise<Stoppable> {
  const http = await startServiceHttp('ingest', cfg.HEALTH_PORT);
  const metrics = ingestMetrics(http.registry);
  const nc = await connectNats(cfg.NATS_URL, 'ingest');
  http.addCheck('nats', natsHealth(nc));
  await ensureDeadLetterStream(nc, cfg.STREAM_REPLICAS);
  await declareLocationStream(nc, { replicas: cfg.STREAM_REPLICAS });

  const runId = `ingest-${Date.now().toString(36)}-${process.pid}`;
  const feedPublisher = new BatchPublisher({ nc, runId: `${runId}-feed`, batchSize: 500, format: cfg.LOCATION_FORMAT, metrics, log });
  const pipeline = new FeedPipeline({ nc, publisher: feedPublisher, shards: DEFAULT_SHARDS, metrics, log });
  const keys = parseIngestKeys(cfg.INGEST_KEYS);
  if (!Object.keys(keys).length) log.warn('INGEST_KEYS is not set: the HTTP feed refuses every request');
  const httpFeed = await startHttpFeed({
    port: cfg.INGEST_HTTP_PORT,
    host: cfg.INGEST_HTTP_HOST,
    keys,
    pipeline,
    log,
    statusOf: () => control?.status(),
  });
  const natsFeed: Subscription = startNatsFeed(nc, pipeline, log);
  let control: Control | undefined;

  let runner: SimulatorRunner | undefined;
  if (cfg.SIM_ENABLED) {
    const t = performance.now();
    const sim = new Simulator({
      areas: loadAdminAreas(cfg.SIM_PROVINCE),
      subscribers: cfg.SIM_SUBSCRIBERS,
      seed: cfg.SIM_SEED,
      startMs: cfg.SIM_START ? Date.parse(cfg.SIM_START) : Date.now(),
      plainCellIds: cfg.SIM_PLAIN_CELL_IDS,
    });
    log.info({ subscribers: sim.pop.size, cells: sim.cells.count, ms: Math.round(performance.now() - t) }, 'simulated province ready');
    const publisher = new BatchPublisher({
      nc,
      runId: `${runId}-sim`,
      batchSize: cfg.SIM_BATCH,
      format: cfg.LOCATION_FORMAT,
      metrics,
      log,
    });
    runner = new SimulatorRunner(sim, publisher, { speed: cfg.SIM_SPEED, metrics });
    runner.done.catch((err: unknown) => log.error({ err }, 'simulator stopped on an error'));
    http.addCheck('simulator', () => {
      const p = runner!.progress;
      return {
        ok: p.running,
        detail: `${p.subscribers} subscribers, ${p.eventsPerSecond} events/s, simulated ${new Date(p.simTime).toISOString()}`,
      };
    });
  }
  control = startControl(nc, { runner, pipeline, log });
  log.info({ health: http.url, feed: httpFeed.url, simulator: cfg.SIM_ENABLED }, 'ingest ready');
  return {
    async stop() {
      await runner?.stop();
      natsFeed.unsubscribe();
      await control?.stop();
      await httpFeed.close();
      await feedPublisher.flush();
      await nc.drain();
      await http.close();
    },
  };
}
