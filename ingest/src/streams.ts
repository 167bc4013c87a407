import { ensureStream, jetstreamManager, ms, type NatsConnection } from '@geo/infra';
import { LOCATION_STREAM, LOCATION_SUBJECTS } from './contract.ts';

export interface LocationStreamOptions {
  /** 1 locally, 3 on a NATS cluster. */
  replicas?: number;
  /** How long events stay replayable. @default 24 h */
  maxAgeMs?: number;
  /** @default 20 GiB */
  maxBytes?: number;
}

/** Declares the LOCATION stream (ingest publishes to it, so ingest owns it). Idempotent. */
export async function declareLocationStream(nc: NatsConnection, opts: LocationStreamOptions = {}): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await ensureStream(jsm, {
    name: LOCATION_STREAM,
    subjects: [LOCATION_SUBJECTS],
    num_replicas: opts.replicas ?? 1,
    max_age: ms(opts.maxAgeMs ?? 24 * 3600_000),
    max_bytes: opts.maxBytes ?? 20 * 1024 ** 3,
    duplicate_window: ms(120_000),
  });
}
