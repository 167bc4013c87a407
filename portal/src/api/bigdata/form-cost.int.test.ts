import { beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../auth/password.ts';
import { consoleFixture, type ConsoleCaller } from '../../test/console-fixture.ts';
import { login } from '../../test/harness.ts';
import { chinaDayIn } from './cap/fixtures.ts';
import { onApp } from './console-harness.ts';

/**
 * The send form's balance check costs a task as the ledger reserves it (#21), over HTTP: each
 * language's SMS with its own signature ([EMA] for English when the form has signatureEn), its
 * exercise prefix and its check-in prompt, and an alert as the one message messaging sends (no
 * 500-character tasks). A balance exactly enough is accepted by the form and reserved whole; one
 * unit short is refused by the form with "超过可用短信余量", never by the reservation after it.
 *
 * 【翼讯通】 is 5 characters (UCS-2); [EMA] is 7 septets ([ and ] take two each).
 */
describe('the form’s balance check costs a task as its reservation does (PGlite + real NATS)', () => {
  const c = consoleFixture('portal-form-cost-test');
  let client: ConsoleCaller;
  let letter: string;
  let n = 0;
  const ENT = 'form-cost-ent';
  const zh = (chars: number) => '台'.repeat(chars);
  const en = (letters: number) => 'x'.repeat(letters);
  const english = (letters: number) => ({ texts: [{ language: 'en-US', content: en(letters) }] });
  const checkIn = {
    checkIn: {
      options: [
        { code: '1', label: '安全' },
        { code: '2', label: '需要帮助', help: true },
      ],
    },
  };
  const form = (over: Record<string, unknown>) => ({
    alertType: 'typhoon',
    region: { parts: [{ kind: 'circle', center: [120.16, 30.27], radiusM: 2000 }] },
    subject: `台风 余量 ${++n}`,
    content: '台风预警',
    signature: '翼讯通',
    startDate: chinaDayIn(0),
    endDate: chinaDayIn(1),
    frequency: 'once',
    quota: { cmcc: { total: 10, dailyCap: 10 } },
    authorizationLetter: letter,
    ...over,
  });
  const setBalance = (units: number) => c.portal.deps.db.query('UPDATE enterprises SET quota = $2 WHERE id = $1', [ENT, units]);
  const balance = async () =>
    Number((await c.portal.deps.db.query<{ quota: number }>('SELECT quota FROM enterprises WHERE id = $1', [ENT])).rows[0]!.quota);
  const reservation = async (id: string) =>
    (
      await c.portal.deps.db.query<{ units: number; per_message: number }>(
        'SELECT units, per_message FROM bigdata_reservations WHERE task_id = $1',
        [id],
      )
    ).rows[0];
  /** Submits with exactly `units` on the balance: the task's reservation, or the refusal. */
  const submitWith = async (units: number, over: Record<string, unknown>) => {
    await setBalance(units);
    return client('POST', '/api/bigdata/tasks', { form: form(over) });
  };
  /** Exactly enough is accepted and reserved whole (the balance is then 0); one less is the form's refusal. */
  const costsExactly = async (units: number, perMessage: number, over: Record<string, unknown>) => {
    const short = await submitWith(units - 1, over);
    expect(short.status, JSON.stringify(short.body)).toBe(400);
    const issue = (short.body.error.details as { path: string; message: string }[]).find((i) => i.path === 'quota');
    expect(issue?.message, JSON.stringify(short.body)).toBe(
      perMessage > 1
        ? `三网发送总条数 10（每条计费 ${perMessage} 条，共 ${units} 条）超过可用短信余量 ${units - 1}`
        : `三网发送总条数 10 超过可用短信余量 ${units - 1}`,
    );
    expect(await balance()).toBe(units - 1);
    const ok = await submitWith(units, over);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(await reservation(ok.body.id as string)).toEqual({ per_message: perMessage, units });
    expect(await balance()).toBe(0);
  };

  beforeAll(async () => {
    const db = c.portal.deps.db;
    await db.query(`INSERT INTO enterprises (id, name, quota, access_number) VALUES ($1, '余量核对集团', 0, '1069000444')`, [ENT]);
    await db.query(
      `INSERT INTO accounts (id, enterprise_id, name, display_name, role, password_hash) VALUES ('form-cost-admin', $1, 'form-cost-admin', '值班员', 'admin', $2)`,
      [ENT, await hashPassword('Form-Cost-2024', 10)],
    );
    await db.query(
      `INSERT INTO signatures (id, enterprise_id, text, status, is_default) VALUES ('fc-sig', $1, '翼讯通', 'approved', true), ('fc-sig-en', $1, 'EMA', 'approved', false)`,
      [ENT],
    );
    client = onApp(c.app, await login(c.portal, 'form-cost-admin', 'Form-Cost-2024'));
    letter = await c.letterFor(client);
  });

  it('an English text signed [EMA] is checked as GSM-7, not under 【翼讯通】: 154 letters 2 units a message, not 3', async () => {
    await costsExactly(20, 2, { ...english(154), signatureEn: 'EMA' });
  });

  it('an English exercise counts its [EXERCISE] prefix under [EMA]: 140 letters one SMS, 141 two', async () => {
    // An exercise reserves nothing, but the form lets it be no larger than a real alert the balance allows.
    await setBalance(10);
    const one = await client('POST', '/api/bigdata/tasks', { form: form({ exercise: true, ...english(140), signatureEn: 'EMA' }) });
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    const two = await client('POST', '/api/bigdata/tasks', { form: form({ exercise: true, ...english(141), signatureEn: 'EMA' }) });
    expect(two.status, JSON.stringify(two.body)).toBe(400);
    expect(JSON.stringify(two.body)).toContain('每条计费 2 条，共 20 条）超过可用短信余量 10');
  });

  it('a check-in’s Chinese prompt counts: 52 characters one SMS alone, two with 回复1表示安全，回复2表示需要帮助。', async () => {
    // 【翼讯通】 + 52 + 。 + the prompt (16) + 。 = 75 > 70.
    await costsExactly(20, 2, { content: zh(52), ...checkIn });
  });

  it('a check-in’s English prompt counts under [EMA]: 120 letters one SMS alone, two with ". Reply 1 if safe, 2 if you need help."', async () => {
    // [EMA] + 120 = 127 septets; + ". " + the prompt (35) + "." = 165 > 160.
    await costsExactly(20, 2, { ...english(120), signatureEn: 'EMA', ...checkIn });
  });

  // Alerting sends an alert as one message (alertJob: one job, cut into parts by segmentText), not in
  // the 500-character tasks of an industry send: 【翼讯通】 + 495 = 500 characters are 8 parts of 67
  // either way, but + 496 = 501 are 8 parts sent, where 500 + 1 tasks would be 9; 1000 characters
  // 1005 / 67 = 15 parts sent, where 495 + 495 + 10 would be 8 + 8 + 1 = 17.
  it.each([
    ['zh 495', { content: zh(495) }, 8],
    ['zh 496', { content: zh(496) }, 8],
    ['zh 1000', { content: zh(1000) }, 15],
    // [EMA] + 496 letters are 503 septets, 4 parts of 153 sent; tasks of 500 characters would be
    // [EMA] + 495 (4 parts) and [EMA] + 1 (one more).
    ['en 495 [EMA]', { ...english(495), signatureEn: 'EMA' }, 4],
    ['en 496 [EMA]', { ...english(496), signatureEn: 'EMA' }, 4],
  ] as const)('an alert is costed as the one message it is sent as: %s', async (_name, over, perMessage) => {
    await costsExactly(10 * perMessage, perMessage, over);
  });

  it('a text the prompt takes past 2,000 characters is the form’s 400, nothing reserved', async () => {
    const r = await submitWith(100_000, { content: zh(1995), ...checkIn });
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(JSON.stringify(r.body)).toContain('发送内容连同回复提示最多 2000 字');
    expect(await balance()).toBe(100_000);
  });
});
