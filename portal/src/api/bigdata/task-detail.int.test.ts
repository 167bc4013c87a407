import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cellToLatLng, latLngToCell } from 'h3-js';
import { type LocationEvent } from '@geo/ingest';
import { TaskStore, TASKS_BUCKET, type AlertTaskSpecInput } from '@geo/alerting';
import { connectClickHouse, connectNats, migrateClickHouse } from '@geo/infra';
import { until } from '@geo/infra/testing';
import { sendLogMigrations } from '@geo/messaging';
import { Kvm } from '@nats-io/kv';
import type { Portal } from '../../portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal } from '../../test/harness.ts';
import { consoleFixture, locationEvent, publishLocations } from '../../test/console-fixture.ts';
import { AlertBus, setAlertBus } from './alert-bus.ts';
import { addAccount, consoleApp, loginAs, onApp, PNG_BYTES } from './console-harness.ts';
import { BIGDATA_ROUTES } from './index.ts';
import { recordedProgress } from './progress.ts';

/**
 * The task detail of a running task, against a real alerting engine (its own nats-server): the
 * text shown is the text being sent after an update, and the "reached" layer shows the people
 * messaged (where they were when messaged, by the privacy rule), not whoever is inside now.
 */
const fx = consoleFixture('task-detail', { nats: 'own', engine: true });
const spot: [number, number] = [120.31, 29.31];
const elsewhere: [number, number] = [120.3, 29.3];
let n = 0;
const m = () => `139${String(71_000_000 + n++).padStart(8, '0')}`;
const ev = locationEvent;
const publish = (events: LocationEvent[]) => publishLocations(fx.nc, events);
describe('task detail of a running task', () => {
  it('shows the updated text being sent, the people messaged on the reached layer, and why a number was not sent', async () => {
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const form = {
      alertType: 'rainstorm',
      region: { parts: [{ kind: 'circle', center: spot, radiusM: 800 }] },
      subject: '详情测试',
      content: '第一版内容',
      signature: '翼讯通',
      startDate: today,
      endDate: today,
      windows: [],
      frequency: 'once',
      minDwellMin: 0,
      rules: [{ attribute: 'gender', action: 'keep', values: ['f'] }],
      quota: { cmcc: { total: 1000, dailyCap: 1000 } },
      authorizationLetter: fx.letter,
    };
    // 12 women in one cell are messaged; 12 men beside them are not (rule).
    const women = Array.from({ length: 12 }, m),
      men = Array.from({ length: 12 }, m);
    await publish([
      ...women.map((x) => ev(x, 'w-cell', spot, { gender: 'f' })),
      ...men.map((x) => ev(x, 'm-cell', [spot[0] + 0.004, spot[1]], { gender: 'm' })),
    ]);
    await until('people seen', () => [...women, ...men].every((x) => fx.engine.engine.presence.indexOf(x) >= 0));
    const r = await fx.admin('POST', '/api/bigdata/tasks', { form });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const id = r.body.id as string;
    await until('women sent', () => fx.engine.engine.sentCount(id) === women.length);

    // The women walk out of the region; more men walk into the women's old cell.
    await publish(women.map((x) => ev(x, 'away', elsewhere, { gender: 'f' })));
    const more = Array.from({ length: 12 }, m);
    await publish(more.map((x) => ev(x, 'w-cell', spot, { gender: 'm' })));
    await until('moves applied', () => more.every((x) => fx.engine.engine.presence.indexOf(x) >= 0));

    const reached = await fx.admin('GET', `/api/bigdata/tasks/${id}/reached?zoom=12`);
    expect(reached.status, JSON.stringify(reached.body)).toBe(200);
    const h3 = latLngToCell(spot[1], spot[0], reached.body.resolution);
    // 12 people, released on the grid of k = 10 (the reach rule: the nearest multiple of k).
    expect(reached.body.cells).toEqual([{ h3, count: { value: 10, suppressed: false } }]);
    const [lat, lng] = cellToLatLng(h3);
    expect(Math.abs(lat - spot[1]) + Math.abs(lng - spot[0])).toBeLessThan(0.1);

    // An update while running (the alerting CLI, or any writer of the bucket): new text.
    const store = new TaskStore(await new Kvm(fx.nc).open(TASKS_BUCKET));
    const cur = (await store.get(id))!.task;
    await store.update(id, { ...(cur.spec as AlertTaskSpecInput), content: '第二版内容' });
    const detail = await fx.admin('GET', `/api/bigdata/tasks/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.body.form.content).toBe('第二版内容');
    expect(detail.body.spec.content).toBe('第二版内容');
    expect(detail.body.version).toBe(2);

    // The same from the portal (PUT): the new text reaches the bucket alerting reads, as a new version.
    const upd = await fx.admin('PUT', `/api/bigdata/tasks/${id}`, { content: '第三版内容' });
    expect(upd.status, JSON.stringify(upd.body)).toBe(200);
    expect(upd.body.version).toBe(3);
    expect((await store.get(id))!.task.spec.content).toBe('第三版内容');
    expect((await fx.admin('GET', `/api/bigdata/tasks/${id}`)).body.form.content).toBe('第三版内容');
    // Bad input: a field-level Chinese message, nothing written.
    const empty = await fx.admin('PUT', `/api/bigdata/tasks/${id}`, { content: '  ' });
    expect(empty.status).toBe(400);
    expect(JSON.stringify(empty.body)).toContain('请填写发送内容');
    const past = await fx.admin('PUT', `/api/bigdata/tasks/${id}`, { endDate: '2020-01-01' });
    expect(past.status).toBe(400);
    expect(JSON.stringify(past.body)).toContain('结束日期');
    expect((await store.get(id))!.task.version).toBe(3);

    // Why did a number not get it: the enterprise's own task only, the number masked.
    const why = async (msisdn: string) => (await fx.admin('GET', `/api/bigdata/tasks/${id}/why?msisdn=${encodeURIComponent(msisdn)}`)).body;
    const sent = await why(women[0]!);
    expect(sent).toMatchObject({
      msisdn: `${women[0]!.slice(0, 3)}****${women[0]!.slice(7)}`,
      reason: 'sent',
      reasonLabel: expect.stringContaining('已发送'),
    });
    expect(Date.parse(sent.sentAt)).toBeGreaterThan(Date.now() - 120_000);
    expect(JSON.stringify(sent)).not.toContain(women[0]);
    expect(await why(`+86 ${men[0]!.slice(0, 3)}-${men[0]!.slice(3)}`)).toMatchObject({
      reason: 'not_sent',
      reasonLabel: expect.stringContaining('未向该号码发送'),
    });
    expect((await why('13900000000')).reason).toBe('not_sent');
    const bad = await fx.admin('GET', `/api/bigdata/tasks/${id}/why?msisdn=12345`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('11 位手机号码');
    const other = onApp(consoleApp(fx.portal, BIGDATA_ROUTES), await loginAs(fx.portal, await addAccount(fx.portal, 'other-enterprise')));
    expect((await other('GET', `/api/bigdata/tasks/${id}/why?msisdn=${women[0]}`)).status).toBe(404);
    expect((await other('PUT', `/api/bigdata/tasks/${id}`, { content: '别人的' })).status).toBe(404);

    // A stopped task can no longer change.
    expect((await fx.admin('POST', `/api/bigdata/tasks/${id}/stop`)).status).toBe(200);
    const late = await fx.admin('PUT', `/api/bigdata/tasks/${id}`, { content: '第四版内容' });
    expect(late.status).toBe(409);
    expect((await store.get(id))!.task.spec.content).toBe('第三版内容');
  });
});

/**
 * 查看明细 and the list's figures from messaging's send log (a real ClickHouse, the send log's own
 * schema under a table of this file): a page of recipients, masked; the list's sent count; the date
 * filter by the send period; the export's times in China time.
 */
describe('task recipients, sent count, date filter and export', () => {
  const TABLE = `sms_log_task_detail_${process.pid}`;
  let withLog: Portal;
  let api: ReturnType<typeof onApp>;
  const chinaDay = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);

  beforeAll(async () => {
    const ch = connectClickHouse(inject('clickhouseUrl'));
    await migrateClickHouse(ch, `task-detail-${process.pid}`, sendLogMigrations(TABLE));
    await ch.close();
    withLog = await testPortal({ clickhouseUrl: inject('clickhouseUrl'), smsLogTable: TABLE });
    setAlertBus(withLog.deps, await AlertBus.open(await connectNats(fx.natsUrl, 'task-detail-log')));
    api = onApp(consoleApp(withLog, BIGDATA_ROUTES), await loginAdmin(withLog));
  }, START_TIMEOUT);
  afterAll(async () => {
    await withLog?.stop();
  });

  it('pages the masked per-recipient record, counts the sent in the list, finds the task by its send dates and exports China time', async () => {
    const fd = new FormData();
    fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
    const letterId = (await api('POST', '/api/bigdata/letters', fd)).body.id;
    // Sends the day after tomorrow (China days): submitted today, so a filter on submission time would miss it.
    const sendDay = chinaDay(Date.now() + 2 * 86_400_000);
    const dayBefore = chinaDay(Date.now() + 86_400_000);
    const r = await api('POST', '/api/bigdata/tasks', {
      form: {
        alertType: 'typhoon',
        region: { parts: [{ kind: 'circle', center: spot, radiusM: 500 }] },
        subject: '明细测试',
        content: '台风将至，请注意安全。',
        signature: '翼讯通',
        startDate: sendDay,
        endDate: sendDay,
        windows: [],
        frequency: 'once',
        minDwellMin: 0,
        rules: [],
        quota: { cmcc: { total: 100, dailyCap: 100 }, ctcc: { total: 100, dailyCap: 100 } },
        authorizationLetter: letterId,
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const id = r.body.id as string;

    // Three recipients as messaging logs them: one delivered, one failed, one only submitted.
    const base = Math.floor(Date.parse('2026-12-09T00:30:05Z') / 1000); // 08:30:05 in China
    const jobs = [
      { msisdn: '13800138001', carrier: 'cmcc', status: 'delivered', code: 'DELIVRD', t: 0 },
      { msisdn: '13800138002', carrier: 'cmcc', status: 'failed', code: 'UNDELIV', t: 1 },
      { msisdn: '13300133003', carrier: 'ctcc', status: 'submitted', code: '', t: 2 },
    ];
    const ch = connectClickHouse(inject('clickhouseUrl'));
    await ch.insert({
      table: TABLE,
      format: 'JSONEachRow',
      values: jobs.flatMap((j, i) =>
        // Each job twice (submitted, then its final state): the latest version counts, once.
        [1, 2].map((version) => ({
          job_id: `${id}:${i}`,
          source: 'bigdata',
          enterprise_id: 'demo-enterprise',
          account_id: 'demo-admin',
          send_id: id,
          task: 0,
          msisdn: j.msisdn,
          carrier: j.carrier,
          smsc: '',
          segments: 1,
          created_at: base + j.t,
          submit_time: base + j.t,
          message_id: '',
          message_ids: [],
          status: version === 1 ? 'submitted' : j.status,
          code: version === 1 ? '' : j.code,
          status_time: base + j.t + 2,
          version,
        })),
      ),
    });
    await ch.close();

    const page1 = await api('GET', `/api/bigdata/tasks/${id}/recipients?page=1&pageSize=2`);
    expect(page1.status, JSON.stringify(page1.body)).toBe(200);
    expect(page1.body).toMatchObject({ total: 3, page: 1, pageSize: 2, logAvailable: true });
    expect(page1.body.items).toEqual([
      {
        msisdn: '133****3003',
        carrier: 'ctcc',
        carrierLabel: '中国电信',
        state: 'submitted',
        stateLabel: '已提交',
        code: '',
        segments: 1,
        submittedAt: '2026-12-09 08:30:07',
        statusAt: '2026-12-09 08:30:09',
      },
      {
        msisdn: '138****8002',
        carrier: 'cmcc',
        carrierLabel: '中国移动',
        state: 'failed',
        stateLabel: '发送失败',
        code: 'UNDELIV',
        segments: 1,
        submittedAt: '2026-12-09 08:30:06',
        statusAt: '2026-12-09 08:30:08',
      },
    ]);
    const page2 = await api('GET', `/api/bigdata/tasks/${id}/recipients?page=2&pageSize=2`);
    expect(page2.body.items.map((x: { msisdn: string; stateLabel: string }) => [x.msisdn, x.stateLabel])).toEqual([
      ['138****8001', '发送成功'],
    ]);
    expect(JSON.stringify([page1.body, page2.body])).not.toMatch(/1380013800[12]|13300133003/);
    expect((await api('GET', `/api/bigdata/tasks/${id}/recipients?pageSize=500`)).status).toBe(400);
    const other = onApp(consoleApp(withLog, BIGDATA_ROUTES), await loginAs(withLog, await addAccount(withLog, 'other-enterprise')));
    expect((await other('GET', `/api/bigdata/tasks/${id}/recipients`)).status).toBe(404);

    // The list: found by its send dates (from the day before to the send day, or the send day alone), with its sent count.
    const listed = async (q: string) =>
      ((await api('GET', `/api/bigdata/tasks?${q}`)).body.items as { id: string; sent: number | null }[]).find((t) => t.id === id);
    expect(await listed(`from=${dayBefore}&to=${sendDay}`)).toMatchObject({ sent: 3 });
    expect(await listed(`from=${sendDay}&to=${sendDay}`)).toBeDefined();
    expect(await listed(`from=${dayBefore}&to=${dayBefore}`)).toBeUndefined();
    expect(await listed(`from=${chinaDay(Date.now() + 3 * 86_400_000)}`)).toBeUndefined();

    // The export: submission time in China time (not UTC ISO), and the sent count.
    const x = await api('GET', `/api/bigdata/tasks/export?from=${sendDay}&to=${sendDay}`);
    expect(x.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(x.body as never);
    const ws = wb.worksheets[0]!;
    const header = (ws.getRow(1).values as unknown[]).map(String);
    const row = ws.getRows(2, ws.rowCount - 1)!.find((rw) => rw.getCell(1).text === id)!;
    const at = row.getCell(header.indexOf('提交时间（北京时间）')).text;
    const submitted = Date.parse((await api('GET', `/api/bigdata/tasks/${id}`)).body.submittedAt);
    expect(at).toBe(new Date(submitted + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' '));
    expect(row.getCell(header.indexOf('已发送')).value).toBe(3);
  });

  it('reads the rate the send queue drains at: jobs submitted to the carrier in the last minute', async () => {
    const ch = connectClickHouse(inject('clickhouseUrl'));
    const now = Math.floor(Date.now() / 1000);
    const job = (i: number, carrier: string, at: number) => ({
      job_id: `bd-rate:${i}`,
      source: 'bigdata',
      enterprise_id: 'demo-enterprise',
      account_id: 'demo-admin',
      send_id: 'bd-rate',
      task: 0,
      msisdn: `1380013900${i}`,
      carrier,
      smsc: '',
      segments: 1,
      created_at: at,
      submit_time: at,
      message_id: '',
      message_ids: [],
      status: 'submitted',
      code: '',
      status_time: at,
      version: 1,
    });
    await ch.insert({
      table: TABLE,
      format: 'JSONEachRow',
      values: [job(1, 'cmcc', now - 5), job(2, 'cmcc', now - 20), job(3, 'cmcc', now - 3600), job(4, 'ctcc', now - 7200)],
    });
    expect(await recordedProgress(ch, TABLE, 'bd-rate')).toEqual({
      cmcc: { sent: 3, delivered: 0, failed: 0, lastMinute: 2 },
      ctcc: { sent: 1, delivered: 0, failed: 0, lastMinute: 0 },
    });
    await ch.close();
  });
});
