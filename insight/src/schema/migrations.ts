import type { ClickHouseMigration } from '@geo/infra';

/**
 * Insight's ClickHouse schema. Runs on 18.16 and current releases (no TTL, LowCardinality,
 * DateTime64, window functions).
 *
 * Idempotence: the sink may write the same rows twice (a JetStream redelivery after a crash
 * between insert and ack, or an insert that timed out but landed). Every table is therefore either
 * a ReplacingMergeTree whose sort key is the row's identity, read with `any()`/`FINAL`, or holds
 * `uniq` states, which a duplicate does not change. Queries never `count()` raw rows.
 *
 * Retention: every history table is partitioned by day (`toYYYYMMDD`), and `dropOldPartitions`
 * drops whole days; there is no TTL clause because 18.16 rejects it.
 *
 * Identifiers: `sub` is the MSISDN as a number (internal only, never returned by the API); `cell`
 * is a 52-bit hash of the carrier's cell id (`cellKey`), stable across restarts and instances.
 */
export const INSIGHT_MIGRATIONS: ClickHouseMigration[] = [
  {
    version: 1,
    name: 'cells, moves, flows, population snapshots, presence checkpoint',
    statements: [
      // Serving cells seen so far: where they are, their H3 cell (res 9) and their city (GB/T 2260).
      `CREATE TABLE IF NOT EXISTS insight_cells (
        cell UInt64, name String, lat Float64, lng Float64, h3 UInt64, city UInt32, first_seen DateTime
      ) ENGINE = ReplacingMergeTree ORDER BY cell`,
      // One row per move (a subscriber's cell changed; from_cell = 0 for a first sighting).
      // Sorted by the destination so "moves into these cells since T" reads few granules.
      `CREATE TABLE IF NOT EXISTS insight_moves (
        ts DateTime, sub UInt64, from_cell UInt64, to_cell UInt64, carrier UInt8
      ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (to_cell, ts, sub, from_cell)`,
      // The same moves sorted by origin, for outflow.
      `CREATE TABLE IF NOT EXISTS insight_moves_out (
        ts DateTime, sub UInt64, from_cell UInt64, to_cell UInt64, carrier UInt8
      ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (from_cell, ts, sub, to_cell)`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS insight_moves_out_mv TO insight_moves_out
        AS SELECT ts, sub, from_cell, to_cell, carrier FROM insight_moves`,
      // 5-minute rollups of moves per (destination, origin) cell pair: distinct people, as uniq
      // states so that a re-inserted batch changes nothing. A region's inflow in a bucket is
      // uniqMerge over pairs with to_cell inside and from_cell outside.
      `CREATE TABLE IF NOT EXISTS insight_flow_in_5m (
        bucket DateTime, to_cell UInt64, from_cell UInt64, people AggregateFunction(uniq, UInt64)
      ) ENGINE = AggregatingMergeTree PARTITION BY toYYYYMMDD(bucket) ORDER BY (to_cell, bucket, from_cell)`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS insight_flow_in_5m_mv TO insight_flow_in_5m
        AS SELECT toStartOfFiveMinute(ts) AS bucket, to_cell, from_cell, uniqState(sub) AS people
        FROM insight_moves GROUP BY bucket, to_cell, from_cell`,
      `CREATE TABLE IF NOT EXISTS insight_flow_out_5m (
        bucket DateTime, from_cell UInt64, to_cell UInt64, people AggregateFunction(uniq, UInt64)
      ) ENGINE = AggregatingMergeTree PARTITION BY toYYYYMMDD(bucket) ORDER BY (from_cell, bucket, to_cell)`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS insight_flow_out_5m_mv TO insight_flow_out_5m
        AS SELECT toStartOfFiveMinute(ts) AS bucket, from_cell, to_cell, uniqState(sub) AS people
        FROM insight_moves GROUP BY bucket, from_cell, to_cell`,
      // Presence snapshots: people present per cell and carrier at each 5-minute boundary, written
      // by the streaming stage (which holds live presence). Rewriting a bucket replaces it.
      `CREATE TABLE IF NOT EXISTS insight_population_5m (
        bucket DateTime, cell UInt64, carrier UInt8, n UInt32
      ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(bucket) ORDER BY (cell, bucket, carrier)`,
      // The streaming stage's checkpoint: each subscriber's last state, versioned by stream
      // position. Read once at start-up to restore presence; never per query.
      `CREATE TABLE IF NOT EXISTS insight_presence (
        sub UInt64, cell UInt64, ts UInt64, carrier UInt8, gender UInt8, age UInt8, home UInt32,
        detached UInt8, pos UInt64
      ) ENGINE = ReplacingMergeTree(pos) ORDER BY sub`,
    ],
  },
];

/** Day-partitioned history tables, for retention. */
export const INSIGHT_HISTORY_TABLES = [
  'insight_moves',
  'insight_moves_out',
  'insight_flow_in_5m',
  'insight_flow_out_5m',
  'insight_population_5m',
] as const;
