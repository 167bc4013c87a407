import { progressSubject, type TaskProgress } from '@geo/alerting';
import { connectClickHouse, connectNats, migrateClickHouse, type ClickHouseClient, type NatsConnection } from '@geo/infra';
import { smsStatusSubject, type DeliveryStatus, sendLogMigrations } from '@geo/messaging';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freshDatabase } from '../../jobs/test-database.ts';
import type { Portal } from '../../portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';
import { AlertBus, setAlertBus } from './alert-bus.ts';
import { PNG_BYTES } from './console-harness.ts';
import { recordedProgress } from './progress.ts';

/**
 * A task's live progress with two portal instances behind a load balancer (#19): the page may be
 * served by an instance other than the one the task was submitted on. Needs a PostgreSQL server
 * (TEST_DATABASE_URL) for the two instances, real NATS and ClickHouse.
 */
const pgUrl = inject('postgresUrl');
const today = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!pgUrl)('task progress from either portal instance (needs TEST_DATABASE_URL)', () => {
  const BUCKET = `alert_tasks_two_${process.pid}`;
  const TABLE = `sms_log_portal_progress_two_${process.pid}`;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let nc: NatsConnection;
  let ch: ClickHouseClient;
  let a: Portal;
  let b: Portal;
  let busA: AlertBus;
  let onA: Client;
  let onB: Client;
  let letter: string;

  /** A task submitted on instance A, as the console does. */
  async function submit(subject: string): Promise<string> {
    const r = await onA.req('POST', '/api/bigdata/tasks', {
      form: {
        alertType: 'typhoon',
        region: { parts: [{ kind: 'circle', center: [120.15, 30.25], radiusM: 1500 }] },
        subject,
        content: '台风即将登陆，请注意安全。',
        signature: '翼讯通',
        startDate: today(),
        endDate: today(),
        windows: [],
        frequency: 'once',
        minDwellMin: 0,
        rules: [],
        quota: { cmcc: { total: 100, dailyCap: 100 }, ctcc: { total: 100, dailyCap: 100 } },
        authorizationLetter: letter,
      },
    });
    expect(r.status).toBe(200);
    return r.body.id;
  }

  /** What alerting and messaging say of a task: progress per instance, delivery statuses, the send log. */
  async function taskRuns(taskId: string): Promise<void> {
    const p: TaskProgress = {
      v: 1,
      taskId,
      instance: 'alerting-1',
      at: Date.now(),
      state: 'running',
      matched: 40,
      sent: { cmcc: 3, cucc: 0, ctcc: 2 },
      skipped: { rule: 14 },
    };
    nc.publish(progressSubject(taskId), JSON.stringify(p));
    const now = Math.floor(Date.now() / 1000);
    const jobs = [
      ['cmcc', 'delivered'],
      ['cmcc', 'delivered'],
      ['cmcc', 'failed'],
      ['ctcc', 'delivered'],
      ['ctcc', 'submitted'],
    ] as const;
    for (const [i, [carrier, state]] of jobs.entries()) {
      if (state === 'submitted') continue;
      const s: DeliveryStatus = {
        jobId: `${taskId}:${i}`,
        sendId: taskId,
        enterpriseId: 'demo-enterprise',
        accountId: 'demo-admin',
        msisdn: `1380013${7100 + i}`,
        carrier,
        state,
        segments: 1,
        at: Date.now(),
      };
      nc.publish(smsStatusSubject(carrier), JSON.stringify(s));
    }
    await ch.insert({
      table: TABLE,
      format: 'JSONEachRow',
      values: jobs.map(([carrier, status], i) => ({
        job_id: `${taskId}:${i}`,
        source: 'bigdata',
        enterprise_id: 'demo-enterprise',
        account_id: 'demo-admin',
        send_id: taskId,
        task: 0,
        msisdn: `1380013${7100 + i}`,
        carrier,
        segments: 1,
        created_at: now,
        submit_time: now,
        message_id: '',
        message_ids: [],
        status,
        code: '',
        status_time: now,
        version: 2,
      })),
    });
    await nc.flush();
  }

  beforeAll(async () => {
    db = await freshDatabase(pgUrl, `portal_progress_two_${process.pid}`);
    nc = await connectNats(inject('natsUrl'), 'portal-progress-two');
    ch = connectClickHouse(inject('clickhouseUrl'));
    await migrateClickHouse(ch, `portal-progress-two-${process.pid}`, sendLogMigrations(TABLE));
    const cfg = { databaseUrl: db.url, clickhouseUrl: inject('clickhouseUrl'), smsLogTable: TABLE };
    a = await testPortal(cfg);
    b = await testPortal(cfg);
    busA = await AlertBus.open(await connectNats(inject('natsUrl'), 'portal-a'), { bucket: BUCKET });
    setAlertBus(a.deps, busA);
    setAlertBus(b.deps, await AlertBus.open(await connectNats(inject('natsUrl'), 'portal-b'), { bucket: BUCKET }));
    onA = await loginAdmin(a);
    onB = await loginAdmin(b);
    const fd = new FormData();
    fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
    const up = await onA.reqRaw('POST', '/api/bigdata/letters', fd);
    expect(up.status).toBe(200);
    letter = up.body.id;
  }, START_TIMEOUT);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await nc?.drain();
    await ch?.command({ query: `DROP TABLE IF EXISTS ${TABLE}` }).catch(() => undefined);
    await ch?.close();
    await db?.drop();
  });

  it('streams to a page on instance B the progress of a task submitted on instance A', async () => {
    const id = await submit('两个实例进度');
    const res = await b.request(`/api/bigdata/tasks/${id}/progress`, { headers: { cookie: onB.cookie } });
    expect(res.headers.get('content-type')).toMatch(/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    try {
      await taskRuns(id);
      const until = Date.now() + 20_000;
      while (!/"delivered":2,"failed":1/.test(text) && Date.now() < until) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    } finally {
      await reader.cancel();
    }
    const last = JSON.parse(
      text
        .split('\n')
        .filter((l) => l.startsWith('data: ') && l.includes('"matched"'))
        .pop()!
        .slice(6),
    );
    expect(last).toMatchObject({
      state: 'running',
      matched: 40,
      carriers: { cmcc: { sent: 3, delivered: 2, failed: 1 }, ctcc: { sent: 2, delivered: 1, failed: 0 } },
      skipped: { rule: 10 },
    });
  });

  it('streams from an instance started after the task ran what the send log recorded (over HTTP)', async () => {
    const id = await submit('后启动实例的进度流');
    await taskRuns(id);
    const c = await testPortal({ databaseUrl: db.url, clickhouseUrl: inject('clickhouseUrl'), smsLogTable: TABLE });
    const late = await AlertBus.open(await connectNats(inject('natsUrl'), 'portal-c'), { bucket: BUCKET });
    setAlertBus(c.deps, late);
    try {
      const onC = await loginAdmin(c);
      const res = await c.request(`/api/bigdata/tasks/${id}/progress`, { headers: { cookie: onC.cookie } });
      const reader = res.body!.getReader();
      let text = '';
      try {
        const until = Date.now() + 20_000;
        while (!/"delivered":2,"failed":1/.test(text) && Date.now() < until) {
          const { value, done } = await reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
        }
      } finally {
        await reader.cancel();
      }
      // Nothing of this task was heard by C: the figures come from the send log.
      const last = JSON.parse(
        text
          .split('\n')
          .filter((l) => l.startsWith('data: ') && l.includes('"carriers"'))
          .pop()!
          .slice(6),
      );
      expect(last.carriers).toMatchObject({ cmcc: { sent: 3, delivered: 2, failed: 1 }, ctcc: { sent: 2, delivered: 1, failed: 0 } });
    } finally {
      await c.stop();
    }
  });

  it('shows on an instance started after the task began what the send log recorded, as on the instance that heard it all', async () => {
    const id = await submit('后启动的实例');
    await taskRuns(id);
    const heard = busA.progress(id);
    for (let i = 0; i < 100 && heard.view().carriers.cmcc.failed === 0; i++) await sleep(50);
    // An instance (re)started now: its bus hears only what comes from here on.
    const late = await AlertBus.open(await connectNats(inject('natsUrl'), 'portal-late'), { bucket: BUCKET });
    try {
      const fold = late.progress(id);
      expect(fold.view().carriers.cmcc).toEqual({ sent: 0, delivered: 0, failed: 0 });
      fold.catchUp(await recordedProgress(ch, TABLE, id));
      expect(fold.view().carriers).toEqual({ ...heard.view().carriers, cucc: { sent: 0, delivered: 0, failed: 0 } });
      expect(fold.view().carriers).toEqual({
        cmcc: { sent: 3, delivered: 2, failed: 1 },
        cucc: { sent: 0, delivered: 0, failed: 0 },
        ctcc: { sent: 2, delivered: 1, failed: 0 },
      });
      // What is then heard live is not counted twice.
      fold.status({
        jobId: `${id}:0`,
        sendId: id,
        enterpriseId: 'demo-enterprise',
        accountId: 'demo-admin',
        msisdn: '13800137100',
        carrier: 'cmcc',
        state: 'delivered',
        segments: 1,
        at: Date.now(),
      });
      expect(fold.view().carriers.cmcc.delivered).toBe(2);
    } finally {
      await late.close();
    }
  });
});
