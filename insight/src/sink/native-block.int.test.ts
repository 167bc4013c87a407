import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectClickHouse, selectRows, type ClickHouseClient } from '@geo/infra';
import { nativeBlock, setU64 } from './native-block.ts';
import { insertBody } from './sink.ts';

const DB = `insight_native_it_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

describe('a Native block inserted into ClickHouse', () => {
  let ch: ClickHouseClient;
  beforeAll(async () => {
    const root = connectClickHouse(inject('clickhouseUrl'));
    await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    await root.close();
    ch = connectClickHouse(inject('clickhouseUrl'), DB);
    await ch.command({ query: 'CREATE TABLE t (ts DateTime, sub UInt64, carrier UInt8, home UInt32) ENGINE = MergeTree ORDER BY sub' });
  });
  afterAll(async () => {
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${DB}` }).catch(() => undefined);
    await ch?.close();
  });

  it('lands every value of every column exactly, the largest safe integer too', async () => {
    const n = 1000;
    const ts = new Uint32Array(n),
      sub = new Uint32Array(2 * n),
      carrier = new Uint8Array(n),
      home = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      ts[k] = 1_790_000_000 + k;
      setU64(sub, k, k === n - 1 ? 2 ** 53 - 1 : 13_900_000_000 + k);
      carrier[k] = 1 + (k % 3);
      home[k] = 330_100 + k;
    }
    const body = nativeBlock(n, [
      { name: 'ts', type: 'DateTime', data: ts },
      { name: 'sub', type: 'UInt64', data: sub },
      { name: 'carrier', type: 'UInt8', data: carrier },
      { name: 'home', type: 'UInt32', data: home },
    ]);
    await insertBody(ch, 't', 'Native', body);
    const rows = await selectRows<{ ts: number; sub: string; carrier: number; home: number }>(
      ch,
      'SELECT toUInt32(ts) AS ts, toString(sub) AS sub, carrier, home FROM t ORDER BY ts',
    );
    expect(rows).toHaveLength(n);
    expect(rows[0]).toEqual({ ts: 1_790_000_000, sub: '13900000000', carrier: 1, home: 330_100 });
    expect(rows[n - 1]).toEqual({
      ts: 1_790_000_000 + n - 1,
      sub: String(2n ** 53n - 1n),
      carrier: 1 + ((n - 1) % 3),
      home: 330_100 + n - 1,
    });
    expect(
      rows.every((r, k) => r.sub === (k === n - 1 ? String(2n ** 53n - 1n) : String(13_900_000_000 + k)) && r.home === 330_100 + k),
    ).toBe(true);
  });
});
