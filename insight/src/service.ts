import { connectClickHouse, connectNats, migrateClickHouse, natsHealth, startServiceHttp, type Logger, type Stoppable } from '@geo/infra';
import { INSIGHT_MIGRATIONS } from './schema/migrations.ts';
import type { InsightConfig } from './config.ts';

/** The insight service: the ClickHouse sink and the crowd metrics API. */
export async function createInsight(cfg: InsightConfig, log: Logger): Promise<Stoppable> {
  const http = await startServiceHttp('insight', cfg.HEALTH_PORT);
  const ch = connectClickHouse(cfg.CLICKHOUSE_URL);
  await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);
  http.addCheck('clickhouse', async () => ({ ok: (await ch.ping()).success }));
  const nc = await connectNats(cfg.NATS_URL, 'insight');
  http.addCheck('nats', natsHealth(nc));
  log.info({ health: http.url }, 'insight ready');
  return {
    async stop() {
      await nc.drain();
      await ch.close();
      await http.close();
    },
  };
}
