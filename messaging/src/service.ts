import { connectNats, ensureDeadLetterStream, natsHealth, startServiceHttp, type Logger, type Stoppable } from '@geo/infra';
import { declareMessagingStreams } from './streams.ts';
import type { MessagingConfig } from './config.ts';

/** The messaging service: owns SMS_JOBS and SMS_EVENTS and the carrier connectors. */
export async function createMessaging(cfg: MessagingConfig, log: Logger): Promise<Stoppable> {
  const http = await startServiceHttp('messaging', cfg.HEALTH_PORT);
  const nc = await connectNats(cfg.NATS_URL, 'messaging');
  http.addCheck('nats', natsHealth(nc));
  await ensureDeadLetterStream(nc, cfg.STREAM_REPLICAS);
  await declareMessagingStreams(nc, cfg.STREAM_REPLICAS);
  log.info({ health: http.url }, 'messaging ready');
  return {
    async stop() {
      await nc.drain();
      await http.close();
    },
  };
}
