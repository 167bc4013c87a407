import { CAPS_BUCKET, KvBudget } from '@geo/alerting';
import { ensureKv, type NatsConnection } from '@geo/infra';
import { until, untilValue } from '@geo/infra/testing';
import { encodeLocationBatch, locationSubject, shardOf, type LocationEvent } from '@geo/ingest';
import { SMS_JOBS_STREAM, smsJobsIn, type SmsJob } from '@geo/messaging';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../../portal.ts';
import { START_TIMEOUT, type Client } from '../../../test/harness.ts';
import { unbalanced } from '../../ledger/ledger.ts';
import { settleEnded } from '../../ledger/runtime.ts';
import { shanghaiToday, startEngineConsole, type EngineConsole } from '../console-harness.ts';

const CENTRE: [number, number] = [120.16, 30.27];
const IP = '10.77.0.1';

/** Every job of a task in SMS_JOBS (this test's own nats-server: the engine here is its only writer). */
async function jobsOf(nc: NatsConnection, taskId: string): Promise<SmsJob[]> {
  const js = jetstream(nc, { timeout: 15_000 });
  const info = await (await js.jetstreamManager()).streams.info(SMS_JOBS_STREAM);
  if (info.state.messages === 0) return [];
  const c = await js.consumers.get(SMS_JOBS_STREAM, { deliver_policy: DeliverPolicy.All });
  const out: SmsJob[] = [];
  const msgs = await c.consume({ max_messages: 1000 });
  for await (const m of msgs) {
    for (const j of smsJobsIn(JSON.parse(new TextDecoder().decode(m.data))) ?? []) if (j.sendId === taskId) out.push(j);
    if (m.seq >= info.state.last_seq || m.info.pending === 0) break;
  }
  await msgs.close();
  return out;
}

/**
 * Exercise mode (#21) through the portal's HTTP API and the real alerting engine: an exercise is
 * reached, capped and sent like a real alert, every SMS begins with 【演练】, it is shown as an
 * exercise in the list, the detail, the Excel export and the CAP export, and the enterprise's
 * balance and ledger are as they were before it.
 */
describe('an exercise task (演练)', () => {
  let stack: EngineConsole;
  let nc: NatsConnection;
  let portal: Portal;
  let admin: Client;
  let letter: string;

  beforeAll(async () => {
    stack = await startEngineConsole({
      id: 'drill-ent',
      name: '演练集团',
      quota: 100,
      accessNumber: '1069000555',
      password: 'Drill-Admin-2024',
      ip: IP,
    });
    ({ nc, portal, admin, letter } = stack);
  }, START_TIMEOUT);
  afterAll(async () => {
    await stack?.stop();
  });

  it('runs like an alert with 【演练】 before every SMS, is shown as an exercise everywhere, and leaves the balance and ledger as they were', async () => {
    const form = {
      alertType: 'typhoon',
      region: { parts: [{ kind: 'circle', center: CENTRE, radiusM: 2000 }] },
      subject: '台风 演练',
      content: '台风演练：请按预案到最近的避难场所。',
      signature: '应急管理局',
      startDate: shanghaiToday(),
      endDate: shanghaiToday(),
      windows: [],
      frequency: 'once',
      minDwellMin: 0,
      rules: [{ attribute: 'gender', action: 'exclude', values: ['f'] }],
      quota: { cmcc: { total: 25, dailyCap: 25 } },
      authorizationLetter: letter,
      exercise: true,
    };
    const t = await admin.req('POST', '/api/bigdata/tasks', { form });
    expect(t.status).toBe(200);
    // Nothing is reserved: an exercise is never charged.
    expect((await admin.req('GET', '/api/home/quota')).body).toMatchObject({ enterpriseQuota: 100, reserved: 0 });

    // 30 men and 5 women of China Mobile inside the circle, 10 men outside: the rule and the cap apply.
    const people = (n: number, from: number, at: [number, number], gender: 'm' | 'f'): LocationEvent[] =>
      Array.from({ length: n }, (_, i) => ({
        msisdn: `1390001${String(from + i).padStart(4, '0')}`,
        carrier: 'cmcc',
        ts: Date.now(),
        cell: `c-${from + i}`,
        lng: at[0] + i * 1e-4,
        lat: at[1],
        kind: 'periodic',
        gender,
      }));
    const events = [...people(30, 0, CENTRE, 'm'), ...people(5, 50, CENTRE, 'f'), ...people(10, 100, [CENTRE[0] + 0.5, CENTRE[1]], 'm')];
    const js = jetstream(nc);
    for (const e of events) await js.publish(locationSubject(e.carrier, shardOf(e.msisdn)), encodeLocationBatch([e]));
    const caps = new KvBudget(await ensureKv(nc, CAPS_BUCKET, {}));
    await until('25 sent (the total caps the 30 men)', async () => (await caps.usedTotals(t.body.id, ['cmcc'])).cmcc === 25, 45_000, 200);

    const jobs = await untilValue('25 jobs in SMS_JOBS', async () => {
      const j = await jobsOf(nc, t.body.id);
      return j.length >= 25 ? j : undefined;
    });
    expect(jobs).toHaveLength(25);
    expect(new Set(jobs.map((j) => j.content))).toEqual(new Set(['【演练】台风演练：请按预案到最近的避难场所。']));
    expect(jobs.every((j) => Number(j.msisdn.slice(-4)) < 30)).toBe(true);

    // Shown as an exercise: list, detail, drafts box, Excel export, CAP export.
    const list = await admin.req('GET', '/api/bigdata/tasks');
    expect(list.body.items.find((x: { id: string }) => x.id === t.body.id)).toMatchObject({ exercise: true });
    const ids = async (q: string) => (await admin.req('GET', `/api/bigdata/tasks?${q}`)).body.items.map((x: { id: string }) => x.id);
    expect(await ids('exercise=true')).toEqual([t.body.id]);
    expect(await ids('exercise=false')).toEqual([]);
    expect((await admin.req('GET', '/api/bigdata/tasks?exercise=maybe')).status).toBe(400);
    const detail = await admin.req('GET', `/api/bigdata/tasks/${t.body.id}`);
    expect(detail.body).toMatchObject({ exercise: true, form: { exercise: true } });
    const xlsx = await portal.request('/api/bigdata/tasks/export', { headers: { cookie: admin.cookie, 'x-forwarded-for': IP } });
    expect(xlsx.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await xlsx.arrayBuffer());
    const ws = wb.worksheets[0]!;
    const header = (ws.getRow(1).values as unknown[]).indexOf('演练');
    expect(header).toBeGreaterThan(0);
    expect(ws.getRow(2).getCell(header).value).toBe('是');
    const draft = await admin.req('POST', '/api/bigdata/drafts', { form: { ...form, subject: '台风 演练草稿' } });
    expect(draft.status).toBe(200);
    const drafts = await admin.req('GET', '/api/bigdata/drafts');
    expect(drafts.body.items.find((x: { id: string }) => x.id === draft.body.id)).toMatchObject({ exercise: true });
    const cap = await admin.req('GET', `/api/bigdata/tasks/${t.body.id}/cap`);
    expect(cap.status).toBe(200);
    expect(String(cap.body)).toContain('<status>Exercise</status>');

    expect((await admin.req('POST', `/api/bigdata/tasks/${t.body.id}/stop`)).status).toBe(200);
    await settleEnded(portal.deps, { graceMs: 0 });
    expect((await admin.req('GET', '/api/home/quota')).body).toMatchObject({ enterpriseQuota: 100, reserved: 0 });
    expect(await unbalanced(portal.deps.db, 'drill-ent')).toEqual([]);
    const kinds = (await admin.req('GET', '/api/home/ledger')).body.items.map(
      (x: { kind: string; amount: number }) => `${x.kind} ${x.amount}`,
    );
    expect(kinds).toEqual(['opening 100']);
  });
});
