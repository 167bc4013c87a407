import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SmsJob, SmsJobBatch } from '@geo/messaging';
import { JobEncoder, encodeJobBatch } from './job-encoder.ts';

const base: SmsJob = { jobId: 'alert:t-1:13800000000:20261125', source: 'alert', enterpriseId: 'ent-1', accountId: 'acc-1', sendId: 't-1', msisdn: '13800000000', carrier: 'cmcc', content: '暴雨预警："请"注意\\安全\n', signature: '应急管理局', createdAt: 1795636405277 };

describe('job encoder', () => {
  it('encodes exactly what JSON.stringify would decode to, across tasks and fields that need escaping', () => {
    const enc = new JobEncoder();
    fc.assert(
      fc.property(
        fc.record({ msisdn: fc.stringMatching(/^1[3-9]\d{9}$/), carrier: fc.constantFrom('cmcc', 'cucc', 'ctcc'), content: fc.string({ minLength: 1 }), sendId: fc.constantFrom('t-1', 't-2'), jobId: fc.string({ minLength: 1, maxLength: 40 }), createdAt: fc.integer({ min: 1 }) }),
        (over) => {
          const job = { ...base, ...over } as SmsJob;
          const bytes = enc.encode(job);
          expect(JSON.parse(Buffer.from(bytes).toString('utf8'))).toEqual(JSON.parse(JSON.stringify(job)));
        },
      ),
    );
  });

  it('produces jobs that pass messaging’s contract, optional fields included', () => {
    const enc = new JobEncoder();
    for (const job of [base, { ...base, extension: '12', forwardTo: '13900000000' }, { ...base, task: 2 }]) expect(SmsJob.parse(JSON.parse(Buffer.from(enc.encode(job)).toString()))).toEqual(job);
  });

  it('encodes a batch that passes messaging’s batch contract, jobs in order', () => {
    const jobs = [base, { ...base, msisdn: '13900000001', jobId: 'alert:t-1:13900000001', content: 'x"y' }, { ...base, task: 1 }];
    expect(SmsJobBatch.parse(JSON.parse(Buffer.from(encodeJobBatch(new JobEncoder(), jobs)).toString()))).toEqual({ v: 1, jobs });
  });
});
