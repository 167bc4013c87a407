import { declareTopology, ensureConsumer, jetstreamManager, ms, type NatsConnection, type TopologyPart } from '@geo/infra';
import { LOCATION_STREAM, locationFilter } from '@geo/ingest';
import { MAX_TASK_DAYS } from './contract.ts';
import { CLAIMS_STREAM, CLAIMS_SUBJECTS } from './engine/claims.ts';

/** KV buckets alerting owns: active task specs (the portal writes them) and budget counters. Who was sent is in {@link CLAIMS_STREAM}. */
export const TASKS_BUCKET = 'alert_tasks';
export const CAPS_BUCKET = 'alert_caps';
/** Shard leases and membership of the alerting instances (`LeaseManager`, lease mode). */
export const LEASES_BUCKET = 'alert_leases';
/** Durable consumers on LOCATION, one per shard (`loc.*.<shard>`): an instance owns some shards. */
export const PRESENCE_CONSUMER = 'alerting';
export const presenceConsumer = (shard: number): string => `${PRESENCE_CONSUMER}-${shard}`;

export interface AlertingStreamOptions {
  replicas?: number;
  /** Shards to declare consumers for. */
  shards?: number[];
}

/** alerting's part of the NATS topology: the claim log and its buckets (tasks, caps, shard leases). */
export function alertingTopology(): TopologyPart {
  return {
    owner: 'alerting',
    streams: [
      // A claim must outlive the longest task ("once" means once for the whole task).
      { name: CLAIMS_STREAM, subjects: [CLAIMS_SUBJECTS], max_age: ms((MAX_TASK_DAYS + 7) * 24 * 3600_000), max_bytes: 10 * 1024 ** 3 },
    ],
    buckets: [{ bucket: TASKS_BUCKET, history: 5 }, { bucket: CAPS_BUCKET }, { bucket: LEASES_BUCKET }],
  };
}

/** Declares alerting's part ({@link alertingTopology}) and its presence consumers, one per shard. */
export async function declareAlertingStreams(nc: NatsConnection, replicasOrOpts: number | AlertingStreamOptions = 1): Promise<void> {
  const opts = typeof replicasOrOpts === 'number' ? { replicas: replicasOrOpts } : replicasOrOpts;
  await declareTopology(nc, [alertingTopology()], opts.replicas ?? 1);
  const jsm = await jetstreamManager(nc);
  for (const shard of opts.shards ?? [])
    await ensureConsumer(jsm, LOCATION_STREAM, {
      durable_name: presenceConsumer(shard),
      filter_subject: locationFilter('*', shard),
      ack_wait: ms(30_000),
      // Never given up by the server: a batch whose sending keeps failing (claims or caps bucket
      // unavailable) is retried with back-off until it goes through. With a limit (it was 10, about
      // 150 s of failures) JetStream dropped it silently, and its people with it, uncounted.
      // Malformed batches are dead-lettered with their reason, so nothing is redelivered forever.
      max_deliver: -1,
      max_ack_pending: 2_000,
    });
}
