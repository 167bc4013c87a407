import type { KV } from '@nats-io/kv';
import { ensureKv, type NatsConnection } from '@geo/infra';
import type { SmsJob } from '../contract.ts';
import { kvToken } from '../kv-keys.ts';

/**
 * Anti-bombing (防轰炸): how many SMS one enterprise may send one number in a minute, an hour and a
 * day (sliding windows), as the carriers' rules for industry SMS have it. Enforced in messaging,
 * where every send passes, and shared by every messaging instance through one KV entry per
 * (enterprise, number), updated with compare-and-swap. The entry keeps the ids of the jobs let
 * through and held back in the last day, so a job NATS redelivers gets the same answer again
 * (exactly-once: a job let through is sent once, by the claim log; a held one stays held).
 */

/** Limits per (enterprise, number); 0 = no limit in that window. */
export interface RecipientLimits {
  /** @default 1 */
  perMinute: number;
  /** @default 5 */
  perHour: number;
  /** @default 10 */
  perDay: number;
  /**
   * Alert types whose jobs are limited like industry SMS. Empty by default: every alert job is
   * exempt (see {@link exemptionOf}).
   */
  limitedAlertTypes?: readonly string[];
}

export const DEFAULT_RECIPIENT_LIMITS: RecipientLimits = { perMinute: 1, perHour: 5, perDay: 10 };

export type LimitWindow = 'minute' | 'hour' | 'day';
const WINDOW_MS: Record<LimitWindow, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const WINDOW_ZH: Record<LimitWindow, string> = { minute: '每分钟', hour: '每小时', day: '每天' };

/** Why a job is not counted against the limits. */
export type Exemption = 'emergency_alert' | 'reply_forward';

/**
 * The explicit exemptions:
 * - `emergency_alert`: a job of a big-data alert task (`source: 'alert'`). Every alert task is a
 *   public warning (typhoon, rainstorm, flood, fire, …) sent by an emergency-management account
 *   under an authorization letter, to everyone in the region; the carriers exempt such warnings
 *   from anti-bombing, and alerting already sends a person a task's SMS at most once a day. An
 *   alert type the operator lists in `limitedAlertTypes` (e.g. a drill) is not exempt; the job's
 *   `alertType` says it.
 * - `reply_forward`: a reply messaging forwards to the enterprise's own forward phone (`fwd-…`).
 */
export function exemptionOf(job: SmsJob, limits: Pick<RecipientLimits, 'limitedAlertTypes'>): Exemption | undefined {
  if (job.source === 'alert') return job.alertType && limits.limitedAlertTypes?.includes(job.alertType) ? undefined : 'emergency_alert';
  if (job.jobId.startsWith('fwd-')) return 'reply_forward';
  return undefined;
}

/** Jobs let through and held back for one (enterprise, number): [job id, unix ms], oldest first. */
export interface RecipientHistory {
  sent: [string, number][];
  held: [string, number][];
}

export type LimitDecision =
  { ok: true; again?: boolean } | { ok: false; window: LimitWindow; limit: number; again?: boolean; reason: string };

/** At most this many held-back job ids are kept per number (a flood of jobs to one number). */
const MAX_HELD = 500;

/**
 * Whether a job may go to its number now, given what was sent to it (pure). A job already in the
 * history gets the answer it got before (`again`).
 */
export function decide(h: RecipientHistory, jobId: string, now: number, limits: RecipientLimits): LimitDecision {
  if (h.sent.some(([id]) => id === jobId)) return { ok: true, again: true };
  const heldBefore = h.held.some(([id]) => id === jobId);
  for (const w of ['minute', 'hour', 'day'] as const) {
    const limit = w === 'minute' ? limits.perMinute : w === 'hour' ? limits.perHour : limits.perDay;
    if (limit <= 0) continue;
    const n = h.sent.filter(([, at]) => at > now - WINDOW_MS[w]).length;
    if (n >= limit)
      return { ok: false, window: w, limit, again: heldBefore, reason: `频率限制：同一号码${WINDOW_ZH[w]}最多接收本企业 ${limit} 条短信` };
  }
  if (heldBefore) {
    // Held before, and would pass now (time went by): it stays held; a redelivery must not send
    // a job whose send-log row already says it was held back.
    const [, at] = h.held.find(([id]) => id === jobId)!;
    return {
      ok: false,
      window: 'minute',
      limit: limits.perMinute,
      again: true,
      reason: `频率限制：已于 ${new Date(at).toISOString()} 暂缓发送`,
    };
  }
  return { ok: true };
}

/** The history with the job added (sent or held) and everything older than a day dropped. */
export function withJob(h: RecipientHistory, jobId: string, now: number, sent: boolean): RecipientHistory {
  const fresh = (l: [string, number][]) => l.filter(([, at]) => at > now - WINDOW_MS.day);
  const out = { sent: fresh(h.sent), held: fresh(h.held) };
  if (sent) out.sent.push([jobId, now]);
  else {
    out.held.push([jobId, now]);
    if (out.held.length > MAX_HELD) out.held.splice(0, out.held.length - MAX_HELD);
  }
  return out;
}

/** The shared record of what each enterprise sent each number in the last day (KV). */
export class RecipientLimiter {
  private constructor(
    private readonly kv: KV,
    readonly limits: RecipientLimits,
    private readonly now: () => number,
  ) {}

  static async open(
    nc: NatsConnection,
    bucket: string,
    limits: RecipientLimits,
    replicas = 1,
    now = () => Date.now(),
  ): Promise<RecipientLimiter> {
    // Entries untouched for a day and an hour hold nothing that still counts: the bucket drops them.
    const kv = await ensureKv(nc, bucket, { replicas, ttl: 25 * 3_600_000 });
    return new RecipientLimiter(kv, limits, now);
  }

  /** Whether any limit is set (with none, nothing is read or written). */
  get active(): boolean {
    return this.limits.perMinute > 0 || this.limits.perHour > 0 || this.limits.perDay > 0;
  }

  /**
   * Decides for a job and records the decision (compare-and-swap, retried on a concurrent
   * writer), so that other instances and a redelivery see it. Throws when the KV cannot be
   * reached (the job is then handed back and tried again).
   */
  async admit(job: SmsJob, msisdn: string): Promise<LimitDecision> {
    const key = `r.${kvToken(job.enterpriseId)}.${msisdn}`;
    for (let attempt = 0; ; attempt++) {
      const cur = await this.kv.get(key);
      const h: RecipientHistory = cur && cur.operation === 'PUT' ? cur.json<RecipientHistory>() : { sent: [], held: [] };
      const now = this.now();
      const d = decide(h, job.jobId, now, this.limits);
      if (d.again) return d;
      const next = JSON.stringify(withJob(h, job.jobId, now, d.ok));
      try {
        if (cur) await this.kv.update(key, next, cur.revision);
        else await this.kv.create(key, next);
        return d;
      } catch (err) {
        // Another instance wrote first: read again and decide again.
        if (attempt >= 20) throw err;
      }
    }
  }
}
