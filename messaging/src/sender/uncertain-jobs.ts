import type { SmsCarrier, SmsJob } from '../contract.ts';
import type { CarrierReceipt } from '../smpp/connector.ts';

/** A job cut off by a crash between its claim and its recorded outcome (see `JobPolicy.alreadyClaimed`). */
export interface Uncertain {
  job: SmsJob;
  carrier: SmsCarrier;
  /** The number as submitted (routed), which the carrier's receipt names. */
  msisdn: string;
  segments: number;
  since: number;
}

/**
 * The uncertain jobs of this instance and how receipts find them: by the ref they echo, or
 * without one by carrier and number, oldest first.
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
  for(r: CarrierReceipt): Uncertain | undefined {
    if (r.ref) {
      const u = this.byId.get(r.ref);
      return u && u.carrier === r.carrier ? u : undefined;
    }
    const id = this.byNumber.get(`${r.carrier}|${r.msisdn}`)?.[0];
    return id ? this.byId.get(id) : undefined;
  }

  /** A receipt found the job by number: its other parts' receipts are taken for `forMs`. */
  resolvedBy(r: CarrierReceipt, u: Uncertain, forMs: number): void {
    if (r.ref || u.segments <= 1) return;
    this.resolvedByNumber.set(`${r.carrier}|${r.msisdn}`, { jobId: u.job.jobId, left: u.segments - 1, until: Date.now() + forMs });
  }

  /**
   * A receipt for a later part of a multi-part job that an earlier part's receipt resolved by
   * number (the parts' message ids were lost with the crash): taken, the job is final already.
   */
  laterPartOfResolved(r: CarrierReceipt): boolean {
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
