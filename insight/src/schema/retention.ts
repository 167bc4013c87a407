import { ident, list, selectRows, sql, type ClickHouseClient } from '@geo/infra';
import { INSIGHT_HISTORY_TABLES } from './migrations.ts';

/** `YYYYMMDD` of a time, in UTC (the partition key `toYYYYMMDD` uses the server's zone; keep servers on UTC). */
export function dayKey(ms: number): number {
  const d = new Date(ms);
  return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

/**
 * Retention without TTL (18.16 has none): drops whole day partitions older than `keepDays`.
 * @default keepDays 8 — the weekly maximum needs 7 full days plus today.
 * @returns the `table:partition` pairs dropped.
 */
export async function dropOldPartitions(ch: ClickHouseClient, keepDays = 8, now = Date.now()): Promise<string[]> {
  const cutoff = dayKey(now - keepDays * 86_400_000);
  const rows = await selectRows<{ table: string; partition: string }>(
    ch,
    sql`SELECT DISTINCT table, partition FROM system.parts
        WHERE database = currentDatabase() AND active AND table IN ${list([...INSIGHT_HISTORY_TABLES])}`.text,
  );
  const dropped: string[] = [];
  for (const r of rows) {
    const day = Number(r.partition.replace(/'/g, ''));
    if (!Number.isInteger(day) || day >= cutoff) continue;
    await ch.command({ query: sql`ALTER TABLE ${ident(r.table)} DROP PARTITION ${day}`.text });
    dropped.push(`${r.table}:${day}`);
  }
  return dropped;
}
