import { until, untilValue } from '@geo/infra/testing';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../../../auth/password.ts';
import { login, START_TIMEOUT, type Client } from '../../../test/harness.ts';
import { AlertBus } from '../alert-bus.ts';
import { addAccount, loginAs, PNG_BYTES } from '../console-harness.ts';
import { ACCESS, startCheckInStack, type CheckInStack } from './checkin-stack.ts';

/**
 * 回复报平安 (#21) end to end: the portal's HTTP API, the real alerting engine, messaging over SMPP
 * to the simulated SMSC, real NATS and ClickHouse. An alert task asking "回复1表示安全，回复2表示需要
 * 帮助" gets its own extension and its SMS go out from access number + extension; simulated handsets
 * answer (full-width digits, "1.", words after the code, an answer nobody offered); the API counts
 * people per answer, in total and per area (released by k), lists those who asked for help (masked),
 * exports them; a late answer after closing is counted by messaging as checkin_closed, not recorded.
 */

const shanghaiToday = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
const CENTRE: [number, number] = [120.16, 30.27];
const IP = '10.77.0.21';

describe('reply check-ins of an alert task', () => {
  let stack: CheckInStack;
  let admin: Client;
  let letter: string;

  beforeAll(async () => {
    stack = await startCheckInStack(inject('clickhouseUrl'));
    const db = stack.portal.deps.db;
    await db.query(`INSERT INTO enterprises (id, name, quota, access_number) VALUES ('ci-ent', '报平安集团', 1000, $1)`, [ACCESS]);
    await db.query(
      `INSERT INTO accounts (id, enterprise_id, name, display_name, role, password_hash) VALUES ('ci-admin', 'ci-ent', 'ci-admin', '值班员', 'admin', $1)`,
      [await hashPassword('Checkin-Admin-2024', 10)],
    );
    await db.query(
      `INSERT INTO signatures (id, enterprise_id, text, status, is_default) VALUES ('ci-sig', 'ci-ent', '应急管理局', 'approved', true)`,
    );
    admin = await login(stack.portal, 'ci-admin', 'Checkin-Admin-2024', IP);
    const fd = new FormData();
    fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
    letter = (await admin.reqRaw('POST', '/api/bigdata/letters', fd)).body.id;
  }, START_TIMEOUT);

  afterAll(async () => {
    await stack?.stop();
  });

  it('sends from its own extension, counts answers per answer and area, lists who asked for help, and counts late answers by reason', async () => {
    const form = {
      alertType: 'flood',
      region: { parts: [{ kind: 'circle', center: CENTRE, radiusM: 2000 }] },
      subject: '洪水 报平安',
      content: '洪水预警：请回复1表示安全，回复2表示需要帮助。',
      signature: '应急管理局',
      startDate: shanghaiToday(),
      endDate: shanghaiToday(),
      frequency: 'once',
      quota: { cmcc: { total: 100, dailyCap: 100 } },
      authorizationLetter: letter,
      checkIn: {
        options: [
          { code: '1', label: '安全' },
          { code: '2', label: '需要帮助', help: true },
        ],
      },
    };
    // A bad check-in is a field error, not a 500.
    const bad = await admin.req('POST', '/api/bigdata/tasks', {
      form: {
        ...form,
        checkIn: {
          options: [
            { code: '1', label: '安全' },
            { code: '１', label: '重复' },
          ],
        },
      },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('回复代码 １ 重复');

    const t = await admin.req('POST', '/api/bigdata/tasks', { form });
    expect(t.status).toBe(200);
    const taskId: string = t.body.id;
    const bus = await AlertBus.open(stack.nc); // shares the stack’s connection: not closed here
    expect((await bus.get(taskId))?.spec.replyExtension).toBe('90001');
    expect((await admin.req('GET', `/api/bigdata/tasks/${taskId}/checkin`)).body).toMatchObject({
      extension: '90001',
      open: true,
      people: 0,
    });
    // A change of text keeps the extension: the answers still find the task.
    const upd = await admin.req('PUT', `/api/bigdata/tasks/${taskId}`, {
      content: '洪水预警（更新）：请回复1表示安全，回复2表示需要帮助。',
    });
    expect(upd.status).toBe(200);
    expect((await bus.get(taskId))?.spec.replyExtension).toBe('90001');

    // 24 people of China Mobile inside the circle, one cell each, all in one H3 hexagon of res 7.
    const people = Array.from({ length: 24 }, (_, i) => `1390002${String(i).padStart(4, '0')}`);
    await stack.place(people.map((msisdn, i) => ({ msisdn, lng: CENTRE[0] + i * 1e-4, lat: CENTRE[1] })));
    const sources = await untilValue(
      'every person’s SMS at the SMSC',
      async () => {
        const r = await stack.sources(people);
        return people.every((m) => r[m]?.length) ? r : undefined;
      },
      60_000,
    );
    // Sent from access number + the task's extension.
    expect(new Set(people.flatMap((m) => sources[m]))).toEqual(new Set([`${ACCESS}90001`]));

    // The handsets answer: 12 safe (in the forms keyboards make), 11 need help, 1 says something else.
    const safe = ['1', '１', '1.', '1。', ' 1 ', '回复1', '安全', '1', '1', '1', '1', '1'];
    const help = ['2', '２', '2 被困在二楼', '2，老人行动不便', '需要帮助', '2', '2', '2', '2', '2', '2'];
    const texts = [...safe, ...help, '收到'];
    for (const [i, m] of people.entries()) await stack.answer(m, `${ACCESS}90001`, texts[i]!);
    // One person answers twice: the latest recognised answer counts, the reply is kept.
    await stack.answer(people[23]!, `${ACCESS}90001`, '=HYPERLINK("http://x")');

    const summary = await untilValue(
      'every answer recorded with its area',
      async () => {
        await stack.checkIns.resolveAreas();
        const s = (await admin.req('GET', `/api/bigdata/tasks/${taskId}/checkin`)).body;
        return s.replies === 25 && s.areaPending === 0 ? s : undefined;
      },
      60_000,
    );
    expect(summary).toMatchObject({
      people: 24,
      unrecognised: 1,
      areaUnknown: 0,
      k: 10,
      options: [
        { code: '1', label: '安全', help: false, people: 12 },
        { code: '2', label: '需要帮助', help: true, people: 11 },
      ],
    });
    // One hexagon: 12 and 11 released on the grid of k (10 each), the single unrecognised one withheld.
    expect(summary.areas).toHaveLength(1);
    expect(summary.areas[0].answers).toEqual({
      '1': { value: 10, suppressed: false },
      '2': { value: 10, suppressed: false },
      unrecognised: { value: null, suppressed: true },
    });

    const list = (await admin.req('GET', `/api/bigdata/tasks/${taskId}/checkin/help?pageSize=5`)).body;
    expect(list).toMatchObject({ total: 11, page: 1, pageSize: 5 });
    expect(list.items).toHaveLength(5);
    for (const p of list.items) {
      expect(p.msisdn).toMatch(/^139\*{4}\d{4}$/);
      expect(p).toMatchObject({ answer: '2', label: '需要帮助', carrierLabel: '中国移动' });
      expect(p.h3).toMatch(/^[0-9a-f]{15}$/);
    }
    const all = (await admin.req('GET', `/api/bigdata/tasks/${taskId}/checkin/help?pageSize=100`)).body.items;
    expect(all.map((p: { text: string }) => p.text).sort()).toEqual([...help].sort());

    const xlsx = await stack.portal.request(`/api/bigdata/tasks/${taskId}/checkin/help/export`, {
      headers: { cookie: admin.cookie, 'x-forwarded-for': IP },
    });
    expect(xlsx.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await xlsx.arrayBuffer());
    const ws = wb.worksheets[0]!;
    expect(ws.rowCount).toBe(12);
    expect(String(ws.getRow(2).getCell(1).value)).toMatch(/^139\*{4}\d{4}$/);

    // Only accounts holding 大数据任务 of this enterprise see it.
    const weak = await loginAs(stack.portal, await addAccount(stack.portal, 'sub', ['bigdata.send']));
    expect((await weak.req('GET', `/api/bigdata/tasks/${taskId}/checkin/help`)).status).toBe(403);
    const stranger = await loginAs(stack.portal, await addAccount(stack.portal, 'other-enterprise'));
    expect((await stranger.req('GET', `/api/bigdata/tasks/${taskId}/checkin/help`)).status).toBe(404);
    expect((await stranger.req('POST', `/api/bigdata/tasks/${taskId}/checkin/close`)).status).toBe(404);

    // Closed: a late answer is counted by messaging as checkin_closed and not recorded.
    const before = await stack.replies();
    expect((await admin.req('POST', `/api/bigdata/tasks/${taskId}/checkin/close`)).status).toBe(200);
    await stack.answer(people[0]!, `${ACCESS}90001`, '2');
    await until('the late answer counted', async () => ((await stack.replies()).checkin_closed ?? 0) === 1, 30_000);
    expect((await stack.replies()).matched).toBe(before.matched);
    const after = (await admin.req('GET', `/api/bigdata/tasks/${taskId}/checkin`)).body;
    expect(after).toMatchObject({ open: false, replies: 25, options: [{ people: 12 }, { people: 11 }] });
  });
});
