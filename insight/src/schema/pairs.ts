import { raw, selectRows, sql, type ClickHouseClient, type Logger } from '@geo/infra';

/**
 * Pair atoms per settled bucket (schema version 4, #24 part 1): for an hour, its hour bucket and
 * its twelve 5-minute buckets, the distinct people per (bucket, from cell → to cell), only pairs
 * with at least k — a pair under k is 0 in every answer (the grid of k, README "Privacy model").
 * First sightings (from 0) are kept like any pair: readers filter them exactly as the moves query does.
 */
const HOUR = 3_600_000;
/** Late moves are waited for this long before an hour is filled (history-cache's GRACE_MS). */
const GRACE_MS = 10 * 60_000;
const secs = (ms: number) => Math.floor(ms / 1000);

/**
 * At most this many consecutive hours per `INSERT … SELECT`: moves are sorted by place, not time,
 * so any hour's fill reads its whole day's columns (the day is the partition); a few hours at once
 * read it fewer times, while the GROUP BY (one uniqExact set per bucket and pair, most of them one
 * person) stays a few hundred MB at 1M subscribers.
 */
const HOURS_PER_FILL = 3;

/** One `INSERT … SELECT` into `table` from the moves of `hours` hours starting at `hourMs`. */
function fillSql(table: string, hourMs: number, k: number, hours = 1) {
  const from = secs(hourMs);
  const kk = Math.max(1, Math.floor(k));
  return sql`INSERT INTO ${raw(table)} (bucket, kind, from_cell, to_cell, from_h3, to_h3, n)
    SELECT bucket, kind, from_cell, to_cell, from_h3, to_h3, toUInt32(uniqExact(sub)) AS n FROM (
      SELECT sub, from_cell, to_cell, from_h3, to_h3, tupleElement(bk, 1) AS bucket, tupleElement(bk, 2) AS kind FROM (
        SELECT sub, from_cell, to_cell, from_h3, to_h3,
          arrayJoin([(toStartOfHour(ts), toUInt8(1)), (toStartOfFiveMinute(ts), toUInt8(2))]) AS bk
        FROM insight_moves_to
        WHERE ts >= toDateTime(${raw(String(from))}) AND ts < toDateTime(${raw(String(from + 3600 * hours))})))
    GROUP BY bucket, kind, from_cell, to_cell, from_h3, to_h3
    HAVING n >= ${raw(String(kk))}`;
}

/**
 * Fills (or refills) the pair atoms of each hour in `hoursMs` (hour starts, ms) at `k`, then records
 * the hour as filled with that k. A refill rewrites each pair's row with the same key (its n can
 * only have grown: moves are only added), and adds the pairs that reached k.
 */
export async function fillPairHours(ch: ClickHouseClient, hoursMs: number[], k: number): Promise<void> {
  for (const run of hourRuns(hoursMs)) {
    const first = run[0]!;
    await ch.command({ query: fillSql('insight_pairs_to', first, k, run.length).text });
    await ch.command({ query: fillSql('insight_pairs_from', first, k, run.length).text });
    const filled = Date.now() * 1000 + Math.floor(Math.random() * 1000);
    const kk = Math.max(1, Math.floor(k));
    await ch.command({
      query: `INSERT INTO insight_pairs_hours (hour, k, filled) VALUES ${run.map((h) => `(toDateTime(${secs(h)}), ${kk}, ${filled})`).join(',')}`,
    });
  }
}

/** Hours (start ms) in order, cut into runs of consecutive hours, at most `HOURS_PER_FILL` each. */
function hourRuns(hoursMs: number[]): number[][] {
  const runs: number[][] = [];
  for (const h of [...new Set(hoursMs)].sort((a, b) => a - b)) {
    const last = runs[runs.length - 1];
    if (last && last.length < HOURS_PER_FILL && last[last.length - 1]! + HOUR === h) last.push(h);
    else runs.push([h]);
  }
  return runs;
}

/** The hours filled with a k no larger than `k` (hour start ms), from `fromMs` on. */
export async function filledPairHours(ch: ClickHouseClient, k: number, fromMs: number): Promise<Set<number>> {
  const rows = await selectRows<{ h: string }>(
    ch,
    `SELECT toUInt64(hour) AS h FROM (SELECT hour, argMax(k, filled) AS fill_k FROM insight_pairs_hours
       WHERE hour >= toDateTime(${secs(fromMs)}) GROUP BY hour) WHERE fill_k <= ${Math.max(1, Math.floor(k))}`,
  );
  return new Set(rows.map((r) => Number(r.h) * 1000));
}

/**
 * Hours with moves in [fromMs, edgeMs) that are not filled with exactly `k` (never filled, or with
 * another k): what a new lease holder fills first. Reads the moves' `ts` column over the range.
 */
export async function unfilledPairHours(ch: ClickHouseClient, k: number, fromMs: number, edgeMs: number): Promise<number[]> {
  return (await scanPairHours(ch, k, fromMs, edgeMs)).unfilled;
}

/**
 * The hours in [fromMs, edgeMs) (hour-aligned) not filled with exactly `k`: those with moves
 * (`unfilled`) and those without any (`empty`: nothing to fill, only to record).
 */
async function scanPairHours(
  ch: ClickHouseClient,
  k: number,
  fromMs: number,
  edgeMs: number,
): Promise<{ unfilled: number[]; empty: number[] }> {
  const kk = Math.max(1, Math.floor(k));
  const [moved, recorded] = await Promise.all([
    selectRows<{ h: string }>(
      ch,
      `SELECT DISTINCT toUInt64(toStartOfHour(ts)) AS h FROM insight_moves_to
       WHERE ts >= toDateTime(${secs(fromMs)}) AND ts < toDateTime(${secs(edgeMs)})`,
    ),
    selectRows<{ h: string }>(
      ch,
      `SELECT toUInt64(hour) AS h FROM (SELECT hour, argMax(k, filled) AS fill_k FROM insight_pairs_hours
       WHERE hour >= toDateTime(${secs(fromMs)}) AND hour < toDateTime(${secs(edgeMs)}) GROUP BY hour) WHERE fill_k = ${kk}`,
    ),
  ]);
  const withMoves = new Set(moved.map((r) => Number(r.h) * 1000));
  const done = new Set(recorded.map((r) => Number(r.h) * 1000));
  const unfilled: number[] = [];
  const empty: number[] = [];
  for (let h = Math.ceil(fromMs / HOUR) * HOUR; h < edgeMs; h += HOUR) {
    if (done.has(h)) continue;
    (withMoves.has(h) ? unfilled : empty).push(h);
  }
  return { unfilled, empty };
}

/** Records hours without moves as filled (nothing to write: every pair is 0). */
async function recordEmptyHours(ch: ClickHouseClient, hoursMs: number[], k: number): Promise<void> {
  if (hoursMs.length === 0) return;
  const filled = Date.now() * 1000;
  const kk = Math.max(1, Math.floor(k));
  await ch.command({
    query: `INSERT INTO insight_pairs_hours (hour, k, filled) VALUES ${hoursMs.map((h) => `(toDateTime(${secs(h)}), ${kk}, ${filled})`).join(',')}`,
  });
}

/**
 * The sink lease holder's fill step. The storage reports the hours its written moves fell in
 * (`touched`); `run` fills every such hour once it has settled (ended `GRACE_MS` before the newest
 * event applied), so an hour touched by late moves is filled again. Its first run also fills the
 * hours in the window that were never filled with this k (a new holder, a changed k).
 */
export class PairFiller {
  private readonly pending = new Set<number>();
  /** Hours before this (ms) have been scanned: filled, recorded empty, or pending. */
  private scannedUpTo = 0;
  private running?: Promise<number[]>;
  /** Hours filled so far. */
  filled = 0;

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly k: number,
    private readonly log?: Logger,
  ) {}

  /** Hours (start ms) that written moves fell in. */
  touched(hoursMs: Iterable<number>): void {
    for (const h of hoursMs) this.pending.add(h);
  }

  /** Fills the settled hours pending (one run at a time); `settledAt` = the newest event applied, `fromMs` = the window's start. */
  run(settledAt: number, fromMs: number): Promise<number[]> {
    if (!this.running) this.running = this.runNow(settledAt, fromMs).finally(() => (this.running = undefined));
    return this.running;
  }

  private async runNow(settledAt: number, fromMs: number): Promise<number[]> {
    const edge = settledAt - GRACE_MS;
    // Hours that settled since the last run (at the first, the whole window): those with moves not
    // filled with this k are filled below, those without any are recorded as filled (readers need
    // an unbroken run of filled hours).
    const edgeHour = Math.floor(edge / HOUR) * HOUR;
    const scanFrom = Math.max(this.scannedUpTo, fromMs);
    if (edgeHour > scanFrom) {
      const { unfilled, empty } = await scanPairHours(this.ch, this.k, scanFrom, edgeHour);
      // A move of an hour said empty that is written after the scan touches it: it is filled then.
      await recordEmptyHours(this.ch, empty, this.k);
      this.touched(unfilled);
      this.scannedUpTo = edgeHour;
    }
    const due = [...this.pending].filter((h) => h + HOUR <= edge && h >= fromMs).sort((a, b) => a - b);
    for (const h of this.pending) if (h < fromMs) this.pending.delete(h);
    for (const run of hourRuns(due)) {
      // A few hours at a time, taken off the list before they are read: a move written meanwhile puts its hour back.
      for (const h of run) this.pending.delete(h);
      try {
        await fillPairHours(this.ch, run, this.k);
        this.filled += run.length;
      } catch (err) {
        this.touched(run);
        throw err;
      }
    }
    if (due.length) this.log?.debug({ hours: due.length }, 'filled pair atoms of settled hours');
    return due;
  }
}
