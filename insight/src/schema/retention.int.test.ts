import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectClickHouse, migrateClickHouse, selectRows, type ClickHouseClient } from '@geo/infra';
import { INSIGHT_MIGRATIONS } from './migrations.ts';
import { compactClosedDays, dayKey, dropOldPartitions } from './retention.ts';

const DAY = 86_400_000;
const DB = `insight_retention_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
let root: ClickHouseClient;
let ch: ClickHouseClient;

// Noon UTC today, so that "yesterday" and "today" are whole days whatever the hour of the run.
const NOW = Math.floor(Date.now() / DAY) * DAY + DAY / 2;
const secs = (ms: number) => Math.floor(ms / 1000);
/** One insert (one part) of `n` moves at `ms`, subscribers from `sub`. */
const insertMoves = (ms: number, sub: number, n: number) =>
  ch.command({
    query: `INSERT INTO insight_moves_to (ts, sub, from_cell, to_cell, carrier, from_h3, to_h3)
      SELECT toDateTime(${secs(ms)}), ${sub} + number, 11, 22, 1, 111, 222 FROM numbers(${n})`,
  });
const parts = async (table: string) =>
  Object.fromEntries(
    (
      await selectRows<{ partition: string; parts: string }>(
        ch,
        `SELECT partition, count() AS parts FROM system.parts
      WHERE database = currentDatabase() AND active AND table = '${table}' GROUP BY partition`,
      )
    ).map((r) => [Number(r.partition), Number(r.parts)]),
  );

beforeAll(async () => {
  root = connectClickHouse(inject('clickhouseUrl'));
  await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
  ch = connectClickHouse(inject('clickhouseUrl'), DB);
  await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);
});

afterAll(async () => {
  await root?.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
  await ch?.close();
  await root?.close();
});

describe('history upkeep (no TTL on 18.16)', () => {
  it('merges each closed day into one part, by destination and (through the view) by origin, and leaves today alone', async () => {
    const yesterday = NOW - DAY;
    await insertMoves(yesterday, 1000, 50);
    await insertMoves(yesterday + 60_000, 2000, 50);
    await insertMoves(yesterday + 60_000, 2000, 50); // a redelivered flush: the same rows again
    await insertMoves(NOW, 3000, 10);
    await insertMoves(NOW, 4000, 10);
    expect((await parts('insight_moves_to'))[dayKey(yesterday)]).toBe(3);

    const merged = await compactClosedDays(ch, NOW);
    expect(merged.sort()).toEqual([`insight_moves_from:${dayKey(yesterday)}`, `insight_moves_to:${dayKey(yesterday)}`]);
    for (const table of ['insight_moves_to', 'insight_moves_from']) {
      const p = await parts(table);
      expect(p[dayKey(yesterday)]).toBe(1);
      expect(p[dayKey(NOW)]).toBe(2);
    }
    // FINAL also removed the duplicated rows (readers never depended on that).
    const [n] = await selectRows<{ n: string }>(
      ch,
      `SELECT count() AS n FROM insight_moves_to WHERE toYYYYMMDD(ts) = ${dayKey(yesterday)}`,
    );
    expect(Number(n!.n)).toBe(100);
    // Nothing left to do: a merged day is not rewritten again.
    expect(await compactClosedDays(ch, NOW)).toEqual([]);
  });

  it('drops the days past retention from every history table', async () => {
    const old = NOW - 10 * DAY;
    await insertMoves(old, 5000, 5);
    const dropped = await dropOldPartitions(ch, 8, NOW);
    expect(dropped.sort()).toEqual([`insight_moves_from:${dayKey(old)}`, `insight_moves_to:${dayKey(old)}`]);
    expect((await parts('insight_moves_to'))[dayKey(old)]).toBeUndefined();
  });
});
