import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@geo/infra/testing';
import type { SmsCarrier } from './contract.ts';
import { startCmppGateway } from './smsc-sim/cmpp-gateway.ts';
import { startSmgpGateway } from './smsc-sim/smgp-gateway.ts';
import { startSgipGateway } from './smsc-sim/sgip-gateway.ts';
import { ServiceKit } from './testing/service-kit.ts';

/**
 * Exactly-once over the Chinese carriers' own protocols (issue 22): China Mobile over CMPP, China
 * Telecom over SMGP, China Unicom over SGIP (reports over the SMG's reverse connection), each with
 * messaging as a process killed with SIGKILL mid-run and restarted, against real NATS and
 * ClickHouse and the simulated gateways over TCP — as `service.int.test.ts` proves it for SMPP.
 * Deterministic on a loaded machine: the kill never races answers; the gateway holds its answers
 * and the kill waits until submits are provably on the wire unanswered (`ServiceKit.killDrill`).
 */
let sgipListen = 0;
const kit = new ServiceKit('k', 'messaging-kill-test', () => ({
  SMSC_PROTOCOL_CMCC: 'cmpp',
  SMSC_PROTOCOL_CTCC: 'smgp',
  SMSC_PROTOCOL_CUCC: 'sgip',
  SGIP_LISTEN_PORT_CUCC: String(sgipListen),
}));

beforeAll(async () => {
  const behaviour = { successRate: 1, receiptDelayMs: 10 };
  sgipListen = await freePort();
  kit.smscs = {
    cmcc: await startCmppGateway({ carrier: 'cmcc', messageIds: 'sequential', behaviour, retryMs: 300 }),
    ctcc: await startSmgpGateway({ carrier: 'ctcc', messageIds: 'sequential', behaviour, retryMs: 300 }),
    cucc: await startSgipGateway({ carrier: 'cucc', sp: { host: '127.0.0.1', port: sgipListen }, behaviour, retryMs: 300 }),
  };
  await kit.open();
});

afterAll(() => kit.close());

const protocols: { protocol: string; carrier: SmsCarrier; prefix: string }[] = [
  { protocol: 'CMPP', carrier: 'cmcc', prefix: '138' },
  { protocol: 'SMGP', carrier: 'ctcc', prefix: '189' },
  { protocol: 'SGIP', carrier: 'cucc', prefix: '186' },
];

describe.each(protocols)('SIGKILL over $protocol ($carrier), real NATS and ClickHouse', ({ protocol, carrier, prefix }) => {
  const rate = `SMSC_RATE_${carrier.toUpperCase()}`;
  const numbers = (base: number, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(base + i).padStart(8, '0')}`);

  it(`loses and duplicates nothing over ${protocol} when messaging is killed mid-run and restarted, within the segment rate`, async () => {
    const gw = kit.smscs[carrier];
    // The gateway refuses (busy / flow control) beyond 150 submits in any second; messaging is set to 150 segments/s.
    gw.configure({ latencyMs: 2, receiptDelayMs: 300, fates: {}, throttlePerSecond: 150 });
    gw.clear();
    const jobs = numbers(60_000_000, 300).map((msisdn, i) =>
      kit.job({ msisdn, carrier, content: i % 5 === 0 ? '长'.repeat(100) : `通知 ${i}` }),
    );
    // Killed with 5 submits unanswered: they are uncertain after the restart, and sent again
    // (UNCERTAIN_POLICY=resubmit) once no receipt came for their numbers in UNCERTAIN_RESOLVE_MS.
    const { sent, final, atKill } = await kit.killDrill({
      gateways: [gw],
      jobs,
      env: { [rate]: '150', SMSC_RATE_GUARD_MS: '250', UNCERTAIN_RESOLVE_MS: '20000' },
      killAfter: 90,
      holdAnswers: 5,
    });
    const partsOf = new Map(final.map((r) => [r.job_id, r.segments]));
    // No part of any job reached the gateway twice; every job reached it and ended delivered.
    for (const [id, n] of sent) expect(n, id).toBeLessThanOrEqual(partsOf.get(id) ?? n);
    for (const r of final) expect(r.status, `${r.job_id} ${r.code}`).toBe('delivered');
    for (const j of jobs) expect(sent.has(j.jobId), j.jobId).toBe(true);
    expect(final).toHaveLength(jobs.length);
    expect(atKill).toBeGreaterThan(0);
    // Throttling by segments held across the restart: the gateway never had to refuse.
    expect(gw.stats()).toMatchObject({ throttled: 0 });
    expect(gw.stats().peakPerSecond).toBeLessThanOrEqual(150);
  }, 240_000);

  it(`UNCERTAIN_POLICY=fail over ${protocol}: jobs cut off unanswered by a SIGKILL end failed UNCERTAIN and are never sent again; the rest are delivered once`, async () => {
    const gw = kit.smscs[carrier];
    // The gateway drops what it had not answered when the link went, so none of those reached a handset.
    gw.configure({ latencyMs: 0, receiptDelayMs: 10, fates: {}, throttlePerSecond: 0 });
    const jobs = numbers(70_000_000, 200).map((msisdn, i) => kit.job({ msisdn, carrier, content: `不确定 ${i}` }));
    const { sent, final } = await kit.killDrill({
      gateways: [gw],
      jobs,
      env: { [rate]: '150', UNCERTAIN_RESOLVE_MS: '3000', UNCERTAIN_POLICY: 'fail' },
      killAfter: 40,
      holdAnswers: 10,
    });
    expect(final).toHaveLength(jobs.length);
    const uncertain = final.filter((r) => r.code === 'UNCERTAIN');
    expect(uncertain.length).toBeGreaterThanOrEqual(10);
    for (const r of final) {
      if (r.code === 'UNCERTAIN') expect(sent.get(r.job_id) ?? 0, r.job_id).toBe(0);
      else {
        expect(r.status, `${r.job_id} ${r.code}`).toBe('delivered');
        expect(sent.get(r.job_id), r.job_id).toBe(1);
      }
    }
  }, 240_000);
});
