import { connectNats, consumeValidated, ensureDeadLetterStream, natsHealth, startServiceHttp, type Logger, type Stoppable } from '@geo/infra';
import { LOCATION_STREAM, LocationBatch, declareLocationStream } from '@geo/ingest';
import { Counter } from 'prom-client';
import { PRESENCE_CONSUMER, declareAlertingStreams } from './streams.ts';
import type { AlertingConfig } from './config.ts';

/** The alerting service: presence, moves and task evaluation over the LOCATION stream. */
export async function createAlerting(cfg: AlertingConfig, log: Logger): Promise<Stoppable> {
  const http = await startServiceHttp('alerting', cfg.HEALTH_PORT);
  const nc = await connectNats(cfg.NATS_URL, 'alerting');
  http.addCheck('nats', natsHealth(nc));
  await ensureDeadLetterStream(nc, cfg.STREAM_REPLICAS);
  // The stream is ingest's; declaring it here too (idempotently) lets alerting start first.
  await declareLocationStream(nc, { replicas: cfg.STREAM_REPLICAS });
  await declareAlertingStreams(nc, cfg.STREAM_REPLICAS);
  const events = new Counter({ name: 'alerting_events_total', help: 'location events consumed', registers: [http.registry] });
  const consumer = await consumeValidated({
    nc, service: 'alerting', stream: LOCATION_STREAM, consumer: PRESENCE_CONSUMER, schema: LocationBatch, log, registry: http.registry,
    handle: async (batch) => void events.inc(batch.events.length),
  });
  log.info({ health: http.url }, 'alerting ready');
  return {
    async stop() {
      await consumer.stop();
      await nc.drain();
      await http.close();
    },
  };
}
