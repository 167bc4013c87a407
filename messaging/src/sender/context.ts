import type { JetStreamClient } from '@nats-io/jetstream';
import type { DeliveryState, SmsCarrier, SmsJob } from '../contract.ts';
import type { MessagingNames } from '../names.ts';
import type { ClaimLog } from './claim-log.ts';
import type { SenderCounts, SenderMetrics } from './metrics.ts';
import type { SenderOptions } from './options.ts';
import type { SendRecords } from './send-records.ts';
import type { UncertainJobs } from './uncertain-jobs.ts';

/**
 * What the sender's parts (intake, policy, receipts, replies, records) share: the options, the
 * counters and the state a job and its receipts meet in. Built by `SmsSender`; `claims` is set by
 * `start()` before the first job is taken.
 */
export interface SenderContext {
  readonly o: SenderOptions;
  readonly names: MessagingNames;
  readonly js: JetStreamClient;
  readonly metrics: SenderMetrics;
  readonly counts: SenderCounts;
  readonly records: SendRecords;
  readonly uncertain: UncertainJobs;
  /** Jobs accepted by a carrier and waiting for their receipts, by `receiptKey`. */
  readonly byMessageId: Map<string, Tracked>;
  claims: ClaimLog;
  stopping: boolean;
}

/** A job's send-log row as the sender knows it. */
export interface RowState {
  job: SmsJob;
  carrier: SmsCarrier;
  smscId: string;
  segments: number;
  submitMs: number;
  messageIds: string[];
}

/** A job accepted by its carrier, counting its parts' receipts. */
export interface Tracked extends RowState {
  receipts: number;
  worst: DeliveryState;
}

/**
 * Where a carrier message id means something: the carrier and the SMSC that gave it (invariant 8).
 * Two carriers' SMSCs (or two SMSCs of one carrier) may well issue the same ids.
 */
export const receiptKey = (carrier: string, smscId: string, messageId: string): string => `${carrier}|${smscId}|${messageId}`;
