import { describe, expect, inject, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { connectNats } from '@geo/infra';
import { readMetrics, until } from '@geo/infra/testing';
import { ServiceKit } from '../testing/service-kit.ts';
import type { SmsJob } from '../contract.ts';
import { RecipientLimiter } from './recipient-limits.ts';

/**
 * Anti-bombing (issue 17) through the real service: several sends to one number within a second
 * are held back past the per-minute limit (default 1), each with a recorded status and reason;
 * another enterprise and alert jobs are not; a held job sent again stays held. Two limiters on one
 * bucket (two messaging instances) let exactly the limit through between them.
 */

const kit = new ServiceKit('rl', 'messaging-limits-test', () => ({ ACK_WAIT_MS: '5000' }));
const svc = kit.serveInProcess();

let seq = 0;
const job = (over: Partial<SmsJob>): SmsJob =>
  kit.job({
    enterpriseId: 'ent-a',
    accountId: 'acc-a',
    sendId: 'send-a',
    msisdn: '13800000077',
    content: `验证码 ${++seq}`,
    signature: '测试',
    ...over,
  });
const settled = async (ids: string[]) => {
  await until(
    'every job settled',
    async () => (await kit.rows(ids)).filter((r) => r.status === 'delivered' || r.status === 'rejected').length === ids.length,
  );
  return new Map((await kit.rows(ids)).map((r) => [r.job_id, r]));
};

describe('per-number limits (anti-bombing)', () => {
  it('holds back the sends to one number beyond 1 a minute per enterprise, with a status and reason; other enterprises and alerts pass', async () => {
    const burst = Array.from({ length: 8 }, () => job({}));
    const otherEnterprise = job({ enterpriseId: 'ent-b', accountId: 'acc-b', sendId: 'send-b' });
    const alerts = Array.from({ length: 3 }, (_, i) => job({ source: 'alert', alertType: 'typhoon', sendId: `task-${i}` }));
    await kit.publish([...burst, otherEnterprise, ...alerts]);
    const all = [...burst, otherEnterprise, ...alerts].map((j) => j.jobId);
    const by = await settled(all);
    const burstStates = burst.map((j) => by.get(j.jobId)!);
    expect(burstStates.filter((r) => r.status === 'delivered')).toHaveLength(1);
    expect(burstStates.filter((r) => r.status === 'rejected' && r.code === 'RATE_LIMITED')).toHaveLength(7);
    expect(by.get(otherEnterprise.jobId)!.status).toBe('delivered');
    for (const a of alerts) expect(by.get(a.jobId)!.status).toBe('delivered');
    // 1 of the burst, 1 of the other enterprise, 3 alerts reached the SMSC.
    expect(kit.smscs.cmcc.messagesTo('13800000077')).toHaveLength(5);
    await until('the status events of the held jobs', () => kit.statuses.filter((s) => s.code === 'RATE_LIMITED').length >= 7);
    expect(kit.statuses.find((s) => s.code === 'RATE_LIMITED')!.reason).toMatch(/^频率限制：同一号码每分钟最多接收本企业 1 条短信/);
    const metrics = await readMetrics(`${svc().healthUrl}/metrics`);
    expect(metrics.value('sms_recipient_limited_total', { window: 'minute' })).toBe(7);
    expect(metrics.value('sms_recipient_limit_exempt_total', { reason: 'emergency_alert' })).toBe(3);
  });

  it('keeps a held job held when it comes again (redelivery or a producer publishing it again)', async () => {
    const held = job({ msisdn: '13800000078' });
    const first = job({ msisdn: '13800000078' });
    await kit.publish([first]);
    await settled([first.jobId]);
    await kit.publish([held]);
    await until('the second job held', async () => (await settled([held.jobId])).get(held.jobId)!.status === 'rejected');
    const { limited, limitedAgain } = svc().sender.counts;
    await jetstream(kit.nc).publish(kit.names.jobSubject('cmcc'), JSON.stringify(held), { msgID: `${held.jobId}-again` });
    await until('the copy to be held again', () => svc().sender.counts.limitedAgain > limitedAgain);
    expect(kit.smscs.cmcc.messagesTo('13800000078')).toHaveLength(1);
    // Counted once: the counter counts jobs held back, not their attempts.
    expect(svc().sender.counts.limited).toBe(limited);
  });

  it('lets exactly the limit through between two instances racing for one number', async () => {
    const limits = { perMinute: 3, perHour: 0, perDay: 0 };
    const nc2 = await connectNats(inject('natsUrl'), 'messaging-limits-test-2');
    try {
      const [a, b] = await Promise.all([
        RecipientLimiter.open(kit.nc, `${kit.ns}_race`, limits),
        RecipientLimiter.open(nc2, `${kit.ns}_race`, limits),
      ]);
      const jobs = Array.from({ length: 12 }, () => job({ msisdn: '13800000079' }));
      const decisions = await Promise.all(jobs.map((j, i) => (i % 2 ? a : b).admit(j, j.msisdn)));
      expect(decisions.filter((d) => d.ok)).toHaveLength(3);
      // Asked again, each job gets its first answer.
      const again = await Promise.all(jobs.map((j, i) => (i % 2 ? b : a).admit(j, j.msisdn)));
      expect(again.map((d) => d.ok)).toEqual(decisions.map((d) => d.ok));
    } finally {
      await nc2.drain();
    }
  });
});
