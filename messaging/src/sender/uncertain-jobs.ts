import type { DeliveryState, SmsCarrier, SmsJob } from '../contract.ts';
import type { CarrierReceipt } from '../smpp/connector.ts';
import type { RowState } from './context.ts';
import type { SenderCounts, SenderMetrics } from './metrics.ts';

/** A job cut off by a crash between its claim and its recorded outcome (see `JobPolicy.alreadyClaimed`). */
export interface Uncertain {
  job: SmsJob;
  carrier: SmsCarrier;
  /** The number as submitted (routed), which the carrier's receipt names. */
  msisdn: string;
  segments: number;
  since: number;
}

/** What resolving an uncertain job by its receipt needs of the sender. */
export interface UncertainDeps {
  /** Writes the job's final send-log row and status event. */
  record(s: RowState, status: DeliveryState, code: string, atMs: number): Promise<void>;
  metrics: Pick<SenderMetrics, 'uncertain'>;
  counts: Pick<SenderCounts, 'final'>;
  /** How long the later parts' receipts of a job resolved by number are taken. @default 600000 */
  unknownReceiptMs?: number;
}

/**
 * The uncertain jobs of this instance, and the one place a receipt resolves them ({@link take}):
 * found by the ref the receipt echoes, or without one by carrier and number, oldest first. The
 * sender holds a job here while it waits (`JobPolicy.alreadyClaimed`, which also gives up on it
 * after `uncertainResolveMs`); receipts that matched no logged job come here, from this
 * instance's binds or offered by another instance.
 */
export class UncertainJobs {
  private readonly byId = new Map<string, Uncertain>();
  /** Uncertain job ids by carrier and number, oldest first: receipts without our TLV find them so. */
  private readonly byNumber = new Map<string, string[]>();
  /**
   * Uncertain jobs of several parts resolved by a receipt found by number, with the parts whose
   * receipts may still come (their message ids were lost with the crash), for a while.
   */
  private readonly resolvedByNumber = new Map<string, { jobId: string; left: number; until: number }>();

  constructor(private readonly deps: UncertainDeps) {}

  /**
   * A receipt that matched no logged job: when it is one of an uncertain job here (the carrier took
   * the job after all, so it must not be sent again), the job's final state is recorded and the
   * promise resolves once it is stored; a later part's receipt of a job already resolved by number
   * is taken as it is. Undefined when the receipt is none of ours.
   */
  take(r: CarrierReceipt): Promise<void> | undefined {
    const u = this.for(r);
    if (!u) return this.laterPartOfResolved(r) ? Promise.resolve() : undefined;
    this.resolvedBy(r, u, this.deps.unknownReceiptMs ?? 600_000);
    this.deps.metrics.uncertain.inc({ outcome: 'receipt' });
    this.forget(u.job.jobId);
    this.deps.counts.final++;
    return this.deps.record(
      { job: u.job, carrier: u.carrier, smscId: r.smscId, segments: u.segments, submitMs: r.at, messageIds: [r.messageId] },
      r.state,
      receiptCode(r),
      r.at,
    );
  }

  get(jobId: string): Uncertain | undefined {
    return this.byId.get(jobId);
  }

  /** Holds the job as uncertain (again: `since` is kept by the caller). */
  hold(u: Uncertain): void {
    if (!this.byId.has(u.job.jobId)) {
      const k = `${u.carrier}|${u.msisdn}`;
      this.byNumber.set(k, [...(this.byNumber.get(k) ?? []), u.job.jobId]);
    }
    this.byId.set(u.job.jobId, u);
  }

  forget(jobId: string): void {
    const u = this.byId.get(jobId);
    if (!u) return;
    this.byId.delete(jobId);
    const k = `${u.carrier}|${u.msisdn}`;
    const rest = (this.byNumber.get(k) ?? []).filter((id) => id !== jobId);
    if (rest.length) this.byNumber.set(k, rest);
    else this.byNumber.delete(k);
  }

  /**
   * The uncertain job a receipt that matched no logged message id belongs to: the one its echoed
   * ref names (same carrier), else without a ref the oldest uncertain job of the same carrier to
   * the number the receipt names — the carrier took it after all, so it must not be sent again.
   */
  private for(r: CarrierReceipt): Uncertain | undefined {
    if (r.ref) {
      const u = this.byId.get(r.ref);
      return u && u.carrier === r.carrier ? u : undefined;
    }
    const id = this.byNumber.get(`${r.carrier}|${r.msisdn}`)?.[0];
    return id ? this.byId.get(id) : undefined;
  }

  /** A receipt found the job by number: its other parts' receipts are taken for `forMs`. */
  private resolvedBy(r: CarrierReceipt, u: Uncertain, forMs: number): void {
    if (r.ref || u.segments <= 1) return;
    this.resolvedByNumber.set(`${r.carrier}|${r.msisdn}`, { jobId: u.job.jobId, left: u.segments - 1, until: Date.now() + forMs });
  }

  /**
   * A receipt for a later part of a multi-part job that an earlier part's receipt resolved by
   * number (the parts' message ids were lost with the crash): taken, the job is final already.
   */
  private laterPartOfResolved(r: CarrierReceipt): boolean {
    const k = `${r.carrier}|${r.msisdn}`;
    const done = this.resolvedByNumber.get(k);
    if (!done) return false;
    if (done.until < Date.now()) {
      this.resolvedByNumber.delete(k);
      return false;
    }
    if (--done.left <= 0) this.resolvedByNumber.delete(k);
    return true;
  }
}

/** The code a receipt's final state is recorded with: '' when delivered, else the carrier's stat[:err]. */
export function receiptCode(r: Pick<CarrierReceipt, 'state' | 'stat' | 'err'>): string {
  return r.state === 'delivered' ? '' : `${r.stat}${r.err ? `:${r.err}` : ''}`;
}
