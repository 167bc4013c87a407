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
  /** Delivery receipts are counted from this time (when the portal started listening). */
  receiptsSince: number;
}

const FINAL_FAILED = new Set<DeliveryStatus['state']>(['failed', 'expired', 'rejected']);

/**
 * Folds progress events (one stream per alerting instance, cumulative: the latest of each counts)
 * and delivery statuses (final states counted per carrier) into one view. Counters, not a set of
 * job ids: a task of a million people must not cost the portal a million entries. A status
 * published twice (messaging restarted between publishing and acking) would count twice.
 */
export class ProgressFold {
  private readonly instances = new Map<string, TaskProgress>();
  private readonly receipts = { cmcc: { delivered: 0, failed: 0 }, cucc: { delivered: 0, failed: 0 }, ctcc: { delivered: 0, failed: 0 } };
  /** Bumped on every change: watchers compare it to know when to redraw. */
  version = 0;

  constructor(private readonly since = Date.now()) {}

  progress(p: TaskProgress): void {
    const prev = this.instances.get(p.instance);
    if (!prev || prev.at <= p.at) {
      this.instances.set(p.instance, p);
      this.version++;
    }
  }

  status(s: DeliveryStatus): void {
    if (s.state === 'delivered') this.receipts[s.carrier].delivered++;
    else if (FINAL_FAILED.has(s.state)) this.receipts[s.carrier].failed++;
    else return;
    this.version++;
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
    for (const c of ['cmcc', 'cucc', 'ctcc'] as const) {
      carriers[c].delivered = this.receipts[c].delivered;
      carriers[c].failed = this.receipts[c].failed;
    }
    return { state: latest?.state ?? null, at: latest?.at ?? null, matched, carriers, skipped, receiptsSince: this.since };
  }
}
