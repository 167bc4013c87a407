import { untilValue } from '@geo/infra/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../../../auth/password.ts';
import { login, START_TIMEOUT, type Client } from '../../../test/harness.ts';
import { settleEnded } from '../../ledger/runtime.ts';
import { PNG_BYTES } from '../console-harness.ts';
import { loggedUnits } from '../languages/sent-units.ts';
import { ACCESS, startCheckInStack, type CheckInStack } from './checkin-stack.ts';

/**
 * The reply prompt of a check-in in each recipient's language (#21), end to end: a task with a
 * Chinese and an English text asking "reply 1 if safe, 2 if you need help" is submitted over HTTP;
 * the real alerting engine picks each person's language from their number's profile, messaging
 * sends over SMPP, and the simulated SMSC shows what each handset got. The Chinese reader gets the
 * Chinese prompt, the English reader the English one, and the ledger costs each language's SMS with
 * its prompt and its own signature: reserved at the costlier, settled at what each was sent.
 */

const shanghaiToday = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
const CENTRE: [number, number] = [120.2, 30.3];
const IP = '10.77.0.31';
/** 13 characters; with 【应急管理局】 (7), "。" and the Chinese prompt (17 + "。") 39: one UCS-2 SMS. */
const ZH = '洪水预警：今夜请转移到高处';
/**
 * 110 GSM-7 letters: with [Hangzhou EMA] (16 septets) 126, one SMS; with ". ", the English prompt
 * (35) and "." 164: two parts of 153. So the task costs 2 a message only when its English prompt counts.
 */
const EN = 'Flood warning: the river is rising. Move to higher ground tonight and keep away from bridges, tunnels and dams';

describe('a check-in’s reply prompt in each recipient’s language', () => {
  let stack: CheckInStack;
  let admin: Client;
  let letter: string;

  beforeAll(async () => {
    stack = await startCheckInStack(inject('clickhouseUrl'));
    const db = stack.portal.deps.db;
    await db.query(`INSERT INTO enterprises (id, name, quota, access_number) VALUES ('cl-ent', '多语报平安集团', 1000, $1)`, [ACCESS]);
    await db.query(
      `INSERT INTO accounts (id, enterprise_id, name, display_name, role, password_hash) VALUES ('cl-admin', 'cl-ent', 'cl-admin', '值班员', 'admin', $1)`,
      [await hashPassword('Checkin-Lang-2024', 10)],
    );
    await db.query(
      `INSERT INTO signatures (id, enterprise_id, text, status, is_default) VALUES ('cl-sig', 'cl-ent', '应急管理局', 'approved', true), ('cl-sig-en', 'cl-ent', 'Hangzhou EMA', 'approved', false)`,
    );
    admin = await login(stack.portal, 'cl-admin', 'Checkin-Lang-2024', IP);
    const fd = new FormData();
    fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
    letter = (await admin.reqRaw('POST', '/api/bigdata/letters', fd)).body.id;
  }, START_TIMEOUT);

  afterAll(async () => {
    await stack?.stop();
  });

  it('sends the Chinese prompt to a Chinese reader and the English one to an English reader, costed with it', async () => {
    expect(EN).toHaveLength(110);
    expect(EN).toMatch(/[a-z]$/);
    const t = await admin.req('POST', '/api/bigdata/tasks', {
      form: {
        alertType: 'flood',
        region: { parts: [{ kind: 'circle', center: CENTRE, radiusM: 2000 }] },
        subject: '洪水 双语报平安',
        content: ZH,
        texts: [{ language: 'en-US', content: EN }],
        signature: '应急管理局',
        signatureEn: 'Hangzhou EMA',
        startDate: shanghaiToday(),
        endDate: shanghaiToday(),
        frequency: 'once',
        quota: { cmcc: { total: 10, dailyCap: 10 } },
        authorizationLetter: letter,
        checkIn: {
          options: [
            { code: '1', label: '安全' },
            { code: '2', label: '需要帮助', help: true },
          ],
        },
      },
    });
    expect(t.status, JSON.stringify(t.body)).toBe(200);
    const taskId: string = t.body.id;
    const extension: string = (await admin.req('GET', `/api/bigdata/tasks/${taskId}/checkin`)).body.extension;

    const [zhReader, enReader] = ['13900031001', '13900031002'];
    await stack.place([
      { msisdn: zhReader!, lng: CENTRE[0], lat: CENTRE[1], lang: 'zh' },
      { msisdn: enReader!, lng: CENTRE[0] + 1e-3, lat: CENTRE[1], lang: 'en' },
    ]);
    const got = await untilValue(
      'both SMS at the SMSC',
      async () => {
        const r = await stack.received([zhReader!, enReader!]);
        return r[zhReader!]?.length && r[enReader!]?.length ? r : undefined;
      },
      60_000,
    );
    expect(got[zhReader!]).toEqual([
      expect.objectContaining({
        source: `${ACCESS}${extension}`,
        text: `【应急管理局】${ZH}。回复1表示安全，回复2表示需要帮助。`,
        parts: 1,
      }),
    ]);
    expect(got[enReader!]).toEqual([
      expect.objectContaining({
        source: `${ACCESS}${extension}`,
        text: `[Hangzhou EMA]${EN}. Reply 1 if safe, 2 if you need help.`,
        parts: 2,
      }),
    ]);

    // The ledger reserved the costlier SMS as sent: the English one with its prompt, two parts.
    const { rows } = await stack.portal.deps.db.query<{ per_message: number; units: number }>(
      'SELECT per_message, units FROM bigdata_reservations WHERE task_id = $1',
      [taskId],
    );
    expect(rows[0]).toEqual({ per_message: 2, units: 20 });

    // Settled at the end by what was sent: the Chinese SMS 1 unit, the English one 2 (not 2 × 2).
    const deps = stack.portal.deps;
    expect((await admin.req('POST', `/api/bigdata/tasks/${taskId}/stop`)).status).toBe(200);
    await untilValue(
      'both sends in messaging’s send log',
      async () => {
        const l = (await loggedUnits(deps.ch, deps.log, [taskId]))?.get(taskId);
        return l?.jobs === 2 && l.units === 3 ? l : undefined;
      },
      60_000,
    );
    await settleEnded(deps, { graceMs: 0 });
    const settled = await deps.db.query<{ used: number; settled: boolean }>(
      'SELECT used, settled_at IS NOT NULL AS settled FROM bigdata_reservations WHERE task_id = $1',
      [taskId],
    );
    expect(settled.rows[0]).toEqual({ used: 3, settled: true });

    // The English reader answers as told.
    await stack.answer(enReader!, `${ACCESS}${extension}`, '1');
    const s = await untilValue(
      'the English reader’s answer recorded',
      async () => {
        const b = (await admin.req('GET', `/api/bigdata/tasks/${taskId}/checkin`)).body;
        return b.people === 1 ? b : undefined;
      },
      30_000,
    );
    expect(s.options[0]).toMatchObject({ code: '1', people: 1 });
  });
});
