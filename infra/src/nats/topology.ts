import type { KvOptions } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureKv, ensureStream, jetstreamManager, type StreamSpec } from './streams.ts';

/** A KV bucket as its owner specifies it (replicas are the deployment's, not the owner's). */
export interface KvSpec {
  bucket: string;
  /** Values kept per key. @default 1 */
  history?: number;
  /** Entry lifetime in ms (0: none). */
  ttl?: number;
}

/**
 * What one service owns on NATS: its streams and buckets, without replicas. Each owner exports its
 * part from its `streams.ts` (the LOCATION stream from ingest, SMS_JOBS from messaging, …); the whole
 * system's topology is the list of parts, declared in one place ({@link declareTopology}) with the
 * deployment's `STREAM_REPLICAS` applied to every stream and bucket alike.
 */
export interface TopologyPart {
  owner: string;
  streams: Omit<StreamSpec, 'num_replicas'>[];
  buckets: KvSpec[];
}

/** The streams and bucket streams (`KV_<bucket>`) of some parts, by name. */
export function topologyNames(parts: TopologyPart[]): string[] {
  return parts.flatMap((p) => [...p.streams.map((s) => s.name), ...p.buckets.map((b) => `KV_${b.bucket}`)]);
}

function kvOptions(b: KvSpec, replicas: number): Partial<KvOptions> {
  return { replicas, history: b.history ?? 1, ...(b.ttl ? { ttl: b.ttl } : {}) };
}

/**
 * Declares every part's streams and buckets with `replicas` each. Idempotent; an existing stream is
 * updated to its owner's spec and never scaled down ({@link ensureStream}).
 */
export async function declareTopology(nc: NatsConnection, parts: TopologyPart[], replicas = 1): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const part of parts) {
    for (const s of part.streams) await ensureStream(jsm, { ...s, num_replicas: replicas } as StreamSpec);
    for (const b of part.buckets) await ensureKv(nc, b.bucket, kvOptions(b, replicas));
  }
}

/**
 * Waits until every stream and bucket of `parts` exists (declared by whoever declares the topology),
 * polling every `pollMs`; fails after `timeoutMs` naming what is still missing.
 */
export async function awaitTopology(
  nc: NatsConnection,
  parts: TopologyPart[],
  opts: { timeoutMs?: number; pollMs?: number } = {},
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let missing = topologyNames(parts);
  for (;;) {
    const still: string[] = [];
    for (const name of missing) {
      try {
        await jsm.streams.info(name);
      } catch {
        still.push(name);
      }
    }
    missing = still;
    if (missing.length === 0) return;
    if (Date.now() >= deadline) throw new Error(`NATS topology not declared: ${missing.join(', ')} missing`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
