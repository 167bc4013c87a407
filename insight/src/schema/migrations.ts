import type { ClickHouseMigration } from '@geo/infra';

/**
 * Insight's ClickHouse schema. Runs on 18.16 and current releases (no TTL, LowCardinality,
 * DateTime64, window functions).
 *
 * Idempotence: the sink may write the same rows twice (a JetStream redelivery after a crash
 * between insert and ack, or an insert that timed out but landed). Every table is therefore a
 * ReplacingMergeTree whose sort key is the row's identity, read with `any()`, `max()`, `FINAL` or
 * `uniqExact(sub)`, none of which a duplicate changes. Queries never `count()` raw rows.
 *
 * Why no per-cell-pair flow rollup: a region's inflow must exclude moves inside the region, so a
 * rollup would need (to_cell, from_cell, bucket) keys. Summed move counts per key (SummingMergeTree)
 * would be small but count moves, not people: someone who enters twice in an hour (in, out, in again
 * across a border) counts twice, and the series are distinct people, checked exactly against the
 * simulator. Exact distinct counts per key need `uniqExactState(sub)`, whose states hold every
 * subscriber again; measured here such materialized views cost 4.4 s per 500k moves (3.5× the
 * insert itself) because almost every row is its own group (an hour × a cell pair holds ~4 moves at
 * 1M subscribers). Moves sorted by (to_h3, to_cell, ts) and (from_h3, from_cell, ts) answer the
 * same questions exactly, reading only the region's cells. The per-cell 5-minute rollup is the
 * presence snapshot.
 *
 * What a first region query costs (measured at 1M subscribers, `system.query_log` ProfileEvents):
 * decompression. A region's cells form a few dozen runs in H3 order; each run costs one ≥ 64 KiB
 * compressed block per column per part however few rows it needs (18.16 has no per-table
 * `min_compress_block_size`), so a 147-cell week took ~280 ms of CPU cold and ~40 ms once its blocks
 * were in the uncompressed cache. Hence: closed days merged into one part (`compactClosedDays`), and
 * H3-only filters (`ResolvedRegion.h3Exact`) that skip the cell-key column. Region queries do not use
 * the uncompressed cache itself: a first query misses it almost everywhere, and inserting into a full
 * cache doubled its CPU (see `historyRows`).
 *
 * Retention: every history table is partitioned by day (`toYYYYMMDD`), and `dropOldPartitions`
 * drops whole days; there is no TTL clause because 18.16 rejects it. `compactClosedDays` merges
 * each closed day into one part (`OPTIMIZE … PARTITION … FINAL`).
 *
 * Identifiers: `sub` is the MSISDN as a number (internal only, never returned by the API); `cell`
 * is a 52-bit hash of the carrier's cell id (`cellKey`), stable across restarts and instances.
 */
export const INSIGHT_MIGRATIONS: ClickHouseMigration[] = [
  {
    version: 1,
    name: 'cells, moves (by destination and by origin), population snapshots, presence checkpoint',
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
      // Presence snapshots: people present per cell at each 5-minute boundary (total and per
      // carrier), written by the streaming stage, which holds live presence. Rewriting a bucket
      // replaces it; readers use FINAL (a streaming merge in key order, far cheaper here than a
      // GROUP BY over every (cell, bucket)).
      `CREATE TABLE IF NOT EXISTS insight_population_5m (
        bucket DateTime, cell UInt64, n UInt32, cmcc UInt32, cucc UInt32, ctcc UInt32
      ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(bucket) ORDER BY (cell, bucket)`,
      // The streaming stage's checkpoint: each subscriber's last state, versioned by stream
      // position. Read once at start-up to restore presence; never per query.
      `CREATE TABLE IF NOT EXISTS insight_presence (
        sub UInt64, cell UInt64, ts UInt64, carrier UInt8, gender UInt8, age UInt8, home UInt32,
        detached UInt8, pos UInt64
      ) ENGINE = ReplacingMergeTree(pos) ORDER BY sub`,
    ],
  },
  {
    version: 2,
    name: 'history sorted by place (H3 first): moves by destination and by origin, population snapshots',
    statements: [
      // Version 1 sorted history by the cell key, a hash: a region's cells were scattered over the
      // whole table and a query read ~37x the rows it needed (one 8192-row granule per cell per
      // day). Sorting by the cell's H3 index (res 9) first keeps neighbouring cells together, so a
      // region reads a few contiguous ranges (`h3 IN (…)` prunes by the primary key on 18.16).
      // Small granules (a cell has ~400 moves and 288 snapshots a day) keep the ranges' edges from
      // reading neighbours: 8192-row granules read 2.5x the rows a region needed.
      // Nothing is deployed yet: version 1's history is dropped rather than copied.
      'DROP TABLE IF EXISTS insight_moves_out_mv',
      'DROP TABLE IF EXISTS insight_moves_out',
      'DROP TABLE IF EXISTS insight_moves',
      'DROP TABLE IF EXISTS insight_population_5m',
      // One row per move (a subscriber's cell changed; from_cell = from_h3 = 0 for a first sighting),
      // sorted by destination: inflow, entries.
      `CREATE TABLE IF NOT EXISTS insight_moves_to (
        ts DateTime, sub UInt64, from_cell UInt64, to_cell UInt64, carrier UInt8, from_h3 UInt64, to_h3 UInt64
      ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (to_h3, to_cell, ts, sub, from_cell)
        SETTINGS index_granularity = 1024`,
      // The same moves sorted by origin: outflow.
      `CREATE TABLE IF NOT EXISTS insight_moves_from (
        ts DateTime, sub UInt64, from_cell UInt64, to_cell UInt64, carrier UInt8, from_h3 UInt64, to_h3 UInt64
      ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (from_h3, from_cell, ts, sub, to_cell)
        SETTINGS index_granularity = 1024`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS insight_moves_from_mv TO insight_moves_from
        AS SELECT ts, sub, from_cell, to_cell, carrier, from_h3, to_h3 FROM insight_moves_to`,
      // Presence snapshots: people present per cell at each 5-minute boundary (total and per
      // carrier). Rewriting a bucket replaces it; readers use FINAL.
      `CREATE TABLE IF NOT EXISTS insight_population (
        bucket DateTime, h3 UInt64, cell UInt64, n UInt32, cmcc UInt32, cucc UInt32, ctcc UInt32
      ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(bucket) ORDER BY (h3, cell, bucket)
        SETTINGS index_granularity = 512`,
    ],
  },
];

/** Day-partitioned history tables, for retention. */
export const INSIGHT_HISTORY_TABLES = [
  'insight_moves_to',
  'insight_moves_from',
  'insight_population',
] as const;
