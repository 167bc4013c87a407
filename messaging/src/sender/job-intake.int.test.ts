import { describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { until } from '@geo/infra/testing';
import type { SmsJobBatch } from '../contract.ts';
import { ServiceKit } from '../testing/service-kit.ts';

// 200 segments/s for China Mobile and at most 100 jobs in hand: 20 batches of 50 queue up behind the rate.
const kit = new ServiceKit('ti', 'messaging-intake-test', () => ({ MAX_IN_FLIGHT: '100', SMSC_RATE_CMCC: '200' }));
const svc = kit.serveInProcess();

describe('job intake (real NATS, ClickHouse and SMPP over TCP)', () => {
  it('holds at most MAX_IN_FLIGHT jobs in hand when they come in batches, and sends each once', async () => {
    const js = jetstream(kit.nc);
    const ids: string[] = [];
    const numbers: string[] = [];
    for (let b = 0; b < 20; b++) {
      const jobs = Array.from({ length: 50 }, (_, i) =>
        kit.job({ msisdn: `139${String(b).padStart(2, '0')}${String(i).padStart(6, '0')}`, sendId: `intake${b}`, source: 'alert' }),
      );
      ids.push(...jobs.map((j) => j.jobId));
      numbers.push(...jobs.map((j) => j.msisdn));
      const batch: SmsJobBatch = { v: 1, jobs };
      await js.publish(kit.names.jobSubject('cmcc'), JSON.stringify(batch), { msgID: `${kit.ns}-intake${b}` });
    }
    // Jobs handed to the connector and not answered yet: queued behind the rate, or on the wire.
    let most = 0;
    const c = svc().connectors.get('cmcc')!;
    const watch = setInterval(() => {
      const s = c.status();
      most = Math.max(most, s.queued + s.inFlight);
    }, 5);
    try {
      await until('every job final', async () => (await kit.finalRows(ids)).length === ids.length, 60_000);
    } finally {
      clearInterval(watch);
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(100); // one part per job here
    expect(numbers.filter((n) => kit.smscs.cmcc.messagesTo(n).length !== 1)).toEqual([]);
  });
});
