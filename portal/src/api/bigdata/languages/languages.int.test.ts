import { AlertTask, TASKS_BUCKET } from '@geo/alerting';
import { Kvm } from '@nats-io/kv';
import { beforeAll, describe, expect, it } from 'vitest';
import { consoleFixture } from '../../../test/console-fixture.ts';
import { CAP_ROUTES } from '../cap/cap-routes.ts';
import { readCap } from '../cap/cap-xml.ts';
import { capFixture, chinaDayIn } from '../cap/fixtures.ts';
import { BIGDATA_ROUTES } from '../index.ts';
import { TaskForm } from '../task-form.ts';

/**
 * Multilingual tasks over HTTP (#21): a task's English text (form `texts`, or a CAP alert's en-US
 * `info`) reaches alerting as the spec's `contents.en`, the ledger reserves the costlier language's
 * SMS, and the CAP export writes one `info` per language that imports as the same task.
 */
describe('a task in Chinese and English (PGlite + real NATS)', () => {
  const c = consoleFixture('portal-languages-test', { routes: [...CAP_ROUTES, ...BIGDATA_ROUTES] });
  let kv: Awaited<ReturnType<Kvm['open']>>;
  const kvTask = async (id: string) => AlertTask.parse((await kv.get(id))!.json());
  const RUN = Date.now().toString(36);
  const reservation = async (id: string) =>
    (
      await c.portal.deps.db.query<{ units: number; per_message: number }>(
        'SELECT units, per_message FROM bigdata_reservations WHERE task_id = $1',
        [id],
      )
    ).rows[0];

  beforeAll(async () => {
    kv = await new Kvm(c.nc).open(TASKS_BUCKET);
  });

  it('sends the English text to alerting and reserves the costlier language: 150 English characters are 3 SMS, the Chinese 1', async () => {
    const english = `Typhoon warning: ${'stay indoors, '.repeat(10)}`.slice(0, 150);
    const form = {
      alertType: 'typhoon',
      region: { parts: [{ kind: 'circle', center: [120.16, 30.27], radiusM: 2000 }] },
      subject: '台风 双语',
      content: '台风预警：今夜请勿外出。',
      texts: [{ language: 'en-US', content: english }],
      signature: '翼讯通',
      startDate: chinaDayIn(0),
      endDate: chinaDayIn(0),
      frequency: 'once',
      quota: { cmcc: { total: 10, dailyCap: 10 } },
      authorizationLetter: c.letter,
    };
    const t = await c.admin('POST', '/api/bigdata/tasks', { form });
    expect(t.status, JSON.stringify(t.body)).toBe(200);
    expect((await kvTask(t.body.id)).spec).toMatchObject({ content: form.content, contents: { en: english } });
    expect(await reservation(t.body.id)).toMatchObject({ units: 30, per_message: 3 });
    const detail = await c.admin('GET', `/api/bigdata/tasks/${t.body.id}`);
    expect(detail.body.form.texts).toEqual(form.texts);
  });

  it('signs the English text with the form’s English signature (signatureEn): one GSM-7 SMS instead of three UCS-2, and refuses one that is not approved', async () => {
    await c.portal.deps.db.query(
      `INSERT INTO signatures (id, enterprise_id, text, status) VALUES ('en-sig', 'demo-enterprise', 'Hangzhou EMA', 'approved'), ('en-pending', 'demo-enterprise', 'Pending EMA', 'pending') ON CONFLICT DO NOTHING`,
    );
    const english = 'x'.repeat(140);
    const form = {
      alertType: 'typhoon',
      region: { parts: [{ kind: 'circle', center: [120.16, 30.27], radiusM: 2000 }] },
      subject: '台风 英文签名',
      content: '台风预警：今夜请勿外出。',
      texts: [{ language: 'en-US', content: english }],
      signature: '翼讯通',
      startDate: chinaDayIn(0),
      endDate: chinaDayIn(0),
      frequency: 'once',
      quota: { cmcc: { total: 10, dailyCap: 10 } },
      authorizationLetter: c.letter,
    };
    // [Hangzhou EMA] + 140 letters = 154 septets: one SMS; under 【翼讯通】 the English SMS is UCS-2, 145 characters: three.
    const signed = await c.admin('POST', '/api/bigdata/tasks', { form: { ...form, signatureEn: 'Hangzhou EMA' } });
    expect(signed.status, JSON.stringify(signed.body)).toBe(200);
    expect((await kvTask(signed.body.id)).spec).toMatchObject({ signature: '翼讯通', signatures: { en: 'Hangzhou EMA' } });
    expect(await reservation(signed.body.id)).toMatchObject({ units: 10, per_message: 1 });
    const plain = await c.admin('POST', '/api/bigdata/tasks', { form: { ...form, subject: '台风 中文签名' } });
    expect(await reservation(plain.body.id)).toMatchObject({ units: 30, per_message: 3 });

    const pending = await c.admin('POST', '/api/bigdata/tasks', { form: { ...form, signatureEn: 'Pending EMA' } });
    expect(pending.status).toBe(400);
    expect(JSON.stringify(pending.body)).toContain('英文签名不存在或未通过审核');
    const chinese = await c.admin('POST', '/api/bigdata/tasks', { form: { ...form, signatureEn: '杭州应急' } });
    expect(chinese.status).toBe(400);
    expect(JSON.stringify(chinese.body)).toContain('英文签名只能包含英文字母');
  });

  it('imports a CAP alert’s zh-CN and en-US info blocks as the two texts, and exports one info per language that imports as the same task', async () => {
    const xml = capFixture('typhoon-alert').replaceAll('33000041600000_', `lang${RUN}_`);
    const sub = await c.admin('POST', '/api/bigdata/cap', {
      xml,
      form: { quota: { cmcc: { total: 10, dailyCap: 10 } }, authorizationLetter: c.letter },
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    const spec = (await kvTask(sub.body.id)).spec;
    expect(spec.content).toContain('台风“海葵”预计今夜在我市沿海登陆');
    expect(spec.contents?.en).toContain('Typhoon Haikui is expected to make landfall');

    const exp = await c.admin('GET', `/api/bigdata/tasks/${sub.body.id}/cap`);
    expect(exp.status).toBe(200);
    const back = readCap(exp.body as string);
    expect(back.ok).toBe(true);
    if (!back.ok) return;
    expect(back.alert.info.map((i) => i.language)).toEqual(['zh-CN', 'en-US', 'ja-JP']);
    expect(back.alert.info[1]!.description).toContain('Typhoon Haikui');
    const again = await c.admin('POST', '/api/bigdata/cap/preview', { xml: exp.body });
    expect(again.status).toBe(200);
    const stored = (await c.admin('GET', `/api/bigdata/tasks/${sub.body.id}`)).body.form;
    expect(TaskForm.parse(again.body.form)).toEqual(TaskForm.parse(stored));
  });
});
