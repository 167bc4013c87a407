import { afterEach, describe, expect, it } from 'vitest';
import { startSgipGateway, DEFAULT_SGIP_LOGIN, DEFAULT_SGIP_PASSWORD } from '../smsc-sim/sgip-gateway.ts';
import { SgipConnector, type SgipCarrierConfig } from './sgip-connector.ts';
import type { CarrierReceipt, CarrierReply } from '../smpp/connector.ts';
import { segmentText } from '../text/segment-text.ts';
import { composeText } from '../text/compose.ts';
import { MSG_FMT } from '../cmpp/codec.ts';
import { until } from '@geo/infra/testing';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function link(behaviour: Parameters<typeof startSgipGateway>[0]['behaviour'] = {}, cfg: Partial<SgipCarrierConfig> = {}) {
  const smsc = await startSgipGateway({ carrier: 'cucc', behaviour: { receiptDelayMs: 0, ...behaviour }, retryMs: 100 });
  open.push(smsc);
  const conn = new SgipConnector({
    carrier: 'cucc',
    host: '127.0.0.1',
    port: smsc.port,
    loginName: DEFAULT_SGIP_LOGIN,
    loginPassword: DEFAULT_SGIP_PASSWORD,
    nodeId: 3020012345,
    listenPort: 0,
    accessNumber: '106551',
    reconnectMinMs: 50,
    reconnectMaxMs: 500,
    ...cfg,
  });
  open.push(conn);
  // The SMG's own connection to us (Report, Deliver) goes to the connector's listener.
  smsc.connectBackTo('127.0.0.1', await conn.listenPort());
  await conn.ready();
  return { smsc, conn };
}

const send = (conn: SgipConnector, msisdn: string, text: string, ref: string, source = '106551') =>
  conn.submit({ ref, msisdn, source, encoded: segmentText(text, Number(ref.replace(/\D/g, '') || 0) & 0xff) });

describe('SGIP connector against the simulated SMG over TCP, reports over its reverse connection', () => {
  it('binds, sends ASCII, UCS-2 and long (TP_udhi) texts whole, and gets a Report per part on the SMG’s connection to us', async () => {
    const { smsc, conn } = await link({ successRate: 1 });
    const receipts: CarrierReceipt[] = [];
    conn.onReceipt(async (r) => {
      receipts.push(r);
      return true;
    });
    const texts = [
      'Plain ASCII text',
      'x'.repeat(400),
      composeText('气象台', '台风将于今夜登陆，请注意防范。'),
      composeText('应急', '中'.repeat(150)),
    ];
    const outcomes = await Promise.all(texts.map((t, i) => send(conn, `1860000000${i}`, t, `job-${i}`, `10655100${i}`)));
    for (const [i, o] of outcomes.entries()) expect(o, texts[i]).toMatchObject({ ok: true });
    const ids = outcomes.flatMap((o) => o.messageIds);
    expect(new Set(ids).size).toBe(ids.length); // Sequence Numbers never repeat
    await until('messages and reports', () => smsc.messages.length === texts.length && receipts.length === ids.length, 20_000);
    for (const [i, t] of texts.entries()) {
      const [m] = smsc.messagesTo(`1860000000${i}`);
      expect(m!.text).toBe(t);
      expect(m!.source).toBe(`10655100${i}`);
      expect(m!.dataCoding).toBe(/^[\x20-\x7e]*$/.test(t) ? MSG_FMT.ASCII : MSG_FMT.UCS2);
      expect(m!.messageIds).toEqual(outcomes[i]!.messageIds);
    }
    expect(new Set(receipts.map((r) => r.messageId))).toEqual(new Set(ids));
    expect(receipts.every((r) => r.smscId === 'cucc' && /^1860000000\d$/.test(r.msisdn) && r.stat === 'DELIVRD')).toBe(true);
  });

  it('retries what the SMG refused as busy (Result 11) once each, and records a permanent refusal with its code', async () => {
    const { smsc, conn } = await link({ throttlePerSecond: 10, fates: { '18500000000': 6 } });
    expect(await send(conn, '18500000000', 'hello', 'p-1')).toEqual({ ok: false, code: 'SGIP_RESULT_6', messageIds: [] });
    const outcomes = await Promise.all(
      Array.from({ length: 25 }, (_, i) => send(conn, `1760000${String(i).padStart(4, '0')}`, `msg ${i}`, `r-${i}`)),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(smsc.stats().throttled).toBeGreaterThan(0);
    expect(smsc.parts).toHaveLength(25);
    expect(new Set(smsc.parts.map((p) => p.destination)).size).toBe(25);
  });

  it('hands an MO (Deliver on the reverse connection) to the number + extension, and gets a report again it could not record', async () => {
    const { conn } = await link({ moRate: 1, moDelayMs: 0, fates: { '18600000002': 'DELIVRD' } });
    let refused = 0;
    const got: CarrierReceipt[] = [];
    conn.onReceipt(async (r) => {
      if (refused++ === 0) return false;
      got.push(r);
      return true;
    });
    const replies: CarrierReply[] = [];
    conn.onReply(async (r) => {
      replies.push(r);
      return true;
    });
    const o = await send(conn, '18600000002', 'Reply please', 'mo-1', '1065510042');
    await until('the reply and the resent report', () => replies.length === 1 && got.length === 1, 20_000);
    expect(replies[0]).toMatchObject({ from: '18600000002', to: '1065510042' });
    expect(got[0]).toMatchObject({ messageId: o.messageIds[0], msisdn: '18600000002' });
  });

  it('reconnects after the SMG drops the link and resends what was unanswered without duplicates', async () => {
    const { smsc, conn } = await link({ disconnectAfter: 7, latencyMs: 5 });
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) => send(conn, `1560000${String(i).padStart(4, '0')}`, `drop ${i}`, `d-${i}`)),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(conn.status().reconnects).toBeGreaterThan(0);
    const dest = smsc.parts.map((p) => p.destination);
    expect(dest).toHaveLength(30);
    expect(new Set(dest).size).toBe(30);
  });
});
