import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectClickHouse, type ClickHouseClient } from '@geo/infra';
import { atom, atomSql } from './privacy.ts';

/**
 * The grid of k computed in ClickHouse (flow series, population snapshots before the ring is
 * restored) is the one computed in memory: `atomSql` against `atom` on a real server, for every
 * count 0–999 and several k (odd and even, ties included).
 */
describe('atomSql', () => {
  let ch: ClickHouseClient;
  beforeAll(() => {
    ch = connectClickHouse(inject('clickhouseUrl'));
  });
  afterAll(async () => {
    await ch?.close();
  });

  it.each([1, 2, 3, 7, 10, 25])('quantises 0–999 to the grid of k = %i exactly as atom does', async (k) => {
    const rs = await ch.query({
      query: `SELECT number AS n, toUInt64(${atomSql('number', k)}) AS q FROM system.numbers LIMIT 1000`,
      format: 'TabSeparated',
    });
    const rows = (await rs.text())
      .trim()
      .split('\n')
      .map((l) => l.split('\t').map(Number) as [number, number]);
    expect(rows).toHaveLength(1000);
    for (const [n, q] of rows) expect(q, `n = ${n}`).toBe(atom(n, k));
  });
});
