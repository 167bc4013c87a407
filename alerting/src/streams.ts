import { ensureConsumer, ensureKv, jetstreamManager, ms, type NatsConnection } from '@geo/infra';
import { LOCATION_STREAM } from '@geo/ingest';

/** KV buckets alerting owns: active task specs (the portal writes them), and what was sent to whom. */
export const TASKS_BUCKET = 'alert_tasks';
export const SENT_BUCKET = 'alert_sent';
export const CAPS_BUCKET = 'alert_caps';
export const PRESENCE_CONSUMER = 'alerting';

export async function declareAlertingStreams(nc: NatsConnection, replicas = 1): Promise<void> {
  await ensureKv(nc, TASKS_BUCKET, { replicas, history: 5 });
  await ensureKv(nc, SENT_BUCKET, { replicas, ttl: 8 * 24 * 3600_000 });
  await ensureKv(nc, CAPS_BUCKET, { replicas });
  const jsm = await jetstreamManager(nc);
  await ensureConsumer(jsm, LOCATION_STREAM, { durable_name: PRESENCE_CONSUMER, ack_wait: ms(30_000), max_deliver: 10, max_ack_pending: 20_000 });
}
