import { jetstream } from '@nats-io/jetstream';
import { connectNats, type NatsConnection } from '@geo/infra';
import { SMS_JOBS_STREAM, SmsJob, smsJobSubject, smsReplySubject } from '@geo/messaging';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loginAdmin, START_TIMEOUT } from '../../test/harness.ts';
import { industryTestApp, type IndustryTestApp, type Requester } from './test-app.ts';

/** Every job of one send on SMS_JOBS (the stream keeps messages; other tests' jobs are skipped). */
async function jobsOf(nc: NatsConnection, sendId: string, want: number): Promise<{ job: SmsJob; subject: string; msgId: string | undefined }[]> {
  const c = await jetstream(nc).consumers.get(SMS_JOBS_STREAM, { filter_subjects: 'sms.jobs.>' });
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
      if (parsed.success && parsed.data.sendId === sendId) out.push({ job: parsed.data, subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id') });
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
    const r = await admin('POST', '/api/industry/sends', {
      recipients: '13800138000, +86 138 0013 8000; 13000000000 18900000000 12345',
      content: '集成测试',
      acceptRejected: true,
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'sent', recipients: 3 });
    expect(r.body.rejected.map((x: { reason: string }) => x.reason).sort()).toEqual(['duplicate', 'invalid']);
    const got = await jobsOf(nc, r.body.id, 3);
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
    const s = await admin('POST', '/api/industry/sends', { recipients: '13800138000', subject: '回复测试', content: '请回复', needReply: true });
    const replyId = `int-${Date.now()}`;
    await jetstream(nc).publish(
      smsReplySubject('demo-enterprise'),
      JSON.stringify({ replyId, enterpriseId: 'demo-enterprise', sendId: s.body.id, from: '13800138000', to: `1069088811${s.body.extension}`, text: '好的', carrier: 'cmcc', at: Date.now() }),
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
