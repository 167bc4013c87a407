import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import { jetstream } from '@nats-io/jetstream';
import { connectClickHouse, connectNats, selectRows, sql, ident, list, type ClickHouseClient, type NatsConnection } from '@geo/infra';
import { MessagingEnv } from '../config.ts';
import { createMessaging, type MessagingService } from '../service.ts';
import { messagingNames } from '../names.ts';
import type { SimulatedSmsc } from '../smsc-sim/simulated-smsc.ts';
import { startCmppGateway } from '../smsc-sim/cmpp-gateway.ts';
import { startSmgpGateway } from '../smsc-sim/smgp-gateway.ts';
import { startSgipGateway } from '../smsc-sim/sgip-gateway.ts';
import { SgipConnector } from '../sgip/sgip-connector.ts';
import { SmgpConnector } from '../smgp/smgp-connector.ts';
import { ExtensionRegistry } from '../replies/extension-numbers.ts';
import { DeliveryStatus, SmsReply, type SmsCarrier, type SmsJob } from '../contract.ts';
import { composeText } from '../text/compose.ts';
import { declareMessagingStreams } from '../streams.ts';
import { CmppConnector } from './cmpp-connector.ts';
import { freePort, until } from '@geo/infra/testing';

/**
 * The messaging service with China Mobile over CMPP (SMSC_PROTOCOL_CMCC=cmpp) and the other two
 * carriers over SMPP, against real NATS and ClickHouse: industry SMS and an alert's batch end to end
 * with their status reports, a reply matched by extension and forwarded, and exactly-once across a
 * SIGKILL of the service, as service.int.test.ts proves it for SMPP.
 */
const ns = `c${Date.now().toString(36)}`;
const names = messagingNames(ns);
const table = `sms_log_${ns}`;
const log = pino({ level: 'silent' });
let nc: NatsConnection;
let ch: ClickHouseClient;
let smscs: Record<SmsCarrier, SimulatedSmsc>;
let svc: MessagingService | undefined;
/** Where messaging listens for the simulated SMG's reverse connection (SGIP reports). */
let sgipListen = 0;
const statuses: DeliveryStatus[] = [];
const replies: SmsReply[] = [];

const env = (extra: Record<string, string> = {}) => ({
  NATS_URL: inject('natsUrl'),
  CLICKHOUSE_URL: inject('clickhouseUrl'),
  HEALTH_PORT: '0',
  SEND_LOG_TABLE: table,
  LOG_LEVEL: 'silent',
  SMSC_PROTOCOL_CMCC: 'cmpp',
  SMSC_PROTOCOL_CTCC: 'smgp',
  SMSC_PROTOCOL_CUCC: 'sgip',
  SGIP_LISTEN_PORT_CUCC: String(sgipListen),
  SMSC_PORT_CMCC: String(smscs.cmcc.port),
  SMSC_PORT_CUCC: String(smscs.cucc.port),
  SMSC_PORT_CTCC: String(smscs.ctcc.port),
  ACK_WAIT_MS: '4000',
  SMSC_BINDS: '1',
  ...extra,
});

let seq = 0;
const job = (over: Partial<SmsJob> = {}): SmsJob => ({
  jobId: `${ns}-j${++seq}`,
  source: 'industry',
  enterpriseId: 'ent1',
  accountId: 'acc1',
  sendId: 'send1',
  msisdn: '13800000000',
  carrier: 'cmcc',
  content: '明天有雨，记得带伞。',
  signature: '气象台',
  createdAt: Date.now(),
  ...over,
});

const publish = async (jobs: SmsJob[]) => {
  const js = jetstream(nc);
  await Promise.all(jobs.map((j) => js.publish(names.jobSubject(j.carrier), JSON.stringify(j), { msgID: j.jobId })));
};

interface Row {
  job_id: string;
  status: string;
  code: string;
  segments: number;
  carrier: string;
  message_id: string;
}
const rows = (ids: string[]) =>
  selectRows<Row>(
    ch,
    sql`SELECT job_id, status, code, segments, carrier, message_id FROM ${ident(table)} FINAL WHERE job_id IN ${list(ids)}`.text,
  );
const finalRows = async (ids: string[]) => (await rows(ids)).filter((r) => r.status !== 'submitted');

beforeAll(async () => {
  nc = await connectNats(inject('natsUrl'), 'messaging-cmpp-test');
  ch = connectClickHouse(inject('clickhouseUrl'));
  // Sequential ids on every gateway: the CMPP gateway's Msg_Ids 1, 2, 3 … collide with the SMPP
  // SMSCs' (invariant 8: reports are matched per carrier and SMSC).
  const cmcc = await startCmppGateway({
    carrier: 'cmcc',
    messageIds: 'sequential',
    behaviour: { successRate: 1, receiptDelayMs: 10 },
    retryMs: 300,
  });
  // China Unicom over SGIP: the simulated SMG delivers reports over its own connection to messaging.
  sgipListen = await freePort();
  const cucc = await startSgipGateway({
    carrier: 'cucc',
    sp: { host: '127.0.0.1', port: sgipListen },
    behaviour: { successRate: 1, receiptDelayMs: 10 },
    retryMs: 300,
  });
  const ctcc = await startSmgpGateway({
    carrier: 'ctcc',
    messageIds: 'sequential',
    behaviour: { successRate: 1, receiptDelayMs: 10 },
    retryMs: 300,
  });
  smscs = { cmcc, cucc, ctcc };
  await declareMessagingStreams(nc, 1, names);
  const c = await jetstream(nc).consumers.get(names.eventsStream);
  void (async () => {
    for await (const m of await c.consume()) {
      if (m.subject.includes('.status.')) statuses.push(DeliveryStatus.parse(m.json()));
      else replies.push(SmsReply.parse(m.json()));
    }
  })();
  svc = await createMessaging(MessagingEnv.parse(env()), log, { names });
  await Promise.all([...svc.connectors.values()].map((c) => c.ready()));
});

afterAll(async () => {
  await svc?.stop();
  await Promise.all(Object.values(smscs ?? {}).map((s) => s.close()));
  await nc?.drain();
  await ch?.close();
});

describe('messaging service with China Mobile over CMPP, China Unicom over SGIP and China Telecom over SMGP (real NATS and ClickHouse, gateways over TCP)', () => {
  it('uses a CMPP connector for cmcc, SMGP for ctcc and SGIP for cucc', () => {
    expect(svc!.connectors.get('cmcc')).toBeInstanceOf(CmppConnector);
    expect(svc!.connectors.get('ctcc')).toBeInstanceOf(SmgpConnector);
    expect(svc!.connectors.get('cucc')).toBeInstanceOf(SgipConnector);
  });

  it('sends industry SMS and an alert batch over CMPP whole, logs each delivered with the gateway id, beside China Unicom over SGIP and China Telecom over SMGP', async () => {
    const industry = [
      job({ msisdn: '13900000001', content: 'Storm warning: stay indoors.' }),
      job({ msisdn: '13900000002', content: '中'.repeat(150) }), // 3 parts, TP_udhi
      job({ msisdn: '18600000003', carrier: 'cucc', content: '联通用户的通知' }),
      job({ msisdn: '18900000004', carrier: 'ctcc', content: '电信用户的通知，' + '长'.repeat(80) }), // SMGP, 2 parts
    ];
    const alert = Array.from({ length: 20 }, (_, i) =>
      job({ msisdn: `1392000${String(i).padStart(4, '0')}`, source: 'alert', sendId: 'task-1', alertType: 'typhoon' }),
    );
    await publish(industry);
    const js = jetstream(nc);
    const { content, signature, enterpriseId, accountId, sendId, source, createdAt } = alert[0]!;
    await js.publish(
      names.jobSubject('cmcc'),
      JSON.stringify({
        v: 1,
        common: { content, signature, enterpriseId, accountId, sendId, source, createdAt, alertType: 'typhoon' },
        jobs: alert.map(({ jobId, msisdn, carrier }) => ({ jobId, msisdn, carrier })),
      }),
      { msgID: `${ns}-alert-batch` },
    );
    const all = [...industry, ...alert];
    const ids = all.map((j) => j.jobId);
    await until('final statuses in ClickHouse', async () => (await finalRows(ids)).length === all.length, 40_000);
    const byId = new Map((await rows(ids)).map((r) => [r.job_id, r]));
    for (const j of all) {
      const gw = smscs[j.carrier];
      const got = gw.messagesTo(j.msisdn);
      expect(got, j.msisdn).toHaveLength(1);
      expect(got[0]!.text).toBe(composeText(j.signature, j.content));
      expect(byId.get(j.jobId)).toMatchObject({ status: 'delivered', segments: got[0]!.parts, carrier: j.carrier });
      expect(byId.get(j.jobId)!.message_id).toBe(got[0]!.messageIds[0]);
    }
    expect(byId.get(industry[1]!.jobId)!.segments).toBe(3);
    expect(smscs.cmcc.messagesTo('13900000001')[0]!.source).toBe('106571');
    await until('live statuses', () => ids.every((id) => statuses.some((s) => s.jobId === id && s.state === 'delivered')), 40_000);
  });

  it('records CMPP refusals and failed reports with their codes', async () => {
    smscs.cmcc.configure({ fates: { '13500000005': 13, '13500000006': 'UNDELIV', '13500000007': 'EXPIRED' } });
    const jobs = [job({ msisdn: '13500000005' }), job({ msisdn: '13500000006' }), job({ msisdn: '13500000007' })];
    await publish(jobs);
    const ids = jobs.map((j) => j.jobId);
    await until('final statuses', async () => (await finalRows(ids)).length === jobs.length, 40_000);
    const byId = new Map((await rows(ids)).map((r) => [r.job_id, r]));
    expect(byId.get(ids[0]!)).toMatchObject({ status: 'failed', code: 'CMPP_RESULT_13' });
    expect(byId.get(ids[1]!)).toMatchObject({ status: 'failed', code: 'UNDELIV' });
    expect(byId.get(ids[2]!)).toMatchObject({ status: 'expired' });
    smscs.cmcc.configure({ fates: {} });
  });

  it('matches a CMPP MO to its send by the extension in Dest_Id, publishes it, and forwards it by SMS', async () => {
    const registry = await ExtensionRegistry.open(nc, names.extensionsBucket);
    const entry = await registry.allocate({
      enterpriseId: 'ent2',
      accountId: 'acc2',
      sendId: 'send-mo',
      forwardTo: '13700000009',
      signature: '物业',
    });
    smscs.cmcc.configure({ moRate: 1, moDelayMs: 0, moTexts: ['好的，收到'] });
    await publish([
      job({
        enterpriseId: 'ent2',
        accountId: 'acc2',
        sendId: 'send-mo',
        msisdn: '13800000008',
        extension: entry.extension,
        forwardTo: '13700000009',
      }),
    ]);
    await until('the reply event', () => replies.some((r) => r.sendId === 'send-mo'), 40_000);
    smscs.cmcc.configure({ moRate: 0 });
    expect(smscs.cmcc.messagesTo('13800000008')[0]!.source).toBe(`106571${entry.extension}`); // Src_Id: SP number + extension
    expect(replies.find((r) => r.sendId === 'send-mo')).toMatchObject({
      enterpriseId: 'ent2',
      from: '13800000008',
      to: `106571${entry.extension}`,
      text: '好的，收到',
      carrier: 'cmcc',
    });
    await until('the forwarded SMS', () => smscs.cmcc.messagesTo('13700000009').length > 0, 40_000);
    expect(smscs.cmcc.messagesTo('13700000009')[0]!.text).toBe('【物业】13800000008回复：好的，收到');
  });

  it('loses and duplicates nothing over CMPP when messaging is killed with SIGKILL mid-run and restarted, within the segment rate', async () => {
    await svc!.stop();
    svc = undefined;
    // The gateway refuses (Result 8) beyond 150 submits in any second; messaging is set to 150 segments/s.
    smscs.cmcc.configure({ latencyMs: 2, receiptDelayMs: 300, fates: {}, throttlePerSecond: 150 });
    smscs.cmcc.clear();
    const jobs = Array.from({ length: 300 }, (_, i) =>
      job({ msisdn: `138${String(60_000_000 + i).padStart(8, '0')}`, content: i % 5 === 0 ? '长'.repeat(100) : `通知 ${i}` }),
    );
    const ids = jobs.map((j) => j.jobId);
    const numbers = new Map(jobs.map((j) => [j.msisdn, j.jobId]));
    const received = () => smscs.cmcc.parts.filter((p) => numbers.has(p.destination)).length;
    const main = fileURLToPath(new URL('../main.ts', import.meta.url));
    const start = (): ChildProcess =>
      spawn(process.execPath, ['--import', 'tsx', main], {
        env: {
          ...process.env,
          ...env({ SMSC_RATE_CMCC: '150', SMSC_RATE_GUARD_MS: '250', UNCERTAIN_RESOLVE_MS: '20000', MESSAGING_NS: ns }),
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    let child = start();
    await publish(jobs);
    await until('the first sends', () => received() >= 90, 60_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const atKill = received();
    child = start();
    try {
      await until('every job final', async () => (await finalRows(ids)).length === ids.length, 90_000);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    const sent = new Map<string, number>();
    for (const p of smscs.cmcc.parts) {
      const id = numbers.get(p.destination);
      if (id) sent.set(id, (sent.get(id) ?? 0) + 1);
    }
    const final = await finalRows(ids);
    const partsOf = new Map(final.map((r) => [r.job_id, r.segments]));
    for (const [id, n] of sent) expect(n, id).toBeLessThanOrEqual(partsOf.get(id) ?? n);
    for (const r of final) expect(r.status, `${r.job_id} ${r.code}`).toBe('delivered');
    for (const id of ids) expect(sent.has(id), id).toBe(true);
    expect(atKill).toBeGreaterThan(0);
    // Throttling by segments held across the restart: the gateway never had to refuse.
    expect(smscs.cmcc.stats()).toMatchObject({ throttled: 0 });
    expect(smscs.cmcc.stats().peakPerSecond).toBeLessThanOrEqual(150);
  }, 180_000);
  it('UNCERTAIN_POLICY=fail over CMPP: jobs cut off unanswered by a SIGKILL end failed UNCERTAIN and are never sent again; the rest are delivered once', async () => {
    // Slow SUBMIT_RESPs: dozens of claimed jobs are on the wire unanswered when the process dies; the
    // gateway drops what it had not answered when the link went, so none of them reached the handset.
    smscs.cmcc.configure({ latencyMs: 300, receiptDelayMs: 10, fates: {}, throttlePerSecond: 0 });
    const jobs = Array.from({ length: 200 }, (_, i) =>
      job({ msisdn: `138${String(70_000_000 + i).padStart(8, '0')}`, content: `不确定 ${i}` }),
    );
    const ids = jobs.map((j) => j.jobId);
    const numbers = new Map(jobs.map((j) => [j.msisdn, j.jobId]));
    const received = () => smscs.cmcc.parts.filter((p) => numbers.has(p.destination)).length;
    const main = fileURLToPath(new URL('../main.ts', import.meta.url));
    const start = (): ChildProcess =>
      spawn(process.execPath, ['--import', 'tsx', main], {
        env: {
          ...process.env,
          ...env({ SMSC_RATE_CMCC: '150', UNCERTAIN_RESOLVE_MS: '3000', UNCERTAIN_POLICY: 'fail', MESSAGING_NS: ns }),
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    // Submits the gateway has neither answered nor dropped (its counters are cumulative over the file).
    const unanswered = () => {
      const c = smscs.cmcc.stats();
      return c.submits - c.accepted - c.rejected - c.throttled - c.dropped;
    };
    let child = start();
    await publish(jobs);
    await until('the first sends', () => received() >= 40, 60_000);
    // Hold every later answer, and kill only once submits are provably on the wire unanswered: racing
    // the kill against 300 ms answers left none in flight when a loaded machine polled late (CI).
    smscs.cmcc.configure({ latencyMs: 600_000 });
    await until('submits left unanswered', () => unanswered() >= 10, 60_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    smscs.cmcc.configure({ latencyMs: 0 });
    child = start();
    try {
      await until('every job final', async () => (await finalRows(ids)).length === ids.length, 90_000);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    const sent = new Map<string, number>();
    for (const p of smscs.cmcc.parts) {
      const id = numbers.get(p.destination);
      if (id) sent.set(id, (sent.get(id) ?? 0) + 1);
    }
    const final = await finalRows(ids);
    const uncertain = final.filter((r) => r.code === 'UNCERTAIN');
    expect(uncertain.length).toBeGreaterThan(0);
    for (const r of final) {
      if (r.code === 'UNCERTAIN') expect(sent.get(r.job_id) ?? 0, r.job_id).toBe(0);
      else {
        expect(r.status, `${r.job_id} ${r.code}`).toBe('delivered');
        expect(sent.get(r.job_id), r.job_id).toBe(1);
      }
    }
    smscs.cmcc.configure({ latencyMs: 0 });
  }, 180_000);
});
