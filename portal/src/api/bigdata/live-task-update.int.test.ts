import { beforeAll, describe, expect, it } from 'vitest';
import { consoleFixture, type ConsoleCaller } from '../../test/console-fixture.ts';
import { capFixture } from './cap/fixtures.ts';
import { getTask } from './task-store.ts';

/**
 * One update of a live task (#21): a CAP Update and the console's PUT change a running task the same
 * way (updateLiveTask), and neither drops what the task had beside the text, region and end date:
 * the check-in's reply extension, the approval, the exercise flag, the English text's signature, the
 * edge hysteresis, the rules, the quotas. Checked as alerting sees the task (its bucket entry) and as
 * the console lists it (its row), on a PGlite portal and a real NATS.
 */
describe('updating a live task, by CAP Update and by the console, keeps the rest of the task', () => {
  // The default bucket: both update paths write the bucket alerting reads.
  const c = consoleFixture('portal-live-update-test');
  let approver: ConsoleCaller;
  /** The task as alerting reads it, from the tasks bucket. */
  const kvTask = async (id: string) => (await c.bus.get(id))!;
  const RUN = Date.now().toString(36);
  const fixture = (name: 'typhoon-alert' | 'typhoon-update') => capFixture(name).replaceAll('33000041600000_', `live${RUN}_`);
  const checkIn = {
    options: [
      { code: '1', label: '安全' },
      { code: '2', label: '需要帮助', help: true },
    ],
  };
  /** What CAP has no place for, given in the request's form. */
  const extra = () => ({
    quota: { cmcc: { total: 300, dailyCap: 200 }, ctcc: { total: 100, dailyCap: 50 } },
    authorizationLetter: c.letter,
    checkIn,
    exercise: true,
    signatureEn: 'Hangzhou EMA',
    hysteresis: { bufferMeters: 300, minOutsideSeconds: 600 },
    rules: [{ attribute: 'age', action: 'keep', min: 18, max: 70 }],
    windows: [{ start: '07:00', end: '22:00' }],
    minDwellMin: 5,
  });
  /** Approved by another account, then started as alerting starts it. */
  const approveAndRun = (id: string) => c.approveAndRun(id, approver);
  /** What must survive any update, as alerting and the console have it. */
  const kept = async (id: string) => {
    const t = await kvTask(id);
    const row = (await getTask(c.portal.deps.db, 'demo-enterprise', id))!;
    return {
      state: t.state,
      replyExtension: t.spec.replyExtension,
      exercise: t.spec.exercise,
      signatures: t.spec.signatures,
      hysteresis: t.spec.hysteresis,
      rules: t.spec.rules,
      windows: t.spec.windows,
      minDwellMin: t.spec.minDwellMin,
      quota: t.spec.quota,
      approval: row.approval,
      approvedBy: row.approvedBy,
      checkIn: row.form.checkIn,
      signatureEn: row.form.signatureEn,
    };
  };

  beforeAll(async () => {
    approver = (await c.account('sub', ['bigdata.tasks', 'bigdata.approve'])).call;
    await c.portal.deps.db.query(
      `INSERT INTO signatures (id, enterprise_id, text, status) VALUES ('live-en', 'demo-enterprise', 'Hangzhou EMA', 'approved') ON CONFLICT DO NOTHING`,
    );
    expect((await c.admin('PUT', '/api/bigdata/approval/settings', { required: true, fastPathTypes: [] })).status).toBe(200);
  });

  it('a CAP Update of a running check-in exercise changes its text, region and end date, and keeps its extension and the rest', async () => {
    const sub = await c.admin('POST', '/api/bigdata/cap', { xml: fixture('typhoon-alert'), form: extra() });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    const id = sub.body.id as string;
    // The imported alert asks for answers: it has its own reply extension, as a console submit gives one.
    expect((await kvTask(id)).spec.replyExtension).toMatch(/^9\d{4}$/);
    await approveAndRun(id);
    const before = await kept(id);
    expect(before).toMatchObject({
      state: 'running',
      exercise: true,
      signatures: { en: 'Hangzhou EMA' },
      hysteresis: { bufferMeters: 300, minOutsideSeconds: 600 },
      approval: 'approved',
      checkIn,
    });

    const upd = await c.admin('POST', '/api/bigdata/cap', { xml: fixture('typhoon-update') });
    expect(upd.status, JSON.stringify(upd.body)).toBe(200);
    expect(upd.body).toMatchObject({ id, action: 'updated', version: 2 });
    const t = await kvTask(id);
    expect(t.spec.content).toContain('影响范围扩大到上城区');
    expect(t.spec.contents?.en).toBeTruthy();
    expect(await kept(id)).toEqual(before);
  });

  it('the console’s PUT of the same kind of task keeps the same things', async () => {
    const sub = await c.admin('POST', '/api/bigdata/cap', {
      xml: fixture('typhoon-alert').replaceAll(`live${RUN}_`, `put${RUN}_`),
      form: extra(),
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    const id = sub.body.id as string;
    await approveAndRun(id);
    const before = await kept(id);
    expect(before.replyExtension).toMatch(/^9\d{4}$/);
    const upd = await c.admin('PUT', `/api/bigdata/tasks/${id}`, {
      content: '台风“海葵”演练（更新）：请回复1表示安全，回复2表示需要帮助。',
    });
    expect(upd.status, JSON.stringify(upd.body)).toBe(200);
    expect((await kvTask(id)).spec.content).toBe('台风“海葵”演练（更新）：请回复1表示安全，回复2表示需要帮助。');
    expect(await kept(id)).toEqual(before);
  });

  it('refuses an Update that would turn an exercise into a real alert or change the check-in, naming the field', async () => {
    const sub = await c.admin('POST', '/api/bigdata/cap', {
      xml: fixture('typhoon-alert').replaceAll(`live${RUN}_`, `fix${RUN}_`),
      form: extra(),
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    const id = sub.body.id as string;
    await approveAndRun(id);
    const update = fixture('typhoon-update').replaceAll(`live${RUN}_`, `fix${RUN}_`);
    const real = await c.admin('POST', '/api/bigdata/cap', { xml: update, form: { exercise: false } });
    expect(real.status).toBe(400);
    expect(JSON.stringify(real.body)).toContain('不能在演练与正式预警之间切换');
    const answers = await c.admin('POST', '/api/bigdata/cap', {
      xml: update,
      form: { checkIn: { options: [...checkIn.options, { code: '3', label: '已撤离' }] } },
    });
    expect(answers.status).toBe(400);
    expect(JSON.stringify(answers.body)).toContain('回复报平安的选项不能再修改');
    // Neither touched the task.
    expect((await kvTask(id)).version).toBe(1);
  });
});
