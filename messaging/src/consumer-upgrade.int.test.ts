import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectClickHouse, connectNats, type ClickHouseClient, type NatsConnection } from '@geo/infra';
import { MessagingEnv } from './config.ts';
import { createMessaging, type MessagingService } from './service.ts';
import { messagingNames } from './names.ts';
import { startSimulatedSmsc } from './smsc-sim/smsc.ts';
import type { SimulatedSmsc } from './smsc-sim/simulated-smsc.ts';
import type { SmsJob } from './contract.ts';
import { declareMessagingStreams } from './streams.ts';

/**
 * Upgrading from the single `messaging` durable to one durable per carrier (issue 19): the new
 * consumers start at the old one's ack floor, so jobs the earlier version finished are not handed
 * out again (the stream keeps 7 days of them) and those it had not are.
 */

const ns = `cu${Date.now().toString(36)}`;
const names = messagingNames(ns);
const table = `sms_log_${ns}`;
let nc: NatsConnection;
let ch: ClickHouseClient;
let smsc: SimulatedSmsc;
let svc: MessagingService | undefined;

beforeAll(async () => {
  nc = await connectNats(inject('natsUrl'), 'messaging-consumer-upgrade-test');
  ch = connectClickHouse(inject('clickhouseUrl'));
  smsc = await startSimulatedSmsc({ carrier: 'cmcc', behaviour: { successRate: 1, receiptDelayMs: 20 } });
  await declareMessagingStreams(nc, 1, names);
});

afterAll(async () => {
  await svc?.stop();
  await smsc?.close();
  await nc?.drain();
  await ch?.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
  await ch?.close();
});

describe('the per-carrier consumers take over from the single durable of earlier versions', () => {
  it('sends only the jobs the old durable had not acked', async () => {
    const now = Date.now();
    const jobs: SmsJob[] = Array.from({ length: 6 }, (_, i) => ({
      jobId: `${ns}-${i}`,
      source: 'industry' as const,
      enterpriseId: 'ent1',
      accountId: 'acc1',
      sendId: 'upgrade',
      carrier: 'cmcc' as const,
      msisdn: `1380000${String(i).padStart(4, '0')}`,
      content: `通知 ${i}`,
      signature: '气象台',
      createdAt: now,
    }));
    const js = jetstream(nc);
    for (const j of jobs) await js.publish(names.jobSubject('cmcc'), JSON.stringify(j), { msgID: j.jobId });
    // The earlier version: one durable over all carriers, which finished the first four jobs.
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add(names.jobsStream, { durable_name: names.consumer, ack_policy: AckPolicy.Explicit });
    const old = await js.consumers.get(names.jobsStream, names.consumer);
    for (let i = 0; i < 4; i++) {
      const m = await old.next({ expires: 5000 });
      await m!.ackAck();
    }
    svc = await createMessaging(
      MessagingEnv.parse({
        NATS_URL: inject('natsUrl'),
        CLICKHOUSE_URL: inject('clickhouseUrl'),
        HEALTH_PORT: '0',
        SEND_LOG_TABLE: table,
        LOG_LEVEL: 'silent',
        SMSC_PORT_CMCC: String(smsc.port),
        SMSC_PORT_CUCC: String(smsc.port),
        SMSC_PORT_CTCC: String(smsc.port),
        SMSC_BINDS: '1',
        ACK_WAIT_MS: '5000',
      }),
      pino({ level: 'silent' }),
      { names },
    );
    const end = Date.now() + 20_000;
    while (smsc.messages.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500)); // time for anything more to arrive
    expect(smsc.messages.map((m) => m.destination).sort()).toEqual(jobs.slice(4).map((j) => j.msisdn));
  }, 60_000);
});
