import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import { jetstream } from '@nats-io/jetstream';
import { connectClickHouse, connectNats, type ClickHouseClient, type NatsConnection } from '@geo/infra';
import { MessagingEnv } from '../config.ts';
import { createMessaging, type MessagingService } from '../service.ts';
import { messagingNames } from '../names.ts';
import { startSimulatedSmsc } from '../smsc-sim/smsc.ts';
import type { SimulatedSmsc } from '../smsc-sim/simulated-smsc.ts';
import { ExtensionRegistry } from './extension-numbers.ts';
import type { SmsJob } from '../contract.ts';
import { declareMessagingStreams } from '../streams.ts';
import { until } from '@geo/infra/testing';

/**
 * Replies (MO) counted by reason, against real NATS, ClickHouse and SMPP: a handset answering an
 * alert (sent from the bare access number, no extension) is `alert`, not an unmatched reply; only
 * replies to an extension nobody holds or to a number that is not ours are faults.
 */

const ns = `rbr${Date.now().toString(36)}`;
const names = messagingNames(ns);
const table = `sms_log_${ns}`;
let nc: NatsConnection;
let ch: ClickHouseClient;
let cmcc: SimulatedSmsc;
let others: SimulatedSmsc[];
let svc: MessagingService | undefined;
let registry: ExtensionRegistry;

beforeAll(async () => {
  nc = await connectNats(inject('natsUrl'), 'messaging-replies-test');
  ch = connectClickHouse(inject('clickhouseUrl'));
  // The handset answers every delivered SMS, late enough for the send log to hold the send.
  cmcc = await startSimulatedSmsc({
    carrier: 'cmcc',
    behaviour: { successRate: 1, receiptDelayMs: 10, moRate: 1, moDelayMs: 1500, moTexts: ['1'] },
    retryMs: 200,
  });
  others = await Promise.all((['cucc', 'ctcc'] as const).map((carrier) => startSimulatedSmsc({ carrier })));
  await declareMessagingStreams(nc, 1, names);
  registry = await ExtensionRegistry.open(nc, names.extensionsBucket);
  svc = await createMessaging(
    MessagingEnv.parse({
      NATS_URL: inject('natsUrl'),
      CLICKHOUSE_URL: inject('clickhouseUrl'),
      HEALTH_PORT: '0',
      SEND_LOG_TABLE: table,
      LOG_LEVEL: 'silent',
      MESSAGING_NS: ns,
      SMSC_PORT_CMCC: String(cmcc.port),
      SMSC_PORT_CUCC: String(others[0]!.port),
      SMSC_PORT_CTCC: String(others[1]!.port),
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
  await Promise.all([cmcc, ...(others ?? [])].map((s) => s?.close()));
  await nc?.drain();
  await ch?.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
  await ch?.close();
});

const replies = async () => {
  const text = await (await fetch(`${svc!.healthUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const l of text.split('\n')) {
    if (!l.startsWith('sms_replies_total{') || !l.includes('carrier="cmcc"')) continue;
    const reason = /reason="(\w+)"/.exec(l)?.[1];
    if (reason) out[reason] = Number(l.split(' ').pop());
  }
  return out;
};

const job = (over: Partial<SmsJob>): SmsJob => ({
  jobId: `${ns}-${Math.random().toString(36).slice(2)}`,
  source: 'industry',
  enterpriseId: 'ent-r',
  accountId: 'acc-r',
  sendId: 'send-r',
  msisdn: '13800000001',
  carrier: 'cmcc',
  content: '台风预警：请回复 1 报平安',
  signature: '应急管理',
  createdAt: Date.now(),
  ...over,
});

const mo = (to: string, from = '13800000099') => ({
  fields: { source_addr: from, destination_addr: to, esm_class: 0, data_coding: 8, short_message: Buffer.from('收到', 'utf16le').swap16() },
});

describe('replies counted by reason', () => {
  it('counts a reply to an alert as alert, to a send asking for replies as matched, and to a send asking none as no_extension', async () => {
    const ext = await registry.allocate({ enterpriseId: 'ent-r', accountId: 'acc-r', sendId: 'send-with-reply' });
    const jobs = [
      job({ source: 'alert', sendId: 'task-typhoon', msisdn: '13800000001' }),
      job({ sendId: 'send-with-reply', msisdn: '13800000002', extension: ext.extension }),
      job({ sendId: 'send-no-reply', msisdn: '13800000003' }),
    ];
    const js = jetstream(nc);
    for (const j of jobs) await js.publish(names.jobSubject('cmcc'), JSON.stringify(j), { msgID: j.jobId });
    await until('three replies counted', async () => Object.values(await replies()).reduce((a, b) => a + b, 0) >= 3);
    expect(await replies()).toEqual({ alert: 1, matched: 1, no_extension: 1 });
  });

  it('counts replies to an extension nobody holds, to an expired one and to another number apart', async () => {
    cmcc.configure({ moRate: 0 });
    await registry.register({
      extension: '55667788',
      enterpriseId: 'ent-r',
      accountId: 'acc-r',
      sendId: 'old-send',
      expiresAt: Date.now() - 1000,
    });
    const before = await replies();
    for (const to of ['10657199887766', '10657155667788', '106599']) cmcc.inject(mo(to));
    await until(
      'three more replies',
      async () => Object.values(await replies()).reduce((a, b) => a + b, 0) >= Object.values(before).reduce((a, b) => a + b, 0) + 3,
    );
    const now = await replies();
    expect({ unknown: now.unknown_extension, expired: now.expired, other: now.other_number }).toEqual({ unknown: 1, expired: 1, other: 1 });
  });

  it('counts an answer to an open check-in as matched and one to a closed check-in as checkin_closed (#21), not as a fault', async () => {
    cmcc.configure({ moRate: 0 });
    const entry = {
      extension: '90077',
      enterpriseId: 'ent-r',
      accountId: 'acc-r',
      sendId: 'bd-checkin',
      kind: 'checkin' as const,
      expiresAt: Date.now() + 3600_000,
    };
    expect(await registry.close(entry, undefined)).toBe(true);
    const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    const before = await replies();
    cmcc.inject(mo('10657190077', '13800000007'));
    await until('the open check-in’s answer', async () => sum(await replies()) >= sum(before) + 1);
    expect((await replies()).matched).toBe((before.matched ?? 0) + 1);
    expect(await registry.close(entry, Date.now() - 1)).toBe(true);
    expect(await registry.state('90077')).toMatchObject({ state: 'closed' });
    cmcc.inject(mo('10657190077', '13800000008'));
    await until('the late answer', async () => sum(await replies()) >= sum(before) + 2);
    expect(await replies()).toMatchObject({ matched: (before.matched ?? 0) + 1, checkin_closed: 1 });
    // Another enterprise's send cannot close it.
    expect(await registry.close({ ...entry, enterpriseId: 'ent-other' }, Date.now())).toBe(false);
  });
});
