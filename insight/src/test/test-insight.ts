import { jetstream } from '@nats-io/jetstream';
import {
  connectClickHouse,
  connectNats,
  createLogger,
  ensureStream,
  jetstreamManager,
  type ClickHouseClient,
  type NatsConnection,
} from '@geo/infra';
import { until } from '@geo/infra/testing';
import { encodeLocationBatch, type LocationEvent } from '@geo/ingest';
import { InsightEnv } from '../config.ts';
import { createInsight, type RunningInsight } from '../service.ts';
import { adminAreasFrom } from '../regions/region.ts';
import { RegionMetrics } from '../api/schemas.ts';
import { SIM_AREAS } from './population.ts';

/** An insight service of one integration test file, on the run's real servers. */
export interface TestInsight {
  nc: NatsConnection;
  /** ClickHouse without a database (the test's own is `db`). */
  admin: ClickHouseClient;
  db: string;
  insight: RunningInsight;
  /**
   * Publishes `events` as one binary batch on the test's stream, as ingest does, and waits until
   * the sink applied them, wrote them to ClickHouse and the API's presence index (shared for 2 s)
   * shows them.
   */
  publish(events: LocationEvent[]): Promise<void>;
  /** `POST /regions/metrics` with `body`: the answer, expected to be a 200. */
  metrics(body: object): Promise<RegionMetrics>;
  /** `POST /regions/metrics` with `body`, as it comes (for refusals). */
  post(body: object): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * Starts insight for one test file: a stream, subjects and ClickHouse database named after `name`
 * and a random tag (files run side by side on the same servers), the synthetic administrative areas
 * of `population.ts`, and `env` over the defaults (silent logs, ports chosen by the system).
 *
 * @example
 * const t = await startTestInsight('edge', { natsUrl: inject('natsUrl'), clickhouseUrl: inject('clickhouseUrl') });
 * await t.publish(events);
 * const m = await t.metrics({ region });
 */
export async function startTestInsight(
  name: string,
  servers: { natsUrl: string; clickhouseUrl: string },
  env: Record<string, string> = {},
): Promise<TestInsight> {
  const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const stream = `INSIGHT_${name.toUpperCase()}_${tag}`;
  const prefix = `insight${name}${tag}`;
  const db = `insight_${name}_${tag}`;
  const nc = await connectNats(servers.natsUrl, `insight-${name}`);
  await ensureStream(await jetstreamManager(nc), { name: stream, subjects: [`${prefix}.>`] });
  const admin = connectClickHouse(servers.clickhouseUrl);
  await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  const config = InsightEnv.parse({
    LOG_LEVEL: 'silent',
    NATS_URL: servers.natsUrl,
    CLICKHOUSE_URL: `${servers.clickhouseUrl}/${db}`,
    HEALTH_PORT: '0',
    API_PORT: '0',
    INSIGHT_STREAM: stream,
    INSIGHT_CONSUMER: `insight-${name}`,
    INSIGHT_FILTER_SUBJECT: `${prefix}.>`,
    ...env,
  });
  const insight = await createInsight(config, createLogger('insight', 'silent'), { admin: adminAreasFrom(SIM_AREAS as never) });
  const post = (body: object) =>
    fetch(`${insight.apiUrl}/regions/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  return {
    nc,
    admin,
    db,
    insight,
    async publish(events) {
      const before = insight.sink.applied;
      await jetstream(nc).publish(`${prefix}.cmcc.0`, encodeLocationBatch(events));
      await until(`the sink to apply ${events.length} events`, () => insight.sink.applied >= before + events.length, 60_000);
      await insight.sink.flush();
      await new Promise((r) => setTimeout(r, 2100));
    },
    post,
    async metrics(body) {
      const res = await post(body);
      if (res.status !== 200) throw new Error(`POST /regions/metrics answered ${res.status}: ${await res.text()}`);
      return RegionMetrics.parse(await res.json());
    },
    async stop() {
      await insight.stop();
      await nc.drain();
      await admin.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => undefined);
      await admin.close();
    },
  };
}
