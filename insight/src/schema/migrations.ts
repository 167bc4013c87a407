import type { ClickHouseMigration } from '@geo/infra';
import { cellKeySql } from '../sink/cells.ts';

/**
 * Insight's ClickHouse schema. Runs on 18.16 and current releases (no TTL, LowCardinality,
 * DateTime64, window functions).
 *
 * Idempotence: the sink may write the same rows twice (a JetStream redelivery after a crash
 * between insert and ack, or an insert that timed out but landed). Every table is therefore a
 * ReplacingMergeTree whose sort key is the row's identity, read with `any()`, `max()`, `FINAL` or
 * `uniqExact(sub)`, none of which a duplicate changes. Queries never `count()` raw rows.
 *
 * Why no per-cell-pair flow rollup of moves (summed or uniq states): a region's inflow must exclude moves inside the region, so a
 * rollup would need (to_cell, from_cell, bucket) keys. Summed move counts per key (SummingMergeTree)
 * would be small but count moves, not people: someone who enters twice in an hour (in, out, in again
 * across a border) counts twice, and the series are distinct people, checked exactly against the
 * simulator. Exact distinct counts per key need `uniqExactState(sub)`, whose states hold every
 * subscriber again; measured here such materialized views cost 4.4 s per 500k moves (3.5× the
 * insert itself) because almost every row is its own group (an hour × a cell pair holds ~4 moves at
 * 1M subscribers). Moves sorted by (to_h3, to_cell, ts) and (from_h3, from_cell, ts) answer the
 * same questions exactly, reading only the region's cells. The per-cell 5-minute rollup is the
 * presence snapshot. What version 4 adds is not such a view: the grid of k makes a pair under k 0
 * in every answer, so once an hour settles its pairs with at least k are written, one `INSERT …
 * SELECT` per hour (`src/schema/pairs.ts`), few rows (only busy edges).
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
 * is a 52-bit hash of the carrier and its cell id (`cellKey`), stable across restarts and
 * instances: a cell id is unique only within its carrier's network (DESIGN.md invariant 8), so
 * cmcc's and ctcc's cell "X" are two cells with their own rows, places and privacy atoms.
 */
/**
 * Cluster mode (`CLICKHOUSE_URL=…?cluster=<name>&nodes=…`, infra's cluster.ts): each table below is
 * `<table>_local` on every shard and `<table>` a Distributed table over them, sharded so that every
 * row a ReplacingMergeTree must merge, and every row a per-subscriber question needs, is on one shard:
 * - moves and the presence checkpoint by subscriber: a subscriber's moves (both sort orders, the
 *   materialized view writing `insight_moves_from` on the shard that took the move) and its
 *   checkpoint versions meet on one shard, so `FINAL` and per-subscriber `GROUP BY sub` answer per
 *   shard exactly as on one node, and `uniqExact(sub)` states merge exactly across shards;
 * - population snapshots and cells by cell: a rewritten (cell, bucket) snapshot replaces the old one
 *   on the same shard, which `FINAL` needs.
 */
const BY_SUB = 'cityHash64(sub)';
const BY_CELL = 'cityHash64(cell)';

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
    shardBy: {
      insight_cells: BY_CELL,
      insight_moves: BY_SUB,
      insight_moves_out: BY_SUB,
      insight_population_5m: BY_CELL,
      insight_presence: BY_SUB,
    },
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
    shardBy: { insight_moves_to: BY_SUB, insight_moves_from: BY_SUB, insight_population: BY_CELL },
  },
  {
    version: 3,
    name: 'cells keyed by (carrier, cell id): version 2 keys rewritten, cells and snapshots split per carrier',
    statements: [
      // Version 2 keyed a cell by its id alone, so two carriers' cells sharing an id were one cell,
      // at whichever place was seen first. A version-3 key is the version-2 key XOR a per-carrier
      // constant (`cellKey`), so the rewrite is SQL: every move and checkpoint row carries the
      // subscriber's carrier, whose network its cells belong to. Each old cell becomes one cell per
      // carrier that used it (in a move or the checkpoint), at the old place (which carrier's place
      // it was cannot be told any more). Snapshot rows split into one row per carrier. The new
      // tables are filled, then swapped in by one RENAME; the old ones are dropped.
      'DROP TABLE IF EXISTS insight_moves_from_mv',
      ...['insight_cells_v3', 'insight_moves_to_v3', 'insight_moves_from_v3', 'insight_population_v3', 'insight_presence_v3'].map(
        (t) => `DROP TABLE IF EXISTS ${t}`,
      ),
      `CREATE TABLE insight_cells_v3 (
        cell UInt64, name String, lat Float64, lng Float64, h3 UInt64, city UInt32, first_seen DateTime, carrier UInt8
      ) ENGINE = ReplacingMergeTree ORDER BY cell`,
      `INSERT INTO insight_cells_v3
        SELECT ${cellKeySql('cell', 'used_by')}, name, lat, lng, h3, city, first_seen, used_by
        FROM insight_cells ALL INNER JOIN (
          SELECT DISTINCT cell, used_by FROM (
            SELECT to_cell AS cell, carrier AS used_by FROM insight_moves_to
            UNION ALL SELECT from_cell AS cell, carrier AS used_by FROM insight_moves_to WHERE from_cell != 0
            UNION ALL SELECT cell, carrier AS used_by FROM insight_presence WHERE cell != 0)
        ) USING cell`,
      'CREATE TABLE insight_moves_to_v3 AS insight_moves_to',
      'CREATE TABLE insight_moves_from_v3 AS insight_moves_from',
      ...['insight_moves_to_v3', 'insight_moves_from_v3'].map(
        (t) => `INSERT INTO ${t}
        SELECT ts, sub, if(from_cell = 0, toUInt64(0), ${cellKeySql('from_cell', 'carrier')}), ${cellKeySql('to_cell', 'carrier')}, carrier, from_h3, to_h3
        FROM insight_moves_to`,
      ),
      'CREATE TABLE insight_population_v3 AS insight_population',
      // n counts everyone, the carrier columns the known carriers; the rest (carrier 0) keeps the id's key.
      `INSERT INTO insight_population_v3
        SELECT bucket, h3, ${cellKeySql('cell', 'tupleElement(pc, 1)')}, tupleElement(pc, 2),
          if(tupleElement(pc, 1) = 1, tupleElement(pc, 2), 0), if(tupleElement(pc, 1) = 2, tupleElement(pc, 2), 0),
          if(tupleElement(pc, 1) = 3, tupleElement(pc, 2), 0)
        FROM (SELECT bucket, h3, cell, arrayJoin([(toUInt8(0), toUInt32(n - cmcc - cucc - ctcc)), (toUInt8(1), cmcc), (toUInt8(2), cucc), (toUInt8(3), ctcc)]) AS pc
              FROM insight_population FINAL)
        WHERE tupleElement(pc, 2) > 0`,
      'CREATE TABLE insight_presence_v3 AS insight_presence',
      `INSERT INTO insight_presence_v3
        SELECT sub, if(cell = 0, toUInt64(0), ${cellKeySql('cell', 'carrier')}), ts, carrier, gender, age, home, detached, pos
        FROM insight_presence FINAL`,
      `RENAME TABLE insight_cells TO insight_cells_v2, insight_cells_v3 TO insight_cells,
        insight_moves_to TO insight_moves_to_v2, insight_moves_to_v3 TO insight_moves_to,
        insight_moves_from TO insight_moves_from_v2, insight_moves_from_v3 TO insight_moves_from,
        insight_population TO insight_population_v2, insight_population_v3 TO insight_population,
        insight_presence TO insight_presence_v2, insight_presence_v3 TO insight_presence`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS insight_moves_from_mv TO insight_moves_from
        AS SELECT ts, sub, from_cell, to_cell, carrier, from_h3, to_h3 FROM insight_moves_to`,
      ...['insight_cells_v2', 'insight_moves_to_v2', 'insight_moves_from_v2', 'insight_population_v2', 'insight_presence_v2'].map(
        (t) => `DROP TABLE IF EXISTS ${t}`,
      ),
    ],
    // The _v3 tables are sharded as the tables they replace. In cluster mode each node rewrites its
    // own rows (moves and checkpoints keep their subscriber, so their shard); the version-2 cells and
    // snapshots keyed by the old cell key would land on other shards, which is why cluster mode
    // started at version 3 (nothing was deployed on a cluster before it).
    shardBy: {
      insight_cells_v3: BY_CELL,
      insight_moves_to_v3: BY_SUB,
      insight_moves_from_v3: BY_SUB,
      insight_population_v3: BY_CELL,
      insight_presence_v3: BY_SUB,
    },
  },
  {
    version: 4,
    name: 'pair atoms per settled bucket: distinct people per (bucket, from cell → to cell) with at least k, by destination and by origin',
    statements: [
      // Big regions (#24): a region's flow series is a sum over crossing pairs of the pair's
      // distinct people in the bucket, each on the grid of k, and a pair under k is 0 in every
      // answer. So once an hour settles, its hour and its twelve 5-minute buckets are written here
      // per pair, only pairs with n >= k (\`fillPairHours\`, src/schema/pairs.ts): a region's week of
      // series reads the busy edges around its cells instead of a week of moves. The same rows twice,
      // sorted for inflow (by destination) and outflow (by origin). kind: 1 an hour, 2 a 5-minute
      // bucket (history-query's K_HOUR / K_FIVE). A refill (late moves, a smaller k) rewrites a
      // pair's row with the same key: read with max(n) per pair.
      `CREATE TABLE IF NOT EXISTS insight_pairs_to (
        bucket DateTime, kind UInt8, from_cell UInt64, to_cell UInt64, from_h3 UInt64, to_h3 UInt64, n UInt32
      ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(bucket) ORDER BY (to_h3, to_cell, bucket, kind, from_cell)
        SETTINGS index_granularity = 1024`,
      `CREATE TABLE IF NOT EXISTS insight_pairs_from (
        bucket DateTime, kind UInt8, from_cell UInt64, to_cell UInt64, from_h3 UInt64, to_h3 UInt64, n UInt32
      ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(bucket) ORDER BY (from_h3, from_cell, bucket, kind, to_cell)
        SETTINGS index_granularity = 1024`,
      // Which hours are filled, and with which k (the latest fill wins): readers use the pair rows
      // of an hour only when it was filled with a k no larger than theirs (rows under their k are
      // then 0 anyway); a changed k refills.
      `CREATE TABLE IF NOT EXISTS insight_pairs_hours (
        hour DateTime, k UInt32, filled UInt64
      ) ENGINE = ReplacingMergeTree(filled) PARTITION BY toYYYYMMDD(hour) ORDER BY hour`,
    ],
    // Pair rows by the cell their sort key starts with (a refill replaces a row on its own shard);
    // they are filled from the Distributed moves table, so each pair's distinct people are counted
    // over every shard's subscribers exactly.
    shardBy: {
      insight_pairs_to: 'cityHash64(to_cell)',
      insight_pairs_from: 'cityHash64(from_cell)',
      insight_pairs_hours: 'cityHash64(hour)',
    },
  },
];

/** Day-partitioned history tables, for retention. */
export const INSIGHT_HISTORY_TABLES = [
  'insight_moves_to',
  'insight_moves_from',
  'insight_population',
  'insight_pairs_to',
  'insight_pairs_from',
  'insight_pairs_hours',
] as const;
