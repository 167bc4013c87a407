import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import { jetstream } from '@nats-io/jetstream';
import { connectClickHouse, connectNats, ident, list, selectRows, sql, type ClickHouseClient, type NatsConnection } from '@geo/infra';
import { MessagingEnv } from '../config.ts';
import { createMessaging, type MessagingService } from '../service.ts';
import { messagingNames } from '../names.ts';
import { startSimulatedSmsc } from '../smsc-sim/smsc.ts';
import type { SimulatedSmsc } from '../smsc-sim/simulated-smsc.ts';
import { deliveryStatusesOf, type DeliveryStatus, type SmsJob } from '../contract.ts';
import { declareMessagingStreams } from '../streams.ts';
import { RecipientLimiter } from './recipient-limits.ts';
import { until } from '@geo/infra/testing';

/**
 * Anti-bombing (issue 17) through the real service: several sends to one number within a second
 * are held back past the per-minute limit (default 1), each with a recorded status and reason;
 * another enterprise and alert jobs are not; a held job sent again stays held. Two limiters on one
 * bucket (two messaging instances) let exactly the limit through between them.
 */

const ns = `rl${Date.now().toString(36)}`;
const names = messagingNames(ns);
const table = `sms_log_${ns}`;
let nc: NatsConnection;
let ch: ClickHouseClient;
let smscs: SimulatedSmsc[];
let svc: MessagingService | undefined;
const statuses: DeliveryStatus[] = [];

beforeAll(async () => {
  nc = await connectNats(inject('natsUrl'), 'messaging-limits-test');
  ch = connectClickHouse(inject('clickhouseUrl'));
  smscs = await Promise.all(
    (['cmcc', 'cucc', 'ctcc'] as const).map((carrier) =>
      startSimulatedSmsc({ carrier, behaviour: { successRate: 1, receiptDelayMs: 10 } }),
    ),
  );
  await declareMessagingStreams(nc, 1, names);
  const c = await jetstream(nc).consumers.get(names.eventsStream);
  void (async () => {
    for await (const m of await c.consume()) if (m.subject.includes('.status.')) statuses.push(...deliveryStatusesOf(m.json())!);
  })();
  svc = await createMessaging(
    MessagingEnv.parse({
      NATS_URL: inject('natsUrl'),
      CLICKHOUSE_URL: inject('clickhouseUrl'),
      HEALTH_PORT: '0',
      SEND_LOG_TABLE: table,
      LOG_LEVEL: 'silent',
      MESSAGING_NS: ns,
      SMSC_PORT_CMCC: String(smscs[0]!.port),
      SMSC_PORT_CUCC: String(smscs[1]!.port),
      SMSC_PORT_CTCC: String(smscs[2]!.port),
      SMSC_BINDS: '1',
      ACK_WAIT_MS: '5000',
    }),
    pino({ level: 'silent' }),
    { names },
  );
  await svc.connectors.get('cmcc')!.ready();
});

afterAll(async () => {
  await svc?.stop();
  await Promise.all((smscs ?? []).map((s) => s.close()));
  await nc?.drain();
  await ch?.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
  await ch?.close();
});

let seq = 0;
const job = (over: Partial<SmsJob>): SmsJob => ({
  jobId: `${ns}-${++seq}`,
  source: 'industry',
  enterpriseId: 'ent-a',
  accountId: 'acc-a',
  sendId: 'send-a',
  msisdn: '13800000077',
  carrier: 'cmcc',
  content: `验证码 ${seq}`,
  signature: '测试',
  createdAt: Date.now(),
  ...over,
});
const rows = (ids: string[]) =>
  selectRows<{ job_id: string; status: string; code: string }>(
    ch,
    sql`SELECT job_id, status, code FROM ${ident(table)} FINAL WHERE job_id IN ${list(ids)}`.text,
  );
const settled = async (ids: string[]) => {
  await until(
    'every job settled',
    async () => (await rows(ids)).filter((r) => r.status === 'delivered' || r.status === 'rejected').length === ids.length,
  );
  return new Map((await rows(ids)).map((r) => [r.job_id, r]));
};

describe('per-number limits (anti-bombing)', () => {
  it('holds back the sends to one number beyond 1 a minute per enterprise, with a status and reason; other enterprises and alerts pass', async () => {
    const js = jetstream(nc);
    const burst = Array.from({ length: 8 }, () => job({}));
    const otherEnterprise = job({ enterpriseId: 'ent-b', accountId: 'acc-b', sendId: 'send-b' });
    const alerts = Array.from({ length: 3 }, (_, i) => job({ source: 'alert', alertType: 'typhoon', sendId: `task-${i}` }));
    for (const j of [...burst, otherEnterprise, ...alerts])
      await js.publish(names.jobSubject('cmcc'), JSON.stringify(j), { msgID: j.jobId });
    const all = [...burst, otherEnterprise, ...alerts].map((j) => j.jobId);
    const by = await settled(all);
    const burstStates = burst.map((j) => by.get(j.jobId)!);
    expect(burstStates.filter((r) => r.status === 'delivered')).toHaveLength(1);
    expect(burstStates.filter((r) => r.status === 'rejected' && r.code === 'RATE_LIMITED')).toHaveLength(7);
    expect(by.get(otherEnterprise.jobId)!.status).toBe('delivered');
    for (const a of alerts) expect(by.get(a.jobId)!.status).toBe('delivered');
    // 1 of the burst, 1 of the other enterprise, 3 alerts reached the SMSC.
    expect(smscs[0]!.messagesTo('13800000077')).toHaveLength(5);
    await until('the status events of the held jobs', () => statuses.filter((s) => s.code === 'RATE_LIMITED').length >= 7);
    expect(statuses.find((s) => s.code === 'RATE_LIMITED')!.reason).toMatch(/^频率限制：同一号码每分钟最多接收本企业 1 条短信/);
    const metrics = await (await fetch(`${svc!.healthUrl}/metrics`)).text();
    expect(metrics).toMatch(/sms_recipient_limited_total\{[^}]*window="minute"[^}]*\} 7/);
    expect(metrics).toMatch(/sms_recipient_limit_exempt_total\{[^}]*reason="emergency_alert"[^}]*\} 3/);
  });

  it('keeps a held job held when it comes again (redelivery or a producer publishing it again)', async () => {
    const held = job({ msisdn: '13800000078' });
    const first = job({ msisdn: '13800000078' });
    const js = jetstream(nc);
    await js.publish(names.jobSubject('cmcc'), JSON.stringify(first), { msgID: first.jobId });
    await settled([first.jobId]);
    await js.publish(names.jobSubject('cmcc'), JSON.stringify(held), { msgID: held.jobId });
    await until('the second job held', async () => (await settled([held.jobId])).get(held.jobId)!.status === 'rejected');
    const { limited, limitedAgain } = svc!.sender.counts;
    await js.publish(names.jobSubject('cmcc'), JSON.stringify(held), { msgID: `${held.jobId}-again` });
    await until('the copy to be held again', () => svc!.sender.counts.limitedAgain > limitedAgain);
    expect(smscs[0]!.messagesTo('13800000078')).toHaveLength(1);
    // Counted once: the counter counts jobs held back, not their attempts.
    expect(svc!.sender.counts.limited).toBe(limited);
  });

  it('lets exactly the limit through between two instances racing for one number', async () => {
    const limits = { perMinute: 3, perHour: 0, perDay: 0 };
    const nc2 = await connectNats(inject('natsUrl'), 'messaging-limits-test-2');
    try {
      const [a, b] = await Promise.all([RecipientLimiter.open(nc, `${ns}_race`, limits), RecipientLimiter.open(nc2, `${ns}_race`, limits)]);
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
