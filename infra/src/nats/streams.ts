import {
  AckPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager as jsManager,
  type ConsumerConfig,
  type JetStreamManagerOptions,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV, type KvOptions } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

export { AckPolicy, DiscardPolicy, RetentionPolicy, StorageType };

const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

/** Nanoseconds from milliseconds, as JetStream configs count time. */
export const ms = (n: number): number => n * 1_000_000;

export type StreamSpec = Partial<StreamConfig> & Pick<StreamConfig, 'name' | 'subjects'>;

/**
 * Declares a stream idempotently: creates it, or updates it when its declared config differs.
 * Replicas come from the caller (1 locally, 3 on a cluster, `STREAM_REPLICAS`), and a declaration
 * never scales an existing stream down: several services declare the streams they use, and one
 * started without `STREAM_REPLICAS` (default 1) would otherwise turn an R3 stream back into R1 on
 * every start, fighting the others. Scaling down is an operator's explicit act (`nats stream edit`).
 */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<void> {
  const want: StreamSpec = { storage: StorageType.File, retention: RetentionPolicy.Limits, num_replicas: 1, ...spec };
  try {
    const info = await jsm.streams.info(spec.name);
    want.num_replicas = Math.max(want.num_replicas ?? 1, info.config.num_replicas ?? 1);
    const differs = (Object.keys(want) as (keyof StreamConfig)[]).some((k) => JSON.stringify(info.config[k]) !== JSON.stringify(want[k]));
    if (differs) {
      const { storage: _s, retention: _r, ...mutable } = want;
      await jsm.streams.update(spec.name, mutable);
    }
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND) {
      await jsm.streams.add(want);
      return;
    }
    throw err;
  }
}

export type ConsumerSpec = Partial<ConsumerConfig> & { durable_name: string };

/** Declares a durable pull consumer idempotently (create, or update its mutable settings). */
export async function ensureConsumer(jsm: JetStreamManager, stream: string, spec: ConsumerSpec): Promise<void> {
  const want: Partial<ConsumerConfig> = { ack_policy: AckPolicy.Explicit, ack_wait: ms(30_000), max_deliver: 10, ...spec };
  try {
    await jsm.consumers.info(stream, spec.durable_name);
    await jsm.consumers.update(stream, spec.durable_name, {
      ack_wait: want.ack_wait,
      max_deliver: want.max_deliver,
      max_ack_pending: want.max_ack_pending,
      filter_subject: want.filter_subject,
    });
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === CONSUMER_NOT_FOUND) {
      await jsm.consumers.add(stream, want);
      return;
    }
    throw err;
  }
}

/**
 * Opens or creates a KV bucket (idempotent). An existing bucket keeps its settings, except that it is
 * scaled up to `opts.replicas` when it has fewer (a bucket first opened by a service started without
 * `STREAM_REPLICAS` must not stay R1 on a cluster); it is never scaled down.
 */
export async function ensureKv(nc: NatsConnection, bucket: string, opts: Partial<KvOptions> = {}): Promise<KV> {
  const kv = await new Kvm(jetstream(nc, { timeout: JS_API_TIMEOUT_MS })).create(bucket, { history: 1, ...opts });
  if ((opts.replicas ?? 1) > 1) {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`KV_${bucket}`);
    if ((info.config.num_replicas ?? 1) < opts.replicas!)
      await jsm.streams.update(`KV_${bucket}`, { ...info.config, num_replicas: opts.replicas });
  }
  return kv;
}

/** How long a JetStream API call (stream, consumer and KV management) may take. */
export const JS_API_TIMEOUT_MS = 20_000;

/**
 * A JetStream manager whose API calls wait up to 20 s (the client's default is 5 s): these are
 * start-up and admin calls, and on a loaded machine nats-server can take longer than 5 s to answer
 * one (a service then failed to start with "TimeoutError" from `consumers.info`).
 */
export function jetstreamManager(nc: NatsConnection, opts: JetStreamManagerOptions = {}): Promise<JetStreamManager> {
  return jsManager(nc, { timeout: JS_API_TIMEOUT_MS, ...opts });
}
