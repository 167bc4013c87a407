import { Counter, type Registry } from 'prom-client';

/** The sender's Prometheus counters, registered in `registry` when given. */
export function senderMetrics(registry?: Registry) {
  const reg = registry ? [registry] : [];
  return {
    jobs: new Counter({ name: 'sms_jobs_total', help: 'SMS jobs by outcome', labelNames: ['carrier', 'outcome'], registers: reg }),
    receipts: new Counter({
      name: 'sms_receipts_total',
      help: 'Delivery receipts by state',
      labelNames: ['carrier', 'state'],
      registers: reg,
    }),
    // By reason (replies/reply-reason.ts): only unknown_extension and other_number are faults.
    replies: new Counter({
      name: 'sms_replies_total',
      help: 'Replies (MO) by how they were matched (reason)',
      labelNames: ['carrier', 'reason'],
      registers: reg,
    }),
    bad: new Counter({
      name: 'sms_bad_deliver_total',
      help: 'deliver_sm from carriers dead-lettered, by reason',
      labelNames: ['carrier', 'reason'],
      registers: reg,
    }),
    limited: new Counter({
      name: 'sms_recipient_limited_total',
      help: 'Jobs held back by the per-number anti-bombing limits (status rejected, code RATE_LIMITED), by the window that was full',
      labelNames: ['carrier', 'window'],
      registers: reg,
    }),
    // Jobs cut off (a crash of this or another instance) between their claim and their recorded outcome.
    uncertain: new Counter({
      name: 'sms_uncertain_jobs_total',
      help: 'Jobs claimed before a crash with no recorded outcome, by how they were resolved (receipt, resubmitted, failed)',
      labelNames: ['outcome'],
      registers: reg,
    }),
    exempt: new Counter({
      name: 'sms_recipient_limit_exempt_total',
      help: 'Jobs exempt from the per-number limits, by rule',
      labelNames: ['reason'],
      registers: reg,
    }),
    unmatched: new Counter({
      name: 'sms_receipts_unmatched_total',
      help: 'Delivery receipts that matched no job (by carrier, SMSC and message id) and were dead-lettered, by reason',
      labelNames: ['carrier', 'reason'],
      registers: reg,
    }),
    // A consumer that silently stopped taking jobs is the worst failure a queue can have (#19).
    restarts: new Counter({
      name: 'sms_consumer_restarts_total',
      help: "Consumers of the sender (a carrier's jobs, the claims tail) opened again because their iterator ended, failed or stalled before being stopped",
      labelNames: ['consumer', 'reason'],
      registers: reg,
    }),
  };
}

export type SenderMetrics = ReturnType<typeof senderMetrics>;

/** What the sender did since it started (tests and the bench read these). */
export function newSenderCounts() {
  return {
    jobs: 0,
    submitted: 0,
    rejected: 0,
    failed: 0,
    duplicates: 0,
    uncertain: 0,
    resubmitted: 0,
    receipts: 0,
    final: 0,
    replies: 0,
    unmatchedReplies: 0,
    badDelivers: 0,
    limited: 0,
    limitedAgain: 0,
    handedBack: 0,
    peerReceipts: 0,
    forwarded: 0,
  };
}
export type SenderCounts = ReturnType<typeof newSenderCounts>;
