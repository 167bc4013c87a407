import { z } from 'zod';
import { clickhouseUrl, commonEnv, consumerStallMs, port } from '@geo/infra';
import { LOCATION_STREAM, LOCATION_SUBJECTS } from '@geo/ingest';
import { DEFAULT_K } from './metrics/privacy.ts';

export const InsightEnv = z.object({
  ...commonEnv,
  HEALTH_PORT: port(9104),
  /** The query API the portal calls. */
  API_PORT: port(9204),
  API_HOST: z.string().default('127.0.0.1'),
  CLICKHOUSE_URL: clickhouseUrl.default('http://127.0.0.1:8123'),
  /** A subscriber is present while its last event is younger than this. */
  INSIGHT_STALENESS_MIN: z.coerce
    .number()
    .int()
    .min(5)
    .max(24 * 60)
    .default(120),
  /**
   * The privacy threshold k, the one setting for every figure: a (cell, category) or (from cell →
   * to cell) count under k is taken as 0, and a released sum under k is shown suppressed.
   */
  INSIGHT_K: z.coerce.number().int().min(2).max(1000).default(DEFAULT_K),
  /**
   * Hours of moves held in memory (20 B a move; ~166 MB at 1M subscribers moving 8 times a day).
   * From 25 (the default), a region's first query reads its per-person windows (since midnight,
   * dwell's 8 h) there; fewer save memory and send first queries to ClickHouse (polls still read
   * their minutes here, from 2).
   */
  INSIGHT_MOVES_HOURS: z.coerce.number().min(2).max(48).default(25),
  /** Days of history kept (whole day partitions are dropped after). */
  INSIGHT_RETENTION_DAYS: z.coerce.number().int().min(8).max(400).default(8),
  INSIGHT_STREAM: z.string().default(LOCATION_STREAM),
  INSIGHT_CONSUMER: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('insight-sink'),
  INSIGHT_FILTER_SUBJECT: z.string().default(LOCATION_SUBJECTS),
  /**
   * Run the sink only while holding the lease (KV `insight_leases`, group `insight-<INSIGHT_CONSUMER>`),
   * so that a second instance is a standby. Off: this instance always runs the sink (one instance only).
   */
  INSIGHT_LEASES: z.stringbool().default(true),
  /** A sink lease not renewed for this long is taken over by a standby. */
  INSIGHT_LEASE_TTL_MS: z.coerce.number().int().min(1_000).max(60_000).default(6_000),
  /**
   * A consumer that delivered nothing this long while messages were pending for it (its pulls lost
   * with a NATS node) is opened again (#19). @default 20000
   */
  CONSUMER_STALL_MS: consumerStallMs(),
  /** This instance's id in the lease group. @default host, pid and a random suffix */
  INSTANCE_ID: z
    .string()
    .regex(/^[\w-]{1,40}$/)
    .optional(),
});
export type InsightConfig = z.infer<typeof InsightEnv>;
