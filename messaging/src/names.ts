import { SMS_EVENTS_STREAM, SMS_JOBS_STREAM, smsJobSubject, smsReplySubject, smsStatusSubject, type SmsCarrier } from './contract.ts';

/**
 * Stream and subject names, optionally under a namespace so that tests sharing one nats-server
 * do not consume each other's jobs. Production uses the contract's names (empty namespace).
 */
export interface MessagingNames {
  jobsStream: string;
  eventsStream: string;
  jobsSubjects: string;
  eventsSubjects: string[];
  jobSubject: (c: SmsCarrier) => string;
  statusSubject: (c: SmsCarrier) => string;
  replySubject: (enterpriseId: string) => string;
  /** Write-ahead claims of jobs about to go on the wire (see sender/claim-log.ts). */
  claimsStream: string;
  claimsSubject: string;
  extensionsBucket: string;
  /** Per-number anti-bombing history (limits/recipient-limits.ts). */
  limitsBucket: string;
  /** Leases of the carriers' bind slots shared by the instances (service.ts). */
  bindLeasesBucket: string;
  /** Receipts one instance offers the others (core NATS request, sender/receipts.ts). */
  receiptsSubject: string;
  consumer: string;
}

export function messagingNames(ns = ''): MessagingNames {
  const p = ns ? `${ns}.` : '';
  const s = ns ? `${ns.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_` : '';
  return {
    jobsStream: s + SMS_JOBS_STREAM,
    eventsStream: s + SMS_EVENTS_STREAM,
    jobsSubjects: `${p}sms.jobs.>`,
    eventsSubjects: [`${p}sms.status.>`, `${p}sms.replies.>`],
    jobSubject: (c) => p + smsJobSubject(c),
    statusSubject: (c) => p + smsStatusSubject(c),
    replySubject: (e) => p + smsReplySubject(e),
    claimsStream: `${s}SMS_CLAIMS`,
    claimsSubject: `${p}sms.claims`,
    extensionsBucket: `${s.toLowerCase()}sms_extensions`,
    limitsBucket: `${s.toLowerCase()}sms_recipient_limits`,
    bindLeasesBucket: `${s.toLowerCase()}sms_bind_leases`,
    receiptsSubject: `${p}sms.receipts.offer`,
    consumer: 'messaging',
  };
}
