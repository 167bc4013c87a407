import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectClickHouse, migrateClickHouse, selectRows, type ClickHouseClient } from '@geo/infra';
import { cellKey, cellNameKey } from '../sink/cells.ts';
import { INSIGHT_MIGRATIONS } from './migrations.ts';

/**
 * Schema version 3 rewrites version 2's name-only cell keys as (carrier, cell id) keys on a real
 * ClickHouse (Debian's 18.16 here): moves and the checkpoint by the row's carrier, each cell once
 * per carrier that used it, snapshot rows split per carrier.
 */
const DB = `insight_mig_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

describe('insight schema version 3: cells keyed by (carrier, cell id)', () => {
  let admin: ClickHouseClient;
  let ch: ClickHouseClient;

  beforeAll(async () => {
    admin = connectClickHouse(inject('clickhouseUrl'));
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    ch = connectClickHouse(`${inject('clickhouseUrl')}/${DB}`);
    await migrateClickHouse(
      ch,
      'insight',
      INSIGHT_MIGRATIONS.filter((m) => m.version <= 2),
    );
    const c1 = cellNameKey('C1');
    const c2 = cellNameKey('C2');
    // C1 used by cmcc (a move to it), cucc (a move from it) and ctcc (the checkpoint); C2 by cucc only; C3 by nobody any more.
    await ch.command({
      query: `INSERT INTO insight_cells VALUES (${c1}, 'C1', 30, 120, 11, 330100, now()), (${c2}, 'C2', 30.1, 120.1, 12, 330100, now()), (${cellNameKey('C3')}, 'C3', 30.2, 120.2, 13, 0, now())`,
    });
    await ch.command({
      query: `INSERT INTO insight_moves_to VALUES (now(), 13800000001, 0, ${c1}, 1, 0, 11), (now(), 13000000001, ${c1}, ${c2}, 2, 11, 12)`,
    });
    await ch.command({
      query: `INSERT INTO insight_presence VALUES (13300000001, ${c1}, 1, 3, 0, 0, 0, 0, 5), (13000000001, ${c2}, 1, 2, 0, 0, 0, 0, 6), (13900000001, 0, 1, 1, 0, 0, 0, 1, 7)`,
    });
    await ch.command({
      query: `INSERT INTO insight_population VALUES (toDateTime('2026-12-01 00:05:00'), 11, ${c1}, 9, 4, 0, 5), (toDateTime('2026-12-01 00:05:00'), 12, ${c2}, 2, 0, 2, 0)`,
    });
    expect(await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS)).toEqual([3, 4]);
  }, 60_000);

  afterAll(async () => {
    await ch?.close();
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${DB}` }).catch(() => undefined);
    await admin?.close();
  });

  it('gives each cell a row per carrier that used it, keyed by (carrier, id), with its carrier', async () => {
    const cells = await selectRows<{ cell: string; name: string; carrier: number }>(
      ch,
      'SELECT toString(cell) AS cell, name, carrier FROM insight_cells FINAL ORDER BY name, carrier',
    );
    expect(cells.map((c) => [c.name, Number(c.carrier), Number(c.cell)])).toEqual([
      ['C1', 1, cellKey(1, 'C1')],
      ['C1', 2, cellKey(2, 'C1')],
      ['C1', 3, cellKey(3, 'C1')],
      ['C2', 2, cellKey(2, 'C2')],
    ]);
  });

  it('rewrites moves (both tables, the MV still feeding the second), the checkpoint and snapshots', async () => {
    const moves = await selectRows<{ from_cell: string; to_cell: string }>(
      ch,
      'SELECT toString(from_cell) AS from_cell, toString(to_cell) AS to_cell FROM insight_moves_to FINAL ORDER BY carrier',
    );
    expect(moves.map((m) => [Number(m.from_cell), Number(m.to_cell)])).toEqual([
      [0, cellKey(1, 'C1')],
      [cellKey(2, 'C1'), cellKey(2, 'C2')],
    ]);
    const from = await selectRows<{ n: string }>(
      ch,
      `SELECT toString(count()) AS n FROM insight_moves_from FINAL WHERE from_cell = ${cellKey(2, 'C1')}`,
    );
    expect(Number(from[0]!.n)).toBe(1);
    await ch.command({ query: `INSERT INTO insight_moves_to VALUES (now(), 13800000002, 0, ${cellKey(1, 'C1')}, 1, 0, 11)` });
    const mv = await selectRows<{ n: string }>(ch, 'SELECT toString(count()) AS n FROM insight_moves_from FINAL');
    expect(Number(mv[0]!.n)).toBe(3);
    const presence = await selectRows<{ sub: string; cell: string }>(
      ch,
      'SELECT toString(sub) AS sub, toString(cell) AS cell FROM insight_presence FINAL ORDER BY sub',
    );
    expect(presence.map((p) => Number(p.cell))).toEqual([cellKey(2, 'C2'), cellKey(3, 'C1'), 0]);
    const pop = await selectRows<{ cell: string; n: number; cmcc: number; cucc: number; ctcc: number }>(
      ch,
      'SELECT toString(cell) AS cell, n, cmcc, cucc, ctcc FROM insight_population FINAL ORDER BY n, cell',
    );
    expect(
      pop
        .map((p) => [Number(p.cell), Number(p.n), Number(p.cmcc), Number(p.cucc), Number(p.ctcc)])
        .sort((a, b) => a[1]! - b[1]! || a[0]! - b[0]!),
    ).toEqual(
      [
        [cellKey(2, 'C2'), 2, 0, 2, 0],
        [cellKey(1, 'C1'), 4, 4, 0, 0],
        [cellKey(3, 'C1'), 5, 0, 0, 5],
      ].sort((a, b) => a[1]! - b[1]! || a[0]! - b[0]!),
    );
    const tables = await selectRows<{ name: string }>(
      ch,
      `SELECT name FROM system.tables WHERE database = '${DB}' AND name LIKE '%\\_v_' ORDER BY name`,
    );
    expect(tables).toEqual([]);
  });
});
