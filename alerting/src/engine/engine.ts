import type { LocationColumns } from '@geo/ingest';
import { CARRIERS, EVENT_KINDS, cellIdOf } from '@geo/ingest';
import type { AlertTask, PerCarrier, ReachReply, ReachRequest, SkipReason, TaskProgress, WhyReason } from '../contract.ts';
import { NO_CITIES } from '../geofence/city-locator.ts';
import { NO_CELL, Presence, type PresenceEvent } from '../presence/presence.ts';
import { inDates, inWindows, judge, sendDay } from '../rules/evaluate.ts';
import { shanghaiDay } from '../rules/shanghai-time.ts';
import { Delivery } from './delivery.ts';
import { EdgeZones } from './edge-zones.ts';
import { PersonViews } from './person-view.ts';
import type { EnginePorts } from './ports.ts';
import { reachReplies } from './reach.ts';
import { ReachedLog, type CountsFor, type ReachedByCarrier } from './reached.ts';
import { TaskRegistry } from './task-registry.ts';
import {
  ShanghaiToday,
  bit,
  clearBit,
  heldToday,
  hold,
  markSent,
  sentBits,
  setBit,
  type Candidate,
  type TaskRuntime,
} from './task-runtime.ts';

export type { EnginePorts } from './ports.ts';
export type { Candidate } from './task-runtime.ts';

const HELD_FOR_RETRY: ReadonlySet<SkipReason> = new Set(['window', 'dwell', 'daily_cap', 'total_cap', 'balance']);
/** Candidates per send on activation (bounds memory for huge regions; one send claims them in a few appends). */
const SEND_CHUNK = 200_000;
const DETACH = EVENT_KINDS.indexOf('detach');
const CARRIER_COUNT = CARRIERS.length;
const UNINTERNED = -2;

/**
 * Detection: who is inside which task's region (the regions per cell cached by {@link TaskRegistry},
 * the exact test once per cell) and who qualifies now (pure `judge`), as events arrive, on
 * activation and on each tick. Who qualifies goes to {@link Delivery} (budget, claims, jobs):
 * detection is synchronous, delivery is async, as tile38 keeps `fence.go` apart from `hooks.go`.
 * Reach estimates read the same presence ({@link reachReplies}).
 */
export class Engine {
  readonly presence: Presence;
  private readonly tasks: TaskRegistry;
  private readonly delivery: Delivery;
  private readonly views: PersonViews;
  private readonly today = new ShanghaiToday();
  private readonly reachedLog?: ReachedLog;
  private readonly zones: EdgeZones;
  /** Tasks with edge hysteresis: their people away are followed outside the region. */
  private edgeTasks: TaskRuntime[] = [];

  constructor(
    private readonly ports: EnginePorts,
    presence?: Presence,
  ) {
    this.presence = presence ?? new Presence();
    this.tasks = new TaskRegistry(this.presence.cells);
    this.zones = new EdgeZones(this.presence.cells);
    this.views = new PersonViews(this.presence, ports.cityOf ?? NO_CITIES);
    this.delivery = new Delivery(ports, this.presence, this.today);
    const since = ports.claims.since?.bind(ports.claims);
    if (since) this.reachedLog = new ReachedLog(since);
  }

  /** Tasks alerting tracks now (scheduled and running). */
  get taskIds(): string[] {
    return this.tasks.ids();
  }

  task(id: string): AlertTask | undefined {
    return this.tasks.get(id)?.task;
  }

  /** Jobs published since start (for metrics). */
  get published(): number {
    return this.delivery.published;
  }

  /**
   * People claimed whose jobs wait for their publish to be retried (SMS_JOBS gave no ack): the
   * engine is not idle while above 0 (#19).
   */
  get awaitingPublish(): number {
    return this.delivery.awaitingPublish;
  }

  /** Publishes again the jobs whose publish failed (their claims are stored); one retry at a time. */
  retryPublishes(): Promise<void> {
    return this.delivery.retryPublishes();
  }

  /**
   * Registers a task record (scheduled or running) or its new version. Returns true when the task
   * needs an activation scan (it became running, or its spec changed while running).
   */
  upsertTask(task: AlertTask): boolean {
    const scan = this.tasks.upsert(task);
    this.edgeTasks = [...this.tasks.values()].filter((rt) => EdgeZones.of(rt));
    return scan;
  }

  /** Forgets a task (stopped, completed, paused, rejected): nothing more is sent for it. */
  removeTask(id: string): void {
    this.tasks.remove(id);
    this.edgeTasks = this.edgeTasks.filter((rt) => rt.task.id !== id);
    this.reachedLog?.forget(id);
  }

  private enter(rt: TaskRuntime, i: number): void {
    rt.inside.add(i, this.presence.size, this.presence.lastSec[i], rt.task.spec.hysteresis);
  }

  /** Member `i` moved out of the task's region to cell `c`: left, or (edge hysteresis) away for now. */
  private stepOut(rt: TaskRuntime, i: number, c: number): void {
    const h = EdgeZones.of(rt);
    if (!h) return this.exit(rt, i);
    const p = this.presence;
    rt.inside.stepOut(i, p.lastSec[i], this.zones.zone(rt, h, c), p.lastPrevSinceSec, h);
    rt.pending.delete(i);
  }

  private exit(rt: TaskRuntime, i: number): void {
    rt.inside.delete(i);
    rt.pending.delete(i);
  }

  /**
   * Forgets the subscribers `belongs` picks (a shard handed over to another instance): they leave
   * every task's region here and are absent from presence, so that nothing evaluates them here
   * any more. Linear over all subscribers. Returns how many were present.
   */
  forget(belongs: (i: number) => boolean): number {
    const p = this.presence;
    let n = 0;
    for (let i = 0; i < p.size; i++) {
      if (!belongs(i)) continue;
      const c = p.cell[i]!;
      if (c !== NO_CELL) {
        for (const s of this.tasks.slotsOf(c)) this.exit(this.tasks.bySlot(s), i);
        n++;
      }
      for (const rt of this.tasks.values()) if (rt.inside.has(i)) this.exit(rt, i);
      p.forget(i);
    }
    return n;
  }

  /**
   * Where a task's people were when claimed, per carrier and cell id (with the cell's position),
   * from the claim log: those `counts` picks (see {@link CountsFor}), whoever claimed them.
   * Undefined when the task is not tracked here.
   */
  async reached(id: string, counts: CountsFor): Promise<ReachedByCarrier | undefined> {
    if (!this.tasks.get(id)) return undefined;
    return this.reachedLog ? this.reachedLog.cells(id, counts) : {};
  }

  /**
   * Why a number did (not) get a task, from what this instance knows (see WhyReply). Looks at the
   * number's state only; nothing is changed, counted or sent.
   */
  async why(taskId: string, msisdn: string): Promise<{ tracked: boolean; seen: boolean; reason: WhyReason; sentAt?: number }> {
    const rt = this.tasks.get(taskId);
    if (!rt) return { tracked: false, seen: this.presence.indexOf(msisdn) >= 0, reason: 'not_tracked' };
    const p = this.presence;
    const i = p.indexOf(msisdn);
    if (i < 0) return { tracked: true, seen: false, reason: 'not_seen' };
    const now = this.ports.now();
    const seen = { tracked: true, seen: true } as const;
    if (this.delivery.isFailing(rt, i, msisdn)) return { ...seen, reason: 'send_failed' };
    if (bit(sentBits(rt, this.today.at(now)), i)) {
      const sd = sendDay(rt.task.spec.frequency, now);
      let sentAt: number | undefined;
      for await (const { chunk } of this.ports.claims.list(taskId, sd)) if (chunk.msisdns.includes(msisdn)) sentAt = chunk.at;
      // Marked but not (yet) in the claim log: being sent now.
      return sentAt === undefined ? { ...seen, reason: 'queued' } : { ...seen, reason: 'sent', sentAt };
    }
    if (!p.isPresent(i, now)) return { ...seen, reason: 'absent' };
    if (!rt.inside.has(i)) return { ...seen, reason: 'outside' };
    if (rt.task.state !== 'running') return { ...seen, reason: 'not_running' };
    const v = judge(rt.task.spec, this.views.of(i), rt.inside.enteredSec(i, p.sinceSec[i]) * 1000, now);
    if (!v.send) return { ...seen, reason: v.reason };
    const held = rt.pending.get(i);
    if (held) return { ...seen, reason: held };
    const ci = p.carrier[i]!;
    if (rt.blockedUntil[ci]! > now) return { ...seen, reason: rt.blockedReason[ci]! };
    return { ...seen, reason: 'queued' };
  }

  /** Decides one person for one task; true (and marked as being sent) when they should be sent now. */
  private consider(rt: TaskRuntime, i: number, now: number): boolean {
    if (rt.task.state !== 'running' || rt.removed) return false;
    if (bit(sentBits(rt, this.today.at(now)), i)) return false;
    if (!this.presence.isPresent(i, now)) return false;
    if (!bit(rt.seen, i)) {
      rt.seen = setBit(rt.seen, i, this.presence.size);
      rt.matched++;
      rt.dirty = true;
    }
    if (!rt.inside.has(i)) return false;
    const entered = rt.inside.enteredSec(i, this.presence.sinceSec[i]);
    const v = judge(rt.task.spec, this.views.of(i, rt.task.spec.rules.length > 0), entered * 1000, now);
    if (!v.send) {
      hold(rt, i, v.reason, this.today.at(now), this.presence.size);
      return false;
    }
    const ci = this.presence.carrier[i];
    if (rt.blockedUntil[ci] > now) {
      hold(rt, i, rt.blockedReason[ci], this.today.at(now), this.presence.size);
      return false;
    }
    if (rt.pending.size) rt.pending.delete(i);
    markSent(rt, i, this.presence.size);
    return true;
  }

  /**
   * Applies a batch of events to presence and task membership. Live batches also evaluate and
   * return who should be sent; replayed ones (restoring state after a restart) only track.
   */
  applyEvents(events: readonly PresenceEvent[], live: boolean): Candidate[] {
    const out: Candidate[] = [];
    const p = this.presence;
    const now = this.ports.now();
    for (let k = 0; k < events.length; k++) {
      const e = events[k];
      const i = p.apply(e);
      this.track(i, live, now, out);
    }
    return out;
  }

  /**
   * {@link applyEvents} for a decoded LOCATION batch read by columns (binary or JSON): no object
   * per event. Each distinct (place, carrier) of the batch is interned once, when first used: a
   * place is a cell id and position, and a cell id names a cell only within its carrier's network
   * (a batch normally holds one carrier, but nothing in its format says so).
   */
  applyColumns(c: LocationColumns, live: boolean): Candidate[] {
    const out: Candidate[] = [];
    const p = this.presence;
    const now = this.ports.now();
    const slots = c.lat.length * CARRIER_COUNT;
    if (this.placeCells.length < slots) this.placeCells = new Int32Array(Math.max(slots, this.placeCells.length * 2));
    const pc = this.placeCells;
    pc.fill(UNINTERNED, 0, slots);
    const { idBytes, idAt, idLen } = c;
    const { msisdn, carrier, ts, place, kind, gender, age, home, lang } = c;
    for (let k = 0; k < c.count; k++) {
      let cell = NO_CELL;
      if (kind[k] !== DETACH) {
        const ci = carrier[k],
          pl = place[k],
          slot = pl * CARRIER_COUNT + ci;
        cell = pc[slot];
        if (cell === UNINTERNED)
          cell = pc[slot] =
            idBytes && idAt && idLen
              ? p.cells.internBytes(ci, idBytes, idAt[pl], idLen[pl], c.lng[pl], c.lat[pl], cellIdOf)
              : p.cells.intern(ci, c.cellIds[pl], c.lng[pl], c.lat[pl]);
      }
      const i = p.applyCoded(msisdn[k], carrier[k], ts[k], cell, gender[k], age[k], home[k], lang[k]);
      this.track(i, live, now, out);
    }
    return out;
  }

  private placeCells = new Int32Array(1024);

  /** After presence applied an event of subscriber `i`: region membership, evaluation. */
  private track(i: number, live: boolean, now: number, out: Candidate[]): void {
    const p = this.presence;
    const prev = p.lastPrevCell;
    const cur = p.cell[i];
    if (prev !== cur) {
      const before = this.tasks.slotsOf(prev);
      const after = this.tasks.slotsOf(cur);
      for (let s = 0; s < before.length; s++) if (!after.includes(before[s])) this.stepOut(this.tasks.bySlot(before[s]), i, cur);
      for (let s = 0; s < after.length; s++) {
        const rt = this.tasks.bySlot(after[s]);
        // A member who changed cell inside the region keeps the time they entered it.
        if (rt.inside.has(i)) rt.inside.moved(i, p.lastPrevSinceSec);
        else this.enter(rt, i);
        if (live && this.consider(rt, i, now)) out.push({ rt, i });
      }
      // Someone away from a task's region (edge hysteresis) moving about outside it: left yet?
      for (let k = 0; k < this.edgeTasks.length; k++) {
        const rt = this.edgeTasks[k];
        if (!rt.inside.isAway(i) || before.includes(rt.slot) || after.includes(rt.slot)) continue;
        const h = EdgeZones.of(rt);
        if (h) rt.inside.seenAway(i, p.lastSec[i], this.zones.zone(rt, h, cur), h);
      }
    } else if (cur !== NO_CELL) {
      const here = this.tasks.slotsOf(cur);
      for (let s = 0; s < here.length; s++) {
        const rt = this.tasks.bySlot(here[s]);
        this.enter(rt, i);
        if (live && this.consider(rt, i, now)) out.push({ rt, i });
      }
    }
  }

  /**
   * Gives back candidates chosen (marked as being sent) that will not be sent after all: a
   * take-over given up between its replay and its sending. Marked, they would be passed over by
   * the next replay of the same events on this instance, and sent by nobody (#19).
   */
  unmark(cands: readonly Candidate[]): void {
    for (const { rt, i } of cands) clearBit(rt.sent, i);
  }

  /**
   * Takes the people `belongs` picks out of those dropped for a fence lapse (chosen for sending,
   * then found not certainly ours): their shard's lease is being lost. Kept by the caller, they are
   * sent by {@link sendOwed} if this instance takes the shard again (#19): a tick's people (dwell
   * reached, a window opening) have no unacked event that a replay would evaluate again.
   */
  takeNotOwned(belongs: (i: number) => boolean): Candidate[] {
    const all = this.delivery.notOwned;
    if (all.length === 0) return [];
    const taken: Candidate[] = [];
    const left: Candidate[] = [];
    const seen = new Set<string>();
    for (const c of all) {
      if (!belongs(c.i)) left.push(c);
      else if (!seen.has(`${c.rt.slot}:${c.i}`)) {
        seen.add(`${c.rt.slot}:${c.i}`);
        taken.push(c);
      }
    }
    this.delivery.notOwned = left;
    return taken;
  }

  /**
   * Sends people chosen earlier and dropped for a fence lapse ({@link takeNotOwned}), now that their
   * shard is ours again: those of a task still running and not sent meanwhile (claims keep it
   * once-only across instances), whether or not they are still in the region — they qualified there.
   */
  sendOwed(cands: readonly Candidate[], opts?: Parameters<Delivery['sendPersistently']>[1]): Promise<number> {
    const now = this.ports.now();
    const todo: Candidate[] = [];
    for (const c of cands) {
      const { rt, i } = c;
      if (rt.task.state !== 'running' || rt.removed || this.tasks.get(rt.task.id) !== rt) continue;
      if (bit(sentBits(rt, this.today.at(now)), i)) continue;
      markSent(rt, i, this.presence.size);
      todo.push(c);
    }
    return todo.length ? this.delivery.sendPersistently(todo, opts) : Promise.resolve(0);
  }

  /** See {@link Delivery.sendSoon}. */
  sendSoon(cands: Candidate[]): Promise<number> {
    return this.delivery.sendSoon(cands);
  }

  /** See {@link Delivery.sendPersistently}. */
  sendPersistently(cands: Candidate[], opts?: Parameters<Delivery['sendPersistently']>[1]): Promise<number> {
    return this.delivery.sendPersistently(cands, opts);
  }

  /**
   * Restores what was already claimed for a task (after a restart) and publishes again the jobs of
   * recent claims, which a crash may have left unpublished (JetStream drops the real duplicates).
   */
  async restoreClaims(id: string): Promise<{ claims: number; republished: number }> {
    const rt = this.tasks.get(id);
    return rt ? this.delivery.restoreClaims(rt) : { claims: 0, republished: 0 };
  }

  /**
   * The activation scan: everyone present in the task's region now becomes a member (dwell from the
   * time they reached their current cell, a conservative lower bound) and is considered at once
   * (on task start, on a spec change, after a restart). Returns how many jobs were published.
   */
  async activate(id: string): Promise<number> {
    const rt = this.tasks.get(id);
    if (!rt) return 0;
    const now = this.ports.now();
    const p = this.presence;
    const inRegion = new Uint8Array(p.cells.size);
    for (let c = 0; c < p.cells.size; c++) inRegion[c] = rt.region.contains(p.cells.lng[c], p.cells.lat[c]) ? 1 : 0;
    for (const i of rt.inside.members()) if (p.cell[i] === NO_CELL || !inRegion[p.cell[i]]) this.exit(rt, i);
    for (let i = 0; i < p.size; i++) {
      const c = p.cell[i];
      if (c !== NO_CELL && inRegion[c] && p.isPresent(i, now)) this.enter(rt, i);
    }
    rt.pending.clear();
    return this.reconsider(rt, rt.inside.members(), now);
  }

  private async reconsider(rt: TaskRuntime, who: ArrayLike<number>, now: number): Promise<number> {
    let idx: number[] = [];
    let sent = 0;
    for (let k = 0; k < who.length; k++) {
      const i = who[k];
      if (!this.consider(rt, i, now)) continue;
      idx.push(i);
      if (idx.length >= SEND_CHUNK) {
        sent += await this.delivery.sendSoonFor(rt, idx);
        idx = [];
      }
    }
    return sent + (await this.delivery.sendSoonFor(rt, idx));
  }

  private lastFull = 0;

  /**
   * Housekeeping, about once a second: people whose dwell is now reached, windows that opened,
   * budgets that may have room again, a new day for `daily` tasks; every 30 s a full pass over
   * members (so nobody qualifying waits silently) and the staleness sweep.
   */
  async tick(): Promise<number> {
    const now = this.ports.now();
    const full = now - this.lastFull >= 30_000;
    if (full) {
      this.lastFull = now;
      this.presence.sweep(now, (i, c) => {
        for (const s of this.tasks.slotsOf(c)) this.exit(this.tasks.bySlot(s), i);
      });
    }
    await this.delivery.retryPublishes();
    let sent = 0;
    // A task whose send fails (e.g. people of a shard whose lease lapsed: NotOwnedError) does not
    // keep the others from their turn; the first failure is thrown once every task had it (#19).
    let failed: { err: unknown } | undefined;
    for (const rt of [...this.tasks.values()]) {
      if (rt.task.state !== 'running') continue;
      heldToday(rt, this.today.at(now));
      const open = inDates(rt.task.spec, now) && inWindows(rt.task.spec, now);
      const opened = open && !rt.windowOpen;
      rt.windowOpen = open;
      if (!open) continue;
      const newDay = rt.task.spec.frequency === 'daily' && rt.sentDay !== shanghaiDay(now);
      try {
        if (full || opened || newDay) sent += await this.reconsider(rt, rt.inside.members(), now);
        else
          sent += await this.reconsider(
            rt,
            [...rt.pending].filter(([, r]) => HELD_FOR_RETRY.has(r)).map(([i]) => i),
            now,
          );
      } catch (err) {
        failed ??= { err };
      }
    }
    if (failed) throw failed.err;
    return sent;
  }

  /** Progress of the tasks that changed since the last call. */
  progress(usedTotal?: Map<string, PerCarrier>): TaskProgress[] {
    const out: TaskProgress[] = [];
    for (const rt of this.tasks.values()) {
      if (!rt.dirty) continue;
      rt.dirty = false;
      const skipped = Object.fromEntries(Object.entries(rt.skipped)) as TaskProgress['skipped'];
      out.push({
        v: 1,
        taskId: rt.task.id,
        instance: this.ports.instance,
        at: this.ports.now(),
        state: rt.task.state,
        matched: rt.matched,
        sent: { ...rt.sentBy },
        skipped,
        usedTotal: usedTotal?.get(rt.task.id),
      });
    }
    return out;
  }

  /** Jobs of a task this instance published (acked by SMS_JOBS), all carriers. */
  sentCount(id: string): number {
    const s = this.tasks.get(id)?.sentBy;
    return s ? s.cmcc + s.cucc + s.ctcc : 0;
  }

  /** People inside a task's region on this instance now (for tests and the big screen). */
  membersOf(id: string): number {
    return this.tasks.get(id)?.inside.size ?? 0;
  }

  /** See {@link reachReplies}. */
  reach(req: ReachRequest, shards: number[], cellsPerPart?: number): Promise<ReachReply[]> {
    const { ports, presence, views } = this;
    return reachReplies(
      { presence, views, peek: (s) => ports.budget.peek(s), instance: ports.instance, now: ports.now },
      req,
      shards,
      cellsPerPart,
    );
  }
}
