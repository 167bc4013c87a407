import { describe, expect, it } from 'vitest';
import { SmsJobBatch, jobsOfBatch } from '@geo/messaging';
import { alertJob } from './alert-job.ts';
import { encodeJobBatch } from '@geo/messaging';
import { AlertTask, AlertTaskSpec } from '../contract.ts';
import { circleTask } from '../testing/engine-kit.ts';

const decode = (bytes: Uint8Array) => jobsOfBatch(SmsJobBatch.parse(JSON.parse(Buffer.from(bytes).toString('utf8'))));

describe('the SMS job of an alert', () => {
  const task: AlertTask = {
    id: 't-1',
    version: 1,
    state: 'running',
    updatedAt: 1,
    spec: AlertTaskSpec.parse(circleTask([116.4, 39.9], 1000, { alertType: 'typhoon' })),
  };

  it('carries the task’s alert type, so that messaging can limit chosen types (a drill)', () => {
    const j = alertJob(task, '13800000000', 'cmcc', 'alert:t-1:13800000000', 1_795_636_405_277);
    expect(j).toMatchObject({ source: 'alert', sendId: 't-1', alertType: 'typhoon', msisdn: '13800000000', carrier: 'cmcc' });
  });

  it('keeps the alert type through the batch encoding messaging decodes', () => {
    const jobs = ['13800000000', '13800000001'].map((m) => alertJob(task, m, 'cucc', `alert:t-1:${m}`, 1_795_636_405_277));
    const r = decode(encodeJobBatch(jobs));
    expect(r.ok && r.jobs.map((j) => j.alertType)).toEqual(['typhoon', 'typhoon']);
  });
});
