import { describe, expect, it } from 'vitest';
import { until } from '@geo/infra/testing';
import { ServiceKit } from '../testing/service-kit.ts';

// Statuses of a 200 ms window go out as one NATS message per carrier.
const kit = new ServiceKit('tse', 'messaging-status-events-test', () => ({ STATUS_EVENT_BATCH_MS: '200' }));
kit.serveInProcess();

describe('status events (real NATS, ClickHouse and SMPP over TCP)', () => {
  it('publishes a window of statuses as one message, each status once', async () => {
    const jobs = Array.from({ length: 60 }, (_, i) => kit.job({ msisdn: `1390000${String(i).padStart(4, '0')}`, sendId: 'batched' }));
    await kit.publish(jobs);
    const ids = new Set(jobs.map((j) => j.jobId));
    const mine = () => kit.statuses.filter((s) => ids.has(s.jobId));
    await until('submitted and delivered of every job', () => mine().filter((s) => s.state === 'delivered').length === jobs.length, 40_000);
    const keys = mine().map((s) => `${s.jobId}:${s.state}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBe(2 * jobs.length); // submitted, delivered
    expect(mine().every((s) => s.sendId === 'batched' && s.carrier === 'cmcc' && s.segments === 1)).toBe(true);
    // 120 statuses: one message each before; far fewer in windows of 200 ms.
    expect(kit.statusMessages).toBeLessThanOrEqual(keys.length / 4);
  });
});
