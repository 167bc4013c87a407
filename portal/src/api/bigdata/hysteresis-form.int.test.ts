import { AlertTask } from '@geo/alerting';
import { ensureKv } from '@geo/infra';
import { describe, expect, it } from 'vitest';
import { consoleFixture } from '../../test/console-fixture.ts';

const BUCKET = 'alert_tasks_portal_edge_int';
const day = (n: number) => new Date(Date.now() + 8 * 3600_000 + n * 86_400_000).toISOString().slice(0, 10);

describe('the task form’s edge hysteresis (边缘防抖, #21; PGlite + real NATS)', () => {
  const c = consoleFixture('portal-edge-test', { bus: { bucket: BUCKET, reachSubject: 'alert.reach.portal-edge-int' } });

  const form = (extra: Record<string, unknown>) => ({
    alertType: 'typhoon',
    region: { parts: [{ kind: 'circle', center: [120.15, 30.25], radiusM: 800 }] },
    subject: '台风 边缘防抖',
    content: '台风即将登陆，请注意安全。',
    signature: '翼讯通',
    startDate: day(0),
    endDate: day(1),
    frequency: 'daily',
    minDwellMin: 10,
    quota: { cmcc: { total: 100, dailyCap: 100 } },
    authorizationLetter: c.letter,
    ...extra,
  });

  it('sends the hysteresis to alerting with the task, and refuses a bad one beside its field in Chinese', async () => {
    const r = await c.admin('POST', '/api/bigdata/tasks', { form: form({ hysteresis: { bufferMeters: 500, minOutsideSeconds: 600 } }) });
    expect(r.body.error).toBeUndefined();
    expect(r.status).toBe(200);
    const task = AlertTask.parse((await (await ensureKv(c.nc, BUCKET)).get(r.body.id))!.json());
    expect(task.spec.hysteresis).toEqual({ bufferMeters: 500, minOutsideSeconds: 600 });

    const bad = await c.admin('POST', '/api/bigdata/tasks', {
      form: form({ hysteresis: { bufferMeters: 6_000, minOutsideSeconds: 1.5 } }),
    });
    expect(bad.status).toBe(400);
    const text = JSON.stringify(bad.body);
    expect(text).toContain('缓冲距离最多 5000 米');
    expect(text).toContain('离开时长须为整数秒');
    expect(text).toContain('hysteresis');
  });
});
