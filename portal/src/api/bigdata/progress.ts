import type { TaskProgress, TaskState } from '@geo/alerting';
import { ident, sql, type ClickHouseClient } from '@geo/infra';
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
  /** What the shared record (the send log) said when last read: {@link ProgressFold.catchUp}. */
  private readonly recorded = {
    cmcc: { sent: 0, delivered: 0, failed: 0 },
    cucc: { sent: 0, delivered: 0, failed: 0 },
    ctcc: { sent: 0, delivered: 0, failed: 0 },
  };
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

  /**
   * Takes in what the send log holds of the task (from {@link recordedProgress}): an instance that
   * started, or restarted, after the task began heard only part of it live (#19, several portals
   * behind a load balancer). Each figure shows the larger of what was heard and what was recorded,
   * both counting the same jobs, so nothing counts twice; the live part is ahead until the log
   * catches up.
   */
  catchUp(r: Partial<Record<Carrier, CarrierProgress>>): void {
    for (const c of ['cmcc', 'cucc', 'ctcc'] as const) {
      const from = r[c];
      if (!from) continue;
      const to = this.recorded[c];
      if (from.sent !== to.sent || from.delivered !== to.delivered || from.failed !== to.failed) {
        this.recorded[c] = { ...from };
        this.version++;
      }
    }
  }

  view(): ProgressView {
    const carriers = {
      cmcc: { sent: 0, delivered: 0, failed: 0 },
      cucc: { sent: 0, delivered: 0, failed: 0 },
      ctcc: { sent: 0, delivered: 0, failed: 0 },
    };
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
    if (latest?.usedTotal)
      for (const c of ['cmcc', 'cucc', 'ctcc'] as const) carriers[c].sent = Math.max(carriers[c].sent, latest.usedTotal[c]);
    for (const c of ['cmcc', 'cucc', 'ctcc'] as const) {
      carriers[c].sent = Math.max(carriers[c].sent, this.recorded[c].sent);
      carriers[c].delivered = Math.max(this.receipts[c].delivered, this.recorded[c].delivered);
      carriers[c].failed = Math.max(this.receipts[c].failed, this.recorded[c].failed);
    }
    return { state: latest?.state ?? null, at: latest?.at ?? null, matched, carriers, skipped, receiptsSince: this.since };
  }
}

/**
 * A task's progress as messaging's send log (ClickHouse) records it, per carrier: jobs sent and
 * finally delivered or failed. Every portal instance reads the same, whenever it started.
 * ClickHouse 18.16 has no query parameters: values go through `sql`.
 */
export async function recordedProgress(
  ch: ClickHouseClient,
  table: string,
  taskId: string,
): Promise<Partial<Record<Carrier, CarrierProgress>>> {
  const q = sql`SELECT carrier, count() AS sent, countIf(status = 'delivered') AS delivered, countIf(status IN ('failed', 'expired', 'rejected')) AS failed
    FROM (SELECT job_id, argMax(carrier, version) AS carrier, argMax(status, version) AS status FROM ${ident(table)} WHERE send_id = ${taskId} GROUP BY job_id)
    GROUP BY carrier`;
  const rs = await ch.query({ query: q.text, format: 'JSONEachRow' });
  const rows = (await rs.json()) as { carrier: string; sent: string | number; delivered: string | number; failed: string | number }[];
  const out: Partial<Record<Carrier, CarrierProgress>> = {};
  for (const r of rows) {
    if (r.carrier === 'cmcc' || r.carrier === 'cucc' || r.carrier === 'ctcc')
      out[r.carrier] = { sent: Number(r.sent), delivered: Number(r.delivered), failed: Number(r.failed) };
  }
  return out;
}
