import {
  AlertTask,
  canTransition,
  PROGRESS_SUBJECTS,
  REACHED_SUBJECT,
  REACH_SUBJECT,
  ReachedReply,
  ReachReply,
  WHY_SUBJECT,
  WhyReply,
  whyAnswer,
  type WhyReason,
  TaskProgress,
  TASKS_BUCKET,
  type ReachRequest,
  type TaskState,
} from '@geo/alerting';
import { connectNats, ensureKv, type NatsConnection } from '@geo/infra';
import { deliveryStatusesOf, SMS_EVENTS_SUBJECTS } from '@geo/messaging';
import type { KV } from '@nats-io/kv';
import { atom } from '@geo/insight';
import { latLngToCell } from 'h3-js';
import type { Deps } from '../../http/context.ts';
import { ProgressFold } from './progress.ts';

/** Ids of the console's tasks start with this (statuses of other sends are not folded). */
export const TASK_ID_PREFIX = 'bd-';

export type PerCarrier = { cmcc: number; cucc: number; ctcc: number };
const CARRIER_KEYS = ['cmcc', 'cucc', 'ctcc'] as const;
type CarrierKey = (typeof CARRIER_KEYS)[number];

/**
 * A released count of people: a number ≥ k, or withheld (`value: null`) when under k — zero
 * included, so that "nobody" and "a few" look the same (a 0 beside a "< k" would say which of two
 * regions has the few people). The same shape as insight's counts.
 */
export interface Released {
  value: number | null;
  suppressed: boolean;
}
export type ReleasedPerCarrier = Record<CarrierKey, Released>;

/** The default k: no reach figure is about fewer than 10 people (DESIGN.md invariant 7). */
export const DEFAULT_REACH_K = 10;

const release = (n: number, k: number): Released => (n >= k ? { value: n, suppressed: false } : { value: null, suppressed: true });

/**
 * The reach estimate as released: the instances' per-cell counts summed per (cell, carrier), each
 * quantised to the grid of k (insight's `atom`: 0 under k, else the nearest multiple of k), summed
 * per carrier and in total, then shown as a multiple of k or "< k".
 */
export interface ReachSummary {
  /** Alerting instances that answered (0: none is running). */
  instances: number;
  k: number;
  present: ReleasedPerCarrier;
  passing: ReleasedPerCarrier;
  allowedToday: ReleasedPerCarrier;
  total: { present: Released; passing: Released; allowedToday: Released };
  errors: string[];
}

/** Why a state change was refused: the task is unknown, or its state does not allow it. */
export class TaskStateError extends Error {
  override name = 'TaskStateError';
  constructor(
    readonly from: TaskState | 'missing',
    readonly to: TaskState,
  ) {
    super(from === 'missing' ? 'task not in the bucket' : `cannot go from ${from} to ${to}`);
  }
}

/**
 * What the big-data console needs from NATS: the `alert_tasks` KV bucket (alerting watches it),
 * the reach estimate (request/reply, every alerting instance answers for its shards), and the
 * live progress and delivery statuses of a task.
 */
export class AlertBus {
  /** Live progress per task since this bus opened: alerting publishes only changes, so a page opened later starts from here. */
  private readonly folds = new Map<string, ProgressFold>();
  private readonly subs: { unsubscribe(): void }[] = [];
  private readonly since = Date.now();

  private constructor(
    readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly reachSubject: string,
    private readonly privacyK: number,
  ) {
    this.subs.push(
      nc.subscribe(PROGRESS_SUBJECTS, {
        callback: (err, m) => {
          if (err) return;
          const r = TaskProgress.safeParse(m.json());
          if (r.success) this.fold(r.data.taskId).progress(r.data);
        },
      }),
      nc.subscribe(SMS_EVENTS_SUBJECTS[0]!, {
        callback: (err, m) => {
          if (err) return;
          // One status, or a window's batch of them (messaging's STATUS_EVENT_BATCH_MS); a body that is
          // not JSON is nobody's status.
          let body: unknown;
          try {
            body = m.json();
          } catch {
            return;
          }
          // Only the console's own tasks (industry sends have their own statistics).
          for (const s of deliveryStatusesOf(body) ?? []) if (s.sendId.startsWith(TASK_ID_PREFIX)) this.fold(s.sendId).status(s);
        },
      }),
    );
  }

  private fold(taskId: string): ProgressFold {
    let f = this.folds.get(taskId);
    if (!f) this.folds.set(taskId, (f = new ProgressFold(this.since, this.privacyK)));
    return f;
  }

  /**
   * @param opts.bucket the tasks bucket; @default `alert_tasks` (tests use their own)
   * @param opts.reachSubject @default `alert.reach`
   * @param opts.privacyK no reach figure is about fewer people than this; @default 10
   */
  static async open(nc: NatsConnection, opts: { bucket?: string; reachSubject?: string; privacyK?: number } = {}): Promise<AlertBus> {
    // history as alerting declares it; ensureKv only creates the bucket when alerting has not yet.
    return new AlertBus(
      nc,
      await ensureKv(nc, opts.bucket ?? TASKS_BUCKET, { history: 5 }),
      opts.reachSubject ?? REACH_SUBJECT,
      Math.max(1, opts.privacyK ?? DEFAULT_REACH_K),
    );
  }

  async close(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    await this.nc.drain();
  }

  /** Writes a new task (already checked by the caller); fails if the id exists (KV create). */
  async create(task: AlertTask): Promise<void> {
    await this.kv.create(task.id, JSON.stringify(task));
  }

  async get(id: string): Promise<AlertTask | undefined> {
    const e = await this.kv.get(id);
    if (!e || e.operation !== 'PUT') return undefined;
    return AlertTask.parse(e.json());
  }

  /**
   * Moves a task to `to` with compare-and-swap, retrying when another writer (alerting advancing
   * the state) got there first, so an emergency stop is never lost.
   */
  async transition(id: string, to: TaskState, reason: string, allow: (t: AlertTask) => boolean = () => true): Promise<AlertTask> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const e = await this.kv.get(id);
      if (!e || e.operation !== 'PUT') throw new TaskStateError('missing', to);
      const cur = AlertTask.parse(e.json());
      if (!canTransition(cur.state, to) || !allow(cur)) throw new TaskStateError(cur.state, to);
      const next: AlertTask = { ...cur, state: to, reason, updatedAt: Date.now() };
      try {
        await this.kv.update(id, JSON.stringify(next), e.revision);
        return next;
      } catch (err) {
        if (!/wrong last sequence/i.test(String((err as Error).message))) throw err;
      }
    }
    throw new Error(`task ${id}: too many concurrent updates`);
  }

  /**
   * Asks every alerting instance; gathers answers until none has come for a moment, and releases
   * them by the privacy rule (invariant 7, the rule insight applies too): the atom is a (serving
   * cell, carrier) count, known only here once every instance's share of the cell is summed,
   * quantised to the grid of k (0 under k, else the nearest multiple of k); a released figure is a
   * sum of atoms, a multiple of k, shown as a number or as "< k". So a region and the same region
   * plus a cell of 1 to k − 1 people answer the same, with any rules, and two answers (two regions,
   * two rule sets, two moments) differ by 0 or at least k. "Allowed today" is the released passing
   * figure capped by what the quotas still allow (the cap is the requester's own number, not a
   * count of people: the only released figure that may be off the grid).
   */
  async reach(req: ReachRequest, maxWaitMs = 2_000): Promise<ReachSummary> {
    const k = this.privacyK;
    const errors: string[] = [];
    const cells: Record<CarrierKey, Map<string, { present: number; passing: number }>> = {
      cmcc: new Map(),
      cucc: new Map(),
      ctcc: new Map(),
    };
    let remaining: ReachReply['remaining'] | undefined;
    const covered = new Set<number>();
    const taken = new Map<string, { parts: number; got: number }>();
    const ignored = new Set<string>();
    let replies: AsyncIterable<{ json<T>(): T }> | undefined;
    try {
      replies = await this.nc.requestMany(this.reachSubject, JSON.stringify(req), { strategy: 'stall', stall: 300, maxWait: maxWaitMs });
    } catch (err) {
      errors.push(String((err as Error).message));
    }
    try {
      if (replies)
        for await (const m of replies) {
          const r = ReachReply.safeParse(m.json());
          if (!r.success) continue;
          const a = r.data;
          if (a.error) errors.push(a.error);
          if (ignored.has(a.instance)) continue;
          let t = taken.get(a.instance);
          if (!t) {
            // Two instances answering for the same shards (a restart overlap) would double-count.
            if (a.shards.length && a.shards.every((s) => covered.has(s))) {
              ignored.add(a.instance);
              continue;
            }
            a.shards.forEach((s) => covered.add(s));
            taken.set(a.instance, (t = { parts: a.parts, got: 0 }));
          }
          t.got++;
          if (a.remaining) remaining = a.remaining;
          for (const c of CARRIER_KEYS) {
            const part = a.cells?.[c];
            if (!part) continue;
            const sums = cells[c];
            for (let j = 0; j < part.ids.length; j++) {
              const id = part.ids[j]!;
              const cur = sums.get(id);
              if (cur) {
                cur.present += part.present[j] ?? 0;
                cur.passing += part.passing[j] ?? 0;
              } else sums.set(id, { present: part.present[j] ?? 0, passing: part.passing[j] ?? 0 });
            }
          }
        }
    } catch (err) {
      // No responders: no alerting instance is running.
      errors.push(String((err as Error).message));
    }
    for (const [instance, t] of taken)
      if (t.got < t.parts) errors.push(`alerting instance ${instance} answered ${t.got} of ${t.parts} parts: the estimate is low`);
    // Per carrier: the sum of atoms (each (cell, carrier) count on the grid of k).
    const present = { cmcc: 0, cucc: 0, ctcc: 0 },
      passing = { cmcc: 0, cucc: 0, ctcc: 0 },
      allowed = { cmcc: 0, cucc: 0, ctcc: 0 };
    for (const c of CARRIER_KEYS) {
      for (const v of cells[c].values()) {
        present[c] += atom(v.present, k);
        passing[c] += atom(v.passing, k);
      }
      const cap = remaining?.[c];
      // Under k the passing figure is withheld, and so is what it would allow.
      allowed[c] = passing[c] >= k ? (cap === undefined ? passing[c] : Math.min(passing[c], cap)) : 0;
    }
    const per = (x: PerCarrier): ReleasedPerCarrier => ({ cmcc: release(x.cmcc, k), cucc: release(x.cucc, k), ctcc: release(x.ctcc, k) });
    const sum = (x: PerCarrier) => x.cmcc + x.cucc + x.ctcc;
    // An allowed figure under k only when a cap the requester set makes it so: released as is.
    const allowedOf = (n: number, p: number): Released => (p >= k ? { value: n, suppressed: false } : release(0, k));
    return {
      instances: taken.size,
      k,
      present: per(present),
      passing: per(passing),
      allowedToday: {
        cmcc: allowedOf(allowed.cmcc, passing.cmcc),
        cucc: allowedOf(allowed.cucc, passing.cucc),
        ctcc: allowedOf(allowed.ctcc, passing.ctcc),
      },
      total: { present: release(sum(present), k), passing: release(sum(passing), k), allowedToday: allowedOf(sum(allowed), sum(passing)) },
      errors,
    };
  }

  /**
   * Where a task's people were when they were messaged, as hexagons of H3 `resolution`: every
   * instance's per-(cell, carrier) counts summed, each quantised to the grid of k (the reach rule),
   * then summed per hexagon (a multiple of k); hexagons with nothing released are left out.
   */
  async reached(
    taskId: string,
    resolution: number,
    maxWaitMs = 2_000,
  ): Promise<{ k: number; cells: { h3: string; count: Released }[]; errors: string[] }> {
    const k = this.privacyK;
    const errors: string[] = [];
    const sums: Record<CarrierKey, Map<string, { n: number; lng: number; lat: number }>> = {
      cmcc: new Map(),
      cucc: new Map(),
      ctcc: new Map(),
    };
    const seen = new Set<string>();
    try {
      const replies = await this.nc.requestMany(REACHED_SUBJECT, JSON.stringify({ v: 1, taskId }), {
        strategy: 'stall',
        stall: 300,
        maxWait: maxWaitMs,
      });
      for await (const m of replies) {
        const r = ReachedReply.safeParse(m.json());
        if (!r.success) continue;
        if (r.data.error) errors.push(r.data.error);
        // Each instance counts only its own sends: a repeated instance id (a duplicate part) is skipped.
        const key = `${r.data.instance}:${r.data.part}`;
        if (seen.has(key)) continue;
        seen.add(key);
        for (const c of CARRIER_KEYS) {
          const x = r.data.cells[c];
          if (!x) continue;
          for (let j = 0; j < x.ids.length; j++) {
            const cur = sums[c].get(x.ids[j]!);
            if (cur) cur.n += x.count[j] ?? 0;
            else sums[c].set(x.ids[j]!, { n: x.count[j] ?? 0, lng: x.lng[j] ?? 0, lat: x.lat[j] ?? 0 });
          }
        }
      }
    } catch (err) {
      errors.push(String((err as Error).message));
    }
    const hex = new Map<string, number>();
    for (const c of CARRIER_KEYS)
      for (const v of sums[c].values()) {
        if (v.n < k) continue;
        const h = latLngToCell(v.lat, v.lng, resolution);
        hex.set(h, (hex.get(h) ?? 0) + atom(v.n, k));
      }
    return { k, cells: [...hex].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([h3, n]) => ({ h3, count: release(n, k) })), errors };
  }

  /** Why a number did (not) get a task: every instance answers, the one that has seen the number knows. */
  async why(taskId: string, msisdn: string, maxWaitMs = 2_000): Promise<{ instances: number; reason: WhyReason; sentAt?: number }> {
    const replies: WhyReply[] = [];
    try {
      for await (const m of await this.nc.requestMany(WHY_SUBJECT, JSON.stringify({ v: 1, taskId, msisdn }), {
        strategy: 'stall',
        stall: 300,
        maxWait: maxWaitMs,
      })) {
        const r = WhyReply.safeParse(m.json());
        if (r.success) replies.push(r.data);
      }
    } catch (err) {
      // No responders: no alerting instance runs.
      if (replies.length === 0) throw new BusUnavailable(String((err as Error).message));
    }
    if (replies.length === 0) throw new BusUnavailable('no alerting instance answered');
    return { instances: replies.length, ...whyAnswer(replies) };
  }

  /**
   * One task's progress (per carrier: sent, delivered, failed; matched; skips by reason), folded
   * from everything heard since this bus opened; `version` changes whenever it does.
   */
  progress(taskId: string): ProgressFold {
    return this.fold(taskId);
  }
}

export { PROGRESS_SUBJECTS };

const buses = new WeakMap<Deps, Promise<AlertBus>>();

/**
 * Uses `bus` for this portal (tests, or a portal that already holds a NATS connection).
 */
export function setAlertBus(deps: Deps, bus: AlertBus): void {
  buses.set(deps, Promise.resolve(bus));
}

/** Thrown when NATS is not configured or not reachable. */
export class BusUnavailable extends Error {
  override name = 'BusUnavailable';
}

/**
 * The portal's bus: the one set with {@link setAlertBus}, else a connection opened on first use to
 * `cfg.natsUrl` (retried on the next request when it fails).
 */
export async function alertBus(deps: Deps): Promise<AlertBus> {
  let p = buses.get(deps);
  if (!p) {
    const url = (deps.cfg as { natsUrl?: string }).natsUrl;
    if (!url) throw new BusUnavailable('NATS is not configured (natsUrl)');
    const privacyK = deps.cfg.privacyK;
    p = connectNats(url, 'portal-bigdata').then((nc) => AlertBus.open(nc, { privacyK }));
    buses.set(deps, p);
    p.catch(() => buses.delete(deps));
  }
  try {
    return await p;
  } catch (err) {
    throw new BusUnavailable(String((err as Error).message));
  }
}
