import { z } from 'zod';

/**
 * The location-event contract. Ingest publishes it; alerting and the insight sink consume it.
 * Events travel in batches (many per message): one event per message tops out near 43k/s on
 * JetStream here, 100 per message near 0.9M/s (DESIGN.md).
 */

export const CARRIERS = ['cmcc', 'cucc', 'ctcc'] as const;
export const Carrier = z.enum(CARRIERS);
export type Carrier = z.infer<typeof Carrier>;

/** What the signalling record was. `detach` means the handset left the network (switched off). */
export const EVENT_KINDS = ['attach', 'detach', 'periodic', 'handover', 'call', 'sms', 'data'] as const;
export const EventKind = z.enum(EVENT_KINDS);
export type EventKind = z.infer<typeof EventKind>;

/** Earliest and latest accepted event times relative to now (ms): older or future events are refused. */
export const MAX_EVENT_AGE_MS = 7 * 24 * 3600_000;
export const MAX_EVENT_FUTURE_MS = 5 * 60_000;

export const LocationEvent = z.object({
  /** Mainland mobile number without +86. */
  msisdn: z.string().regex(/^1[3-9]\d{9}$/, 'expected an 11-digit mainland mobile number'),
  carrier: Carrier,
  /** Event time, Unix epoch milliseconds. */
  ts: z.number().int().positive(),
  /** Serving cell id, as the carrier names it. */
  cell: z.string().min(1).max(64),
  /** The serving cell's position (WGS-84), not a GPS fix. */
  lat: z.number().min(-90).max(90),
  lng: z.number().min(-180).max(180),
  kind: EventKind,
  /** Profile attributes the carrier attaches (enriched signalling). */
  gender: z.enum(['m', 'f']).optional(),
  age: z.number().int().min(0).max(120).optional(),
  /** Home city (归属地), GB/T 2260 six-digit code. */
  home: z.string().regex(/^\d{6}$/, 'expected a six-digit GB/T 2260 code').optional(),
});
export type LocationEvent = z.infer<typeof LocationEvent>;

export const LocationBatch = z.object({
  v: z.literal(1),
  events: z.array(LocationEvent).min(1).max(10_000),
});
export type LocationBatch = z.infer<typeof LocationBatch>;

export const LOCATION_STREAM = 'LOCATION';
export const LOCATION_SUBJECTS = 'loc.>';
/** Shards per carrier. Modest on purpose: many subjects with per-subject limits hurt nats-server 2.9. */
export const DEFAULT_SHARDS = 8;

export const locationSubject = (carrier: Carrier, shard: number): string => `loc.${carrier}.${shard}`;
/** Subject filter for one carrier's shard (or every shard with `*`). */
export const locationFilter = (carrier: Carrier | '*', shard: number | '*'): string => `loc.${carrier}.${shard}`;

/** A stable shard for a subscriber (FNV-1a over the number), so one consumer owns a slice of people. */
export function shardOf(msisdn: string, shards = DEFAULT_SHARDS): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < msisdn.length; i++) {
    h ^= msisdn.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}
