import { AlertTask, TASKS_BUCKET } from '@geo/alerting';
import { Kvm } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import { consoleFixture } from '../../../test/console-fixture.ts';
import { ACCEPTED_PARTS_MESSAGE } from '../task-form.ts';
import { chinaDayIn } from './fixtures.ts';

const square = (x: number, y: number, d: number): [number, number][] => [
  [x, y],
  [x + d, y],
  [x + d, y + d],
  [x, y + d],
  [x, y],
];

/** An integrator's task over HTTP with GeoJSON regions, as alerting receives it (PGlite + real NATS). */
describe('task API with GeoJSON regions', () => {
  const c = consoleFixture('portal-geojson-test');
  const form = (parts: unknown[]) => ({
    alertType: 'flood',
    region: { parts },
    subject: '洪水 测试',
    content: '河道水位上涨，请转移至安全地带。',
    signature: '翼讯通',
    startDate: chinaDayIn(0),
    endDate: chinaDayIn(1),
    frequency: 'once',
    quota: { cmcc: { total: 100, dailyCap: 100 } },
    authorizationLetter: c.letter,
  });

  it('submits a Polygon with a hole, a MultiPolygon and a Feature; alerting gets polygon and multipolygon parts', async () => {
    const outer = square(120.1, 30.2, 0.1);
    const hole = square(120.13, 30.23, 0.02);
    const r = await c.admin('POST', '/api/bigdata/tasks', {
      form: form([
        { type: 'Polygon', coordinates: [outer, hole] },
        { type: 'MultiPolygon', coordinates: [[square(120.3, 30.2, 0.05)], [square(120.4, 30.2, 0.05)]] },
        { type: 'Feature', properties: null, geometry: { type: 'Polygon', coordinates: [square(120.5, 30.2, 0.05)] } },
      ]),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const kv = await new Kvm(c.nc).open(TASKS_BUCKET);
    const task = AlertTask.parse((await kv.get(r.body.id))!.json());
    expect(task.spec.region.parts).toEqual([
      { kind: 'polygon', rings: [outer, hole] },
      { kind: 'multipolygon', polygons: [[square(120.3, 30.2, 0.05)], [square(120.4, 30.2, 0.05)]] },
      { kind: 'polygon', rings: [square(120.5, 30.2, 0.05)] },
    ]);
  });

  it('answers a part of no known kind with the accepted kinds, and a hole outside its polygon in Chinese', async () => {
    const odd = await c.admin('POST', '/api/bigdata/tasks', { form: form([{ type: 'Point', coordinates: [120.1, 30.2] }]) });
    expect(odd.status).toBe(400);
    expect(odd.body.error.details).toContainEqual({ path: 'region.parts.0', message: ACCEPTED_PARTS_MESSAGE });
    expect(odd.body.error.message).not.toContain('无效输入');
    const out = await c.admin('POST', '/api/bigdata/tasks', {
      form: form([{ type: 'Polygon', coordinates: [square(120.1, 30.2, 0.1), square(121, 31, 0.01)] }]),
    });
    expect(out.status).toBe(400);
    expect(JSON.stringify(out.body.error.details)).toContain('洞在外环之外');
  });
});
