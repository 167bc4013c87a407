import { raw, sql, list, type ClickHouseClient, type Sql } from '@geo/infra';
import { atomSql } from './privacy.ts';
import { secs } from './time.ts';

/** One query's rows: what (`d`), a bucket / subscriber (`key`), a value, a move's cells. */
export const IN = 1;
export const OUT = 2;
export const POP = 4;
/**
 * Per person and crossing pair (from cell → to cell), the last time (s) they entered (from 0: a
 * first sighting, which counts for dwell but not as inflow) and left; settled = code, fresh = code + 1.
 */
export const ENTRY = 10;
export const LEFT = 14;
// Flow keys: bucket seconds × 8 + kind (an hour, a 5-minute bucket).
export const K_HOUR = 1;
export const K_FIVE = 2;

const dt = (ms: number): Sql => raw(`toDateTime(${secs(ms)})`);
// Big regions make long IN lists; 18.16's default max_query_size (256 KiB) would refuse them.
// No uncompressed cache (on by default in 18.16, off in current releases): a first query's blocks
// are almost all misses, and inserting them into a full cache (evicting others) cost more than the
// hits saved. A/B on one 1M-subscriber bench database, 25 regions, quiet machine: first-query p95
// 233–294 ms with the cache, 153–155 ms without (ClickHouse CPU ~2× on misses into a full cache);
// polls 45–59 vs 60–72 ms.
const SETTINGS = { max_query_size: '67108864', use_uncompressed_cache: '0' } as Record<string, string>;

export interface HistoryRange {
  /** Snapshots from here; none read when undefined (they come from the population ring). */
  popFrom?: number;
  in5From: number;
  out5From: number;
  in1hFrom: number;
  out1hFrom: number;
  /** Per-person last entry / inflow / outflow times from here (ms)… */
  subsFrom: number;
  /** …split at this edge: rows before it are settled (cacheable), from it on fresh. */
  subsEdge: number;
  /**
   * The privacy grid: flow series are sums over crossing (from cell → to cell) pairs of the
   * pair's distinct people, each quantised to the grid of k (`atom`); snapshots sum cells' counts,
   * each quantised the same way. @default 1 (exact sums)
   */
  k?: number;
}

/** One history row: what (`d`), a bucket / subscriber (`key`), a value, and for per-person rows the move's (from, to) cell keys. */
export type HistoryRow = [d: number, key: number, value: number, from: number, to: number];

/**
 * How a history query tells the region's rows: by the cells' keys (always exact), or — when no known
 * cell outside the region shares an H3 cell with one inside (`ResolvedRegion.h3Exact`) — by the H3
 * columns alone, which the primary key needs anyway: one column fewer to read and decompress.
 */
export interface RegionFilter {
  keys: number[];
  h3s: string[];
  h3Exact: boolean;
}

/**
 * The region's history in one round trip: `[d, key, value]` rows for inflow and outflow
 * (hourly, 5-minute, last hour, since midnight: distinct people, exact), each present-able
 * person's last entry within 8 h, and the population snapshots.
 *
 * Cost: a region's cells form a few dozen runs in H3 order, and each run costs a compressed block
 * (≥ 64 KiB) per column per part whatever few rows it needs, so a first query's time goes with
 * runs × parts × columns (a 150-cell region reads ~0.8M rows of a week for ~0.4M it needs). Closed
 * days are merged into one part each (`compactClosedDays`) and the H3-only filter drops a column.
 */
export async function historyRows(ch: ClickHouseClient, region: RegionFilter, at: number, r: HistoryRange): Promise<HistoryRow[]> {
  const { keys, h3s } = region;
  const R = list(keys);
  const k = Math.max(1, Math.floor(r.k ?? 1));
  // Decimal H3 indexes produced by CellDictionary (digits only), not user input.
  const H = raw(`(${h3s.map((h) => (/^\d+$/.test(h) ? h : '0')).join(',')})`);
  // "To / from a cell inside" and "from a known cell outside" (from = 0: a first sighting).
  const toIn = region.h3Exact ? sql`to_h3 IN ${H}` : sql`to_h3 IN ${H} AND to_cell IN ${R}`;
  const fromIn = region.h3Exact ? sql`from_h3 IN ${H}` : sql`from_h3 IN ${H} AND from_cell IN ${R}`;
  const fromOut = region.h3Exact ? sql`from_h3 NOT IN ${H}` : sql`from_cell NOT IN ${R}`;
  const knownFrom = region.h3Exact ? raw('from_h3 != 0') : raw('from_cell != 0');
  const toOut = region.h3Exact ? sql`to_h3 NOT IN ${H}` : sql`to_cell NOT IN ${R}`;
  const flowKeys = (inFive: number, inHour: number) =>
    raw(`arrayJoin(arrayFilter(x -> x != 0, [
      if(ts >= ${secs(inHour)}, toUInt64(toStartOfHour(ts)) * 8 + ${K_HOUR}, 0),
      if(ts >= ${secs(inFive)}, toUInt64(toStartOfFiveMinute(ts)) * 8 + ${K_FIVE}, 0)]))`);
  const lo = (a: number, b: number) => dt(Math.min(a, b));
  // A flow bucket is the sum over crossing (from cell → to cell) pairs of the pair's distinct
  // people, each pair's count quantised to the grid of k (privacy atoms; see README).
  const pairSums = (code: number, table: string, where: Sql, inFive: number, inHour: number) => sql`
    SELECT toUInt8(${raw(String(code))}) AS d, key, toUInt64(sum(${raw(atomSql('n', k))})) AS v, toUInt64(0) AS a, toUInt64(0) AS b FROM (
      SELECT key, from_cell, to_cell, uniqExact(sub) AS n FROM (
        SELECT sub, from_cell, to_cell, ${flowKeys(inFive, inHour)} AS key FROM ${raw(table)}
        WHERE ${where} AND ts >= ${lo(inFive, inHour)} AND ts <= ${dt(at)}
      ) GROUP BY key, from_cell, to_cell
    ) GROUP BY key`;
  // Settled (before the edge) or fresh: `settled` code, `settled + 1`. Per person and crossing
  // pair, the last time: entries (a first sighting, from 0, counts: dwell) and outflows.
  const part = (settled: number) => raw(`toUInt8(if(ts < ${secs(r.subsEdge)}, ${settled}, ${settled + 1}))`);
  const q = sql`
    ${pairSums(IN, 'insight_moves_to', sql`${toIn} AND ${fromOut} AND ${knownFrom}`, r.in5From, r.in1hFrom)}
    UNION ALL
    ${pairSums(OUT, 'insight_moves_from', sql`${fromIn} AND ${toOut}`, r.out5From, r.out1hFrom)}
    UNION ALL
    SELECT ${part(ENTRY)} AS d, sub AS key, toUInt64(max(ts)) AS v, from_cell AS a, to_cell AS b FROM insight_moves_to
    WHERE ${toIn} AND ${fromOut} AND ts >= ${dt(r.subsFrom)} AND ts <= ${dt(at)}
    GROUP BY d, sub, from_cell, to_cell
    UNION ALL
    SELECT ${part(LEFT)} AS d, sub AS key, toUInt64(max(ts)) AS v, from_cell AS a, to_cell AS b FROM insight_moves_from
    WHERE ${fromIn} AND ${toOut} AND ts >= ${dt(r.subsFrom)} AND ts <= ${dt(at)}
    GROUP BY d, sub, from_cell, to_cell${
      r.popFrom === undefined
        ? raw('')
        : sql`
    UNION ALL
    SELECT toUInt8(${POP}) AS d, toUInt64(bucket) AS key, toUInt64(sum(${raw(atomSql('n', k))})) AS v, toUInt64(0) AS a, toUInt64(0) AS b FROM (
      SELECT bucket, cell, n FROM insight_population FINAL
      WHERE h3 IN ${H} AND cell IN ${R} AND bucket >= ${dt(r.popFrom)} AND bucket <= ${dt(at)}
    ) GROUP BY bucket`
    }`;
  const rs = await ch.query({ query: q.text, format: 'TabSeparated', clickhouse_settings: SETTINGS });
  const text = await rs.text();
  const out: HistoryRow[] = [];
  for (let a = 0; a < text.length;) {
    let b = text.indexOf('\n', a);
    if (b < 0) b = text.length;
    const t1 = text.indexOf('\t', a);
    const t2 = text.indexOf('\t', t1 + 1);
    const t3 = text.indexOf('\t', t2 + 1);
    const t4 = text.indexOf('\t', t3 + 1);
    out.push([
      Number(text.slice(a, t1)),
      Number(text.slice(t1 + 1, t2)),
      Number(text.slice(t2 + 1, t3)),
      Number(text.slice(t3 + 1, t4)),
      Number(text.slice(t4 + 1, b)),
    ]);
    a = b + 1;
  }
  return out;
}
