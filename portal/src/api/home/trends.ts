import { ident, selectRows, sql, type ClickHouseClient } from '@geo/infra';

/** One point of a trend: sends, delivered and failed (messages, one per recipient job). */
export interface TrendPoint {
  label: string;
  total: number;
  success: number;
  failed: number;
}

export interface Trends {
  daily: TrendPoint[];
  monthly: TrendPoint[];
  /** `clickhouse` when drawn from the send log; `unavailable` (all zeros) with a note otherwise. */
  source: 'clickhouse' | 'unavailable';
  note?: string;
}

const TZ_OFFSET_S = 8 * 3600; // China Standard Time, no daylight saving: days and months as the user sees them.
const DAY_S = 86400;

const dayLabel = (dayNo: number) => new Date(dayNo * DAY_S * 1000).toISOString().slice(0, 10);

/** The last 30 days and last 12 months (Beijing time) ending at `now`, all zero. */
export function emptyTrends(now: Date): Pick<Trends, 'daily' | 'monthly'> {
  const today = Math.floor((now.getTime() / 1000 + TZ_OFFSET_S) / DAY_S);
  const daily = Array.from({ length: 30 }, (_, i) => ({ label: dayLabel(today - 29 + i), total: 0, success: 0, failed: 0 }));
  const local = new Date(now.getTime() + TZ_OFFSET_S * 1000);
  const monthly = Array.from({ length: 12 }, (_, i) => {
    const d = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth() - 11 + i, 1));
    return { label: d.toISOString().slice(0, 7), total: 0, success: 0, failed: 0 };
  });
  return { daily, monthly };
}

/**
 * Reads the trends from messaging's send log (`sms_log`, ReplacingMergeTree keyed by job, latest
 * state by `version`). The table belongs to messaging and may not exist yet: then all zeros and a
 * note, never an error.
 */
export async function readTrends(
  ch: ClickHouseClient | undefined,
  table: string,
  scope: { enterpriseId: string; accountId?: string },
  now = new Date(),
): Promise<Trends> {
  const empty = emptyTrends(now);
  if (!ch) return { ...empty, source: 'unavailable', note: '未配置 ClickHouse' };
  try {
    const exists = await selectRows<{ n: string }>(
      ch,
      sql`SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = ${table}`.text,
    );
    if (Number(exists[0]?.n ?? 0) === 0) return { ...empty, source: 'unavailable', note: '发送日志尚未建立（还没有发送记录）' };
    const from =
      Date.UTC(Number(empty.monthly[0]!.label.slice(0, 4)), Number(empty.monthly[0]!.label.slice(5, 7)) - 1, 1) / 1000 - TZ_OFFSET_S;
    const account = scope.accountId ? sql`AND account_id = ${scope.accountId}` : sql``;
    const q = sql`
      SELECT intDiv(toUInt32(created) + ${TZ_OFFSET_S}, ${DAY_S}) AS day,
             count() AS total, countIf(st = 'delivered') AS success, countIf(st IN ('failed', 'expired', 'rejected')) AS failed
        FROM (
          SELECT any(created_at) AS created, argMax(status, version) AS st
            FROM ${ident(table)}
           WHERE enterprise_id = ${scope.enterpriseId} ${account} AND created_at >= toDateTime(${from})
           GROUP BY send_id, job_id)
       GROUP BY day ORDER BY day`;
    const rows = await selectRows<{ day: string; total: string; success: string; failed: string }>(ch, q.text);
    const byDay = new Map(empty.daily.map((p) => [p.label, p]));
    const byMonth = new Map(empty.monthly.map((p) => [p.label, p]));
    for (const r of rows) {
      const label = dayLabel(Number(r.day));
      for (const p of [byDay.get(label), byMonth.get(label.slice(0, 7))]) {
        if (!p) continue;
        p.total += Number(r.total);
        p.success += Number(r.success);
        p.failed += Number(r.failed);
      }
    }
    return { ...empty, source: 'clickhouse' };
  } catch (err) {
    return { ...empty, source: 'unavailable', note: `发送日志暂不可用：${(err as Error).message.slice(0, 120)}` };
  }
}
