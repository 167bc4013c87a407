import type { TaskProgress, TaskState } from '@geo/alerting';
import { ident, sql, type ClickHouseClient } from '@geo/infra';
import type { DeliveryStatus } from '@geo/messaging';
import { atom } from '@geo/insight';

type Carrier = 'cmcc' | 'cucc' | 'ctcc';
export interface CarrierProgress {
  sent: number;
  delivered: number;
  failed: number;
}

/**
 * Per carrier, the send queue of a task: jobs alerting published, jobs messaging submitted to the
 * carrier (the send log), the difference still queued (held back by the carrier's rate limit or
 * segments), the submission rate over the last minute, and when the last queued one should go at
 * that rate (null when nothing is queued or nothing went out in the last minute).
 */
export interface CarrierQueue {
  published: number;
  submitted: number;
  queued: number;
  perMinute: number;
  etaAt: number | null;
}

/**
 * What the task page shows: per carrier sent/delivered/failed, matched, and skips by reason.
 * `carriers` and `queue` are the enterprise's own sends (its business record, charged per message):
 * exact. `matched` and `skipped` count people it did not (yet) message — inside the region, held by
 * a rule, a dwell, a window, a cap — so they are released on the grid of k (insight's `atom`: 0
 * under k, else the nearest multiple of k; a reason at 0 is left out): exact, a task that can never
 * send (7 days' dwell) counted the people inside a one-cell region live (#17, task-privacy.int).
 */
export interface ProgressView {
  state: TaskState | null;
  at: number | null;
  matched: number;
  carriers: Record<Carrier, CarrierProgress>;
  skipped: Record<string, number>;
  /** Delivery receipts are counted from this time (when the portal started listening). */
  receiptsSince: number;
  /** The send queue per carrier, once the send log has been read ({@link ProgressFold.catchUp}); else null. */
  queue: Record<Carrier, CarrierQueue> | null;
  /** The grid `matched` and `skipped` are on: 0 there means "fewer than k", not "nobody". */
  k: number;
}

/** The send log's figures of one carrier, with how many it submitted in the last minute. */
export interface RecordedCarrier extends CarrierProgress {
  lastMinute?: number;
}

const FINAL_FAILED = new Set<DeliveryStatus['state']>(['failed', 'expired', 'rejected']);

/**
 * A task's progress as stored in `bigdata_tasks.progress`, as it may be released: a view written
 * since the progress went on the grid of k carries its `k` and is returned as it is; one written
 * before (exact `matched` and skip counts: a task that could never send counted the people inside its
 * region, #17) is put on the grid now, with `k` (the portal's default unless given), a reason under k
 * left out. Anything else (null, not an object) is returned unchanged.
 */
export function releasedStoredProgress(p: unknown, k = 10): unknown {
  if (!p || typeof p !== 'object' || Array.isArray(p) || 'k' in p) return p;
  const v = p as { matched?: unknown; skipped?: unknown };
  const skipped: Record<string, number> = {};
  if (v.skipped && typeof v.skipped === 'object')
    for (const [r, n] of Object.entries(v.skipped as Record<string, unknown>)) {
      const a = typeof n === 'number' ? atom(n, k) : 0;
      if (a > 0) skipped[r] = a;
    }
  return { ...v, matched: typeof v.matched === 'number' ? atom(v.matched, k) : 0, skipped, k };
}

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
  /** Submissions in the minute before the send log was last read, and when it was read. */
  private readonly lastMinute = { cmcc: 0, cucc: 0, ctcc: 0 };
  private recordedAt: number | null = null;
  /** Bumped on every change: watchers compare it to know when to redraw. */
  version = 0;

  /**
   * @param since when receipts are counted from
   * @param k the privacy threshold for the counts of people not messaged; @default 10 (DESIGN.md invariant 7)
   */
  constructor(
    private readonly since = Date.now(),
    private readonly k = 10,
  ) {}

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
  catchUp(r: Partial<Record<Carrier, RecordedCarrier>>, at = Date.now()): void {
    const first = this.recordedAt === null;
    this.recordedAt = at;
    if (first) this.version++;
    for (const c of ['cmcc', 'cucc', 'ctcc'] as const) {
      const from = r[c];
      const rate = from?.lastMinute ?? 0;
      if (rate !== this.lastMinute[c]) {
        this.lastMinute[c] = rate;
        this.version++;
      }
      if (!from) continue;
      const to = this.recorded[c];
      if (from.sent !== to.sent || from.delivered !== to.delivered || from.failed !== to.failed) {
        this.recorded[c] = { sent: from.sent, delivered: from.delivered, failed: from.failed };
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
    const published = { cmcc: carriers.cmcc.sent, cucc: carriers.cucc.sent, ctcc: carriers.ctcc.sent };
    for (const c of ['cmcc', 'cucc', 'ctcc'] as const) {
      carriers[c].sent = Math.max(carriers[c].sent, this.recorded[c].sent);
      carriers[c].delivered = Math.max(this.receipts[c].delivered, this.recorded[c].delivered);
      carriers[c].failed = Math.max(this.receipts[c].failed, this.recorded[c].failed);
    }
    const at = this.recordedAt;
    const queueOf = (c: Carrier): CarrierQueue => {
      // A job with a final receipt was submitted, though the send log (read every 10 s) may not say so yet.
      const submitted = Math.max(this.recorded[c].sent, carriers[c].delivered + carriers[c].failed);
      const queued = Math.max(0, published[c] - submitted);
      const perMinute = this.lastMinute[c];
      return {
        published: Math.max(published[c], submitted),
        submitted,
        queued,
        perMinute,
        etaAt: at === null || queued === 0 || perMinute === 0 ? null : Math.round(at + (queued / perMinute) * 60_000),
      };
    };
    const queue = at === null ? null : { cmcc: queueOf('cmcc'), cucc: queueOf('cucc'), ctcc: queueOf('ctcc') };
    // People not messaged: on the grid of k, summed over every instance first (each holds a share).
    const released: Record<string, number> = {};
    for (const [r, n] of Object.entries(skipped)) {
      const a = atom(n, this.k);
      if (a > 0) released[r] = a;
    }
    return {
      state: latest?.state ?? null,
      at: latest?.at ?? null,
      matched: atom(matched, this.k),
      carriers,
      skipped: released,
      receiptsSince: this.since,
      queue,
      k: this.k,
    };
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
): Promise<Partial<Record<Carrier, RecordedCarrier>>> {
  // lastMinute: jobs submitted to the carrier in the last 60 s (the rate the queue drains at).
  const q = sql`SELECT carrier, count() AS sent, countIf(status = 'delivered') AS delivered, countIf(status IN ('failed', 'expired', 'rejected')) AS failed,
      countIf(submitted >= now() - 60) AS last_minute
    FROM (SELECT job_id, argMax(carrier, version) AS carrier, argMax(status, version) AS status, min(submit_time) AS submitted
          FROM ${ident(table)} WHERE send_id = ${taskId} GROUP BY job_id)
    GROUP BY carrier`;
  const rs = await ch.query({ query: q.text, format: 'JSONEachRow' });
  const rows = (await rs.json()) as {
    carrier: string;
    sent: string | number;
    delivered: string | number;
    failed: string | number;
    last_minute: string | number;
  }[];
  const out: Partial<Record<Carrier, RecordedCarrier>> = {};
  for (const r of rows) {
    if (r.carrier === 'cmcc' || r.carrier === 'cucc' || r.carrier === 'ctcc')
      out[r.carrier] = {
        sent: Number(r.sent),
        delivered: Number(r.delivered),
        failed: Number(r.failed),
        lastMinute: Number(r.last_minute),
      };
  }
  return out;
}
