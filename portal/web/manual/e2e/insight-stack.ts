import { installIngestAdminAreas, runEngine, type RunningEngine } from '@geo/alerting';
import { connectClickHouse, connectNats, createLogger, ensureDeadLetterStream, type NatsConnection } from '@geo/infra';
import { answers200, freePort, startNatsServer, startTsxProcess, untilReady, type RunningNats, type TsxProcess } from '@geo/infra/testing';
import { declareLocationStream, locationSubject, shardOf, type LocationEvent } from '@geo/ingest';
import { jetstream } from '@nats-io/jetstream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** What the manual's heat map and big screen need behind the portal. */
export interface InsightStack {
  natsUrl: string;
  insightUrl: string;
  /** Publishes location events to LOCATION as ingest does (one message per carrier and shard). */
  publish(events: LocationEvent[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A nats-server of its own (alerting's stream and bucket names are fixed: a shared server would let
 * this engine take other files' tasks), insight as its entry point runs it on a ClickHouse database
 * of its own, and an alerting engine in this process, so that tasks run and the big screen lists them.
 */
export async function startInsightStack(clickhouseUrl: string): Promise<InsightStack> {
  const dir = mkdtempSync(join(tmpdir(), 'manual-insight-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const f of cleanups.splice(0).reverse()) await f().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const nats: RunningNats = await startNatsServer({ dataDir: join(dir, 'nats'), log: () => undefined });
    cleanups.push(() => nats.stop());
    const nc: NatsConnection = await connectNats(nats.url, 'manual-insight');
    cleanups.push(() => nc.drain());
    await ensureDeadLetterStream(nc);
    await declareLocationStream(nc);

    const db = `manual_insight_${Date.now().toString(36)}${process.pid}`;
    const ch = connectClickHouse(clickhouseUrl);
    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    cleanups.push(async () => {
      await ch.command({ query: `DROP DATABASE IF EXISTS ${db}` });
      await ch.close();
    });
    const [health, api] = await Promise.all([freePort(), freePort()]);
    const insight: TsxProcess = startTsxProcess('insight', 'insight/src/main.ts', {
      cwd: ROOT,
      env: {
        NATS_URL: nats.url,
        CLICKHOUSE_URL: `${clickhouseUrl.replace(/\/$/, '')}/${db}`,
        HEALTH_PORT: String(health),
        API_PORT: String(api),
      },
    });
    cleanups.push(() => insight.stop());

    installIngestAdminAreas();
    const alerting: RunningEngine = await runEngine({
      nc,
      log: createLogger('alerting-manual', 'warn'),
      shards: [0, 1, 2, 3, 4, 5, 6, 7],
      instance: 'manual-e2e',
      tickMs: 500,
    });
    cleanups.push(() => alerting.stop());
    await Promise.all([alerting.ready, untilReady(insight, 'healthy', answers200(`http://127.0.0.1:${health}/healthz`), 180_000)]);

    const js = jetstream(nc, { timeout: 15_000 });
    const publish = async (events: LocationEvent[]) => {
      const by = new Map<string, LocationEvent[]>();
      for (const e of events) {
        const s = locationSubject(e.carrier, shardOf(e.msisdn));
        (by.get(s) ?? by.set(s, []).get(s)!).push(e);
      }
      await Promise.all([...by].map(([s, evs]) => js.publish(s, JSON.stringify({ v: 1, events: evs }))));
    };
    return { natsUrl: nats.url, insightUrl: `http://127.0.0.1:${api}`, publish, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
