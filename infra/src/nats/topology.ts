import { JetStreamApiError } from '@nats-io/jetstream';
import type { KvOptions } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { createLogger, type Logger } from '../runtime/logger.ts';
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

/** How declarations wait out a cluster that cannot place a stream yet (see {@link declareTopology}). */
export interface DeclareOptions {
  /** How long one stream or bucket's declaration is tried again while it fails for a passing reason. @default 60000 */
  retryMs?: number;
  /** Told of each failed attempt that is tried again. @default a logger named `nats-topology` */
  log?: Pick<Logger, 'warn'>;
  /** Waits between attempts (tests pass one that does not). */
  sleep?: (ms: number) => Promise<void>;
}

/** Back-off between attempts of one declaration, by attempt (ms). */
const DECLARE_RETRY_MS = [250, 500, 1000, 2000, 4000];

/**
 * Whether a JetStream management call failed for a reason that passes on its own: right after a
 * cluster starts (or a node restarts) the meta leader may not see every peer yet ("no suitable peers
 * for placement, peer offline"), there may be no meta leader at all ("JetStream system temporarily
 * unavailable", no responders to the API), or the answer was late.
 */
export function isPassingJetStreamError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'TimeoutError' || err.name === 'NoRespondersError' || err.name === 'JetStreamNotEnabled') return true;
  if (err instanceof JetStreamApiError && err.status === 503) return true;
  return /no suitable peers|peer offline|temporarily unavailable|cluster not available|no responders|timeout|leader not/i.test(err.message);
}

/**
 * Runs one declaration (`what` names it in the log), trying it again with back-off while it fails
 * for a passing reason ({@link isPassingJetStreamError}), for at most `retryMs`; then, or on any
 * other error, it fails with the last error.
 */
export async function declareRetrying<T>(what: string, declare: () => Promise<T>, o: DeclareOptions = {}): Promise<T> {
  const deadline = Date.now() + (o.retryMs ?? 60_000);
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 0; ; attempt++) {
    try {
      return await declare();
    } catch (err) {
      const waitMs = DECLARE_RETRY_MS[Math.min(attempt, DECLARE_RETRY_MS.length - 1)]!;
      if (!isPassingJetStreamError(err) || Date.now() + waitMs > deadline) throw err;
      (o.log ?? defaultLog()).warn({ what, attempt: attempt + 1, waitMs, err: (err as Error).message }, 'declaration failed; trying again');
      await sleep(waitMs);
    }
  }
}

let topologyLog: Logger | undefined;
const defaultLog = () => (topologyLog ??= createLogger('nats-topology'));

/**
 * Declares every part's streams and buckets with `replicas` each. Idempotent; an existing stream is
 * updated to its owner's spec and never scaled down ({@link ensureStream}). Each declaration is tried
 * again for a while when the cluster cannot place it yet ({@link declareRetrying}).
 */
export async function declareTopology(nc: NatsConnection, parts: TopologyPart[], replicas = 1, o: DeclareOptions = {}): Promise<void> {
  // Getting the manager asks JetStream for the account's info: no meta leader, no answer either.
  const jsm = await declareRetrying('JetStream account', () => jetstreamManager(nc), o);
  for (const part of parts) {
    for (const s of part.streams)
      await declareRetrying(`stream ${s.name}`, () => ensureStream(jsm, { ...s, num_replicas: replicas } as StreamSpec), o);
    for (const b of part.buckets) await declareRetrying(`bucket ${b.bucket}`, () => ensureKv(nc, b.bucket, kvOptions(b, replicas)), o);
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
