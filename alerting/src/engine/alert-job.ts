import type { Carrier } from '@geo/ingest';
import type { SmsJob } from '@geo/messaging';
import { smsContent, type AlertTask, type TextLanguage } from '../contract.ts';

/**
 * The SMS job that sends `task` to one person. It names the task's alert type: messaging exempts
 * alert jobs from the anti-bombing limits unless their type is listed as limited (e.g. a drill).
 * Its text is the body in `lang` (the person's language; Chinese by default), behind 【演练】 when
 * the task is an exercise.
 */
export function alertJob(task: AlertTask, msisdn: string, carrier: Carrier, jobId: string, now: number, lang?: TextLanguage): SmsJob {
  const s = task.spec;
  return {
    jobId,
    source: 'alert',
    enterpriseId: s.enterpriseId,
    accountId: s.accountId,
    sendId: task.id,
    msisdn,
    carrier,
    content: smsContent(s, lang),
    signature: s.signature,
    alertType: s.alertType,
    createdAt: now,
  };
}
