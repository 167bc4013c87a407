import { list, raw, sql, type ClickHouseClient, type Sql } from '@geo/infra';
import { atomSql } from './privacy.ts';
import { IN, K_FIVE, K_HOUR, OUT, type HistoryRow, type RegionFilter } from './history-query.ts';
import { secs } from './time.ts';

const SETTINGS = { max_query_size: '67108864', use_uncompressed_cache: '0' } as Record<string, string>;

/** Which settled buckets to read from the pair tables: [from, upTo) per series (ms, bucket-aligned). */
export interface PairRange {
  in5From: number;
  out5From: number;
  in1hFrom: number;
  out1hFrom: number;
  /** Buckets before this edge (an hour start: every hour before it filled) come from the pair tables. */
  upTo: number;
  k: number;
}

/**
 * The flow series rows (`IN` / `OUT`, key = bucket s × 8 + kind) of settled buckets, from the pair
 * atoms (`insight_pairs_to` / `insight_pairs_from`, schema version 4) instead of the moves: the same
 * crossing filters as `historyRows` on the pair's cells, and per bucket the sum of each pair's atom.
 * Equal to `historyRows`' rows for those buckets when every hour before `upTo` is filled with a k no
 * larger than `r.k` (a pair left out is under k: 0 either way).
 */
export async function pairFlowRows(ch: ClickHouseClient, region: RegionFilter, r: PairRange): Promise<HistoryRow[]> {
  const { keys, h3s } = region;
  if (keys.length === 0) return [];
  const R = list(keys);
  const k = Math.max(1, Math.floor(r.k));
  const H = raw(`(${h3s.map((h) => (/^\d+$/.test(h) ? h : '0')).join(',')})`);
  const toIn = region.h3Exact ? sql`to_h3 IN ${H}` : sql`to_h3 IN ${H} AND to_cell IN ${R}`;
  const fromIn = region.h3Exact ? sql`from_h3 IN ${H}` : sql`from_h3 IN ${H} AND from_cell IN ${R}`;
  const fromOut = region.h3Exact ? sql`from_h3 NOT IN ${H}` : sql`from_cell NOT IN ${R}`;
  const knownFrom = region.h3Exact ? raw('from_h3 != 0') : raw('from_cell != 0');
  const toOut = region.h3Exact ? sql`to_h3 NOT IN ${H}` : sql`to_cell NOT IN ${R}`;
  const t = (ms: number) => raw(`toDateTime(${secs(ms)})`);
  const buckets = (fiveFrom: number, hourFrom: number) =>
    sql`((kind = ${raw(String(K_HOUR))} AND bucket >= ${t(hourFrom)}) OR (kind = ${raw(String(K_FIVE))} AND bucket >= ${t(fiveFrom)}))
      AND bucket >= ${t(Math.min(fiveFrom, hourFrom))} AND bucket < ${t(r.upTo)}`;
  const sums = (code: number, table: string, where: Sql, fiveFrom: number, hourFrom: number) => sql`
    SELECT toUInt8(${raw(String(code))}) AS d, key, toUInt64(sum(${raw(atomSql('n', k))})) AS v, toUInt64(0) AS a, toUInt64(0) AS b FROM (
      SELECT toUInt64(bucket) * 8 + kind AS key, from_cell, to_cell, max(n) AS n FROM ${raw(table)}
      WHERE ${where} AND ${buckets(fiveFrom, hourFrom)}
      GROUP BY key, from_cell, to_cell
    ) GROUP BY key`;
  const q = sql`
    ${sums(IN, 'insight_pairs_to', sql`${toIn} AND ${fromOut} AND ${knownFrom}`, r.in5From, r.in1hFrom)}
    UNION ALL
    ${sums(OUT, 'insight_pairs_from', sql`${fromIn} AND ${toOut}`, r.out5From, r.out1hFrom)}`;
  const rs = await ch.query({ query: q.text, format: 'TabSeparated', clickhouse_settings: SETTINGS });
  const text = (await rs.text()).trim();
  if (!text) return [];
  return text.split('\n').map((l) => l.split('\t').map(Number) as HistoryRow);
}
