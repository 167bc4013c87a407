import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { latLngToCell } from 'h3-js';
import { INSIGHT_MIGRATIONS } from '@geo/insight';
import { connectClickHouse, migrateClickHouse, sql, type ClickHouseClient } from '@geo/infra';
import { type TsxProcess } from '@geo/infra/testing';
import { START_TIMEOUT } from '../../../test/harness.ts';
import { consoleFixture } from '../../../test/console-fixture.ts';
import { startWhatIfAlerting } from './alerting-process.ts';

/**
 * 回放预演 (what-if) attacked as a hostile enterprise would (#17, invariant 7), over HTTP against a
 * real alerting process reading insight's history in a real ClickHouse. The secret: a hidden cell H,
 * 3 km from a busy cell B, where 3 people arrived (before B's 30). The attacker asks for B's region
 * and for B's region plus H, varying what it controls to the unit: the draft's per-carrier total
 * (a cap binds on the first N people reached: with H's 3 taken first, B's share of N drops by 3, and
 * B's atom sits wherever the attacker puts N), a rule ± one condition, and the window ± one minute.
 * Every pair of answers must differ by nothing (H is under k) or by a multiple of k, and the sweep
 * of the cap must not give H's count back.
 */
const DB = `whatif_privacy_${Date.now().toString(36)}`;
const MIN = 60_000;
const H = 60 * MIN;
const TO = Math.floor((Date.now() - H) / MIN) * MIN;
const FROM = TO - 6 * H;

const busy: [number, number] = [120.5, 29.5];
const hidden: [number, number] = [120.53, 29.5];
const far: [number, number] = [121.5, 30.5];
const CELLS = [
  { key: 2_000_001, at: busy },
  { key: 2_000_002, at: hidden },
  { key: 2_000_003, at: far },
];
const h3 = (at: [number, number]) => BigInt(`0x${latLngToCell(at[1], at[0], 9)}`);
const moves: { ts: number; sub: number; to: number }[] = [];
const people: { sub: number; gender: number; age: number }[] = [];
let nextSub = 13_980_000_000;
function walkIn(n: number, cell: number, at: number, gender = 1, age = 30) {
  for (let i = 0; i < n; i++) {
    const sub = nextSub++;
    people.push({ sub, gender, age });
    moves.push({ ts: Math.floor((at + i * 1000) / 1000), sub, to: cell });
  }
}
const HIDDEN_COUNT = 3;
walkIn(HIDDEN_COUNT, 2_000_002, FROM + H);
// B: 30 people, 14 of them before the 3rd hour, 1 woman of 35 in its 4th hour, 15 more later.
walkIn(14, 2_000_001, FROM + 2 * H);
walkIn(1, 2_000_001, FROM + 3 * H + 30_000, 2, 35);
walkIn(15, 2_000_001, FROM + 4 * H);

const R = { parts: [{ kind: 'circle', center: busy, radiusM: 1_000 }] };
const R_PLUS_H = { parts: [...R.parts, { kind: 'circle', center: hidden, radiusM: 300 }] };
const form = (region: unknown, over: Record<string, unknown> = {}) => ({
  alertType: 'rainstorm',
  region,
  startDate: '2030-01-01',
  endDate: '2030-01-02',
  frequency: 'once',
  quota: { cmcc: { total: 1000, dailyCap: 1000 } },
  ...over,
});

const fx = consoleFixture('what-if-privacy', { nats: 'own' });
let admin: ClickHouseClient;
let ch: ClickHouseClient;
let alerting: TsxProcess;

beforeAll(async () => {
  admin = connectClickHouse(inject('clickhouseUrl'));
  await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
  const url = `${inject('clickhouseUrl').replace(/\/$/, '')}/${DB}`;
  ch = connectClickHouse(url);
  await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);
  const first = Math.floor((FROM - 24 * H) / 1000);
  await ch.command({
    query: `INSERT INTO insight_cells (cell, name, lat, lng, h3, city, first_seen, carrier) VALUES ${CELLS.map(
      (c) => sql`(${c.key}, ${`wp-${c.key}`}, ${c.at[1]}, ${c.at[0]}, ${h3(c.at)}, 330100, toDateTime(${first}), 1)`.text,
    ).join(', ')}`,
  });
  const at = new Map(CELLS.map((c) => [c.key, c.at]));
  await ch.command({
    query: `INSERT INTO insight_moves_to (ts, sub, from_cell, to_cell, carrier, from_h3, to_h3) VALUES ${moves
      .map((m) => sql`(toDateTime(${m.ts}), ${m.sub}, ${2_000_003}, ${m.to}, 1, ${h3(far)}, ${h3(at.get(m.to)!)})`.text)
      .join(', ')}`,
  });
  await ch.command({
    query: `INSERT INTO insight_presence (sub, cell, ts, carrier, gender, age, home, detached, pos) VALUES ${people
      .map((p) => sql`(${p.sub}, 0, 0, 1, ${p.gender}, ${p.age}, 330100, 0, 1)`.text)
      .join(', ')}`,
  });
  alerting = await startWhatIfAlerting('what-if-privacy', { natsUrl: fx.natsUrl, clickhouseUrl: url, asker: fx.admin });
}, START_TIMEOUT);

afterAll(async () => {
  await alerting?.stop(5_000);
  await ch?.close();
  await admin?.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
  await admin?.close();
}, 60_000);

async function ask(region: unknown, over: Record<string, unknown> = {}, window: Record<string, unknown> = {}) {
  const r = await fx.admin('POST', '/api/bigdata/what-if', { form: form(region, over), from: FROM, to: TO, bucketMin: 60, ...window });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return { reached: r.body.reached, series: r.body.series, areas: r.body.areas };
}
const cmcc = (x: { reached: any }) => x.reached.cmcc.value as number | null;
/** Every figure of an answer. */
const figures = (x: { reached: any; series: any[]; areas: any[] }): (number | null)[] => [
  ...Object.values(x.reached).map((v: any) => v.value),
  ...x.series.flatMap((s) => Object.values(s.reached).map((v: any) => v.value)),
  ...x.areas.map((a) => a.count.value),
];

describe('what-if against a differencing attacker (#17)', () => {
  it('a per-carrier total swept one by one does not give back the hidden cell’s count', async () => {
    // The attacker's sweep: B alone at a total of 15, then B ∪ H at 15, 16, …: the least total at
    // which B ∪ H shows what B alone shows is 15 + the people H took first.
    const quota = (cap: number) => ({ quota: { cmcc: { total: cap, dailyCap: cap } } });
    const target = await ask(R, quota(15));
    const sweep: { cap: number; alone: Awaited<ReturnType<typeof ask>>; withH: Awaited<ReturnType<typeof ask>> }[] = [];
    for (let cap = 15; cap <= 19; cap++) {
      const [alone, withH] = await Promise.all([ask(R, quota(cap)), ask(R_PLUS_H, quota(cap))]);
      sweep.push({ cap, alone, withH });
    }
    const hit = sweep.find((s) => cmcc(s.withH) === cmcc(target));
    const recovered = hit ? hit.cap - 15 : undefined;
    // Before: B ∪ H showed 10 (B's 12) up to a total of 17 and 20 at 18: H held 3.
    expect(recovered, JSON.stringify(sweep.map((s) => [s.cap, cmcc(s.alone), cmcc(s.withH)]))).not.toBe(HIDDEN_COUNT);
    // The hidden cell adds nothing to any figure, whatever the cap.
    for (const s of sweep) expect(s.withH, `cap ${s.cap}`).toEqual(s.alone);
  }, 600_000);

  it('a rule ± one condition and a window ± one minute differ by 0 or a multiple of k, never by the one person', async () => {
    const all = await ask(R);
    // The one woman of 35: excluded by a rule, and the window cut one minute after she arrived.
    const noWoman = await ask(R, { rules: [{ attribute: 'gender', action: 'exclude', values: ['f'] }] });
    const minuteBefore = await ask(R, {}, { to: FROM + 3 * H + 30_000 + MIN - MIN });
    const minuteAfter = await ask(R, {}, { to: FROM + 3 * H + 30_000 + MIN });
    for (const [a, b] of [
      [all, noWoman],
      [minuteBefore, minuteAfter],
    ] as const) {
      const fa = figures(a),
        fb = figures(b);
      for (const f of [...fa, ...fb]) expect(f === null || (f >= 10 && f % 10 === 0), JSON.stringify(f)).toBe(true);
      // The totals: 14 vs 15 people in B would be 10 vs 20, but not 14 vs 15 (the one person).
      const d = Math.abs((cmcc(a) ?? 0) - (cmcc(b) ?? 0));
      expect(d === 0 || d >= 10, `difference ${d}`).toBe(true);
    }
    // A draft whose daily cap exceeds its total is refused, as at submission, though the replay runs uncapped.
    const bad = await fx.admin('POST', '/api/bigdata/what-if', {
      form: form(R, { quota: { cmcc: { total: 10, dailyCap: 20 } } }),
      from: FROM,
      to: TO,
    });
    expect(bad.status, JSON.stringify(bad.body)).toBe(400);
    // With or without H, every figure the same.
    expect(await ask(R_PLUS_H)).toEqual(all);
  }, 600_000);
});
