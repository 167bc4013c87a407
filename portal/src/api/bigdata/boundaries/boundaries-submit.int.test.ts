import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleFixture } from '../../../test/console-fixture.ts';
import { loginOperator, type Client } from '../../../test/harness.ts';

const BUCKET = 'alert_tasks_boundaries_int';
const QIANTANG = {
  type: 'Polygon',
  coordinates: [
    [
      [120.34, 30.28],
      [120.4, 30.28],
      [120.4, 30.33],
      [120.34, 30.33],
      [120.34, 30.28],
    ],
  ],
};
const today = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);

/**
 * A task over a district an operator loaded a boundary for (#21): submitted through the portal, it
 * goes to alerting carrying that outline, so every alerting instance and a later replay test exactly
 * what the operator loaded. Before the load, the same task is refused at submit (#23).
 */
describe('submitting a task over a loaded boundary (PGlite + real NATS)', () => {
  const c = consoleFixture('portal-boundaries-test', { bus: { bucket: BUCKET, reachSubject: 'alert.reach.boundaries-int' } });
  let op: Client;
  const form = () => ({
    alertType: 'typhoon',
    region: { parts: [{ kind: 'admin', code: '330114', name: '钱塘区' }] },
    subject: '钱塘区 台风',
    content: '台风即将登陆，请注意安全。',
    signature: '翼讯通',
    startDate: today(),
    endDate: today(),
    windows: [],
    frequency: 'once',
    minDwellMin: 0,
    rules: [],
    quota: { cmcc: { total: 100, dailyCap: 100 } },
    authorizationLetter: c.letter,
  });

  beforeAll(async () => {
    op = await loginOperator(c.portal);
  });
  afterAll(async () => {
    await op?.req('POST', '/api/operator/boundaries/0/activate');
  });

  it('refuses 钱塘区 alone before a boundary is loaded, and sends alerting the loaded outline after', async () => {
    const before = await c.adminClient.req('POST', '/api/bigdata/tasks', { form: form() });
    expect(before.status).toBe(400);
    expect(JSON.stringify(before.body.error)).toContain('钱塘区该行政区域暂无边界数据');

    const load = await op.req('POST', '/api/operator/boundaries', {
      type: 'FeatureCollection',
      features: [{ type: 'Feature', properties: { adcode: 330114 }, geometry: QIANTANG }],
    });
    expect(load.status).toBe(200);

    const r = await c.adminClient.req('POST', '/api/bigdata/tasks', { form: form() });
    expect(r.status).toBe(200);
    const task = await c.bus.get(r.body.id);
    expect(task!.spec.region.parts).toEqual([{ kind: 'admin', code: '330114', name: '钱塘区', geometry: QIANTANG }]);
  });

  it('never lets a client’s own geometry stand for a named area: the task is tested against the area’s real boundary', async () => {
    // 西湖区 by name, with a square 30 km away as its "geometry": an integrator (or a tampered page)
    // would target people the record does not name.
    const elsewhere = {
      type: 'Polygon',
      coordinates: [
        [
          [120.6, 30.5],
          [120.61, 30.5],
          [120.61, 30.51],
          [120.6, 30.51],
          [120.6, 30.5],
        ],
      ],
    };
    const f = {
      ...form(),
      subject: '西湖区 伪造边界',
      region: { parts: [{ kind: 'admin', code: '330106', name: '西湖区', geometry: elsewhere }] },
    };
    const r = await c.adminClient.req('POST', '/api/bigdata/tasks', { form: f });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const part = (await c.bus.get(r.body.id))!.spec.region.parts[0] as { kind: string; code: string; geometry?: unknown };
    expect(part).toMatchObject({ kind: 'admin', code: '330106' });
    expect(part.geometry).not.toEqual(elsewhere);
  });
});
