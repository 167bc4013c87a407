import type { ClaimChunk, AppendResult } from './claims.ts';
import type { BudgetScope } from './budget.ts';
import type { Grant } from '../rules/evaluate.ts';
import type { CityLocator } from '../geofence/city-locator.ts';
import type { JobBatch } from './job-batches.ts';

/** What the engine needs from the outside world (NATS in production, the same NATS in tests). */
export interface EnginePorts {
  budget: {
    reserve(s: BudgetScope, want: number): Promise<Grant>;
    release(s: BudgetScope, n: number): Promise<void>;
    peek(s: BudgetScope): Promise<{ dailyUsed: number; totalUsed: number; balance: number }>;
  };
  /** The claim log ({@link SendClaims} on NATS). */
  claims: {
    append(subject: string, chunk: ClaimChunk): Promise<AppendResult>;
    list(taskId: string, day?: string): AsyncIterable<{ chunk: ClaimChunk }>;
    /** Every chunk of a task stored after stream sequence `after` (the "reached" answer). @default none: nothing reached is known */
    since?(taskId: string, after: number): AsyncIterable<{ seq: number; chunk: ClaimChunk }>;
  };
  /** People per claim append. @default CLAIM_CHUNK */
  claimChunk?: number;
  /** Publishes one message of jobs (Nats-Msg-Id = the batch's id); called with many in flight. */
  publish(batch: JobBatch): Promise<unknown>;
  /** Jobs per SMS_JOBS message. @default JOB_BATCH */
  jobBatch?: number;
  now(): number;
  instance: string;
  /** The city a cell lies in, for local/roaming rules. @default no geography (such rules match nobody) */
  cityOf?: CityLocator;
  /**
   * Whether this instance still certainly owns subscriber `i`'s shard (shard leases): checked when
   * a send begins and again right before each claim append (fencing), so that people of a shard
   * handed over or lapsed meanwhile are left to the new owner. @default every subscriber is ours
   * (static shards)
   */
  owns?: (i: number) => boolean;
  /** Lease mode: the epochs of the shard leases held now, stored with each claim (see ClaimChunk.fence). */
  fence?: () => Record<string, number>;
  /**
   * A claim younger than this whose job may not have been published (crash between claim and
   * publish) is published again: SMS_JOBS drops the copy by Nats-Msg-Id inside its duplicate window.
   * Keep it below that window (10 min).
   * @default 8 min
   */
  republishWithinMs?: number;
}
