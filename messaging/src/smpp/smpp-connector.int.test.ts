import { afterEach, describe, expect, it } from 'vitest';
import { startSimulatedSmsc } from '../smsc-sim/smsc.ts';
import { SmppConnector } from './smpp-connector.ts';
import type { CarrierReceipt, CarrierReply } from './connector.ts';
import { segmentText } from '../text/segment-text.ts';
import { composeText } from '../text/compose.ts';
import { DEFAULT_PASSWORD, DEFAULT_SYSTEM_ID } from './protocol.ts';
import { until } from '@geo/infra/testing';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function link(
  behaviour: Parameters<typeof startSimulatedSmsc>[0]['behaviour'] = {},
  cfg: Partial<ConstructorParameters<typeof SmppConnector>[0]> = {},
) {
  const smsc = await startSimulatedSmsc({ carrier: 'cmcc', behaviour: { receiptDelayMs: 0, ...behaviour }, retryMs: 100 });
  open.push(smsc);
  const conn = new SmppConnector({
    carrier: 'cmcc',
    host: '127.0.0.1',
    port: smsc.port,
    systemId: DEFAULT_SYSTEM_ID,
    password: DEFAULT_PASSWORD,
    accessNumber: '106571',
    // These tests tell messages apart by the job id the simulator reads from the vendor TLV.
    reconnectMinMs: 50,
    reconnectMaxMs: 500,
    clientRefTlv: true,
    ...cfg,
  });
  open.push(conn);
  await conn.ready();
  return { smsc, conn };
}

const send = (conn: SmppConnector, msisdn: string, text: string, ref: string, source = '106571') =>
  conn.submit({ ref, msisdn, source, encoded: segmentText(text, Number(ref.replace(/\D/g, '') || 0) & 0xff) });

describe('SMPP connector against the simulated SMSC over TCP', () => {
  it('delivers GSM-7, UCS-2, emoji and mixed texts whole, in the right data_coding, with receipts', async () => {
    const { smsc, conn } = await link();
    const receipts: CarrierReceipt[] = [];
    conn.onReceipt(async (r) => {
      receipts.push(r);
      return true;
    });
    const texts = [
      'Plain GSM text with {braces} and €uro',
      'x'.repeat(400),
      composeText('气象台', '台风“海葵”将于今夜登陆，请注意防范。'),
      composeText('应急', '中'.repeat(150) + '😀👍🏽' + '文'.repeat(60)),
      'Mixed 中英 text 😀 with emoji at the boundary ' + '字'.repeat(40) + '🎉',
    ];
    const outcomes = await Promise.all(texts.map((t, i) => send(conn, `1380000000${i}`, t, `job-${i}`)));
    for (const [i, o] of outcomes.entries()) expect(o, texts[i]).toMatchObject({ ok: true });
    const parts = outcomes.reduce((n, o) => n + o.messageIds.length, 0);
    await until('messages and receipts', () => smsc.messages.length === texts.length && receipts.length === parts, 20_000);
    for (const [i, t] of texts.entries()) {
      const m = smsc.messages.find((x) => x.clientRef === `job-${i}`)!;
      expect(m.text).toBe(t);
      expect(m.dataCoding).toBe(/^[\x20-\x7e€]*$/.test(t) ? 0 : 8);
      expect(m.parts).toBe(segmentText(t, 0).parts.length);
    }
    expect(new Set(receipts.map((r) => r.ref))).toEqual(new Set(texts.map((_, i) => `job-${i}`)));
  });

  it('counts throughput in segments: 3-part messages at 10 segments/s stay under a 15/s SMSC limit', async () => {
    const { smsc, conn } = await link({ throttlePerSecond: 15 }, { segmentsPerSecond: 10 });
    const text = composeText('T', '中'.repeat(180)); // 3 parts
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => send(conn, `1390000000${i}`, text, `t-${i}`)));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(smsc.stats()).toMatchObject({ accepted: 24, throttled: 0 });
  });

  it('retries what the SMSC throttled until it is accepted, once each', async () => {
    const { smsc, conn } = await link({ throttlePerSecond: 10 });
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) => send(conn, `1370000${String(i).padStart(4, '0')}`, `msg ${i}`, `r-${i}`)),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(smsc.stats().throttled).toBeGreaterThan(0);
    expect(conn.status().throttled).toBeGreaterThan(0);
    expect(smsc.parts.map((p) => p.clientRef).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `r-${i}`).sort());
  });

  it('records a permanent refusal with the carrier code and does not retry it', async () => {
    const { smsc, conn } = await link({ fates: { '13500000000': 0x0b } });
    expect(await send(conn, '13500000000', 'hello', 'p-1')).toEqual({ ok: false, code: 'ESME_RINVDSTADR', messageIds: [] });
    expect(smsc.stats()).toMatchObject({ submits: 1, rejected: 1 });
  });

  it('reconnects after the SMSC drops the bind, and resends what was unanswered without duplicates', async () => {
    const { smsc, conn } = await link({ disconnectAfter: 7, latencyMs: 5 });
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => send(conn, `1360000${String(i).padStart(4, '0')}`, `drop ${i}`, `d-${i}`)),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(smsc.stats().disconnects).toBeGreaterThan(0);
    expect(conn.status().reconnects).toBeGreaterThan(0);
    const refs = smsc.parts.map((p) => p.clientRef);
    expect(refs).toHaveLength(40);
    expect(new Set(refs).size).toBe(40);
  });

  it('gets the receipt again when it could not record it the first time', async () => {
    const { conn } = await link();
    let refused = 0;
    const got: CarrierReceipt[] = [];
    conn.onReceipt(async (r) => {
      if (refused++ === 0) return false;
      got.push(r);
      return true;
    });
    await send(conn, '13800000001', 'again', 'a-1');
    await until('the resent receipt', () => got.length === 1, 20_000);
    expect(got[0]).toMatchObject({ ref: 'a-1', msisdn: '13800000001' });
  });

  it('hands replies (MO) to the extension number they were sent from', async () => {
    const { conn } = await link({ moRate: 1, moDelayMs: 0, fates: { '13800000002': 'DELIVRD' } });
    const replies: CarrierReply[] = [];
    conn.onReply(async (r) => {
      replies.push(r);
      return true;
    });
    await send(conn, '13800000002', 'Reply please', 'mo-1', '1065710042');
    await until('the reply', () => replies.length === 1, 20_000);
    expect(replies[0]).toMatchObject({ from: '13800000002', to: '1065710042', text: expect.any(String) });
    expect(replies[0]!.text.length).toBeGreaterThan(0);
  });

  it('sends no vendor TLV by default, so a strict SMSC (refusing unknown optional parameters) takes every message; with the TLV it refuses them', async () => {
    const { smsc, conn } = await link({ strictOptionalParams: true }, { clientRefTlv: undefined });
    const receipts: CarrierReceipt[] = [];
    conn.onReceipt(async (r) => {
      receipts.push(r);
      return true;
    });
    const texts = ['plain', composeText('应急', '长'.repeat(150))];
    const outcomes = await Promise.all(texts.map((t, i) => send(conn, `1380000010${i}`, t, `s-${i}`)));
    expect(outcomes).toMatchObject([{ ok: true }, { ok: true }]);
    expect(smsc.stats()).toMatchObject({ accepted: 4, rejected: 0 });
    expect(smsc.parts.every((p) => p.clientRef === undefined)).toBe(true);
    await until('the receipts', () => receipts.length === 4, 20_000);
    expect(receipts.every((r) => r.ref === undefined && r.smscId === 'cmcc')).toBe(true);

    const tlv = new SmppConnector({
      carrier: 'cmcc',
      host: '127.0.0.1',
      port: smsc.port,
      systemId: DEFAULT_SYSTEM_ID,
      password: DEFAULT_PASSWORD,
      accessNumber: '106571',
      clientRefTlv: true,
    });
    open.push(tlv);
    await tlv.ready();
    expect(await send(tlv, '13800000110', 'with the vendor TLV', 's-9')).toEqual({ ok: false, code: 'ESME_RTLVNOTALLWD', messageIds: [] });
    expect(smsc.stats()).toMatchObject({ accepted: 4, rejected: 1 });
  });

  it('cancels a message whose claim says it was already sent', async () => {
    const { smsc, conn } = await link();
    const o = await conn.submit({
      ref: 'c-1',
      msisdn: '13800000003',
      source: '106571',
      encoded: segmentText('x', 0),
      beforeSend: async () => false,
    });
    expect(o).toMatchObject({ ok: false, cancelled: true });
    expect(smsc.stats().submits).toBe(0);
  });

  it('keeps the whole rate when one of its binds is down: the slots’ shares are pooled, not tied to their links', async () => {
    // Two slots of 20/s each, but the SMSC lets only one bind in: the one link carries both shares.
    const { smsc, conn } = await link({ maxBinds: 1, throttlePerSecond: 40 }, { binds: 2, segmentsPerSecond: 40, clientRefTlv: false });
    const outcomes = await Promise.all(
      Array.from({ length: 120 }, (_, i) => send(conn, `138000${String(i).padStart(5, '0')}`, `pooled ${i}`, `pool-${i}`)),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const st = smsc.stats();
    expect(st.binds).toBe(1);
    expect(st.accepted).toBe(120);
    // More than 30 in some second: a share of 20 tied to the one live link would never pass 20.
    expect(st.peakPerSecond).toBeGreaterThan(30);
    // Not asserted here: no throttling at the SMSC. The client sends at most 40 in any 1.05 s by its
    // own clock (rate-window.test), but the SMSC counts arrivals: on a loaded machine (CI at load 25)
    // an event-loop stall longer than the 50 ms guard delivers one second's submits with the next
    // one's, the SMSC refuses the excess with ESME_RTHROTTLED, and the client sends them again —
    // every outcome ok and 120 accepted above is that path working.
  });

  it('sends once the fencing check passes again, with nothing else happening: a late lease renewal does not stall the carrier', async () => {
    // canSend is the lease fence: false for a moment while a renewal is late. Nothing else (no
    // response, no new submit, no bind event) comes to wake the queue after it turns true again.
    let fenced = true;
    const { smsc, conn } = await link({}, { canSend: () => !fenced });
    const outcome = send(conn, '13800000120', 'after the fence', 'fence-1');
    await new Promise((r) => setTimeout(r, 300));
    expect(smsc.stats().submits).toBe(0);
    fenced = false;
    await until('the message sent after the fence lifted', () => smsc.stats().accepted === 1, 5_000);
    expect(await outcome).toMatchObject({ ok: true });
  });
});
