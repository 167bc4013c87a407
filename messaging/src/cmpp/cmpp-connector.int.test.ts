import { afterEach, describe, expect, it } from 'vitest';
import { connect, createServer, type AddressInfo } from 'node:net';
import { startCmppGateway, DEFAULT_CMPP_SECRET, DEFAULT_CMPP_SP_ID } from '../smsc-sim/cmpp-gateway.ts';
import type { SimulatedSmsc } from '../smsc-sim/simulated-smsc.ts';
import { CmppConnector, type CmppCarrierConfig } from './cmpp-connector.ts';
import type { BadDeliver, CarrierReceipt, CarrierReply } from '../smpp/connector.ts';
import { segmentText } from '../text/segment-text.ts';
import { composeText } from '../text/compose.ts';
import {
  CMPP_VERSION_20,
  CMPP_VERSION_30,
  MSG_FMT,
  authenticatorIsmg,
  authenticatorSource,
  decodeCmpp,
  encodeCmpp,
  encodeReport,
  type CmppPdu,
} from './codec.ts';
import { FrameReader } from './framing.ts';
import { until } from '@geo/infra/testing';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function link(
  behaviour: Parameters<typeof startCmppGateway>[0]['behaviour'] = {},
  cfg: Partial<CmppCarrierConfig> = {},
  gw: Partial<Parameters<typeof startCmppGateway>[0]> = {},
) {
  const smsc = await startCmppGateway({ carrier: 'cmcc', behaviour: { receiptDelayMs: 0, ...behaviour }, retryMs: 100, ...gw });
  open.push(smsc);
  const conn = new CmppConnector({
    carrier: 'cmcc',
    host: '127.0.0.1',
    port: smsc.port,
    spId: DEFAULT_CMPP_SP_ID,
    sharedSecret: DEFAULT_CMPP_SECRET,
    accessNumber: '106571',
    reconnectMinMs: 50,
    reconnectMaxMs: 500,
    ...cfg,
  });
  open.push(conn);
  await conn.ready();
  return { smsc, conn };
}

const send = (conn: CmppConnector, msisdn: string, text: string, ref: string, source = '106571') =>
  conn.submit({ ref, msisdn, source, encoded: segmentText(text, Number(ref.replace(/\D/g, '') || 0) & 0xff) });

/** A bare CMPP gateway of the test's own (codec only): logs every SUBMIT and answers it OK. */
async function rawGateway(opts: { ismg?: Buffer } = {}) {
  const submits: Extract<CmppPdu, { command: 'submit' }>[] = [];
  let connects = 0;
  let id = 1n;
  const server = createServer((sock) => {
    const frames = new FrameReader();
    sock.on('error', () => undefined);
    sock.on('data', (c: Buffer) => {
      for (const f of frames.push(c)) {
        const p = decodeCmpp(f);
        if (p.command === 'connect') {
          connects++;
          const auth = opts.ismg ?? authenticatorIsmg(0, p.authenticator, DEFAULT_CMPP_SECRET);
          sock.write(encodeCmpp({ command: 'connect_resp', seq: p.seq, status: 0, authenticator: auth, version: 0x30 }));
        } else if (p.command === 'submit') {
          submits.push(p);
          sock.write(encodeCmpp({ command: 'submit_resp', seq: p.seq, msgId: id++, result: 0 }));
        } else if (p.command === 'terminate') sock.end(encodeCmpp({ command: 'terminate_resp', seq: p.seq }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  open.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
  server.unref();
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    submits,
    get connects() {
      return connects;
    },
  };
}

/** The messages a gateway took, by destination (CMPP has no field to echo our ref). */
const to = (smsc: SimulatedSmsc, msisdn: string) => smsc.messagesTo(msisdn);

describe('CMPP connector against the simulated gateway over TCP', () => {
  it.each([
    ['3.0', CMPP_VERSION_30],
    ['2.0', CMPP_VERSION_20],
  ] as const)(
    'CMPP %s: logs in, sends ASCII, UCS-2 and long (TP_udhi) texts whole, and gets a status report per part',
    async (_v, version) => {
      const { smsc, conn } = await link({ successRate: 1 }, { version }, { version });
      const receipts: CarrierReceipt[] = [];
      conn.onReceipt(async (r) => {
        receipts.push(r);
        return true;
      });
      const texts = [
        'Plain ASCII text',
        'x'.repeat(400),
        composeText('气象台', '台风“海葵”将于今夜登陆，请注意防范。'),
        composeText('应急', '中'.repeat(150) + '😀👍🏽' + '文'.repeat(60)),
      ];
      const outcomes = await Promise.all(texts.map((t, i) => send(conn, `1380000000${i}`, t, `job-${i}`, `10657100${i}`)));
      for (const [i, o] of outcomes.entries()) expect(o, texts[i]).toMatchObject({ ok: true });
      const ids = outcomes.flatMap((o) => o.messageIds);
      await until('messages and reports', () => smsc.messages.length === texts.length && receipts.length === ids.length, 20_000);
      for (const [i, t] of texts.entries()) {
        const [m] = to(smsc, `1380000000${i}`);
        expect(m!.text).toBe(t);
        expect(m!.source).toBe(`10657100${i}`); // Src_Id: SP number + extension
        expect(m!.dataCoding).toBe(/^[\x20-\x7e]*$/.test(t) ? MSG_FMT.ASCII : MSG_FMT.UCS2);
        expect(m!.parts).toBe(segmentText(t, 0).parts.length);
        expect(m!.messageIds).toEqual(outcomes[i]!.messageIds);
      }
      // Each report names the Msg_Id of its SUBMIT_RESP and the handset.
      expect(new Set(receipts.map((r) => r.messageId))).toEqual(new Set(ids));
      expect(receipts.every((r) => r.smscId === 'cmcc' && /^1380000000\d$/.test(r.msisdn) && r.stat === 'DELIVRD')).toBe(true);
    },
  );

  it('puts Msg_src, Service_Id, fees, Src_Id, Registered_Delivery and Pk_total / Pk_number / TP_udhi where CMPP has them', async () => {
    const gw = await rawGateway();
    const conn = new CmppConnector({
      carrier: 'cmcc',
      host: '127.0.0.1',
      port: gw.port,
      spId: DEFAULT_CMPP_SP_ID,
      sharedSecret: DEFAULT_CMPP_SECRET,
      accessNumber: '106571',
      serviceId: 'ALERT01',
      feeType: '02',
      feeCode: '5',
    });
    open.push(conn);
    await conn.ready();
    expect(await send(conn, '13800000009', composeText('应急', '长'.repeat(100)), 'f-1', '10657123')).toMatchObject({ ok: true });
    expect(gw.submits).toHaveLength(2);
    for (const [i, s] of gw.submits.entries())
      expect(s).toMatchObject({
        msgSrc: DEFAULT_CMPP_SP_ID,
        serviceId: 'ALERT01',
        feeUserType: 2,
        feeType: '02',
        feeCode: '5',
        srcId: '10657123',
        destTerminalIds: ['13800000009'],
        registeredDelivery: 1,
        pkTotal: 2,
        pkNumber: i + 1,
        tpUdhi: 1,
        msgFmt: 8,
      });
    // The UDH: IEI 0, 3 bytes, one reference, 2 parts, this part's number.
    expect(gw.submits.map((s) => [...s.content.subarray(0, 6)])).toEqual([
      [5, 0, 3, gw.submits[0]!.content[3], 2, 1],
      [5, 0, 3, gw.submits[0]!.content[3], 2, 2],
    ]);
  });

  it('does not use a gateway whose AuthenticatorISMG is wrong (it does not know the secret)', async () => {
    const gw = await rawGateway({ ismg: Buffer.alloc(16, 1) });
    const conn = new CmppConnector({
      carrier: 'cmcc',
      host: '127.0.0.1',
      port: gw.port,
      spId: DEFAULT_CMPP_SP_ID,
      sharedSecret: DEFAULT_CMPP_SECRET,
      accessNumber: '106571',
    });
    open.push(conn);
    await expect(conn.ready(800)).rejects.toThrow(/no CMPP bind/);
    expect(gw.connects).toBeGreaterThan(0);
  });

  it('is refused with a wrong shared secret (the gateway checks AuthenticatorSource) and never binds', async () => {
    const smsc = await startCmppGateway({ carrier: 'cmcc' });
    open.push(smsc);
    const conn = new CmppConnector({
      carrier: 'cmcc',
      host: '127.0.0.1',
      port: smsc.port,
      spId: DEFAULT_CMPP_SP_ID,
      sharedSecret: 'wrong',
      accessNumber: '106571',
      reconnectMinMs: 50,
    });
    open.push(conn);
    await expect(conn.ready(800)).rejects.toThrow(/no CMPP bind/);
    expect(smsc.stats().binds).toBe(0);
  });

  it('counts throughput in segments: 3-part messages at 10 segments/s stay under a 15/s gateway limit', async () => {
    const { smsc, conn } = await link({ throttlePerSecond: 15 }, { segmentsPerSecond: 10 });
    const text = composeText('T', '中'.repeat(180)); // 3 parts
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => send(conn, `1390000000${i}`, text, `t-${i}`)));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(smsc.stats()).toMatchObject({ accepted: 24, throttled: 0 });
  });

  it('retries what the gateway refused with Result 8 (flow control) until accepted, once each', async () => {
    const { smsc, conn } = await link({ throttlePerSecond: 10 });
    const n = 30;
    const outcomes = await Promise.all(
      Array.from({ length: n }, (_, i) => send(conn, `1370000${String(i).padStart(4, '0')}`, `msg ${i}`, `r-${i}`)),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(smsc.stats().throttled).toBeGreaterThan(0);
    expect(conn.status().throttled).toBeGreaterThan(0);
    const dest = smsc.parts.map((p) => p.destination);
    expect(dest).toHaveLength(n);
    expect(new Set(dest).size).toBe(n);
  });

  it('records a permanent refusal with the CMPP result and does not retry it', async () => {
    const { smsc, conn } = await link({ fates: { '13500000000': 13 } });
    expect(await send(conn, '13500000000', 'hello', 'p-1')).toEqual({ ok: false, code: 'CMPP_RESULT_13', messageIds: [] });
    expect(smsc.stats()).toMatchObject({ submits: 1, rejected: 1 });
  });

  it('reconnects after the gateway drops the link, and resends what was unanswered without duplicates', async () => {
    const { smsc, conn } = await link({ disconnectAfter: 7, latencyMs: 5 });
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => send(conn, `1360000${String(i).padStart(4, '0')}`, `drop ${i}`, `d-${i}`)),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(smsc.stats().disconnects).toBeGreaterThan(0);
    expect(conn.status().reconnects).toBeGreaterThan(0);
    const dest = smsc.parts.map((p) => p.destination);
    expect(dest).toHaveLength(40);
    expect(new Set(dest).size).toBe(40);
  });

  it('gets the report again when it could not record it the first time', async () => {
    const { conn } = await link();
    let refused = 0;
    const got: CarrierReceipt[] = [];
    conn.onReceipt(async (r) => {
      if (refused++ === 0) return false;
      got.push(r);
      return true;
    });
    const o = await send(conn, '13800000001', 'again', 'a-1');
    await until('the resent report', () => got.length === 1, 20_000);
    expect(got[0]).toMatchObject({ msisdn: '13800000001', messageId: o.messageIds[0] });
  });

  it('hands MOs to the SP number + extension they were sent to, the same MO with the same ref', async () => {
    const { conn } = await link({ moRate: 1, moDelayMs: 0, fates: { '13800000002': 'DELIVRD' } });
    const replies: CarrierReply[] = [];
    conn.onReply(async (r) => {
      replies.push(r);
      return replies.length > 1; // the first is refused: the gateway sends it again
    });
    await send(conn, '13800000002', 'Reply please', 'mo-1', '1065710042');
    await until('the reply, twice', () => replies.length === 2, 20_000);
    expect(replies[0]).toMatchObject({ from: '13800000002', to: '1065710042' });
    expect(replies[0]!.text.length).toBeGreaterThan(0);
    expect(replies[1]!.ref).toBe(replies[0]!.ref);
  });

  it('records malformed DELIVERs (a report of the wrong length, an odd UCS-2 MO) and answers them, keeping the link', async () => {
    const { smsc, conn } = await link();
    const bad: BadDeliver[] = [];
    conn.onBadDeliver(async (b) => void bad.push(b));
    const a = smsc.inject({ fields: { registeredDelivery: 1, srcTerminalId: '13800000005', content: Buffer.alloc(30) } });
    const b = smsc.inject({ fields: { msgFmt: 8, srcTerminalId: '13800000005', destId: '106571', content: Buffer.from([0x4e]) } });
    await until('both recorded and answered', () => bad.length === 2 && !!smsc.injected(a.id)?.done && !!smsc.injected(b.id)?.done, 20_000);
    expect(bad.map((x) => x.reason)).toEqual(
      expect.arrayContaining([expect.stringMatching(/odd length/), expect.stringMatching(/status report: 30 bytes/)]),
    );
    // A good report after them still arrives on the same link.
    const got: CarrierReceipt[] = [];
    conn.onReceipt(async (r) => {
      got.push(r);
      return true;
    });
    smsc.inject({
      fields: {
        registeredDelivery: 1,
        srcTerminalId: '13800000005',
        content: encodeReport({
          msgId: 77n,
          stat: 'UNDELIV',
          submitTime: '2612061200',
          doneTime: '2612061201',
          destTerminalId: '13800000005',
          smscSequence: 1,
        }),
      },
    });
    await until('the good report', () => got.length === 1, 20_000);
    expect(got[0]).toMatchObject({ messageId: '77', state: 'failed', stat: 'UNDELIV' });
    expect(conn.status().reconnects).toBe(0);
  });

  it('answers ACTIVE_TEST from the gateway side and keeps the link', async () => {
    // A raw gateway client: log in as the SP and send ACTIVE_TEST, expecting ACTIVE_TEST_RESP.
    const smsc = await startCmppGateway({ carrier: 'cmcc' });
    open.push(smsc);
    const sock = connect({ host: '127.0.0.1', port: smsc.port });
    const frames = new FrameReader();
    const got: ReturnType<typeof decodeCmpp>[] = [];
    sock.on('data', (c: Buffer) => frames.push(c).forEach((f) => got.push(decodeCmpp(f))));
    await new Promise((r) => sock.once('connect', r));
    const ts = 1206120000;
    sock.write(
      encodeCmpp({
        command: 'connect',
        seq: 1,
        sourceAddr: DEFAULT_CMPP_SP_ID,
        authenticator: authenticatorSource(DEFAULT_CMPP_SP_ID, DEFAULT_CMPP_SECRET, ts),
        version: 0x30,
        timestamp: ts,
      }),
    );
    sock.write(encodeCmpp({ command: 'active_test', seq: 2 }));
    sock.write(encodeCmpp({ command: 'terminate', seq: 3 }));
    await until('three responses', () => got.length === 3, 20_000);
    sock.destroy();
    expect(got.map((p) => [p.command, p.seq])).toEqual([
      ['connect_resp', 1],
      ['active_test_resp', 2],
      ['terminate_resp', 3],
    ]);
    expect(got[0]).toMatchObject({ status: 0 });
  });
});
