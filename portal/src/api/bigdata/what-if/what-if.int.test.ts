import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { latLngToCell } from 'h3-js';
import { INSIGHT_MIGRATIONS } from '@geo/insight';
import { connectClickHouse, migrateClickHouse, sql, type ClickHouseClient } from '@geo/infra';
import { type TsxProcess } from '@geo/infra/testing';
import { START_TIMEOUT } from '../../../test/harness.ts';
import { consoleFixture } from '../../../test/console-fixture.ts';
import { startWhatIfAlerting } from './alerting-process.ts';
import { addAccount, consoleApp, loginAs, onApp } from '../console-harness.ts';
import { BIGDATA_ROUTES } from '../index.ts';

/**
 * 回放预演 over HTTP (#21): the portal asks a real alerting process (its own nats-server), which
 * reads insight's history from ClickHouse (insight's schema, rows written here), replays the draft
 * and answers raw counts; the portal releases them by the reach rule. Privacy (invariant 7): no
 * count under k = 10, every figure on the grid of k, and a region with one sparse cell more
 * answers exactly the same.
 */
const DB = `whatif_portal_${Date.now().toString(36)}`;
const MIN = 60_000;
const H = 60 * MIN;
/** The window: yesterday-ish, 10 hours, ending an hour ago (whole seconds). */
const TO = Math.floor((Date.now() - H) / 1000) * 1000;
const FROM = TO - 10 * H;

const busy: [number, number] = [120.3, 29.3];
const busy2: [number, number] = [120.302, 29.301];
const sparse: [number, number] = [120.33, 29.3];
const far: [number, number] = [121.3, 30.3];
const CELLS = [
  { key: 1_000_001, name: 'wi-busy-1', at: busy, carrier: 1 },
  { key: 1_000_002, name: 'wi-busy-2', at: busy2, carrier: 2 },
  { key: 1_000_003, name: 'wi-busy-3', at: busy2, carrier: 3 },
  { key: 1_000_004, name: 'wi-sparse-1', at: sparse, carrier: 1 },
  { key: 1_000_005, name: 'wi-far-1', at: far, carrier: 1 },
];
const h3 = (at: [number, number]) => BigInt(`0x${latLngToCell(at[1], at[0], 9)}`);

const fx = consoleFixture('what-if-portal', { nats: 'own' });
let admin: ClickHouseClient;
let ch: ClickHouseClient;
let alerting: TsxProcess;

/** People and their moves: `n` people of a carrier walk into `cell` at `at` (some earlier, so inside at the start). */
const moves: { ts: number; sub: number; from: number; to: number; carrier: number }[] = [];
const people: { sub: number; carrier: number; gender: number; age: number }[] = [];
let nextSub = 13_970_000_000;
function walkIn(n: number, cellKey: number, at: number, fromKey = 1_000_005) {
  const cell = CELLS.find((c) => c.key === cellKey)!;
  for (let i = 0; i < n; i++) {
    const sub = nextSub++;
    people.push({ sub, carrier: cell.carrier, gender: 2, age: 35 });
    moves.push({ ts: Math.floor((at + i * 1000) / 1000), sub, from: fromKey, to: cellKey, carrier: cell.carrier });
  }
}
// 25 cmcc people in busy-1 (8 of them since before the window), 12 cucc in busy-2 at noon-ish,
// 4 ctcc in busy-3, one cmcc person in the sparse cell 3 km away.
walkIn(8, 1_000_001, FROM - 2 * H);
walkIn(17, 1_000_001, FROM + 2 * H);
walkIn(12, 1_000_002, FROM + 4 * H);
walkIn(4, 1_000_003, FROM + 5 * H);
walkIn(1, 1_000_004, FROM + 6 * H);

const form = (region: unknown) => ({
  alertType: 'rainstorm',
  region,
  startDate: '2030-01-01',
  endDate: '2030-01-02',
  frequency: 'once',
  quota: { cmcc: { total: 1000, dailyCap: 1000 }, cucc: { total: 1000, dailyCap: 1000 }, ctcc: { total: 1000, dailyCap: 1000 } },
});
const R = { parts: [{ kind: 'circle', center: busy, radiusM: 1_000 }] };
const R_PLUS_SPARSE = { parts: [...R.parts, { kind: 'circle', center: sparse, radiusM: 300 }] };

beforeAll(async () => {
  admin = connectClickHouse(inject('clickhouseUrl'));
  await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
  const url = `${inject('clickhouseUrl').replace(/\/$/, '')}/${DB}`;
  ch = connectClickHouse(url);
  await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);
  const tuples = (rows: string[]) => rows.join(', ');
  await ch.command({
    query: `INSERT INTO insight_cells (cell, name, lat, lng, h3, city, first_seen, carrier) VALUES ${tuples(
      CELLS.map(
        (c) =>
          sql`(${c.key}, ${c.name}, ${c.at[1]}, ${c.at[0]}, ${h3(c.at)}, 330100, toDateTime(${Math.floor(FROM / 1000)}), ${c.carrier})`
            .text,
      ),
    )}`,
  });
  const keyOf = new Map(CELLS.map((c) => [c.key, c]));
  await ch.command({
    query: `INSERT INTO insight_moves_to (ts, sub, from_cell, to_cell, carrier, from_h3, to_h3) VALUES ${tuples(
      moves.map(
        (m) =>
          sql`(toDateTime(${m.ts}), ${m.sub}, ${m.from}, ${m.to}, ${m.carrier}, ${h3(keyOf.get(m.from)!.at)}, ${h3(keyOf.get(m.to)!.at)})`
            .text,
      ),
    )}`,
  });
  await ch.command({
    query: `INSERT INTO insight_presence (sub, cell, ts, carrier, gender, age, home, detached, pos) VALUES ${tuples(
      people.map((p) => sql`(${p.sub}, 0, 0, ${p.carrier}, ${p.gender}, ${p.age}, 330100, 0, 1)`.text),
    )}`,
  });
  alerting = await startWhatIfAlerting('what-if-portal', { natsUrl: fx.natsUrl, clickhouseUrl: url, asker: fx.admin });
}, START_TIMEOUT);

afterAll(async () => {
  await alerting?.stop(5_000);
  await ch?.close();
  await admin?.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
  await admin?.close();
}, 60_000);

const ask = (region: unknown, over: Record<string, unknown> = {}) =>
  fx.admin('POST', '/api/bigdata/what-if', { form: form(region), from: FROM, to: TO, bucketMin: 60, ...over });

describe('POST /api/bigdata/what-if (回放预演)', () => {
  it('answers how many would have been reached, per carrier, when and where, each figure on the grid of k', async () => {
    const r = await ask(R);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const b = r.body;
    expect(b.k).toBe(10);
    // 25 cmcc → 20 (nearest multiple of 10, a tie to the even one), 12 cucc → 10, 4 ctcc withheld.
    expect(b.reached.cmcc).toEqual({ value: 20, suppressed: false });
    expect(b.reached.cucc).toEqual({ value: 10, suppressed: false });
    expect(b.reached.ctcc).toEqual({ value: null, suppressed: true });
    expect(b.reached.total).toEqual({ value: 30, suppressed: false });
    // When: the 8 inside at the start are under k in their cell; by 03:00 into the window 25.
    expect(b.series).toHaveLength(10);
    expect(b.series[0].reached.cmcc.suppressed).toBe(true);
    expect(b.series[2].reached.cmcc.value).toBe(20);
    expect(b.series[9].reached.total.value).toBe(30);
    expect(b.areas.length).toBeGreaterThan(0);
    // Nothing released under k, everything a multiple of k.
    const figures: { value: number | null }[] = [
      ...Object.values(b.reached as Record<string, { value: number | null }>),
      ...b.series.flatMap((s: any) => Object.values(s.reached)),
      ...b.areas.map((a: any) => a.count),
    ];
    for (const f of figures) if (f.value !== null) expect(f.value % 10, JSON.stringify(f)).toBe(0);
    expect(figures.every((f) => f.value === null || f.value >= 10)).toBe(true);
  }, 120_000);

  it('answers a region and the same region plus a sparse cell identically (no count under k leaks)', async () => {
    const a = await ask(R);
    const b = await ask(R_PLUS_SPARSE);
    expect(b.status).toBe(200);
    const strip = (x: any) => ({ reached: x.reached, series: x.series, areas: x.areas });
    expect(strip(b.body)).toEqual(strip(a.body));
  }, 120_000);

  it('refuses a window in the future or longer than the history, in Chinese, and an account without 大数据发送', async () => {
    const future = await ask(R, { from: Date.now() - H, to: Date.now() + 2 * H });
    expect(future.status).toBe(400);
    expect(future.body.error.message).toMatch(/只能回放已经过去的时段/);
    const long = await ask(R, { from: TO - 9 * 24 * H, to: TO });
    expect(long.status).toBe(400);
    const back = await ask(R, { from: TO, to: FROM });
    expect(back.status).toBe(400);
    expect(back.body.error.message).toMatch(/结束时间须晚于开始时间/);
    const badRegion = await ask({ parts: [{ kind: 'circle', center: busy, radiusM: 0 }] });
    expect(badRegion.status).toBe(400);
    const viewer = await loginAs(fx.portal, await addAccount(fx.portal, 'sub', ['bigdata.tasks']));
    const denied = await onApp(consoleApp(fx.portal, BIGDATA_ROUTES), viewer)('POST', '/api/bigdata/what-if', {
      form: form(R),
      from: FROM,
      to: TO,
    });
    expect(denied.status).toBe(403);
  }, 120_000);
});
