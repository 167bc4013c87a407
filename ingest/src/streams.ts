import { declareTopology, ms, type NatsConnection, type TopologyPart } from '@geo/infra';
import { LOCATION_STREAM, LOCATION_SUBJECTS } from './contract.ts';

export interface LocationStreamOptions {
  /** 1 locally, 3 on a NATS cluster. */
  replicas?: number;
  /** How long events stay replayable. @default 24 h */
  maxAgeMs?: number;
  /** @default 20 GiB */
  maxBytes?: number;
}

/** ingest's part of the NATS topology: the LOCATION stream (ingest publishes to it, so ingest owns it). */
export function locationTopology(opts: Omit<LocationStreamOptions, 'replicas'> = {}): TopologyPart {
  return {
    owner: 'ingest',
    streams: [
      {
        name: LOCATION_STREAM,
        subjects: [LOCATION_SUBJECTS],
        max_age: ms(opts.maxAgeMs ?? 24 * 3600_000),
        max_bytes: opts.maxBytes ?? 20 * 1024 ** 3,
        duplicate_window: ms(120_000),
      },
    ],
    buckets: [],
  };
}

/** Declares the LOCATION stream from {@link locationTopology}. Idempotent. */
export async function declareLocationStream(nc: NatsConnection, opts: LocationStreamOptions = {}): Promise<void> {
  await declareTopology(nc, [locationTopology(opts)], opts.replicas ?? 1);
}
