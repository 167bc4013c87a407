import { describe, expect, it } from 'vitest';
import type { SmsJob } from '../contract.ts';
import type { CarrierReceipt } from '../smpp/connector.ts';
import type { RowState } from './context.ts';
import { UncertainJobs } from './uncertain-jobs.ts';

const job = (jobId: string, msisdn = '13800000001'): SmsJob => ({
  jobId,
  source: 'alert',
  enterpriseId: 'e',
  accountId: 'a',
  sendId: 's',
  msisdn,
  carrier: 'cmcc',
  content: '台风预警',
  signature: '气象台',
  createdAt: 1,
});

const receipt = (o: Partial<CarrierReceipt> = {}): CarrierReceipt => ({
  carrier: 'cmcc',
  smscId: 'cmcc',
  messageId: 'm-1',
  state: 'delivered',
  stat: 'DELIVRD',
  msisdn: '13800000001',
  at: 5000,
  ...o,
});

function uncertainJobs() {
  const recorded: { s: RowState; status: string; code: string }[] = [];
  const outcomes: string[] = [];
  const counts = { final: 0 };
  const u = new UncertainJobs({
    record: async (s, status, code) => void recorded.push({ s, status, code }),
    metrics: { uncertain: { inc: (l: { outcome: string }) => void outcomes.push(l.outcome) } } as any,
    counts,
    unknownReceiptMs: 60_000,
  });
  return { u, recorded, outcomes, counts };
}

describe('UncertainJobs.take (the one place a receipt resolves an uncertain job)', () => {
  it('gives a receipt without a ref to the oldest uncertain job of its carrier and number, and records its final state', async () => {
    const { u, recorded, outcomes, counts } = uncertainJobs();
    u.hold({ job: job('j1'), carrier: 'cmcc', msisdn: '13800000001', segments: 1, since: 1 });
    u.hold({ job: job('j2'), carrier: 'cmcc', msisdn: '13800000001', segments: 1, since: 2 });
    await u.take(receipt({ state: 'failed', stat: 'UNDELIV', err: '013' }));
    expect(recorded).toEqual([
      expect.objectContaining({ status: 'failed', code: 'UNDELIV:013', s: expect.objectContaining({ messageIds: ['m-1'], segments: 1 }) }),
    ]);
    expect(recorded[0]!.s.job.jobId).toBe('j1');
    expect(u.get('j1')).toBeUndefined();
    expect(u.get('j2')).toBeDefined();
    expect(outcomes).toEqual(['receipt']);
    expect(counts.final).toBe(1);
  });

  it('takes the later parts of a job it resolved by number without recording it again', async () => {
    const { u, recorded } = uncertainJobs();
    u.hold({ job: job('j1'), carrier: 'cmcc', msisdn: '13800000001', segments: 3, since: 1 });
    await u.take(receipt({ messageId: 'm-1' }));
    expect(u.take(receipt({ messageId: 'm-2' }))).toBeDefined();
    expect(u.take(receipt({ messageId: 'm-3' }))).toBeDefined();
    expect(u.take(receipt({ messageId: 'm-4' }))).toBeUndefined(); // 3 parts only
    expect(recorded).toHaveLength(1);
  });

  it("matches an echoed ref only to that job of the same carrier, and leaves other carriers' receipts alone", () => {
    const { u } = uncertainJobs();
    u.hold({ job: job('j1'), carrier: 'cmcc', msisdn: '13800000001', segments: 1, since: 1 });
    expect(u.take(receipt({ ref: 'j1', carrier: 'cucc' }))).toBeUndefined();
    expect(u.take(receipt({ carrier: 'ctcc' }))).toBeUndefined();
    expect(u.take(receipt({ ref: 'other' }))).toBeUndefined();
    expect(u.take(receipt({ ref: 'j1' }))).toBeDefined();
  });
});
