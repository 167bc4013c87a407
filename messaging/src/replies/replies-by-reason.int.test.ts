import { beforeAll, describe, expect, it } from 'vitest';
import { readMetrics, until } from '@geo/infra/testing';
import { ServiceKit } from '../testing/service-kit.ts';
import { ExtensionRegistry } from './extension-numbers.ts';
import type { SmsJob } from '../contract.ts';

/**
 * Replies (MO) counted by reason, against real NATS, ClickHouse and SMPP: a handset answering an
 * alert (sent from the bare access number, no extension) is `alert`, not an unmatched reply; only
 * replies to an extension nobody holds or to a number that is not ours are faults.
 */

const kit = new ServiceKit('rbr', 'messaging-replies-test', () => ({ ACK_WAIT_MS: '5000' }));
// The handset answers every delivered SMS, late enough for the send log to hold the send.
const svc = kit.serveInProcess({ retryMs: 200, behaviour: { moRate: 1, moDelayMs: 1500, moTexts: ['1'] } });
let registry: ExtensionRegistry;
beforeAll(async () => {
  registry = await ExtensionRegistry.open(kit.nc, kit.names.extensionsBucket);
});
const cmcc = () => kit.smscs.cmcc;

const replies = async () => (await readMetrics(`${svc().healthUrl}/metrics`)).by('sms_replies_total', 'reason', { carrier: 'cmcc' });

const job = (over: Partial<SmsJob>): SmsJob =>
  kit.job({
    enterpriseId: 'ent-r',
    accountId: 'acc-r',
    sendId: 'send-r',
    msisdn: '13800000001',
    content: '台风预警：请回复 1 报平安',
    signature: '应急管理',
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
    await kit.publish(jobs);
    await until('three replies counted', async () => Object.values(await replies()).reduce((a, b) => a + b, 0) >= 3);
    expect(await replies()).toEqual({ alert: 1, matched: 1, no_extension: 1 });
  });

  it('counts replies to an extension nobody holds, to an expired one and to another number apart', async () => {
    cmcc().configure({ moRate: 0 });
    await registry.register({
      extension: '55667788',
      enterpriseId: 'ent-r',
      accountId: 'acc-r',
      sendId: 'old-send',
      expiresAt: Date.now() - 1000,
    });
    const before = await replies();
    for (const to of ['10657199887766', '10657155667788', '106599']) cmcc().inject(mo(to));
    await until(
      'three more replies',
      async () => Object.values(await replies()).reduce((a, b) => a + b, 0) >= Object.values(before).reduce((a, b) => a + b, 0) + 3,
    );
    const now = await replies();
    expect({ unknown: now.unknown_extension, expired: now.expired, other: now.other_number }).toEqual({ unknown: 1, expired: 1, other: 1 });
  });

  it('counts an answer to an open check-in as matched and one to a closed check-in as checkin_closed (#21), not as a fault', async () => {
    cmcc().configure({ moRate: 0 });
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
    cmcc().inject(mo('10657190077', '13800000007'));
    await until('the open check-in’s answer', async () => sum(await replies()) >= sum(before) + 1);
    expect((await replies()).matched).toBe((before.matched ?? 0) + 1);
    expect(await registry.close(entry, Date.now() - 1)).toBe(true);
    expect(await registry.state('90077')).toMatchObject({ state: 'closed' });
    cmcc().inject(mo('10657190077', '13800000008'));
    await until('the late answer', async () => sum(await replies()) >= sum(before) + 2);
    expect(await replies()).toMatchObject({ matched: (before.matched ?? 0) + 1, checkin_closed: 1 });
    // Another enterprise's send cannot close it.
    expect(await registry.close({ ...entry, enterpriseId: 'ent-other' }, Date.now())).toBe(false);
  });
});
