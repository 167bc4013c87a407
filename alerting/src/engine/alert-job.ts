import type { Carrier } from '@geo/ingest';
import type { SmsJob } from '@geo/messaging';
import type { AlertTask } from '../contract.ts';

/**
 * The SMS job that sends `task` to one person. It names the task's alert type: messaging exempts
 * alert jobs from the anti-bombing limits unless their type is listed as limited (e.g. a drill).
 */
export function alertJob(task: AlertTask, msisdn: string, carrier: Carrier, jobId: string, now: number): SmsJob {
  const s = task.spec;
  return {
    jobId,
    source: 'alert',
    enterpriseId: s.enterpriseId,
    accountId: s.accountId,
    sendId: task.id,
    msisdn,
    carrier,
    content: s.content,
    signature: s.signature,
    alertType: s.alertType,
    createdAt: now,
  };
}
