import { CARRIERS } from '@geo/ingest';
import { list, selectRows, sql, type ClickHouseClient, type Sql } from '@geo/infra';
import type { Region } from '../contract.ts';
import { compileRegion } from '../geofence/point-in-region.ts';
import type { PresenceEvent } from '../presence/presence.ts';
import type { ReplayWindow } from './replay-task.ts';

/**
 * The movements a what-if replay reads (#21), from insight's history in ClickHouse: one row per
 * move (a subscriber's serving cell changed) in `insight_moves_to` (sorted by destination) and
 * `insight_moves_from` (by origin), the cells in `insight_cells`, and each subscriber's profile in
 * the presence checkpoint `insight_presence`. Read, never written: the tables are insight's (see
 * its schema, `insight/src/schema/migrations.ts`). Only the region's cells are read: both move
 * tables start their sort key with the cell's H3 index, so a district reads a few ranges.
 *
 * What the history does not hold, and so the replay does not know: detaches and silence (the
 * moves have no periodic updates; a person counts as present from their last move until their
 * next one), and how a profile changed over time (the checkpoint's latest is used).
 */

export interface RegionHistory {
  /** Each person inside the region at `from`: their cell, since when (their last move), profile. */
  before: PresenceEvent[];
  /** Moves into, inside and out of the region in `[from, to)`, in time order; leaving is a `detach`. */
  moves: PresenceEvent[];
  /** The region's serving cells known to insight. */
  cells: number;
  /** Query time, ms. */
  readMs: number;
}

/** How far back a person's last move into the region is looked for (insight keeps 7 days). @default 7 days */
export const HISTORY_LOOKBACK_MS = 7 * 86_400_000;

const GENDERS = [undefined, 'm', 'f'] as const;

/** A cell as read (aliases apart from the columns': ClickHouse's aliases are global to the query). */
interface CellRow {
  key: string;
  hex: string;
  nm: string;
  la: number;
  lo: number;
  k: number;
}
/** A move as read: time (s), subscriber, destination cell, carrier code (distinct aliases: ClickHouse's are global). */
interface MoveRow {
  t: number;
  s: string;
  c: string;
  k: number;
}
interface ProfileRow {
  s: string;
  gender: number;
  age: number;
  home: number;
}

/**
 * A city's lists passed 18.16's default max_query_size (256 KiB) and max_ast_elements (50,000 nodes:
 * an IN list's values are one each); the lists are the query's own values (formatted here), so
 * larger limits only let a larger region through.
 */
const SETTINGS = { max_query_size: '67108864', max_ast_elements: '2000000', max_expanded_ast_elements: '2000000' } as Record<
  string,
  string
>;
async function select<T>(ch: ClickHouseClient, q: Sql): Promise<T[]> {
  const rs = await ch.query({ query: q.text, format: 'JSONEachRow', clickhouse_settings: SETTINGS });
  return rs.json<T>();
}

/** The region's cells (exact test on each cell's position, as alerting decides). */
async function regionCells(ch: ClickHouseClient, region: Region): Promise<Map<string, CellRow>> {
  const r = compileRegion(region);
  const [w, s, e, n] = r.bbox;
  const rows = await selectRows<CellRow>(
    ch,
    sql`SELECT toString(cell) AS key, toString(any(h3)) AS hex, any(name) AS nm, any(lat) AS la, any(lng) AS lo, any(carrier) AS k
          FROM insight_cells WHERE lng >= ${w} AND lng <= ${e} AND lat >= ${s} AND lat <= ${n} GROUP BY cell`.text,
  );
  const out = new Map<string, CellRow>();
  for (const c of rows) if (c.k >= 1 && c.k <= 3 && r.contains(Number(c.lo), Number(c.la))) out.set(c.key, c);
  return out;
}

/**
 * Whether the history holds any move at all in `window`, anywhere (see WhatIfReply's
 * `windowHasHistory`): one granule of the window's day partitions at most (the tables are
 * partitioned by day; LIMIT 1).
 */
export async function historyInWindow(ch: ClickHouseClient, window: ReplayWindow): Promise<boolean> {
  const rows = await select<{ one: number }>(
    ch,
    sql`SELECT 1 AS one FROM insight_moves_to WHERE ts >= toDateTime(${Math.floor(window.from / 1000)}) AND ts < toDateTime(${Math.ceil(window.to / 1000)}) LIMIT 1`,
  );
  return rows.length > 0;
}

/**
 * Reads what a replay of `region` over `window` needs: who was inside at its start, and the moves
 * that touch the region during it.
 */
export async function readRegionHistory(
  ch: ClickHouseClient,
  region: Region,
  window: ReplayWindow,
  lookbackMs = HISTORY_LOOKBACK_MS,
): Promise<RegionHistory> {
  const t0 = performance.now();
  const cells = await regionCells(ch, region);
  if (cells.size === 0) return { before: [], moves: [], cells: 0, readMs: performance.now() - t0 };
  // The region's H3 cells alone pick the rows (the tables' sort keys start with them): a move to a
  // cell outside the region that shares an H3 cell with one inside is read too, and told apart here
  // by its cell (`toEvent`: out of the region, a detach). One list of H3 cells, fewer than the
  // serving cells, instead of the cells' keys beside them three times per subquery.
  const h3s = list([...new Set([...cells.values()].map((c) => BigInt(c.hex)))]);
  const fromS = Math.floor(window.from / 1000),
    toS = Math.ceil(window.to / 1000),
    sinceS = Math.floor((window.from - lookbackMs) / 1000);
  // Every move touching the region between two times: into or inside it (by destination), and out
  // of it (by origin, destination outside).
  const touching = (a: number, b: number): Sql => sql`
    SELECT ts, sub, to_cell, carrier FROM insight_moves_to
     WHERE to_h3 IN ${h3s} AND ts >= toDateTime(${a}) AND ts < toDateTime(${b})
    UNION ALL
    SELECT ts, sub, to_cell, carrier FROM insight_moves_from
     WHERE from_h3 IN ${h3s} AND ts >= toDateTime(${a}) AND ts < toDateTime(${b})`;
  // Inside at `from`: the last move touching the region before it went into the region (any move
  // out of it has its origin there; kept below when its cell is the region's). A move inside is in
  // both tables, and ReplacingMergeTree may hold a row twice: argMax/max and DISTINCT ignore that.
  const beforeQ = sql`
    SELECT toString(sub) AS s, toUInt32(max(ts)) AS t, toString(argMax(to_cell, ts)) AS c, any(carrier) AS k
      FROM (${touching(sinceS, fromS)}) GROUP BY sub`;
  const movesQ = sql`
    SELECT DISTINCT toUInt32(ts) AS t, toString(sub) AS s, toString(to_cell) AS c, carrier AS k
      FROM (${touching(fromS, toS)}) ORDER BY t, s`;
  const profilesQ = sql`
    SELECT toString(sub) AS s, gender, age, home FROM insight_presence FINAL
     WHERE sub IN (SELECT sub FROM (${touching(sinceS, toS)}))`;
  const [beforeRows, moveRows, profileRows] = await Promise.all([
    select<MoveRow>(ch, beforeQ),
    select<MoveRow>(ch, movesQ),
    select<ProfileRow>(ch, profilesQ),
  ]);
  const profiles = new Map(profileRows.map((p) => [p.s, p]));
  const toEvent = (m: MoveRow): PresenceEvent => {
    const p = profiles.get(m.s);
    const c = cells.get(m.c);
    const profile = {
      gender: p ? GENDERS[Number(p.gender)] : undefined,
      // Insight stores 0 for an age the carrier did not give.
      age: p && Number(p.age) > 0 ? Number(p.age) : undefined,
      home: p && Number(p.home) > 0 ? String(p.home).padStart(6, '0') : undefined,
    };
    const ts = Number(m.t) * 1000;
    const carrier = CARRIERS[Number(m.k) - 1] ?? 'cmcc';
    // Out of the region: where to does not matter to the task, only that they left it.
    if (!c) return { msisdn: m.s, carrier, ts, cell: '', lat: 0, lng: 0, kind: 'detach', ...profile };
    return {
      msisdn: m.s,
      carrier,
      ts,
      cell: c.nm,
      lat: Number(c.la),
      lng: Number(c.lo),
      kind: 'handover',
      ...profile,
    };
  };
  return {
    before: beforeRows.filter((m) => cells.has(m.c)).map(toEvent),
    moves: moveRows.map(toEvent),
    cells: cells.size,
    readMs: performance.now() - t0,
  };
}
