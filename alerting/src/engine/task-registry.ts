import type { AlertTask } from '../contract.ts';
import { compileRegion } from '../geofence/point-in-region.ts';
import { RegionIndex } from '../geofence/region-index.ts';
import { NO_CELL, type CellTable } from '../presence/presence.ts';
import { newRuntime, type TaskRuntime } from './task-runtime.ts';

const EMPTY: number[] = [];

/**
 * The tasks alerting tracks (scheduled and running), each with a small slot number, and which of
 * their regions contain each known cell: the exact region test runs once per cell and task set,
 * then every event in that cell reads the cached answer.
 */
export class TaskRegistry {
  private readonly runtimes = new Map<string, TaskRuntime>();
  private readonly slots: (TaskRuntime | undefined)[] = [];
  private nextSlot = 0;
  private index = new RegionIndex([]);
  private version = 1;
  private cellSlots: number[][] = [];
  private cellVer = new Int32Array(1024);

  constructor(private readonly cells: CellTable) {}

  get(id: string): TaskRuntime | undefined {
    return this.runtimes.get(id);
  }

  ids(): string[] {
    return [...this.runtimes.keys()];
  }

  values(): IterableIterator<TaskRuntime> {
    return this.runtimes.values();
  }

  /** The task in a slot (see {@link slotsOf}). */
  bySlot(s: number): TaskRuntime {
    return this.slots[s]!;
  }

  /**
   * Registers a task record (scheduled or running) or its new version. Returns true when the task
   * needs an activation scan (it became running, or its spec changed while running).
   */
  upsert(task: AlertTask): boolean {
    const old = this.runtimes.get(task.id);
    const specChanged = !old || old.task.version !== task.version;
    if (old && !specChanged) {
      const started = old.task.state !== 'running' && task.state === 'running';
      old.task = task;
      old.dirty = true;
      return started;
    }
    const region = compileRegion(task.spec.region);
    const rt: TaskRuntime = old
      ? { ...old, task, region, dirty: true, blockedUntil: [0, 0, 0] }
      : newRuntime(this.nextSlot++, task, region);
    this.runtimes.set(task.id, rt);
    this.slots[rt.slot] = rt;
    this.reindex();
    return task.state === 'running';
  }

  /** Forgets a task (stopped, completed, paused, rejected): nothing more is sent for it. */
  remove(id: string): void {
    const rt = this.runtimes.get(id);
    if (!rt) return;
    rt.removed = true;
    this.runtimes.delete(id);
    this.slots[rt.slot] = undefined;
    this.reindex();
  }

  private reindex(): void {
    this.index = new RegionIndex([...this.runtimes.values()].map((rt) => ({ key: rt.slot, region: rt.region })));
    this.version++;
  }

  /** Slots of the tasks whose region contains cell `c`: exact test once per cell and task set. */
  slotsOf(c: number): number[] {
    if (c === NO_CELL) return EMPTY;
    if (c >= this.cellVer.length) {
      const v = new Int32Array(Math.max(this.cellVer.length * 2, c + 1));
      v.set(this.cellVer);
      this.cellVer = v;
    }
    if (this.cellVer[c] === this.version) return this.cellSlots[c];
    const s = this.index.matching(this.cells.lng[c], this.cells.lat[c]);
    this.cellSlots[c] = s.length ? s : EMPTY;
    this.cellVer[c] = this.version;
    return this.cellSlots[c];
  }
}
