import { describe, expect, it } from 'vitest';
import { deliveryStatusesOf, type DeliveryStatus } from './contract.ts';

const status = (over: Partial<DeliveryStatus> = {}): DeliveryStatus => ({
  jobId: 'j1',
  sendId: 's1',
  enterpriseId: 'e1',
  accountId: 'a1',
  msisdn: '13800000000',
  carrier: 'cmcc',
  state: 'delivered',
  segments: 1,
  at: 1_700_000_000_000,
  ...over,
});

describe('deliveryStatusesOf', () => {
  it('reads one status (the old form) and a batch', () => {
    expect(deliveryStatusesOf(status())).toEqual([status()]);
    const b = { v: 1, statuses: [status(), status({ jobId: 'j2', state: 'submitted' })] };
    expect(deliveryStatusesOf(b)).toEqual(b.statuses);
  });

  it('leaves an invalid status of a batch out, not the batch', () => {
    expect(deliveryStatusesOf({ v: 1, statuses: [status(), { jobId: 'x' }] })).toEqual([status()]);
  });

  it('answers undefined for what is neither', () => {
    expect(deliveryStatusesOf({ jobId: 'x' })).toBeUndefined();
    expect(deliveryStatusesOf({ v: 2, statuses: [status()] })).toBeUndefined();
    expect(deliveryStatusesOf(null)).toBeUndefined();
    expect(deliveryStatusesOf('text')).toBeUndefined();
  });
});
