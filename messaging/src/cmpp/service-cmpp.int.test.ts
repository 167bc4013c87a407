import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import type { MessagingService } from '../service.ts';
import { startCmppGateway } from '../smsc-sim/cmpp-gateway.ts';
import { startSmgpGateway } from '../smsc-sim/smgp-gateway.ts';
import { startSgipGateway } from '../smsc-sim/sgip-gateway.ts';
import { SgipConnector } from '../sgip/sgip-connector.ts';
import { SmgpConnector } from '../smgp/smgp-connector.ts';
import { ExtensionRegistry } from '../replies/extension-numbers.ts';
import { composeText } from '../text/compose.ts';
import { ServiceKit } from '../testing/service-kit.ts';
import { CmppConnector } from './cmpp-connector.ts';
import { freePort, until } from '@geo/infra/testing';

/**
 * The messaging service with China Mobile over CMPP (SMSC_PROTOCOL_CMCC=cmpp), China Unicom over
 * SGIP and China Telecom over SMGP, against real NATS and ClickHouse: industry SMS and an alert's
 * batch end to end with their status reports, refusals, a reply matched by extension and forwarded.
 * Exactly-once across a SIGKILL over each protocol: `gateway-kill.int.test.ts`.
 */
/** Where messaging listens for the simulated SMG's reverse connection (SGIP reports). */
let sgipListen = 0;
const kit = new ServiceKit('c', 'messaging-cmpp-test', () => ({
  SMSC_PROTOCOL_CMCC: 'cmpp',
  SMSC_PROTOCOL_CTCC: 'smgp',
  SMSC_PROTOCOL_CUCC: 'sgip',
  SGIP_LISTEN_PORT_CUCC: String(sgipListen),
}));
const { names, ns, replies, statuses } = kit;
const job = kit.job.bind(kit);
const publish = kit.publish.bind(kit);
const rows = kit.rows.bind(kit);
const finalRows = kit.finalRows.bind(kit);
let svc: MessagingService | undefined;

beforeAll(async () => {
  // Sequential ids on every gateway: the CMPP gateway's Msg_Ids 1, 2, 3 … collide with the SMGP
  // gateway's (invariant 8: reports are matched per carrier and gateway).
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
  kit.smscs = { cmcc, cucc, ctcc };
  await kit.open();
  svc = await kit.startService();
});

afterAll(async () => {
  await svc?.stop();
  await kit.close();
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
    const js = jetstream(kit.nc);
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
      const gw = kit.smscs[j.carrier];
      const got = gw.messagesTo(j.msisdn);
      expect(got, j.msisdn).toHaveLength(1);
      expect(got[0]!.text).toBe(composeText(j.signature, j.content));
      expect(byId.get(j.jobId)).toMatchObject({ status: 'delivered', segments: got[0]!.parts, carrier: j.carrier });
      expect(byId.get(j.jobId)!.message_id).toBe(got[0]!.messageIds[0]);
    }
    expect(byId.get(industry[1]!.jobId)!.segments).toBe(3);
    expect(kit.smscs.cmcc.messagesTo('13900000001')[0]!.source).toBe('106571');
    await until('live statuses', () => ids.every((id) => statuses.some((s) => s.jobId === id && s.state === 'delivered')), 40_000);
  });

  it('records CMPP refusals and failed reports with their codes', async () => {
    kit.smscs.cmcc.configure({ fates: { '13500000005': 13, '13500000006': 'UNDELIV', '13500000007': 'EXPIRED' } });
    const jobs = [job({ msisdn: '13500000005' }), job({ msisdn: '13500000006' }), job({ msisdn: '13500000007' })];
    await publish(jobs);
    const ids = jobs.map((j) => j.jobId);
    await until('final statuses', async () => (await finalRows(ids)).length === jobs.length, 40_000);
    const byId = new Map((await rows(ids)).map((r) => [r.job_id, r]));
    expect(byId.get(ids[0]!)).toMatchObject({ status: 'failed', code: 'CMPP_RESULT_13' });
    expect(byId.get(ids[1]!)).toMatchObject({ status: 'failed', code: 'UNDELIV' });
    expect(byId.get(ids[2]!)).toMatchObject({ status: 'expired' });
    kit.smscs.cmcc.configure({ fates: {} });
  });

  it('matches a CMPP MO to its send by the extension in Dest_Id, publishes it, and forwards it by SMS', async () => {
    const registry = await ExtensionRegistry.open(kit.nc, names.extensionsBucket);
    const entry = await registry.allocate({
      enterpriseId: 'ent2',
      accountId: 'acc2',
      sendId: 'send-mo',
      forwardTo: '13700000009',
      signature: '物业',
    });
    kit.smscs.cmcc.configure({ moRate: 1, moDelayMs: 0, moTexts: ['好的，收到'] });
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
    kit.smscs.cmcc.configure({ moRate: 0 });
    expect(kit.smscs.cmcc.messagesTo('13800000008')[0]!.source).toBe(`106571${entry.extension}`); // Src_Id: SP number + extension
    expect(replies.find((r) => r.sendId === 'send-mo')).toMatchObject({
      enterpriseId: 'ent2',
      from: '13800000008',
      to: `106571${entry.extension}`,
      text: '好的，收到',
      carrier: 'cmcc',
    });
    await until('the forwarded SMS', () => kit.smscs.cmcc.messagesTo('13700000009').length > 0, 40_000);
    expect(kit.smscs.cmcc.messagesTo('13700000009')[0]!.text).toBe('【物业】13800000008回复：好的，收到');
  });
});
