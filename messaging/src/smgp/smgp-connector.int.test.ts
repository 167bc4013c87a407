import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo } from 'node:net';
import { startSmgpGateway, DEFAULT_SMGP_CLIENT_ID, DEFAULT_SMGP_SECRET } from '../smsc-sim/smgp-gateway.ts';
import { SmgpConnector, type SmgpCarrierConfig } from './smgp-connector.ts';
import type { BadDeliver, CarrierReceipt, CarrierReply } from '../smpp/connector.ts';
import { segmentText } from '../text/segment-text.ts';
import { composeText } from '../text/compose.ts';
import { MSG_FMT } from '../cmpp/codec.ts';
import { FrameReader } from '../cmpp/framing.ts';
import { authenticatorServer, decodeSmgp, encodeSmgp, encodeSmgpReport, type SmgpPdu } from './codec.ts';
import { until } from '@geo/infra/testing';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function link(behaviour: Parameters<typeof startSmgpGateway>[0]['behaviour'] = {}, cfg: Partial<SmgpCarrierConfig> = {}) {
  const smsc = await startSmgpGateway({ carrier: 'ctcc', behaviour: { receiptDelayMs: 0, ...behaviour }, retryMs: 100 });
  open.push(smsc);
  const conn = new SmgpConnector({
    carrier: 'ctcc',
    host: '127.0.0.1',
    port: smsc.port,
    clientId: DEFAULT_SMGP_CLIENT_ID,
    sharedSecret: DEFAULT_SMGP_SECRET,
    accessNumber: '106591',
    reconnectMinMs: 50,
    reconnectMaxMs: 500,
    ...cfg,
  });
  open.push(conn);
  await conn.ready();
  return { smsc, conn };
}

const send = (conn: SmgpConnector, msisdn: string, text: string, ref: string, source = '106591') =>
  conn.submit({ ref, msisdn, source, encoded: segmentText(text, Number(ref.replace(/\D/g, '') || 0) & 0xff) });

/** A bare SMGP gateway of the test's own (codec only): logs every Submit and answers it OK. */
async function rawGateway(opts: { serverAuth?: Buffer } = {}) {
  const submits: Extract<SmgpPdu, { command: 'submit' }>[] = [];
  let logins = 0;
  let id = 1;
  const server = createServer((sock) => {
    const frames = new FrameReader();
    sock.on('error', () => undefined);
    sock.on('data', (c: Buffer) => {
      for (const f of frames.push(c)) {
        const p = decodeSmgp(f);
        if (p.command === 'login') {
          logins++;
          const auth = opts.serverAuth ?? authenticatorServer(0, p.authenticator, DEFAULT_SMGP_SECRET);
          sock.write(encodeSmgp({ command: 'login_resp', seq: p.seq, status: 0, authenticator: auth, version: 0x30 }));
        } else if (p.command === 'submit') {
          submits.push(p);
          sock.write(encodeSmgp({ command: 'submit_resp', seq: p.seq, msgId: String(id++).padStart(20, '0'), status: 0 }));
        } else if (p.command === 'exit') sock.end(encodeSmgp({ command: 'exit_resp', seq: p.seq }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  open.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    submits,
    get logins() {
      return logins;
    },
  };
}

describe('SMGP connector against the simulated gateway over TCP', () => {
  it('logs in, sends ASCII, UCS-2 and long texts whole, and gets a status report per part', async () => {
    const { smsc, conn } = await link({ successRate: 1 });
    const receipts: CarrierReceipt[] = [];
    conn.onReceipt(async (r) => {
      receipts.push(r);
      return true;
    });
    const texts = [
      'Plain ASCII text',
      'x'.repeat(400),
      composeText('气象台', '台风“海葵”将于今夜登陆，请注意防范。'),
      composeText('应急', '中'.repeat(150) + '😀👍🏽'),
    ];
    const outcomes = await Promise.all(texts.map((t, i) => send(conn, `1890000000${i}`, t, `job-${i}`, `10659100${i}`)));
    for (const [i, o] of outcomes.entries()) expect(o, texts[i]).toMatchObject({ ok: true });
    const ids = outcomes.flatMap((o) => o.messageIds);
    await until('messages and reports', () => smsc.messages.length === texts.length && receipts.length === ids.length, 20_000);
    for (const [i, t] of texts.entries()) {
      const [m] = smsc.messagesTo(`1890000000${i}`);
      expect(m!.text).toBe(t);
      expect(m!.source).toBe(`10659100${i}`);
      expect(m!.dataCoding).toBe(/^[\x20-\x7e]*$/.test(t) ? MSG_FMT.ASCII : MSG_FMT.UCS2);
      expect(m!.messageIds).toEqual(outcomes[i]!.messageIds);
    }
    expect(new Set(receipts.map((r) => r.messageId))).toEqual(new Set(ids));
    expect(receipts.every((r) => r.smscId === 'ctcc' && /^1890000000\d$/.test(r.msisdn) && r.stat === 'DELIVRD')).toBe(true);
  });

  it('puts ServiceID, fees, SrcTermID, NeedReport and TP_udhi / PkTotal / PkNumber (optional parameters) where SMGP has them', async () => {
    const gw = await rawGateway();
    const conn = new SmgpConnector({
      carrier: 'ctcc',
      host: '127.0.0.1',
      port: gw.port,
      clientId: DEFAULT_SMGP_CLIENT_ID,
      sharedSecret: DEFAULT_SMGP_SECRET,
      accessNumber: '106591',
      serviceId: 'ALERT01',
    });
    open.push(conn);
    await conn.ready();
    expect(await send(conn, '18900000009', composeText('应急', '长'.repeat(100)), 'f-1', '10659123')).toMatchObject({ ok: true });
    expect(gw.submits).toHaveLength(2);
    for (const [i, s] of gw.submits.entries()) {
      expect(s).toMatchObject({
        msgType: 6,
        needReport: 1,
        serviceId: 'ALERT01',
        feeType: '00',
        srcTermId: '10659123',
        destTermIds: ['18900000009'],
        msgFormat: 8,
      });
      expect([...s.tlvs.entries()].map(([k, v]) => [k, [...v]])).toEqual([
        [0x0002, [1]],
        [0x0009, [2]],
        [0x000a, [i + 1]],
      ]);
    }
  });

  it('does not use a gateway whose AuthenticatorServer is wrong, and is refused with a wrong secret', async () => {
    const gw = await rawGateway({ serverAuth: Buffer.alloc(16, 7) });
    const a = new SmgpConnector({
      carrier: 'ctcc',
      host: '127.0.0.1',
      port: gw.port,
      clientId: DEFAULT_SMGP_CLIENT_ID,
      sharedSecret: DEFAULT_SMGP_SECRET,
      accessNumber: '106591',
    });
    open.push(a);
    await expect(a.ready(800)).rejects.toThrow(/no SMGP bind/);
    expect(gw.logins).toBeGreaterThan(0);
    const smsc = await startSmgpGateway({ carrier: 'ctcc' });
    open.push(smsc);
    const b = new SmgpConnector({
      carrier: 'ctcc',
      host: '127.0.0.1',
      port: smsc.port,
      clientId: DEFAULT_SMGP_CLIENT_ID,
      sharedSecret: 'wrong',
      accessNumber: '106591',
    });
    open.push(b);
    await expect(b.ready(800)).rejects.toThrow(/no SMGP bind/);
  });

  it('counts throughput in segments and retries what the gateway refused as busy, once each', async () => {
    const { smsc, conn } = await link({ throttlePerSecond: 10 });
    const n = 30;
    const outcomes = await Promise.all(
      Array.from({ length: n }, (_, i) => send(conn, `1770000${String(i).padStart(4, '0')}`, `msg ${i}`, `r-${i}`)),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(smsc.stats().throttled).toBeGreaterThan(0);
    expect(new Set(smsc.parts.map((p) => p.destination)).size).toBe(n);
    expect(smsc.parts).toHaveLength(n);
    const paced = await link({ throttlePerSecond: 15 }, { segmentsPerSecond: 10 });
    const text = composeText('T', '中'.repeat(180)); // 3 parts
    const o2 = await Promise.all(Array.from({ length: 8 }, (_, i) => send(paced.conn, `1990000000${i}`, text, `t-${i}`)));
    expect(o2.every((o) => o.ok)).toBe(true);
    expect(paced.smsc.stats()).toMatchObject({ accepted: 24, throttled: 0 });
  });

  it('records a permanent refusal with the SMGP status, and reconnects after a drop without duplicates', async () => {
    const { smsc, conn } = await link({ fates: { '18500000000': 47 }, disconnectAfter: 7, latencyMs: 5 });
    expect(await send(conn, '18500000000', 'hello', 'p-1')).toEqual({ ok: false, code: 'SMGP_STATUS_47', messageIds: [] });
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => send(conn, `1860000${String(i).padStart(4, '0')}`, `drop ${i}`, `d-${i}`)),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(conn.status().reconnects).toBeGreaterThan(0);
    const dest = smsc.parts.map((p) => p.destination);
    expect(dest).toHaveLength(40);
    expect(new Set(dest).size).toBe(40);
  });

  it('hands MOs to the number + extension they were sent to (the same MO twice with the same ref), and dead-letters a bad report', async () => {
    const { smsc, conn } = await link({ moRate: 1, moDelayMs: 0, fates: { '18900000002': 'DELIVRD' } });
    const replies: CarrierReply[] = [];
    conn.onReply(async (r) => {
      replies.push(r);
      return replies.length > 1;
    });
    const bad: BadDeliver[] = [];
    conn.onBadDeliver(async (b) => void bad.push(b));
    await send(conn, '18900000002', 'Reply please', 'mo-1', '1065910042');
    await until('the reply, twice', () => replies.length === 2, 20_000);
    expect(replies[0]).toMatchObject({ from: '18900000002', to: '1065910042' });
    expect(replies[1]!.ref).toBe(replies[0]!.ref);
    const inj = smsc.inject({ fields: { isReport: 1, srcTermId: '18900000005', content: Buffer.from('no id here') } });
    await until('the bad report recorded and answered', () => bad.length === 1 && !!smsc.injected(inj.id)?.done, 20_000);
    const got: CarrierReceipt[] = [];
    conn.onReceipt(async (r) => {
      got.push(r);
      return true;
    });
    smsc.inject({
      fields: {
        isReport: 1,
        srcTermId: '18900000005',
        content: encodeSmgpReport({
          msgId: '00000000000000000077',
          stat: 'UNDELIV',
          err: '005',
          submitDate: '2612061200',
          doneDate: '2612061201',
        }),
      },
    });
    // The status report of the message sent above (DELIVRD) may arrive here too: wait for this one by its id.
    const injected = () => got.find((r) => r.messageId === '00000000000000000077');
    await until('the good report', () => injected() !== undefined, 20_000);
    expect(injected()).toMatchObject({
      messageId: '00000000000000000077',
      stat: 'UNDELIV',
      err: '005',
      msisdn: '18900000005',
      state: 'failed',
    });
  });
});
