import type { ClickHouseClient } from '@clickhouse/client';
import { selectRows } from './client.ts';
import { sql } from './sql.ts';

/**
 * A ClickHouse schema change owned by one service. ClickHouse has no transactions, so each
 * statement must be safe to run again (`CREATE TABLE IF NOT EXISTS`, `ADD COLUMN IF NOT EXISTS` is
 * not in 18.16: check `system.columns` in code instead). SQL must run on 18.16 and current releases:
 * no TTL, no LowCardinality, no DateTime64, no window functions.
 */
export interface ClickHouseMigration {
  version: number;
  name: string;
  statements: string[];
}

/**
 * Applies `migrations` of `owner` that are not yet recorded in `schema_migrations`.
 * @returns the versions applied by this call.
 */
export async function migrateClickHouse(ch: ClickHouseClient, owner: string, migrations: ClickHouseMigration[]): Promise<number[]> {
  await ch.command({
    query: `CREATE TABLE IF NOT EXISTS schema_migrations (owner String, version UInt32, name String, applied_at DateTime)
      ENGINE = ReplacingMergeTree ORDER BY (owner, version)`,
  });
  const done = new Set(
    (await selectRows<{ version: number }>(ch, sql`SELECT version FROM schema_migrations WHERE owner = ${owner}`.text)).map((r) =>
      Number(r.version),
    ),
  );
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    for (const statement of m.statements) await ch.command({ query: statement });
    await ch.command({
      query: sql`INSERT INTO schema_migrations (owner, version, name, applied_at) VALUES (${owner}, ${m.version}, ${m.name}, ${new Date()})`
        .text,
    });
    applied.push(m.version);
  }
  return applied;
}
