import type { TaskProgress, TaskState } from '@geo/alerting';
import type { DeliveryStatus } from '@geo/messaging';

type Carrier = 'cmcc' | 'cucc' | 'ctcc';
export interface CarrierProgress {
  sent: number;
  delivered: number;
  failed: number;
}

/** What the task page shows: per carrier sent/delivered/failed, matched, and skips by reason. */
export interface ProgressView {
  state: TaskState | null;
  at: number | null;
  matched: number;
  carriers: Record<Carrier, CarrierProgress>;
  skipped: Record<string, number>;
  /** Delivery receipts seen since this view started (live only). */
  receiptsSince: number;
}

/**
 * Folds progress events (one stream per alerting instance, cumulative: the latest of each counts)
 * and delivery statuses (the latest state per job) into one view.
 */
export class ProgressFold {
  private readonly instances = new Map<string, TaskProgress>();
  private readonly jobs = new Map<string, { carrier: Carrier; state: DeliveryStatus['state'] }>();
  private readonly since = Date.now();

  progress(p: TaskProgress): void {
    const prev = this.instances.get(p.instance);
    if (!prev || prev.at <= p.at) this.instances.set(p.instance, p);
  }

  status(s: DeliveryStatus): void {
    this.jobs.set(s.jobId, { carrier: s.carrier, state: s.state });
  }

  view(): ProgressView {
    const carriers = { cmcc: { sent: 0, delivered: 0, failed: 0 }, cucc: { sent: 0, delivered: 0, failed: 0 }, ctcc: { sent: 0, delivered: 0, failed: 0 } };
    const skipped: Record<string, number> = {};
    let matched = 0;
    let latest: TaskProgress | undefined;
    for (const p of this.instances.values()) {
      matched += p.matched;
      for (const c of ['cmcc', 'cucc', 'ctcc'] as const) carriers[c].sent += p.sent[c];
      for (const [r, n] of Object.entries(p.skipped)) skipped[r] = (skipped[r] ?? 0) + (n ?? 0);
      if (!latest || p.at > latest.at) latest = p;
    }
    // The cap counters are authoritative across instances when an instance reports them.
    if (latest?.usedTotal) for (const c of ['cmcc', 'cucc', 'ctcc'] as const) carriers[c].sent = Math.max(carriers[c].sent, latest.usedTotal[c]);
    for (const j of this.jobs.values()) {
      if (j.state === 'delivered') carriers[j.carrier].delivered++;
      else if (j.state === 'failed' || j.state === 'expired' || j.state === 'rejected') carriers[j.carrier].failed++;
    }
    return { state: latest?.state ?? null, at: latest?.at ?? null, matched, carriers, skipped, receiptsSince: this.since };
  }
}
