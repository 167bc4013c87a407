import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SmsJob, SmsJobBatch, jobsOfBatch } from '../contract.ts';
import { encodeJobBatch } from './job-batch-codec.ts';

const base: SmsJob = {
  jobId: 'alert:t-1:13800000000:20261125',
  source: 'alert',
  enterpriseId: 'ent-1',
  accountId: 'acc-1',
  sendId: 't-1',
  msisdn: '13800000000',
  carrier: 'cmcc',
  content: '暴雨预警："请"注意\\安全\n',
  signature: '应急管理局',
  createdAt: 1795636405277,
};
const decode = (bytes: Uint8Array) => jobsOfBatch(SmsJobBatch.parse(JSON.parse(Buffer.from(bytes).toString('utf8'))));

describe('job batch encoder', () => {
  it('gives back exactly the jobs, across tasks and fields that need escaping', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            msisdn: fc.stringMatching(/^1[3-9]\d{9}$/),
            carrier: fc.constantFrom('cmcc', 'cucc', 'ctcc'),
            content: fc.string({ minLength: 1, maxLength: 50 }),
            sendId: fc.constantFrom('t-1', 't-2'),
            jobId: fc.string({ minLength: 1, maxLength: 40 }),
            createdAt: fc.integer({ min: 1 }),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        (overs) => {
          const jobs = overs.map((o) => ({ ...base, ...o }) as SmsJob);
          expect(decode(encodeJobBatch(jobs))).toEqual({ ok: true, jobs: JSON.parse(JSON.stringify(jobs)) });
        },
      ),
    );
  });

  it('writes the shared fields once, and optional fields of a job whole', () => {
    const jobs: SmsJob[] = [
      base,
      { ...base, msisdn: '13900000001', jobId: 'alert:t-1:13900000001' },
      { ...base, task: 1 },
      { ...base, extension: '12', forwardTo: '13900000000' },
      { ...base, jobId: 'x"y', content: 'other' },
    ];
    const bytes = encodeJobBatch(jobs);
    expect(decode(bytes)).toEqual({ ok: true, jobs });
    // In `common`, and in the two jobs with optional fields written whole; not in the plain ones.
    expect(Buffer.from(bytes).toString().split('暴雨预警').length - 1).toBe(3);
  });
});
