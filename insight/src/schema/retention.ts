import { ident, list, selectRows, sql, withClickHouseNodes, type ClickHouseClient } from '@geo/infra';
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
  const dropped: string[] = [];
  // In cluster mode the partitions are the shards' (`<table>_local` on each node); a Distributed table has none.
  await withClickHouseNodes(ch, async (nodes) => {
    for (const node of nodes) {
      const rows = await selectRows<{ table: string; partition: string }>(
        node.client,
        sql`SELECT DISTINCT table, partition FROM system.parts
            WHERE database = currentDatabase() AND active AND table IN ${list(INSIGHT_HISTORY_TABLES.map(node.local))}`.text,
      );
      for (const r of rows) {
        const day = Number(r.partition.replace(/'/g, ''));
        if (!Number.isInteger(day) || day >= cutoff) continue;
        await node.client.command({ query: sql`ALTER TABLE ${ident(r.table)} DROP PARTITION ${day}`.text });
        dropped.push(`${r.table}:${day}`);
      }
    }
  });
  return dropped;
}

/**
 * Merges each closed day of history into one part (`OPTIMIZE … PARTITION … FINAL`), once the day
 * has been over for `settleMs` (late events). A region's first query reads its week per part and
 * per run of its cells in H3 order, each costing a compressed block (≥ 64 KiB) per column whatever
 * few rows it needs: a day the sink wrote as many parts, which background merges leave at five or
 * six, costs that many times one merged part (measured: 1.8M rows read for a 179-cell region over
 * a week in 5-part days, half the CPU once merged). A merge rewrites one day (~115 MB per moves
 * table at 1M subscribers, ~4 s); a day already in one part is left alone, so this runs hourly for
 * almost nothing, and again for a day only when late rows added a part to it.
 * @default settleMs one hour
 * @returns the `table:partition` pairs merged.
 */
export async function compactClosedDays(ch: ClickHouseClient, now = Date.now(), settleMs = 3_600_000): Promise<string[]> {
  const today = dayKey(now - settleMs);
  const merged: string[] = [];
  await withClickHouseNodes(ch, async (nodes) => {
    for (const node of nodes) {
      const rows = await selectRows<{ table: string; partition: string; parts: string }>(
        node.client,
        sql`SELECT table, partition, count() AS parts FROM system.parts
            WHERE database = currentDatabase() AND active AND table IN ${list(INSIGHT_HISTORY_TABLES.map(node.local))}
            GROUP BY table, partition HAVING parts > 1 ORDER BY partition, table`.text,
      );
      for (const r of rows) {
        const day = Number(r.partition.replace(/'/g, ''));
        if (!Number.isInteger(day) || day >= today) continue;
        await node.client.command({ query: sql`OPTIMIZE TABLE ${ident(r.table)} PARTITION ${day} FINAL`.text });
        merged.push(`${r.table}:${day}`);
      }
    }
  });
  return merged;
}
