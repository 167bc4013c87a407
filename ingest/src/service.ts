import { connectNats, ensureDeadLetterStream, natsHealth, startServiceHttp, type Logger, type Stoppable } from '@geo/infra';
import { declareLocationStream } from './streams.ts';
import type { IngestConfig } from './config.ts';

/** The ingest service: owns the LOCATION stream and the feeds that write to it. */
export async function createIngest(cfg: IngestConfig, log: Logger): Promise<Stoppable> {
  const http = await startServiceHttp('ingest', cfg.HEALTH_PORT);
  const nc = await connectNats(cfg.NATS_URL, 'ingest');
  http.addCheck('nats', natsHealth(nc));
  await ensureDeadLetterStream(nc, cfg.STREAM_REPLICAS);
  await declareLocationStream(nc, { replicas: cfg.STREAM_REPLICAS });
  log.info({ health: http.url }, 'ingest ready');
  return {
    async stop() {
      await nc.drain();
      await http.close();
    },
  };
}
