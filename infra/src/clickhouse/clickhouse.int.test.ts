import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectClickHouse, selectRows, type ClickHouseClient } from './client.ts';
import { migrateClickHouse } from './migrate.ts';
import { ident, list, sql } from './sql.ts';

const nasty = [
  "Robert'); DROP TABLE kv;--",
  "\\' OR 1=1 --",
  'tab\tnew\nline\r\0nul',
  '浙江省杭州市西湖区',
  '`backtick` "double" $dollar {brace}',
  '\\',
];

describe('ClickHouse (real clickhouse-server)', () => {
  let ch: ClickHouseClient;
  beforeAll(() => void (ch = connectClickHouse(inject('clickhouseUrl'))));
  afterAll(async () => ch?.close());

  it('answers a version query', async () => {
    const [row] = await selectRows<{ v: string }>(ch, 'SELECT version() AS v');
    expect(row!.v).toMatch(/^\d+\.\d+/);
  });

  it('a client allowed long requests asks for progress headers, which the server accepts (18.16 too)', async () => {
    const long = connectClickHouse(inject('clickhouseUrl'), 'default', { requestTimeoutMs: 30 * 60_000 });
    try {
      const rs = await long.query({ query: 'SELECT sum(number) AS s FROM numbers(1000)', format: 'JSONEachRow' });
      expect(await rs.json()).toEqual([{ s: '499500' }]);
      await long.command({ query: 'SELECT 1' });
    } finally {
      await long.close();
    }
  });

  it('applies migrations once, and again is a no-op', async () => {
    const migrations = [
      {
        version: 1,
        name: 'kv',
        statements: ['CREATE TABLE IF NOT EXISTS kv (k String, v String, n UInt64, at DateTime) ENGINE = MergeTree ORDER BY k'],
      },
    ];
    expect(await migrateClickHouse(ch, 'test', migrations)).toEqual([1]);
    expect(await migrateClickHouse(ch, 'test', migrations)).toEqual([]);
  });

  it('stores hostile strings verbatim through the formatter and finds them by equality', async () => {
    await ch.command({ query: 'CREATE TABLE IF NOT EXISTS kv (k String, v String, n UInt64, at DateTime) ENGINE = MergeTree ORDER BY k' });
    const at = new Date('2026-03-01T08:30:00Z');
    for (const [i, s] of nasty.entries()) {
      await ch.command({
        query: sql`INSERT INTO ${ident('kv')} (k, v, n, at) VALUES (${`k${i}`}, ${s}, ${18446744073709551615n}, ${at})`.text,
      });
    }
    const rows = await selectRows<{ k: string; v: string; n: string; t: number }>(
      ch,
      sql`SELECT k, v, toString(n) AS n, toUnixTimestamp(at) AS t FROM kv WHERE v IN ${list(nasty)} ORDER BY k`.text,
    );
    expect(rows.map((r) => r.v)).toEqual(nasty);
    expect(rows.every((r) => r.n === '18446744073709551615' && Number(r.t) === at.getTime() / 1000)).toBe(true);
    for (const s of nasty) {
      const [c] = await selectRows<{ c: string }>(ch, sql`SELECT count() AS c FROM kv WHERE v = ${s}`.text);
      expect(Number(c!.c)).toBe(1);
    }
    // The table the first string tries to drop is still there.
    const [t] = await selectRows<{ c: string }>(ch, "SELECT count() AS c FROM system.tables WHERE name = 'kv'");
    expect(Number(t!.c)).toBe(1);
  });
});
