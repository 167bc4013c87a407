import { connectNats, type NatsConnection } from '@geo/infra';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Portal } from '../../../portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal } from '../../../test/harness.ts';
import { AlertBus, setAlertBus } from '../alert-bus.ts';
import { consoleApp, onApp } from '../console-harness.ts';
import { BIGDATA_ROUTES } from '../index.ts';

/**
 * The task form is checked in one round (send-routes' checkForm): a field the schema refuses, an
 * unknown area, a signature not approved and a missing authorization letter all come back from the
 * same submit, so a user sees every error at once instead of one kind per submit. (Lives beside the
 * approval tests because helper O owns this folder, not bigdata.int.test.ts.)
 */
const today = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);

describe('task form checked in one round', () => {
  let portal: Portal;
  let nc: NatsConnection;
  let admin: ReturnType<typeof onApp>;

  beforeAll(async () => {
    portal = await testPortal();
    nc = await connectNats(inject('natsUrl'), 'portal-form-one-round');
    setAlertBus(portal.deps, await AlertBus.open(nc, { bucket: 'alert_tasks_form_one_round', reachSubject: 'alert.reach.form-one-round' }));
    admin = onApp(consoleApp(portal, BIGDATA_ROUTES), await loginAdmin(portal));
  }, START_TIMEOUT);
  afterAll(async () => {
    await nc?.drain();
    await portal?.stop();
  });

  it('reports schema, region, signature and letter problems together', async () => {
    const r = await admin('POST', '/api/bigdata/tasks', {
      form: {
        alertType: 'typhoon',
        region: { parts: [{ kind: 'admin', code: '999999', name: '不存在的区' }] },
        subject: '',
        content: '台风即将登陆，请注意安全。',
        signature: '未审核的签名',
        startDate: today(),
        endDate: today(),
        windows: [],
        frequency: 'once',
        minDwellMin: 0,
        rules: [{ attribute: 'age', action: 'keep', min: 60, max: 18 }],
        quota: { cmcc: { total: 10, dailyCap: 10 } },
        authorizationLetter: 'no-such-letter',
      },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('VALIDATION');
    const by = Object.fromEntries((r.body.error.details as { path: string; message: string }[]).map((d) => [d.path, d.message]));
    expect(by).toMatchObject({
      subject: '请填写发送主题',
      'region.parts.0.code': expect.stringMatching(/未知的行政区域代码 999999/),
      'rules.0.max': '年龄上限不能小于下限',
      signature: '签名不存在或未通过审核',
      authorizationLetter: '授权函不存在，请重新上传',
    });
    // Every problem is also in the message, each once.
    expect(r.body.error.message.match(/请填写发送主题/g)).toHaveLength(1);
  });

  it('still reports a missing letter and a bad signature beside a form the schema accepts', async () => {
    const r = await admin('POST', '/api/bigdata/tasks', {
      form: {
        alertType: 'typhoon',
        region: { parts: [{ kind: 'circle', center: [120.16, 30.25], radiusM: 1000 }] },
        subject: '一轮校验',
        content: '内容',
        signature: '未审核的签名',
        startDate: today(),
        endDate: today(),
        frequency: 'once',
        quota: {},
      },
    });
    expect(r.status).toBe(400);
    const paths = (r.body.error.details as { path: string }[]).map((d) => d.path).sort();
    expect(paths).toEqual(['authorizationLetter', 'quota', 'signature']);
  });
});
