import {
  AlertTask,
  canTransition,
  PROGRESS_SUBJECTS,
  REACH_SUBJECT,
  ReachReply,
  TaskProgress,
  TASKS_BUCKET,
  type ReachRequest,
  type TaskState,
} from '@geo/alerting';
import { connectNats, ensureKv, type NatsConnection } from '@geo/infra';
import { DeliveryStatus, SMS_EVENTS_SUBJECTS } from '@geo/messaging';
import type { KV } from '@nats-io/kv';
import type { Deps } from '../../http/context.ts';
import { ProgressFold } from './progress.ts';

/** Ids of the console's tasks start with this (statuses of other sends are not folded). */
export const TASK_ID_PREFIX = 'bd-';

export type PerCarrier = { cmcc: number; cucc: number; ctcc: number };
const zero = (): PerCarrier => ({ cmcc: 0, cucc: 0, ctcc: 0 });

/** The sum of the instances' reach replies (each instance answers for its own shards). */
export interface ReachSummary {
  instances: number;
  present: PerCarrier;
  passing: PerCarrier;
  allowedToday: PerCarrier;
  errors: string[];
}

/** Why a state change was refused: the task is unknown, or its state does not allow it. */
export class TaskStateError extends Error {
  override name = 'TaskStateError';
  constructor(readonly from: TaskState | 'missing', readonly to: TaskState) {
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

  private constructor(readonly nc: NatsConnection, private readonly kv: KV, private readonly reachSubject: string) {
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
          const r = DeliveryStatus.safeParse(m.json());
          // Only the console's own tasks (industry sends have their own statistics).
          if (r.success && r.data.sendId.startsWith(TASK_ID_PREFIX)) this.fold(r.data.sendId).status(r.data);
        },
      }),
    );
  }

  private fold(taskId: string): ProgressFold {
    let f = this.folds.get(taskId);
    if (!f) this.folds.set(taskId, (f = new ProgressFold(this.since)));
    return f;
  }

  /**
   * @param opts.bucket the tasks bucket; @default `alert_tasks` (tests use their own)
   * @param opts.reachSubject @default `alert.reach`
   */
  static async open(nc: NatsConnection, opts: { bucket?: string; reachSubject?: string } = {}): Promise<AlertBus> {
    // history as alerting declares it; ensureKv only creates the bucket when alerting has not yet.
    return new AlertBus(nc, await ensureKv(nc, opts.bucket ?? TASKS_BUCKET, { history: 5 }), opts.reachSubject ?? REACH_SUBJECT);
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

  /** Asks every alerting instance; gathers answers until none has come for a moment. */
  async reach(req: ReachRequest, maxWaitMs = 2_000): Promise<ReachSummary> {
    const out: ReachSummary = { instances: 0, present: zero(), passing: zero(), allowedToday: zero(), errors: [] };
    const covered = new Set<number>();
    let replies: AsyncIterable<{ json<T>(): T }>;
    try {
      replies = await this.nc.requestMany(this.reachSubject, JSON.stringify(req), { strategy: 'stall', stall: 300, maxWait: maxWaitMs });
    } catch (err) {
      out.errors.push(String((err as Error).message));
      return out;
    }
    try {
      for await (const m of replies) {
        const r = ReachReply.safeParse(m.json());
        if (!r.success) continue;
        if (r.data.error) out.errors.push(r.data.error);
        // Two instances answering for the same shards (a restart overlap) would double-count.
        if (r.data.shards.length && r.data.shards.every((s) => covered.has(s))) continue;
        r.data.shards.forEach((s) => covered.add(s));
        out.instances++;
        for (const c of ['cmcc', 'cucc', 'ctcc'] as const) {
          out.present[c] += r.data.present[c];
          out.passing[c] += r.data.passing[c];
          out.allowedToday[c] += r.data.allowedToday[c];
        }
      }
    } catch (err) {
      // No responders: no alerting instance is running.
      out.errors.push(String((err as Error).message));
    }
    return out;
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
    p = connectNats(url, 'portal-bigdata').then((nc) => AlertBus.open(nc));
    buses.set(deps, p);
    p.catch(() => buses.delete(deps));
  }
  try {
    return await p;
  } catch (err) {
    throw new BusUnavailable(String((err as Error).message));
  }
}
