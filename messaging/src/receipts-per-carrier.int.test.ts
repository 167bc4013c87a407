import { describe, expect, it } from 'vitest';
import { readMetrics, until } from '@geo/infra/testing';
import { ServiceKit } from './testing/service-kit.ts';
import type { SmsCarrier, SmsJob } from './contract.ts';

/**
 * Invariant 8: a carrier message id is scoped by its carrier's SMSC. Here the three simulated
 * SMSCs number their message ids the same way (1, 2, 3 …), as real SMSCs are free to, and end
 * every message differently (China Mobile delivers all, China Unicom none, China Telecom expires
 * all): each job must get its own carrier's outcome. A receipt matching no job is counted by
 * reason and dead-lettered with it.
 */

const kit = new ServiceKit('rpc', 'messaging-receipts-test', () => ({ SMSC_BINDS: '2', UNKNOWN_RECEIPT_MS: '1000' }));
const fate = { cmcc: 1, cucc: 0, ctcc: 0 } as const;
// Sequential message ids on the three (the kit's default): the same ids from every SMSC.
const svc = kit.serveInProcess((carrier) => ({
  retryMs: 200,
  behaviour: { successRate: fate[carrier], expiredShare: carrier === 'ctcc' ? 1 : 0, receiptDelayMs: 30 },
}));

const metric = async (name: string, labels: Record<string, string>) =>
  (await readMetrics(`${svc().healthUrl}/metrics`)).value(name, labels);

describe('receipts are matched per carrier (SMSCs issuing the same message ids)', () => {
  it('credits each of 20 jobs per carrier with its own carrier’s outcome, though all three SMSCs number ids 1, 2, 3 …', async () => {
    const now = Date.now();
    const prefix = { cmcc: '138', cucc: '186', ctcc: '189' } as const;
    const jobs: SmsJob[] = (['cmcc', 'cucc', 'ctcc'] as const).flatMap((carrier) =>
      Array.from({ length: 20 }, (_, i) => ({
        jobId: `${kit.ns}-${carrier}-${i}`,
        source: 'industry' as const,
        enterpriseId: 'ent1',
        accountId: 'acc1',
        sendId: 'same-ids',
        carrier,
        msisdn: `${prefix[carrier]}${String(i).padStart(8, '0')}`,
        content: `通知 ${i}`,
        signature: '气象台',
        createdAt: now,
      })),
    );
    // One after the other per index, so that the three SMSCs hand out the same id to the i-th job of each.
    for (const j of jobs) await kit.publish([j]);
    const ids = jobs.map((j) => j.jobId);
    const rows = () => kit.rows(ids);
    await until(
      'a final state for every job',
      async () => (await rows()).filter((r) => r.status !== 'submitted').length === ids.length,
      40_000,
    );
    // The SMSCs did hand out the same ids.
    const idsOf = (c: SmsCarrier) => new Set(kit.smscs[c].parts.map((p) => p.messageId));
    expect([...idsOf('cmcc')].filter((id) => idsOf('cucc').has(id) && idsOf('ctcc').has(id)).length).toBeGreaterThanOrEqual(15);
    const byCarrier: Record<string, Record<string, number>> = {};
    for (const r of await rows()) {
      byCarrier[r.carrier] ??= {};
      byCarrier[r.carrier]![r.status] = (byCarrier[r.carrier]![r.status] ?? 0) + 1;
    }
    expect(byCarrier).toEqual({ cmcc: { delivered: 20 }, cucc: { failed: 20 }, ctcc: { expired: 20 } });
    // Nothing left waiting for a receipt, nothing unmatched.
    expect(svc().sender.awaitingReceipts).toBe(0);
    expect(await metric('sms_receipts_unmatched_total', {})).toBe(0);
  });

  it('counts a receipt that matches no job by reason and dead-letters it with the reason', async () => {
    const dead: { reason: string; data: { messageId?: string } }[] = [];
    const sub = kit.nc.subscribe('dlq.messaging.>', {
      callback: (_e, m) => {
        const d = JSON.parse(new TextDecoder().decode(m.data)) as { reason: string; data: string };
        dead.push({ reason: d.reason, data: JSON.parse(Buffer.from(d.data, 'base64').toString()) as { messageId?: string } });
      },
    });
    // A well-formed receipt on China Telecom's bind for an id its SMSC has not given yet.
    const unknown = String(Number(kit.smscs.ctcc.parts.at(-1)!.messageId) + 1);
    const inj = kit.smscs.ctcc.inject({
      fields: {
        source_addr: '18900000001',
        destination_addr: '106591',
        esm_class: 0x04,
        data_coding: 0,
        receipted_message_id: unknown,
        message_state: 2,
        short_message: Buffer.from(`id:${unknown} sub:001 dlvrd:001 stat:DELIVRD err:000 text:`, 'latin1'),
      },
    });
    await until('the unknown receipt to be taken', () => kit.smscs.ctcc.injected(inj.id)!.done, 30_000);
    await until('the dead letter', () => dead.some((d) => d.data.messageId === unknown), 40_000);
    sub.unsubscribe();
    expect(dead.find((d) => d.data.messageId === unknown)!.reason).toMatch(/unknown message id/);
    expect(await metric('sms_receipts_unmatched_total', { carrier: 'ctcc', reason: 'unknown_message_id' })).toBe(1);
  });
});
