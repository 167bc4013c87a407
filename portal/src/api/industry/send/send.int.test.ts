import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connectClickHouse, connectNats, migrateClickHouse, type ClickHouseClient, type NatsConnection } from '@geo/infra';
import { SMS_JOBS_STREAM, SmsJob, smsJobSubject, smsReplySubject, sendLogMigrations } from '@geo/messaging';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loginAdmin, START_TIMEOUT } from '../../../test/harness.ts';
import { industryTestApp, type IndustryTestApp, type Requester } from '../test-app.ts';

/**
 * Every job of one send on SMS_JOBS published since `since` (the stream is shared with the other
 * files of the run, which may have put tens of thousands of jobs before ours; they are skipped).
 */
async function jobsOf(
  nc: NatsConnection,
  sendId: string,
  want: number,
  since: Date,
): Promise<{ job: SmsJob; subject: string; msgId: string | undefined }[]> {
  const c = await jetstream(nc).consumers.get(SMS_JOBS_STREAM, {
    filter_subjects: 'sms.jobs.>',
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(since.getTime() - 1000).toISOString(),
  });
  const out: { job: SmsJob; subject: string; msgId: string | undefined }[] = [];
  for (let round = 0; round < 20; round++) {
    const batch = await c.fetch({ max_messages: 1000, expires: 1000 });
    for await (const m of batch) {
      // The stream is shared: other files' jobs (the bad-input suite's malformed ones too) are skipped.
      let parsed: ReturnType<typeof SmsJob.safeParse>;
      try {
        parsed = SmsJob.safeParse(m.json());
      } catch {
        continue;
      }
      if (parsed.success && parsed.data.sendId === sendId)
        out.push({ job: parsed.data, subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id') });
    }
    if (out.length >= want && round > 0) break;
  }
  return out;
}

describe('industry send over real NATS', () => {
  let t: IndustryTestApp;
  let nc: NatsConnection;
  let admin: Requester;
  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'portal-industry-int');
    t = await industryTestApp({ nc, replyConsumer: `portal-industry-int-${process.pid}` });
    admin = t.as(await loginAdmin(t.portal));
  }, START_TIMEOUT);
  afterAll(async () => {
    await t?.stop();
    await nc?.close();
  });

  it('publishes exactly one SmsJob per unique valid recipient, on its carrier subject, with Msg-Id = jobId', async () => {
    const since = new Date();
    const r = await admin('POST', '/api/industry/sends', {
      recipients: '13800138000, +86 138 0013 8000; 13000000000 18900000000 12345',
      content: '集成测试',
      acceptRejected: true,
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'sent', recipients: 3 });
    expect(r.body.rejected.map((x: { reason: string }) => x.reason).sort()).toEqual(['duplicate', 'invalid']);
    const got = await jobsOf(nc, r.body.id, 3, since);
    expect(got).toHaveLength(3);
    const byNumber = Object.fromEntries(got.map((g) => [g.job.msisdn, g]));
    expect(byNumber['13800138000']!.job.carrier).toBe('cmcc');
    expect(byNumber['13000000000']!.job.carrier).toBe('cucc');
    expect(byNumber['18900000000']!.job.carrier).toBe('ctcc');
    for (const g of got) {
      expect(g.subject).toBe(smsJobSubject(g.job.carrier));
      expect(g.msgId).toBe(g.job.jobId);
      expect(g.job).toMatchObject({ source: 'industry', enterpriseId: 'demo-enterprise', content: '集成测试', signature: '翼讯通' });
    }
  });

  it('fills the inbox from SmsReply events under the send they answer', async () => {
    const s = await admin('POST', '/api/industry/sends', {
      recipients: '13800138000',
      subject: '回复测试',
      content: '请回复',
      needReply: true,
    });
    const replyId = `int-${Date.now()}`;
    await jetstream(nc).publish(
      smsReplySubject('demo-enterprise'),
      JSON.stringify({
        replyId,
        enterpriseId: 'demo-enterprise',
        sendId: s.body.id,
        from: '13800138000',
        to: `1069088811${s.body.extension}`,
        text: '好的',
        carrier: 'cmcc',
        at: Date.now(),
      }),
      { msgID: replyId },
    );
    let items: { sendId: string; text: string }[] = [];
    for (let i = 0; i < 100 && items.length === 0; i++) {
      items = (await admin('GET', `/api/industry/inbox?sendId=${s.body.id}`)).body.items;
      if (!items.length) await new Promise((res) => setTimeout(res, 100));
    }
    expect(items).toEqual([expect.objectContaining({ sendId: s.body.id, text: '好的', subject: '回复测试' })]);
  });
});

// The send log's shape as messaging creates it (messaging/src/send-log/schema.ts), under our own table name.
const LOG_TABLE = `sms_log_portal_sent_${process.pid}`;

describe('the sent list follows the numbers in the send log (real ClickHouse)', () => {
  let t: IndustryTestApp;
  let ch: ClickHouseClient;
  let admin: Requester;
  beforeAll(async () => {
    ch = connectClickHouse(inject('clickhouseUrl'));
    await migrateClickHouse(ch, `portal-sent-test-${process.pid}`, sendLogMigrations(LOG_TABLE));
    t = await industryTestApp({ portal: { clickhouseUrl: inject('clickhouseUrl'), smsLogTable: LOG_TABLE } });
    admin = t.as(await loginAdmin(t.portal));
  }, START_TIMEOUT);
  afterAll(async () => {
    await ch?.command({ query: `DROP TABLE IF EXISTS ${LOG_TABLE}` });
    await ch?.close();
    await t?.stop();
  });

  const logged = async (sendId: string, outcomes: string[]) => {
    const now = Math.floor(Date.now() / 1000);
    await ch.insert({
      table: LOG_TABLE,
      format: 'JSONEachRow',
      values: outcomes.flatMap((status, i) => [
        {
          job_id: `${sendId}:${i + 1}`,
          source: 'industry',
          enterprise_id: 'demo-enterprise',
          account_id: 'demo-admin',
          send_id: sendId,
          task: 0,
          msisdn: '13800138000',
          carrier: 'cmcc',
          segments: 1,
          created_at: now,
          submit_time: now,
          message_id: '',
          message_ids: [],
          status: 'submitted',
          code: '',
          status_time: now,
          version: 1,
        },
        {
          job_id: `${sendId}:${i + 1}`,
          source: 'industry',
          enterprise_id: 'demo-enterprise',
          account_id: 'demo-admin',
          send_id: sendId,
          task: 0,
          msisdn: '13800138000',
          carrier: 'cmcc',
          segments: 1,
          created_at: now,
          submit_time: now,
          message_id: '',
          message_ids: [],
          status,
          code: status === 'failed' ? 'UNDELIV' : '',
          status_time: now,
          version: 2,
        },
      ]),
    });
  };

  it('shows all delivered, partly failed or pending per send, and fills 成功 and 失败 in the 合计 row', async () => {
    const send = async (subject: string, n: number) =>
      (
        await admin('POST', '/api/industry/sends', {
          recipients: ['13800138000', '13900139000', '18900000001'].slice(0, n).join(' '),
          subject,
          content: '状态测试',
        })
      ).body.id as string;
    const all = await send('状态-全部成功', 2);
    const part = await send('状态-部分失败', 3);
    const waiting = await send('状态-等待回执', 2);
    await logged(all, ['delivered', 'delivered']);
    await logged(part, ['delivered', 'failed', 'submitted']);
    await logged(waiting, ['submitted', 'delivered']);
    const list = await admin('GET', '/api/industry/sends?subject=状态-');
    expect(list.status).toBe(200);
    const by = Object.fromEntries(
      list.body.items.map((s: { subject: string; status: string; delivered: number; failed: number }) => [
        s.subject,
        `${s.status} ${s.delivered}/${s.failed}`,
      ]),
    );
    expect(by).toEqual({ '状态-全部成功': 'delivered 2/0', '状态-部分失败': 'partly_failed 1/1', '状态-等待回执': 'pending 1/0' });
    expect(list.body.totals).toEqual({ sends: 3, recipients: 7, billing: 7, delivered: 4, failed: 1 });
    // The 合计 row counts every match, not only the page shown.
    expect((await admin('GET', '/api/industry/sends?subject=状态-&pageSize=1')).body.totals).toMatchObject({ delivered: 4, failed: 1 });
    const stats = await admin('GET', '/api/industry/stats?keyword=状态-');
    expect(stats.body.totals).toMatchObject({ sends: 3, delivered: 4, failed: 1 });
  });

  it('gives a scheduled send both its creation and its sending time', async () => {
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const s = await admin('POST', '/api/industry/sends', {
      recipients: '13800138000',
      subject: '定时-两个时间',
      content: '定时',
      action: 'schedule',
      scheduledAt: at,
    });
    expect(s.status).toBe(200);
    // Its time comes (moved forward rather than waiting an hour); the dispatcher sends it.
    await t.portal.deps.db.query(
      `UPDATE sms_sends SET scheduled_at = now() - interval '1 second', created_at = now() - interval '1 hour' WHERE id = $1`,
      [s.body.id],
    );
    await t.industry.tick();
    const item = (await admin('GET', '/api/industry/sends?subject=定时-两个时间')).body.items[0];
    expect(item).toMatchObject({
      state: 'sent',
      scheduledAt: expect.any(String),
      sentAt: expect.any(String),
      createdAt: expect.any(String),
    });
    expect(Date.parse(item.sentAt) - Date.parse(item.createdAt)).toBeGreaterThan(3_000_000);
  });
});
