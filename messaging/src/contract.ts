import { z } from 'zod';

/**
 * The SMS-job command (messaging carries it out) and the delivery-status and reply events
 * (messaging publishes them). Alerting and the portal publish jobs in this shape.
 */

export const SmsCarrier = z.enum(['cmcc', 'cucc', 'ctcc']);
export type SmsCarrier = z.infer<typeof SmsCarrier>;

export const SmsJob = z.object({
  /** Unique per recipient and send; used as the JetStream Nats-Msg-Id and the send-log key. */
  jobId: z.string().min(1).max(200),
  source: z.enum(['alert', 'industry']),
  enterpriseId: z.string().min(1),
  accountId: z.string().min(1),
  /** The industry send or the alert task this job belongs to. */
  sendId: z.string().min(1),
  /** Which of the send's 500-character tasks this is (0-based; see `splitTasks`). @default 0 */
  task: z.number().int().min(0).max(65535).optional(),
  msisdn: z.string().regex(/^1[3-9]\d{9}$/, 'expected an 11-digit mainland mobile number'),
  carrier: SmsCarrier,
  /** The message body without the signature. */
  content: z.string().min(1).max(2000),
  /** Signature text without the brackets; sent as 【signature】 before the content. */
  signature: z.string().min(1).max(20),
  /** Digits appended to the access number when the send needs a reply. */
  extension: z
    .string()
    .regex(/^\d{1,8}$/)
    .optional(),
  /** Forward replies to this phone. */
  forwardTo: z
    .string()
    .regex(/^1[3-9]\d{9}$/)
    .optional(),
  /**
   * For `source: 'alert'`: the alert task's type (alerting's AlertType, e.g. `typhoon`). Alert jobs
   * are exempt from the per-number anti-bombing limits unless the operator lists their type as
   * limited (messaging RECIPIENT_LIMIT_ALERT_TYPES, e.g. a drill).
   */
  alertType: z.string().min(1).max(40).optional(),
  /** Unix epoch ms when the job was created. */
  createdAt: z.number().int().positive(),
});
export type SmsJob = z.infer<typeof SmsJob>;

/** Most jobs in one {@link SmsJobBatch} message. */
export const SMS_JOB_BATCH_MAX = 1000;

/**
 * Several SMS jobs in one `sms.jobs.<carrier>` message (alerting sends the people present at a
 * task's start this way: one JetStream write per batch instead of one per person). `common` holds
 * the fields the jobs share (content, signature, ids), given once so a batch of long texts stays far
 * below NATS' 1 MB payload limit; each job is `{ ...common, ...job }` and must then be a whole
 * {@link SmsJob} (see {@link jobsOfBatch}). Messaging takes a message holding one SmsJob or one
 * SmsJobBatch; each job of a batch is sent at most once by its own `jobId` (messaging's claim log),
 * and the batch's Nats-Msg-Id must be deterministic for the same jobs, so that a producer publishing
 * it again after a crash is de-duplicated by the stream. A batch with any job that does not match
 * is dead-lettered whole.
 *
 * @example
 * { v: 1, common: { source: 'alert', sendId: 't-1', content: '…', signature: '…', enterpriseId: 'e', accountId: 'a', createdAt: 1795636405277 },
 *   jobs: [{ jobId: 'alert:t-1:13800000000', msisdn: '13800000000', carrier: 'cmcc' }] }
 */
export const SmsJobBatch = z.object({
  v: z.literal(1),
  common: SmsJob.partial().optional(),
  jobs: z.array(SmsJob.partial()).min(1).max(SMS_JOB_BATCH_MAX),
});
export type SmsJobBatch = z.infer<typeof SmsJobBatch>;

/** Whether a parsed `sms.jobs.*` message is a batch (by shape; validate with {@link SmsJobBatch}). */
export const isSmsJobBatch = (x: unknown): x is { jobs: unknown[] } =>
  typeof x === 'object' && x !== null && Array.isArray((x as { jobs?: unknown }).jobs);

/** The whole jobs of a batch (`common` under each job's own fields), or the first job that is not a whole SmsJob. */
export function jobsOfBatch(b: SmsJobBatch): { ok: true; jobs: SmsJob[] } | { ok: false; index: number; error: z.ZodError } {
  const jobs: SmsJob[] = [];
  for (let k = 0; k < b.jobs.length; k++) {
    const r = SmsJob.safeParse(b.common ? { ...b.common, ...b.jobs[k] } : b.jobs[k]);
    if (!r.success) return { ok: false, index: k, error: r.error };
    jobs.push(r.data);
  }
  return { ok: true, jobs };
}

/**
 * The jobs of a parsed `sms.jobs.*` message, single or batch, each a whole {@link SmsJob}; undefined
 * when it is neither (for readers of the stream: tests, benchmarks, audits).
 * @example
 * const jobs = smsJobsIn(JSON.parse(new TextDecoder().decode(m.data))) ?? [];
 */
export function smsJobsIn(x: unknown): SmsJob[] | undefined {
  if (isSmsJobBatch(x)) {
    const b = SmsJobBatch.safeParse(x);
    if (!b.success) return undefined;
    const r = jobsOfBatch(b.data);
    return r.ok ? r.jobs : undefined;
  }
  const j = SmsJob.safeParse(x);
  return j.success ? [j.data] : undefined;
}

export const SMS_JOBS_STREAM = 'SMS_JOBS';
export const SMS_JOBS_SUBJECTS = 'sms.jobs.>';
export const smsJobSubject = (carrier: SmsCarrier): string => `sms.jobs.${carrier}`;

export const DeliveryState = z.enum(['submitted', 'delivered', 'failed', 'expired', 'rejected']);
export type DeliveryState = z.infer<typeof DeliveryState>;

export const DeliveryStatus = z.object({
  jobId: z.string(),
  sendId: z.string(),
  enterpriseId: z.string(),
  accountId: z.string(),
  msisdn: z.string(),
  carrier: SmsCarrier,
  state: DeliveryState,
  /** Carrier error or receipt code, e.g. `UNDELIV` or an SMPP command_status. */
  code: z.string().optional(),
  /** Why a job was rejected before it reached a carrier, for people (zh-CN). */
  reason: z.string().optional(),
  messageId: z.string().optional(),
  segments: z.number().int().positive(),
  at: z.number().int().positive(),
});
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

/** Most statuses in one {@link DeliveryStatusBatch} message. */
export const MAX_STATUSES_PER_BATCH = 1000;

/**
 * Several delivery statuses in one `sms.status.<carrier>` message: messaging publishes a window of
 * statuses (`STATUS_EVENT_BATCH_MS`) as one message instead of one message per status, which cost
 * nats-server two writes per SMS. Readers take both forms with {@link deliveryStatusesOf}. A batch has
 * no per-status Nats-Msg-Id: a status published again (a job redelivered after a crash) comes again;
 * a reader that must count each once keys them by (jobId, state).
 */
export const DeliveryStatusBatch = z.object({
  v: z.literal(1),
  statuses: z.array(DeliveryStatus).min(1).max(MAX_STATUSES_PER_BATCH),
});
export type DeliveryStatusBatch = z.infer<typeof DeliveryStatusBatch>;

/**
 * The statuses of a parsed `sms.status.*` message, one {@link DeliveryStatus} or a
 * {@link DeliveryStatusBatch}: the valid statuses of a batch (an invalid one is left out, not the
 * batch), or undefined when the message is neither.
 */
export function deliveryStatusesOf(x: unknown): DeliveryStatus[] | undefined {
  if (typeof x === 'object' && x !== null && Array.isArray((x as { statuses?: unknown }).statuses)) {
    if ((x as { v?: unknown }).v !== 1) return undefined;
    const out: DeliveryStatus[] = [];
    for (const s of (x as { statuses: unknown[] }).statuses) {
      const r = DeliveryStatus.safeParse(s);
      if (r.success) out.push(r.data);
    }
    return out;
  }
  const r = DeliveryStatus.safeParse(x);
  return r.success ? [r.data] : undefined;
}

export const SMS_EVENTS_STREAM = 'SMS_EVENTS';
export const SMS_EVENTS_SUBJECTS = ['sms.status.>', 'sms.replies.>'];
export const smsStatusSubject = (carrier: SmsCarrier): string => `sms.status.${carrier}`;
export const smsReplySubject = (enterpriseId: string): string => `sms.replies.${enterpriseId}`;

export const SmsReply = z.object({
  /** Stable per reply: the same MO delivered twice has the same id (use it to de-duplicate). */
  replyId: z.string(),
  enterpriseId: z.string(),
  accountId: z.string().optional(),
  sendId: z.string().optional(),
  from: z.string(),
  to: z.string(),
  text: z.string(),
  carrier: SmsCarrier,
  /** The extension the reply came to, when it matched a send. */
  extension: z.string().optional(),
  /** The job id of the forwarding SMS, when the send asked for replies to be forwarded. */
  forwardedJobId: z.string().optional(),
  at: z.number().int().positive(),
});
export type SmsReply = z.infer<typeof SmsReply>;
