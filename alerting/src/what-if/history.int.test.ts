import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectClickHouse, type ClickHouseClient } from '@geo/infra';
import { historyInWindow, readRegionHistory } from './history.ts';

/**
 * What a replay reads from insight's tables (created here with the columns it reads, as insight's
 * schema has them), for a region of a city's size: 30,000 serving cells, each its own H3 cell.
 */
const DB = `whatif_hist_${Date.now().toString(36)}`;
const FROM = Date.parse('2026-12-01T00:00:00+08:00');
const N = 30_000;
// A 0.01° grid in 120.0–121.73 × 30.0–30.17 (the region), and one cell outside it sharing cell 0's H3 cell.
const cellAt = (i: number) => ({
  cell: 1_000_000 + i,
  h3: 600_000_000_000_000_000n + BigInt(i),
  lng: 120 + (i % 173) * 0.01,
  lat: 30 + Math.floor(i / 173) * 0.001,
});
const OUTSIDE = { cell: 9_999_999, h3: 600_000_000_000_000_000n, lng: 119.5, lat: 30 };
const region = { parts: [{ kind: 'rectangle' as const, west: 119.999, south: 29.999, east: 121.75, north: 30.2 }], edgeBufferM: 0 };

describe('readRegionHistory for a city-sized region (#21)', () => {
  let admin: ClickHouseClient;
  let ch: ClickHouseClient;
  beforeAll(async () => {
    admin = connectClickHouse(inject('clickhouseUrl'));
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    ch = connectClickHouse(`${inject('clickhouseUrl').replace(/\/$/, '')}/${DB}`);
    for (const q of [
      `CREATE TABLE insight_cells (cell UInt64, name String, lat Float64, lng Float64, h3 UInt64, city UInt32, first_seen DateTime, carrier UInt8) ENGINE = ReplacingMergeTree ORDER BY cell`,
      `CREATE TABLE insight_moves_to (ts DateTime, sub UInt64, from_cell UInt64, to_cell UInt64, carrier UInt8, from_h3 UInt64, to_h3 UInt64) ENGINE = ReplacingMergeTree ORDER BY (to_h3, to_cell, ts, sub, from_cell)`,
      `CREATE TABLE insight_moves_from (ts DateTime, sub UInt64, from_cell UInt64, to_cell UInt64, carrier UInt8, from_h3 UInt64, to_h3 UInt64) ENGINE = ReplacingMergeTree ORDER BY (from_h3, from_cell, ts, sub, to_cell)`,
      `CREATE TABLE insight_presence (sub UInt64, cell UInt64, ts UInt64, carrier UInt8, gender UInt8, age UInt8, home UInt32, detached UInt8, pos UInt64) ENGINE = ReplacingMergeTree(pos) ORDER BY sub`,
    ])
      await ch.command({ query: q });
    const cells = [...Array.from({ length: N }, (_, i) => cellAt(i)), OUTSIDE];
    await ch.insert({
      table: 'insight_cells',
      format: 'JSONEachRow',
      values: cells.map((c) => ({
        cell: c.cell,
        name: `C${c.cell}`,
        lat: c.lat,
        lng: c.lng,
        h3: c.h3.toString(),
        city: 0,
        first_seen: 0,
        carrier: 1,
      })),
    });
    const s = (ms: number) => Math.floor(ms / 1000);
    const move = (t: number, sub: number, from: { cell: number; h3: bigint } | undefined, to: { cell: number; h3: bigint }) => ({
      ts: s(t),
      sub,
      from_cell: from?.cell ?? 0,
      to_cell: to.cell,
      carrier: 1,
      from_h3: (from?.h3 ?? 0n).toString(),
      to_h3: to.h3.toString(),
    });
    const [a, b, z] = [cellAt(0), cellAt(N - 1), cellAt(12_345)];
    const moves = [
      // 13900000001: inside since an hour before, then to the outside cell that shares cell 0's H3 cell.
      move(FROM - 3600_000, 13900000001, undefined, a),
      move(FROM + 60_000, 13900000001, a, OUTSIDE),
      // 13900000002: walks in at the far corner of the city, then moves inside.
      move(FROM + 120_000, 13900000002, undefined, b),
      move(FROM + 180_000, 13900000002, b, z),
      // 13900000003: was only ever at the outside cell (its H3 cell is the region's): never inside.
      move(FROM - 600_000, 13900000003, undefined, OUTSIDE),
    ];
    for (const table of ['insight_moves_to', 'insight_moves_from']) await ch.insert({ table, format: 'JSONEachRow', values: moves });
    await ch.insert({
      table: 'insight_presence',
      format: 'JSONEachRow',
      values: [{ sub: 13900000002, cell: z.cell, ts: 0, carrier: 1, gender: 2, age: 33, home: 330106, detached: 0, pos: 1 }],
    });
  }, 120_000);
  afterAll(async () => {
    await ch?.close();
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
    await admin?.close();
  });

  it('reads who was inside and the moves of 30,000 cells in one pass (the IN lists passed 256 KiB), a move to an outside cell sharing an H3 cell being a leave', async () => {
    const h = await readRegionHistory(ch, region, { from: FROM, to: FROM + 3600_000 });
    expect(h.cells).toBe(N);
    expect(h.before.map((e) => [e.msisdn, e.cell])).toEqual([['13900000001', `C${cellAt(0).cell}`]]);
    expect(h.moves.map((e) => [e.msisdn, e.ts - FROM, e.kind, e.cell])).toEqual([
      ['13900000001', 60_000, 'detach', ''],
      ['13900000002', 120_000, 'handover', `C${cellAt(N - 1).cell}`],
      ['13900000002', 180_000, 'handover', `C${cellAt(12_345).cell}`],
    ]);
    expect(h.moves[2]).toMatchObject({ gender: 'f', age: 33, home: '330106' });
  });

  it('tells a window with no move recorded anywhere (before the history began) from one that has moves', async () => {
    const DAY = 86_400_000;
    expect(await historyInWindow(ch, { from: FROM, to: FROM + 3600_000 })).toBe(true);
    // The earliest move is at FROM - 1 h: the day before it holds none, the hour around it one.
    expect(await historyInWindow(ch, { from: FROM - 2 * DAY, to: FROM - DAY })).toBe(false);
    expect(await historyInWindow(ch, { from: FROM - 3600_000 - 1000, to: FROM - 3600_000 + 1000 })).toBe(true);
    expect(await historyInWindow(ch, { from: FROM + 3600_000, to: FROM + 2 * 3600_000 })).toBe(false);
  });
});
