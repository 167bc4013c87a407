import { KvWatchInclude, type KV } from '@nats-io/kv';
import type { Logger } from '@geo/infra';
import { AlertTask, isTracked, type TaskState } from '../contract.ts';
import { shanghaiDate } from '../rules/shanghai-time.ts';
import type { TaskStore } from '../tasks/task-store.ts';
import type { Engine } from './engine.ts';

/**
 * The state a task record moves to by itself on `today` (Asia/Shanghai `YYYY-MM-DD`), or undefined:
 * a submitted task is scheduled, a scheduled one runs from its start date, a running one completes
 * after its end date. Any instance may write the move (a CAS on the record: one wins); the others
 * see the new record through their watch.
 *
 * @example nextState({ state: 'scheduled', spec: { startDate: '2026-12-06', … } }, '2026-12-06') // 'running'
 */
export function nextState(
  task: Pick<AlertTask, 'state'> & { spec: Pick<AlertTask['spec'], 'startDate' | 'endDate'> },
  today: string,
): TaskState | undefined {
  if (task.state === 'submitted') return 'scheduled';
  if (task.state === 'scheduled' && today >= task.spec.startDate) return 'running';
  if (task.state === 'running' && today > task.spec.endDate) return 'completed';
  return undefined;
}

export interface TaskWatchOptions {
  kv: KV;
  store: TaskStore;
  engine: Engine;
  log: Logger;
  now: () => number;
}

/**
 * Follows the `alert_tasks` bucket: moves records along their lifecycle ({@link nextState}), tracks
 * scheduled and running tasks in the engine, rejects invalid records, and activates a task that
 * starts running (after restoring who was already claimed for it). Task changes and activations run
 * one at a time in one queue, so they never interleave. Until {@link boot}, updates are held: the
 * engine's state is restored first.
 */
export class TaskWatch {
  private booted = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly held: { key: string; value: unknown }[] = [];
  private readonly restored = new Set<string>();
  private watcher?: Awaited<ReturnType<KV['watch']>>;
  private watching?: Promise<void>;

  constructor(private readonly o: TaskWatchOptions) {}

  /** Queues task work behind what is queued (failures are logged, the queue goes on). */
  enqueue(f: () => Promise<unknown>): void {
    this.queue = this.queue.then(f).catch((err) => this.o.log.error({ err }, 'task work failed'));
  }

  /** Waits for the queued task work. */
  async idle(): Promise<void> {
    await this.queue;
  }

  get isBooted(): boolean {
    return this.booted;
  }

  /** Watches for changes first (updates only), then loads what exists: nothing written in between is missed. */
  async start(): Promise<void> {
    const watcher = (this.watcher = await this.o.kv.watch({ include: KvWatchInclude.UpdatesOnly }));
    this.watching = (async () => {
      for await (const e of watcher) {
        let value: unknown;
        if (e.operation === 'PUT')
          try {
            value = e.json();
          } catch {
            value = undefined;
          }
        if (value === undefined) {
          this.enqueue(async () => this.o.engine.removeTask(e.key));
          continue;
        }
        if (!this.booted) this.held.push({ key: e.key, value });
        else this.enqueue(() => this.onRecord(e.key, value));
      }
    })();
    for await (const key of await this.o.kv.keys()) {
      const e = await this.o.kv.get(key);
      if (e?.operation === 'PUT') await this.onRecord(key, e.json());
    }
  }

  /** Engine state restored: updates held meanwhile are applied, and task starts activate from now on. */
  boot(): void {
    this.booted = true;
    for (const u of this.held.splice(0)) this.enqueue(() => this.onRecord(u.key, u.value));
  }

  /** Restores once per task what was already claimed for it (before anything of it is sent here). */
  async restoreOnce(id: string): Promise<void> {
    if (this.restored.has(id)) return;
    this.restored.add(id);
    const r = await this.o.engine.restoreClaims(id);
    if (r.claims) this.o.log.info({ task: id, ...r }, 'restored what was already sent');
  }

  /** Restores (once) and activates a running task: everyone present who qualifies is sent. */
  async activate(id: string): Promise<void> {
    await this.restoreOnce(id);
    const sent = await this.o.engine.activate(id);
    this.o.log.info({ task: id, sent, members: this.o.engine.membersOf(id) }, 'task activated');
  }

  /** The running tasks tracked now. */
  running(): string[] {
    return this.o.engine.taskIds.filter((id) => this.o.engine.task(id)?.state === 'running');
  }

  /** Moves the tracked tasks whose day came (on each tick: a date passes without any record changing). */
  async advance(): Promise<void> {
    const today = shanghaiDate(this.o.now());
    for (const id of this.o.engine.taskIds) {
      const t = this.o.engine.task(id);
      const to = t && nextState(t, today);
      if (to) await this.o.store.transition(id, to).catch(() => undefined);
    }
  }

  /** Applies one task record: lifecycle moves (CAS, any instance may win), tracking, activation. */
  private async onRecord(key: string, raw: unknown): Promise<void> {
    const { engine, kv, log, now } = this.o;
    const parsed = AlertTask.safeParse(raw);
    if (!parsed.success) {
      engine.removeTask(key);
      const state = (raw as { state?: string })?.state;
      if (state && !['rejected', 'stopped', 'completed'].includes(state)) {
        const reason = parsed.error.issues
          .slice(0, 5)
          .map((i) => `${i.path.join('.')}: ${i.message}`)
          .join('; ');
        const e = await kv.get(key);
        if (e)
          await kv
            .update(key, JSON.stringify({ ...(raw as object), state: 'rejected', reason, updatedAt: now() }), e.revision)
            .catch(() => undefined);
        log.warn({ task: key, reason }, 'rejected an invalid task');
      }
      return;
    }
    const task = parsed.data;
    const to = nextState(task, shanghaiDate(now()));
    if (to) return void (await this.o.store.transition(task.id, to).catch(() => undefined));
    if (!isTracked(task.state)) return engine.removeTask(task.id);
    const needsActivation = engine.upsertTask(task);
    if (needsActivation && this.booted) await this.activate(task.id);
  }

  async stop(): Promise<void> {
    this.watcher?.stop();
    await this.watching?.catch(() => undefined);
  }
}
