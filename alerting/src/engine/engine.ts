import type { Carrier } from '@geo/ingest';
import { CARRIERS } from '@geo/ingest';
import type { SmsJob } from '@geo/messaging';
import { alertJobId, type AlertTask, type Move, type PerCarrier, type ReachReply, type ReachRequest, type SkipReason, type TaskProgress } from '../contract.ts';
import { compileRegion, type CompiledRegion } from '../geofence/point-in-region.ts';
import { RegionIndex } from '../geofence/region-index.ts';
import { NO_CELL, Presence, type PresenceEvent } from '../presence/presence.ts';
import { dedupKey, grant as grantFor, inDates, inWindows, judge, passesRules, sendDay, type Grant } from '../rules/evaluate.ts';
import { shanghaiDay, shanghaiMidnight } from '../rules/shanghai-time.ts';
import type { BudgetScope } from './budget.ts';
import type { ClaimRecord, ClaimResult } from './claims.ts';

/** What the engine needs from the outside world (NATS in production, the same NATS in tests). */
export interface EnginePorts {
  budget: {
    reserve(s: BudgetScope, want: number): Promise<Grant>;
    release(s: BudgetScope, n: number): Promise<void>;
    peek(s: BudgetScope): Promise<{ dailyUsed: number; totalUsed: number; balance: number }>;
  };
  claims: {
    claim(key: string, rec: ClaimRecord): Promise<ClaimResult>;
    list(taskId: string): AsyncIterable<{ key: string; rec: ClaimRecord; createdAt: number }>;
  };
  publish(job: SmsJob): Promise<void>;
  now(): number;
  instance: string;
  /**
   * A claim younger than this whose job may not have been published (crash between claim and
   * publish) is published again: SMS_JOBS drops the copy by Nats-Msg-Id inside its duplicate window.
   * Keep it below that window (10 min).
   * @default 8 min
   */
  republishWithinMs?: number;
}

const HELD_FOR_RETRY: ReadonlySet<SkipReason> = new Set(['window', 'dwell', 'daily_cap', 'total_cap', 'balance']);
const CAP_BACKOFF_MS = 5_000;
const SEND_CHUNK = 10_000;

interface TaskRuntime {
  slot: number;
  task: AlertTask;
  region: CompiledRegion;
  regionCodes: string[];
  /** Subscriber index → when they entered the region (epoch seconds). */
  inside: Map<number, number>;
  /** Subscriber index → why they are held back now. */
  pending: Map<number, SkipReason>;
  /** Sent (or being sent) by this instance, or known claimed; for `daily`, of `sentDay` only. */
  sent: Uint8Array;
  sentDay: string;
  /** Seen inside while running (for `matched`). */
  seen: Uint8Array;
  matched: number;
  sentBy: PerCarrier;
  skipped: Partial<Record<SkipReason, number>>;
  dirty: boolean;
  windowOpen: boolean;
  /** Per carrier: no budget until this time (skip the KV round trip while a cap is reached). */
  blockedUntil: number[];
  blockedReason: SkipReason[];
  removed: boolean;
}

interface Candidate {
  rt: TaskRuntime;
  i: number;
}

const EMPTY: number[] = [];
const bit = (a: Uint8Array, i: number) => (i >> 3 < a.length ? (a[i >> 3] >> (i & 7)) & 1 : 0);
function setBit(a: Uint8Array, i: number, capacity: number): Uint8Array {
  if (i >> 3 >= a.length) {
    const b = new Uint8Array(Math.max(a.length * 2, (capacity >> 3) + 1, (i >> 3) + 1));
    b.set(a);
    a = b;
  }
  a[i >> 3] |= 1 << (i & 7);
  return a;
}
const clearBit = (a: Uint8Array, i: number) => {
  if (i >> 3 < a.length) a[i >> 3] &= ~(1 << (i & 7));
};

/**
 * Task evaluation over presence: who is inside which task's region (cached per cell, exact test
 * once per cell), who qualifies (pure `judge`), and sending with budget reservation (KV CAS),
 * a durable dedup claim (KV create) and a job published with Nats-Msg-Id. Detection (sync) is
 * apart from delivery (async `send`).
 */
export class Engine {
  readonly presence: Presence;
  private readonly runtimes = new Map<string, TaskRuntime>();
  private readonly bySlot: (TaskRuntime | undefined)[] = [];
  private nextSlot = 0;
  private index = new RegionIndex([]);
  private version = 1;
  private cellSlots: number[][] = [];
  private cellVer = new Int32Array(1024);
  private readonly republishWithinMs: number;

  constructor(private readonly ports: EnginePorts, presence?: Presence) {
    this.presence = presence ?? new Presence();
    this.republishWithinMs = ports.republishWithinMs ?? 8 * 60_000;
  }

  /** Tasks alerting tracks now (scheduled and running). */
  get taskIds(): string[] {
    return [...this.runtimes.keys()];
  }

  task(id: string): AlertTask | undefined {
    return this.runtimes.get(id)?.task;
  }

  /**
   * Registers a task record (scheduled or running) or its new version. Returns true when the task
   * needs an activation scan (it became running, or its spec changed while running).
   */
  upsertTask(task: AlertTask): boolean {
    const old = this.runtimes.get(task.id);
    const specChanged = !old || old.task.version !== task.version;
    if (old && !specChanged) {
      const started = old.task.state !== 'running' && task.state === 'running';
      old.task = task;
      old.dirty = true;
      return started;
    }
    const region = compileRegion(task.spec.region);
    const regionCodes = task.spec.region.parts.flatMap((p) => (p.kind === 'admin' ? [p.code] : []));
    const rt: TaskRuntime = old
      ? { ...old, task, region, regionCodes, dirty: true, blockedUntil: [0, 0, 0] }
      : {
          slot: this.nextSlot++, task, region, regionCodes, inside: new Map(), pending: new Map(), sent: new Uint8Array(0), sentDay: '', seen: new Uint8Array(0),
          matched: 0, sentBy: { cmcc: 0, cucc: 0, ctcc: 0 }, skipped: {}, dirty: true, windowOpen: false, blockedUntil: [0, 0, 0], blockedReason: ['daily_cap', 'daily_cap', 'daily_cap'], removed: false,
        };
    this.runtimes.set(task.id, rt);
    this.bySlot[rt.slot] = rt;
    this.reindex();
    return task.state === 'running';
  }

  /** Forgets a task (stopped, completed, paused, rejected): nothing more is sent for it. */
  removeTask(id: string): void {
    const rt = this.runtimes.get(id);
    if (!rt) return;
    rt.removed = true;
    this.runtimes.delete(id);
    this.bySlot[rt.slot] = undefined;
    this.reindex();
  }

  private reindex(): void {
    this.index = new RegionIndex([...this.runtimes.values()].map((rt) => ({ key: rt.slot, region: rt.region })));
    this.version++;
  }

  /** Slots of the tasks whose region contains a cell: exact test once per cell and task set. */
  private slotsOf(c: number): number[] {
    if (c === NO_CELL) return EMPTY;
    if (c >= this.cellVer.length) {
      const v = new Int32Array(Math.max(this.cellVer.length * 2, c + 1));
      v.set(this.cellVer);
      this.cellVer = v;
    }
    if (this.cellVer[c] === this.version) return this.cellSlots[c];
    const cells = this.presence.cells;
    const s = this.index.matching(cells.lng[c], cells.lat[c]);
    this.cellSlots[c] = s.length ? s : EMPTY;
    this.cellVer[c] = this.version;
    return this.cellSlots[c];
  }

  private enter(rt: TaskRuntime, i: number, sinceSec: number): void {
    if (rt.inside.has(i)) return;
    rt.inside.set(i, sinceSec);
  }

  private exit(rt: TaskRuntime, i: number): void {
    rt.inside.delete(i);
    rt.pending.delete(i);
  }

  private hold(rt: TaskRuntime, i: number, reason: SkipReason): void {
    if (rt.pending.get(i) === reason) return;
    rt.pending.set(i, reason);
    rt.skipped[reason] = (rt.skipped[reason] ?? 0) + 1;
    rt.dirty = true;
  }

  private day = '';
  private dayEnds = 0;
  /** Today in Asia/Shanghai, recomputed only when a day ends (this sits on the hot path). */
  private today(now: number): string {
    if (now >= this.dayEnds || now < this.dayEnds - 86_400_000) {
      this.day = shanghaiDay(now);
      this.dayEnds = shanghaiMidnight(`${this.day.slice(0, 4)}-${this.day.slice(4, 6)}-${this.day.slice(6)}`) + 86_400_000;
    }
    return this.day;
  }

  private sentBits(rt: TaskRuntime, now: number): Uint8Array {
    if (rt.task.spec.frequency === 'daily') {
      const day = this.today(now);
      if (day !== rt.sentDay) {
        rt.sent = new Uint8Array(0);
        rt.sentDay = day;
      }
    }
    return rt.sent;
  }

  private markSent(rt: TaskRuntime, i: number): void {
    rt.sent = setBit(rt.sent, i, this.presence.size);
  }

  /** Decides one person for one task; pushes a candidate when they should be sent now. */
  private consider(rt: TaskRuntime, i: number, now: number, out: Candidate[]): void {
    if (rt.task.state !== 'running' || rt.removed) return;
    if (bit(this.sentBits(rt, now), i)) return;
    if (!this.presence.isPresent(i, now)) return;
    if (!bit(rt.seen, i)) {
      rt.seen = setBit(rt.seen, i, this.presence.size);
      rt.matched++;
      rt.dirty = true;
    }
    const entered = rt.inside.get(i);
    if (entered === undefined) return;
    const v = judge(rt.task.spec, this.presence.profile(i), entered * 1000, now, rt.regionCodes);
    if (!v.send) return this.hold(rt, i, v.reason);
    const ci = this.presence.carrier[i];
    if (rt.blockedUntil[ci] > now) return this.hold(rt, i, rt.blockedReason[ci]);
    rt.pending.delete(i);
    this.markSent(rt, i);
    out.push({ rt, i });
  }

  /**
   * Applies a batch of events to presence and task membership. Live batches also evaluate and
   * return who should be sent; replayed ones (restoring state after a restart) only track.
   * Cell changes go to `moves` when given.
   */
  applyEvents(events: readonly PresenceEvent[], live: boolean, moves?: Move[]): Candidate[] {
    const out: Candidate[] = [];
    const p = this.presence;
    const now = this.ports.now();
    for (let k = 0; k < events.length; k++) {
      const e = events[k];
      const i = p.apply(e);
      const prev = p.lastPrevCell;
      const cur = p.cell[i];
      if (prev !== cur) {
        if (moves) {
          const c = cur !== NO_CELL ? cur : prev;
          moves.push({
            msisdn: e.msisdn, carrier: e.carrier, from: prev === NO_CELL ? null : p.cells.ids[prev], to: cur === NO_CELL ? null : p.cells.ids[cur], ts: e.ts,
            lat: p.cells.lat[c], lng: p.cells.lng[c], gender: e.gender, age: e.age, home: e.home,
          });
        }
        const before = this.slotsOf(prev);
        const after = this.slotsOf(cur);
        for (let s = 0; s < before.length; s++) if (!after.includes(before[s])) this.exit(this.bySlot[before[s]]!, i);
        for (let s = 0; s < after.length; s++) {
          const rt = this.bySlot[after[s]]!;
          this.enter(rt, i, p.sinceSec[i]);
          if (live) this.consider(rt, i, now, out);
        }
      } else if (cur !== NO_CELL) {
        const here = this.slotsOf(cur);
        for (let s = 0; s < here.length; s++) {
          const rt = this.bySlot[here[s]]!;
          this.enter(rt, i, p.sinceSec[i]);
          if (live) this.consider(rt, i, now, out);
        }
      }
    }
    return out;
  }

  /**
   * Sends the candidates: per task and carrier, reserve the budget (CAS), claim each person (KV
   * create), publish their job (Msg-Id). A person already claimed is not sent again; their job is
   * published again only when the claim is recent (the crash window), where JetStream drops the copy.
   */
  async send(cands: Candidate[]): Promise<number> {
    if (cands.length === 0) return 0;
    const now = this.ports.now();
    const day = shanghaiDay(now);
    const groups = new Map<string, { rt: TaskRuntime; carrier: Carrier; idx: number[] }>();
    for (const { rt, i } of cands) {
      const carrier = CARRIERS[this.presence.carrier[i]];
      const key = `${rt.slot}:${carrier}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { rt, carrier, idx: [] }));
      g.idx.push(i);
    }
    let published = 0;
    const results = await Promise.allSettled(
      [...groups.values()].map(async ({ rt, carrier, idx }) => {
        const spec = rt.task.spec;
        const scope: BudgetScope = { taskId: rt.task.id, accountId: spec.accountId, carrier, day, quota: spec.quota[carrier]!, initialBalance: spec.balance };
        let g: Grant;
        try {
          g = await this.ports.budget.reserve(scope, idx.length);
        } catch (err) {
          for (const i of idx) clearBit(rt.sent, i);
          throw err;
        }
        let k = g.granted;
        for (const reason of ['daily_cap', 'total_cap', 'balance'] as const) {
          for (let n = g.skipped[reason] ?? 0; n > 0; n--, k++) {
            clearBit(rt.sent, idx[k]);
            this.hold(rt, idx[k], reason);
          }
          if (g.skipped[reason]) {
            const ci = CARRIERS.indexOf(carrier);
            rt.blockedUntil[ci] = now + CAP_BACKOFF_MS;
            rt.blockedReason[ci] = reason;
          }
        }
        let unused = 0;
        const freq = spec.frequency;
        const outcome = await Promise.allSettled(
          idx.slice(0, g.granted).map(async (i) => {
            const msisdn = this.presence.msisdnOf(i);
            const jobId = alertJobId(rt.task.id, msisdn, sendDay(freq, now));
            let r: ClaimResult;
            try {
              r = await this.ports.claims.claim(dedupKey(rt.task.id, msisdn, freq, now), { jobId, carrier, at: now, instance: this.ports.instance });
            } catch (err) {
              unused++;
              clearBit(rt.sent, i);
              throw err;
            }
            if (!r.ok) {
              unused++;
              if (r.existing && r.createdAt !== undefined && now - r.createdAt < this.republishWithinMs && !rt.removed) await this.ports.publish(this.job(rt.task, msisdn, r.existing.carrier, r.existing.jobId, now));
              return;
            }
            if (rt.removed || rt.task.state !== 'running') return; // stopped meanwhile: the claim stays, nothing is sent
            try {
              await this.ports.publish(this.job(rt.task, msisdn, carrier, jobId, now));
            } catch (err) {
              // The claim exists: a retry finds it recent and publishes again under the same Msg-Id.
              clearBit(rt.sent, i);
              throw err;
            }
            rt.sentBy[carrier]++;
            rt.dirty = true;
            published++;
          }),
        );
        await this.ports.budget.release(scope, unused);
        const failed = outcome.find((o) => o.status === 'rejected');
        if (failed) throw (failed as PromiseRejectedResult).reason;
      }),
    );
    const failed = results.find((o) => o.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return published;
  }

  private job(task: AlertTask, msisdn: string, carrier: Carrier, jobId: string, now: number): SmsJob {
    const s = task.spec;
    return { jobId, source: 'alert', enterpriseId: s.enterpriseId, accountId: s.accountId, sendId: task.id, msisdn, carrier, content: s.content, signature: s.signature, createdAt: now };
  }

  /**
   * Restores what was already claimed for a task (after a restart) and publishes again the jobs of
   * recent claims, which a crash may have left unpublished (JetStream drops the real duplicates).
   */
  async restoreClaims(id: string): Promise<{ claims: number; republished: number }> {
    const rt = this.runtimes.get(id);
    if (!rt) return { claims: 0, republished: 0 };
    const now = this.ports.now();
    const today = shanghaiDay(now);
    let claims = 0, republished = 0;
    let inflight: Promise<void>[] = [];
    for await (const { key, rec, createdAt } of this.ports.claims.list(id)) {
      const [, msisdn, day] = key.split('.');
      if (rt.task.spec.frequency === 'daily' && day !== today) continue;
      const i = this.presence.ensure(msisdn, rec.carrier);
      this.sentBits(rt, now);
      this.markSent(rt, i);
      claims++;
      if (now - createdAt < this.republishWithinMs) {
        republished++;
        inflight.push(this.ports.publish(this.job(rt.task, msisdn, rec.carrier, rec.jobId, now)));
        if (inflight.length >= 1000) {
          await Promise.all(inflight);
          inflight = [];
        }
      }
    }
    await Promise.all(inflight);
    return { claims, republished };
  }

  /**
   * The activation scan: everyone present in the task's region now becomes a member (dwell from the
   * time they reached their current cell, a conservative lower bound) and is considered at once
   * (on task start, on a spec change, after a restart). Returns how many jobs were published.
   */
  async activate(id: string): Promise<number> {
    const rt = this.runtimes.get(id);
    if (!rt) return 0;
    const now = this.ports.now();
    const p = this.presence;
    const inRegion = new Uint8Array(p.cells.size);
    for (let c = 0; c < p.cells.size; c++) inRegion[c] = rt.region.contains(p.cells.lng[c], p.cells.lat[c]) ? 1 : 0;
    for (const i of rt.inside.keys()) if (p.cell[i] === NO_CELL || !inRegion[p.cell[i]]) this.exit(rt, i);
    for (let i = 0; i < p.size; i++) {
      const c = p.cell[i];
      if (c !== NO_CELL && inRegion[c] && p.isPresent(i, now)) this.enter(rt, i, p.sinceSec[i]);
    }
    rt.pending.clear();
    return this.reconsider(rt, [...rt.inside.keys()], now);
  }

  private async reconsider(rt: TaskRuntime, who: Iterable<number>, now: number): Promise<number> {
    let cands: Candidate[] = [];
    let sent = 0;
    for (const i of who) {
      this.consider(rt, i, now, cands);
      if (cands.length >= SEND_CHUNK) {
        sent += await this.send(cands);
        cands = [];
      }
    }
    return sent + (await this.send(cands));
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
        for (const s of this.slotsOf(c)) this.exit(this.bySlot[s]!, i);
      });
    }
    let sent = 0;
    for (const rt of [...this.runtimes.values()]) {
      if (rt.task.state !== 'running') continue;
      const open = inDates(rt.task.spec, now) && inWindows(rt.task.spec, now);
      const opened = open && !rt.windowOpen;
      rt.windowOpen = open;
      if (!open) continue;
      const newDay = rt.task.spec.frequency === 'daily' && rt.sentDay !== shanghaiDay(now);
      if (full || opened || newDay) sent += await this.reconsider(rt, [...rt.inside.keys()], now);
      else sent += await this.reconsider(rt, [...rt.pending].filter(([, r]) => HELD_FOR_RETRY.has(r)).map(([i]) => i), now);
    }
    return sent;
  }

  /** Progress of the tasks that changed since the last call. */
  progress(usedTotal?: Map<string, PerCarrier>): TaskProgress[] {
    const out: TaskProgress[] = [];
    for (const rt of this.runtimes.values()) {
      if (!rt.dirty) continue;
      rt.dirty = false;
      const skipped = Object.fromEntries(Object.entries(rt.skipped)) as TaskProgress['skipped'];
      out.push({ v: 1, taskId: rt.task.id, instance: this.ports.instance, at: this.ports.now(), state: rt.task.state, matched: rt.matched, sent: { ...rt.sentBy }, skipped, usedTotal: usedTotal?.get(rt.task.id) });
    }
    return out;
  }

  /** People inside a task's region on this instance now (for tests and the big screen). */
  membersOf(id: string): number {
    return this.runtimes.get(id)?.inside.size ?? 0;
  }

  /** Reach estimate over this instance's presence: present, passing the rules, allowed today. */
  async reach(req: ReachRequest, shards: number[]): Promise<ReachReply> {
    const t0 = performance.now();
    const now = this.ports.now();
    const p = this.presence;
    const region = compileRegion(req.region);
    const inRegion = new Uint8Array(p.cells.size);
    for (let c = 0; c < p.cells.size; c++) inRegion[c] = region.contains(p.cells.lng[c], p.cells.lat[c]) ? 1 : 0;
    const present = [0, 0, 0], passing = [0, 0, 0];
    const codes = req.region.parts.flatMap((x) => (x.kind === 'admin' ? [x.code] : []));
    for (let i = 0; i < p.size; i++) {
      const c = p.cell[i];
      if (c === NO_CELL || !inRegion[c] || !p.isPresent(i, now)) continue;
      present[p.carrier[i]]++;
      if (req.rules.length === 0 || passesRules(req.rules, p.profile(i), codes)) passing[p.carrier[i]]++;
    }
    const allowed = [0, 0, 0];
    await Promise.all(
      CARRIERS.map(async (carrier, ci) => {
        const q = req.quota[carrier];
        if (!q) return void (allowed[ci] = Object.keys(req.quota).length ? 0 : passing[ci]);
        const used = req.taskId
          ? await this.ports.budget.peek({ taskId: req.taskId, accountId: '', carrier, day: shanghaiDay(now), quota: q, initialBalance: Number.MAX_SAFE_INTEGER })
          : { dailyUsed: 0, totalUsed: 0, balance: Number.MAX_SAFE_INTEGER };
        allowed[ci] = grantFor(passing[ci], q, used).granted;
      }),
    );
    const pc = (a: number[]): PerCarrier => ({ cmcc: a[0], cucc: a[1], ctcc: a[2] });
    return { v: 1, instance: this.ports.instance, shards, present: pc(present), passing: pc(passing), allowedToday: pc(allowed), tookMs: performance.now() - t0 };
  }
}
