import { z } from 'zod';
import { clickhouseUrl, commonEnv, consumerStallMs, port } from '@geo/infra';
import { DEFAULT_SHARDS } from '@geo/ingest';

/** `0-7`, `0,2,4` or `3`: the LOCATION shards this instance owns. */
const shardList = z
  .string()
  .default(`0-${DEFAULT_SHARDS - 1}`)
  .transform((s, ctx) => {
    const out = new Set<number>();
    for (const part of s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(part);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `expected shard numbers like 0-7 or 0,2,4, got "${part}"` });
        return z.NEVER;
      }
      for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) out.add(i);
    }
    return [...out].sort((a, b) => a - b);
  });

export const AlertingEnv = z.object({
  ...commonEnv,
  HEALTH_PORT: port(9102),
  /** Where what-if replays read insight's history of moves (#21). @default http://127.0.0.1:8123 (as insight's) */
  CLICKHOUSE_URL: clickhouseUrl.default('http://127.0.0.1:8123'),
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  ALERTING_SHARDS: shardList,
  /** A subscriber is present while their last event is younger than this. @default 120 */
  PRESENCE_STALENESS_MIN: z.coerce.number().int().positive().default(120),
  /**
   * SMS jobs per SMS_JOBS message for the people this instance claims (stored with each claim, so
   * instances with different settings republish each other's claims identically). @default 100
   */
  JOB_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  /**
   * Own shards by leases in the `alert_leases` bucket (#19): `ALERTING_SHARDS` are then shared out
   * among all instances with this setting, one live owner per shard, taken over when an instance
   * dies (within ~7 s with the default ttl); `false` for fixed shards per instance. @default true
   */
  ALERTING_LEASES: z.stringbool().default(true),
  /** A shard lease not renewed for this long is taken over (lease mode). @default 6000 */
  LEASE_TTL_MS: z.coerce.number().int().min(1_000).max(60_000).default(6_000),
  /**
   * An operator's boundaries file (GeoJSON keyed by GB/T 2260 code, as the portal's
   * `GET /api/operator/boundaries/{id}/geojson` downloads it): tasks that name an area by code alone
   * are tested against its outlines. Tasks from the portal carry their outlines themselves.
   */
  ADMIN_BOUNDARIES_FILE: z.string().min(1).optional(),
  /**
   * A consumer that delivered nothing this long while messages were pending for it (its pulls lost
   * with a NATS node) is opened again (#19). @default 20000
   */
  CONSUMER_STALL_MS: consumerStallMs(),
  /** Names this instance in progress events; random when unset. */
  INSTANCE_ID: z
    .string()
    .regex(/^[\w-]{1,40}$/)
    .optional(),
});
export type AlertingConfig = z.infer<typeof AlertingEnv>;
