import { raw, sql, type ClickHouseClient, type Sql } from '@geo/infra';
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
  // The region's cells as one array literal in a subquery, not a tuple: 18.16 spent ~150–300 ms
  // analysing four 2,601-element tuples (a whole city) even on an empty table, 15–40 ms this way
  // (measured on a scratch server at load ~25). The pair tables are small (busy edges only).
  // Typed: 18.16 wants the subquery's type to match the column's (small literals would be UInt8).
  const R = raw(`(SELECT arrayJoin(CAST([${keys.map((x) => String(Math.trunc(Number(x)))).join(',')}] AS Array(UInt64))))`);
  const k = Math.max(1, Math.floor(r.k));
  const H = raw(`(SELECT arrayJoin(CAST([${h3s.map((h) => (/^\d+$/.test(h) ? h : '0')).join(',')}] AS Array(UInt64))))`);
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

const HOUR = 3_600_000;

/**
 * Which hours' pair atoms a region query may read (`insight_pairs_hours`, refreshed at most every
 * `refreshMs`): filled with a k no larger than the reader's, and not touched by a move applied since
 * (a late move: the hour is read from the moves again until a fill recorded after it).
 */
export class PairHours {
  private filled = new Map<number, number>();
  private readonly dirty = new Map<number, number>();
  private fetched = 0;
  private refreshing?: Promise<void>;
  /** Region queries that read part of their flow series here. */
  reads = 0;

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly k: number,
    private readonly refreshMs = 15_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** A move in the hour starting at `hourMs` was applied: its pair rows may be stale. */
  touched(hourMs: number): void {
    this.filled.delete(hourMs);
    this.dirty.set(hourMs, this.clock());
  }

  /** Reads the fill records again now. */
  refresh(fromMs: number): Promise<void> {
    this.refreshing ??= filledPairHoursAt(this.ch, this.k, fromMs)
      .then((rows) => {
        const next = new Map<number, number>();
        for (const [h, filledAt] of rows) {
          const dirtyAt = this.dirty.get(h);
          if (dirtyAt !== undefined && filledAt <= dirtyAt) continue;
          this.dirty.delete(h);
          next.set(h, filledAt);
        }
        for (const h of this.dirty.keys()) if (h < fromMs) this.dirty.delete(h);
        this.filled = next;
        this.fetched = this.clock();
      })
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /**
   * The end of the run of filled hours that starts at the hour holding `fromMs` (an hour start;
   * `fromMs` rounded down when nothing is filled there).
   */
  async upTo(fromMs: number): Promise<number> {
    if (this.clock() - this.fetched >= this.refreshMs) {
      try {
        await this.refresh(fromMs - 8 * 24 * HOUR);
      } catch {
        // The records could not be read (ClickHouse busy or down): read the moves, as before pairs.
        return Math.floor(fromMs / HOUR) * HOUR;
      }
    }
    let h = Math.floor(fromMs / HOUR) * HOUR;
    while (this.filled.has(h)) h += HOUR;
    return h;
  }
}

/** Filled hours (start ms) with a k no larger than `k`, and when their latest fill was recorded (ms). */
async function filledPairHoursAt(ch: ClickHouseClient, k: number, fromMs: number): Promise<[number, number][]> {
  const rs = await ch.query({
    query: `SELECT toUInt64(hour) AS h, intDiv(last, 1000) AS f FROM (SELECT hour, argMax(k, filled) AS fill_k, max(filled) AS last
       FROM insight_pairs_hours WHERE hour >= toDateTime(${secs(fromMs)}) GROUP BY hour) WHERE fill_k <= ${Math.max(1, Math.floor(k))}`,
    format: 'TabSeparated',
  });
  const text = (await rs.text()).trim();
  if (!text) return [];
  return text.split('\n').map((l) => {
    const [h, f] = l.split('\t');
    return [Number(h) * 1000, Number(f)];
  });
}
