import { JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { AlertTask, AlertTaskSpec, canTransition, type AlertTaskSpecInput, type TaskState } from '../contract.ts';

/** A refused task write, with a stable code and a message a person can act on. */
export class TaskError extends Error {
  override readonly name = 'TaskError';
  constructor(
    readonly code: 'invalid_spec' | 'not_found' | 'bad_transition' | 'exists' | 'conflict',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const enc = (t: AlertTask) => JSON.stringify(t);

/**
 * Reads and writes tasks in the `alert_tasks` KV bucket. Every write is a compare-and-swap on the
 * entry's revision, so an emergency stop can never be overwritten by a concurrent state change.
 */
export class TaskStore {
  constructor(
    readonly kv: KV,
    private readonly now: () => number = Date.now,
  ) {}

  async get(id: string): Promise<{ task: AlertTask; revision: number } | undefined> {
    const e = await this.kv.get(id);
    if (!e || e.operation !== 'PUT') return undefined;
    return { task: AlertTask.parse(e.json()), revision: e.revision };
  }

  async list(): Promise<AlertTask[]> {
    const out: AlertTask[] = [];
    for await (const k of await this.kv.keys()) {
      const t = await this.get(k).catch(() => undefined);
      if (t) out.push(t.task);
    }
    return out;
  }

  /** Submits a new task after validating its spec (region, dates, budget) — the submit-time check. */
  async submit(id: string, spec: AlertTaskSpecInput): Promise<AlertTask> {
    const r = AlertTaskSpec.safeParse(spec);
    if (!r.success)
      throw new TaskError('invalid_spec', r.error.issues.map((i) => `${i.path.join('.') || '(task)'}: ${i.message}`).join('; '));
    const task = AlertTask.parse({ id, version: 1, spec: r.data, state: 'submitted', updatedAt: this.now() });
    try {
      await this.kv.create(id, enc(task));
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === 10071)
        throw new TaskError('exists', `task ${id} already exists`, { cause: err });
      throw err;
    }
    return task;
  }

  /** Replaces a live task's spec (new region or content); who already got it does not get it again. */
  async update(id: string, spec: AlertTaskSpecInput): Promise<AlertTask> {
    const r = AlertTaskSpec.safeParse(spec);
    if (!r.success)
      throw new TaskError('invalid_spec', r.error.issues.map((i) => `${i.path.join('.') || '(task)'}: ${i.message}`).join('; '));
    return this.change(id, (t) => {
      if (t.state === 'stopped' || t.state === 'completed' || t.state === 'rejected')
        throw new TaskError('bad_transition', `task ${id} is ${t.state}; it can no longer change`);
      return { ...t, spec: r.data, version: t.version + 1 };
    });
  }

  /**
   * Moves a task to another state if the state machine allows it (paused only before execution,
   * stopped at any time). Returns undefined when the task is already in `to`.
   */
  async transition(id: string, to: TaskState, reason?: string): Promise<AlertTask | undefined> {
    try {
      return await this.change(id, (t) => {
        if (t.state === to) throw new TaskError('conflict', 'already');
        if (!canTransition(t.state, to)) {
          const why =
            to === 'paused' && t.state === 'running' ? ' (a task that has started sending cannot be paused; stop it instead)' : '';
          throw new TaskError('bad_transition', `task ${id} cannot go from ${t.state} to ${to}${why}`);
        }
        if (to === 'submitted' && t.startedAt) throw new TaskError('bad_transition', `task ${id} already ran`);
        return { ...t, state: to, reason, startedAt: to === 'running' ? (t.startedAt ?? this.now()) : t.startedAt };
      });
    } catch (err) {
      if (err instanceof TaskError && err.code === 'conflict' && err.message === 'already') return undefined;
      throw err;
    }
  }

  private async change(id: string, f: (t: AlertTask) => AlertTask): Promise<AlertTask> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const cur = await this.get(id);
      if (!cur) throw new TaskError('not_found', `no task ${id}`);
      const next = { ...f(cur.task), updatedAt: this.now() };
      try {
        await this.kv.update(id, enc(next), cur.revision);
        return next;
      } catch {
        // Someone else wrote first: read again and re-decide.
      }
    }
    throw new TaskError('conflict', `task ${id} kept changing under us`);
  }
}
