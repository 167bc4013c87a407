import type { Carrier, LocationColumns } from '@geo/ingest';
import { CARRIERS, EVENT_KINDS, cellIdOf } from '@geo/ingest';
import type { SmsJob } from '@geo/messaging';
import {
  SKIP_REASONS,
  alertJobId,
  type AlertTask,
  type WhyReason,
  type PerCarrier,
  type ReachReply,
  type ReachRequest,
  type SkipReason,
  type TaskProgress,
} from '../contract.ts';
import { compileRegion, type CompiledRegion } from '../geofence/point-in-region.ts';
import { RegionIndex } from '../geofence/region-index.ts';
import { NO_CITIES, type CityLocator } from '../geofence/city-locator.ts';
import { NO_CELL, Presence, type PresenceEvent } from '../presence/presence.ts';
import { grant as grantFor, inDates, inWindows, judge, passesRules, sendDay, type Grant, type PersonView } from '../rules/evaluate.ts';
import { shanghaiDay, shanghaiMidnight } from '../rules/shanghai-time.ts';
import { alertJob } from './alert-job.ts';
import type { BudgetScope } from './budget.ts';
import {
  CLAIM_CHUNK,
  CLAIM_PARTS,
  chunkPeople,
  claimChunk,
  claimPart,
  claimSubject,
  type AppendResult,
  type ClaimChunk,
} from './claims.ts';
import { JOB_BATCH, chunkBatches, type JobBatch } from './job-batches.ts';

/** What the engine needs from the outside world (NATS in production, the same NATS in tests). */
export interface EnginePorts {
  budget: {
    reserve(s: BudgetScope, want: number): Promise<Grant>;
    release(s: BudgetScope, n: number): Promise<void>;
    peek(s: BudgetScope): Promise<{ dailyUsed: number; totalUsed: number; balance: number }>;
  };
  /** The claim log ({@link ClaimLog} on NATS). */
  claims: {
    append(subject: string, chunk: ClaimChunk): Promise<AppendResult>;
    list(taskId: string, day?: string): AsyncIterable<{ chunk: ClaimChunk }>;
  };
  /** People per claim append. @default CLAIM_CHUNK */
  claimChunk?: number;
  /** Publishes one message of jobs (Nats-Msg-Id = the batch's id); called with many in flight. */
  publish(batch: JobBatch): Promise<unknown>;
  /** Jobs per SMS_JOBS message. @default JOB_BATCH */
  jobBatch?: number;
  now(): number;
  instance: string;
  /** The city a cell lies in, for local/roaming rules. @default no geography (such rules match nobody) */
  cityOf?: CityLocator;
  /**
   * Whether this instance still certainly owns subscriber `i`'s shard (shard leases): checked when
   * a send begins and again right before each claim append (fencing), so that people of a shard
   * handed over or lapsed meanwhile are left to the new owner. @default every subscriber is ours
   * (static shards)
   */
  owns?: (i: number) => boolean;
  /** Lease mode: the epochs of the shard leases held now, stored with each claim (see ClaimChunk.fence). */
  fence?: () => Record<string, number>;
  /**
   * A claim younger than this whose job may not have been published (crash between claim and
   * publish) is published again: SMS_JOBS drops the copy by Nats-Msg-Id inside its duplicate window.
   * Keep it below that window (10 min).
   * @default 8 min
   */
  republishWithinMs?: number;
}

/** A skip reason's code in {@link TaskRuntime.heldAs} (0 = not held). */
const REASON_CODE = Object.fromEntries(SKIP_REASONS.map((r, k) => [r, k + 1])) as Record<SkipReason, number>;
const HELD_FOR_RETRY: ReadonlySet<SkipReason> = new Set(['window', 'dwell', 'daily_cap', 'total_cap', 'balance']);
const CAP_BACKOFF_MS = 5_000;
/** Candidates per send on activation (bounds memory for huge regions; one send claims them in a few appends). */
const SEND_CHUNK = 200_000;
/** Cells per reach reply message: ~30 B a cell in JSON keeps a message far below NATS's 1 MB payload limit. */
const REACH_CELLS_PER_PART = 10_000;
/** Job messages in flight at once. */
const PUBLISH_WINDOW = 1_024;

interface TaskRuntime {
  slot: number;
  task: AlertTask;
  region: CompiledRegion;
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
  /** Distinct people held back today (Asia/Shanghai), by their latest reason; people sent since are not counted. */
  skipped: Partial<Record<SkipReason, number>>;
  /** Per subscriber index: the reason (its {@link REASON_CODE}) they are counted under in `skipped` today, 0 when not. */
  heldAs: Uint8Array;
  heldDay: string;
  /** Per cell index: people this instance messaged while they were in that cell (the "reached" layer). */
  reachedIn: Int32Array;
  dirty: boolean;
  windowOpen: boolean;
  /** Per carrier: no budget until this time (skip the KV round trip while a cap is reached). */
  blockedUntil: number[];
  blockedReason: SkipReason[];
  removed: boolean;
}

export interface Candidate {
  rt: TaskRuntime;
  i: number;
}

/** People of one task and carrier in one send, with their budget reservation. */
interface BudgetGroup {
  rt: TaskRuntime;
  carrier: Carrier;
  scope: BudgetScope;
  idx: number[];
  /** Reserved and not used (claimed by someone else first): given back after the send. */
  unused: number;
}

interface Claimant {
  i: number;
  msisdn: string;
  carrier: Carrier;
  group: BudgetGroup;
}

const EMPTY: number[] = [];
const DETACH = EVENT_KINDS.indexOf('detach');
const CARRIER_COUNT = CARRIERS.length;
const UNINTERNED = -2;
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

  constructor(
    private readonly ports: EnginePorts,
    presence?: Presence,
  ) {
    this.presence = presence ?? new Presence();
    this.republishWithinMs = ports.republishWithinMs ?? 8 * 60_000;
    this.cityOf = ports.cityOf ?? NO_CITIES;
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
    const rt: TaskRuntime = old
      ? { ...old, task, region, dirty: true, blockedUntil: [0, 0, 0] }
      : {
          slot: this.nextSlot++,
          task,
          region,
          inside: new Map(),
          pending: new Map(),
          sent: new Uint8Array(0),
          sentDay: '',
          seen: new Uint8Array(0),
          matched: 0,
          sentBy: { cmcc: 0, cucc: 0, ctcc: 0 },
          skipped: {},
          heldAs: new Uint8Array(0),
          heldDay: '',
          reachedIn: new Int32Array(0),
          dirty: true,
          windowOpen: false,
          blockedUntil: [0, 0, 0],
          blockedReason: ['daily_cap', 'daily_cap', 'daily_cap'],
          removed: false,
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

  /**
   * Holds a person back for `reason`: retried later (see HELD_FOR_RETRY) and counted once a day under
   * their latest reason, however often the retry meets the same reason (a cap tried every few seconds
   * counted every try: 96 people held back showed as 2,016 after 90 s).
   */
  private hold(rt: TaskRuntime, i: number, reason: SkipReason, now: number): void {
    if (rt.pending.get(i) !== reason) rt.pending.set(i, reason);
    this.heldToday(rt, now);
    const code = REASON_CODE[reason];
    const was = i < rt.heldAs.length ? rt.heldAs[i] : 0;
    if (was === code) return;
    if (was) rt.skipped[SKIP_REASONS[was - 1]]! -= 1;
    if (i >= rt.heldAs.length) {
      const a = new Uint8Array(Math.max(rt.heldAs.length * 2, this.presence.size, i + 1));
      a.set(rt.heldAs);
      rt.heldAs = a;
    }
    rt.heldAs[i] = code;
    rt.skipped[reason] = (rt.skipped[reason] ?? 0) + 1;
    rt.dirty = true;
  }

  /** A person held back earlier was sent (by this instance or another): no longer counted as skipped. */
  private unhold(rt: TaskRuntime, i: number): void {
    const was = i < rt.heldAs.length ? rt.heldAs[i] : 0;
    if (!was) return;
    rt.heldAs[i] = 0;
    rt.skipped[SKIP_REASONS[was - 1]]! -= 1;
    rt.dirty = true;
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
        for (const s of this.slotsOf(c)) this.exit(this.bySlot[s]!, i);
        n++;
      }
      for (const rt of this.runtimes.values()) if (rt.inside.has(i)) this.exit(rt, i);
      p.forget(i);
    }
    return n;
  }

  /** Counts a person messaged in the cell they are in now. */
  private noteReached(rt: TaskRuntime, i: number): void {
    const c = this.presence.cell[i];
    if (c === NO_CELL) return;
    if (c >= rt.reachedIn.length) {
      const a = new Int32Array(Math.max(rt.reachedIn.length * 2, this.presence.cells.size, c + 1));
      a.set(rt.reachedIn);
      rt.reachedIn = a;
    }
    rt.reachedIn[c]++;
  }

  /**
   * Where the people this instance messaged for a task were when messaged: per carrier and cell id
   * (with the cell's position), since this instance started. Undefined when the task is not tracked.
   */
  reached(id: string): Partial<Record<Carrier, { ids: string[]; lng: number[]; lat: number[]; count: number[] }>> | undefined {
    const rt = this.runtimes.get(id);
    if (!rt) return undefined;
    const cells = this.presence.cells;
    const out: Partial<Record<Carrier, { ids: string[]; lng: number[]; lat: number[]; count: number[] }>> = {};
    for (let c = 0; c < rt.reachedIn.length; c++) {
      const n = rt.reachedIn[c]!;
      if (n === 0) continue;
      const o = (out[CARRIERS[cells.carrier[c]]!] ??= { ids: [], lng: [], lat: [], count: [] });
      o.ids.push(cells.ids[c]!);
      o.lng.push(cells.lng[c]!);
      o.lat.push(cells.lat[c]!);
      o.count.push(n);
    }
    return out;
  }

  /**
   * Why a number did (not) get a task, from what this instance knows (see WhyReply). Looks at the
   * number's state only; nothing is changed, counted or sent.
   */
  async why(taskId: string, msisdn: string): Promise<{ tracked: boolean; seen: boolean; reason: WhyReason; sentAt?: number }> {
    const rt = this.runtimes.get(taskId);
    if (!rt) return { tracked: false, seen: this.presence.indexOf(msisdn) >= 0, reason: 'not_tracked' };
    const p = this.presence;
    const i = p.indexOf(msisdn);
    if (i < 0) return { tracked: true, seen: false, reason: 'not_seen' };
    const now = this.ports.now();
    const seen = { tracked: true, seen: true } as const;
    if (this.retry.some((r) => r.rt === rt && r.batch.jobs.some((j) => j.msisdn === msisdn))) return { ...seen, reason: 'send_failed' };
    for (const c of this.failing) if (c.rt === rt && c.i === i) return { ...seen, reason: 'send_failed' };
    if (bit(this.sentBits(rt, now), i)) {
      const sd = sendDay(rt.task.spec.frequency, now);
      let sentAt: number | undefined;
      for await (const { chunk } of this.ports.claims.list(taskId, sd)) if (chunk.msisdns.includes(msisdn)) sentAt = chunk.at;
      // Marked but not (yet) in the claim log: being sent now.
      return sentAt === undefined ? { ...seen, reason: 'queued' } : { ...seen, reason: 'sent', sentAt };
    }
    if (!p.isPresent(i, now)) return { ...seen, reason: 'absent' };
    const entered = rt.inside.get(i);
    if (entered === undefined) return { ...seen, reason: 'outside' };
    if (rt.task.state !== 'running') return { ...seen, reason: 'not_running' };
    const v = judge(rt.task.spec, this.view(i), entered * 1000, now);
    if (!v.send) return { ...seen, reason: v.reason };
    const held = rt.pending.get(i);
    if (held) return { ...seen, reason: held };
    const ci = p.carrier[i]!;
    if (rt.blockedUntil[ci]! > now) return { ...seen, reason: rt.blockedReason[ci]! };
    return { ...seen, reason: 'queued' };
  }

  /** Skip counts are per day: a new Asia/Shanghai day starts them again. */
  private heldToday(rt: TaskRuntime, now: number): void {
    const day = this.today(now);
    if (rt.heldDay === day) return;
    if (rt.heldDay !== '' || rt.heldAs.length) {
      rt.heldAs = new Uint8Array(0);
      rt.skipped = {};
      rt.dirty = true;
    }
    rt.heldDay = day;
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

  private cellCity = new Int32Array(1024);
  private readonly cityOf: CityLocator;

  /** The city code of cell `c` (looked up once per cell), or undefined. */
  private cityOfCell(c: number): string | undefined {
    if (c === NO_CELL) return undefined;
    if (c >= this.cellCity.length) {
      const a = new Int32Array(Math.max(this.cellCity.length * 2, c + 1));
      a.set(this.cellCity);
      this.cellCity = a;
    }
    let code = this.cellCity[c];
    if (code === 0) {
      const cells = this.presence.cells;
      const city = this.cityOf(cells.lng[c], cells.lat[c]);
      code = this.cellCity[c] = city ? Number(city) : -1;
    }
    return code > 0 ? String(code).padStart(6, '0') : undefined;
  }

  /** What rules see of subscriber `i`: their profile and the city they are in now. */
  private view(i: number): PersonView {
    const v: PersonView = this.presence.profile(i);
    v.here = this.cityOfCell(this.presence.cell[i]);
    return v;
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
    const v = judge(rt.task.spec, this.view(i), entered * 1000, now);
    if (!v.send) return this.hold(rt, i, v.reason, now);
    const ci = this.presence.carrier[i];
    if (rt.blockedUntil[ci] > now) return this.hold(rt, i, rt.blockedReason[ci], now);
    rt.pending.delete(i);
    this.markSent(rt, i);
    out.push({ rt, i });
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
    const { msisdn, carrier, ts, place, kind, gender, age, home } = c;
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
      const i = p.applyCoded(msisdn[k], carrier[k], ts[k], cell, gender[k], age[k], home[k]);
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

  private queued: Candidate[] = [];
  private waiting: { resolve(n: number): void; reject(err: unknown): void }[] = [];
  private flushing = false;
  private chunkSeq = 0;
  /** Jobs whose claim is stored but whose publish failed: retried by {@link tick}. */
  private retry: { rt: TaskRuntime; batch: JobBatch; count: boolean }[] = [];
  /** Jobs published since start (for metrics). */
  published = 0;

  /**
   * Queues candidates for sending and resolves once they are sent (or held with a reason), with the
   * number of jobs published by the flush that carried them. Sends run one at a time and each takes
   * everything queued meanwhile (group commit): under load one budget reservation and one claim
   * per task, carrier and part cover many event batches, and the latency stays one round of sending.
   */
  sendSoon(cands: Candidate[]): Promise<number> {
    if (cands.length === 0) return Promise.resolve(0);
    for (const c of cands) this.queued.push(c);
    const p = new Promise<number>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (!this.flushing) void this.flush();
    return p;
  }

  /**
   * {@link sendSoon}, retrying the candidates themselves until they are sent (or held with a
   * reason, or no longer wanted: task stopped, someone sent them meanwhile), with back-off up to
   * 10 s; `heartbeat` is called before each retry (the caller keeps its delivery from being handed
   * out again). Retrying the delivery instead does not work: by the time it is redelivered,
   * presence holds the people's newer events and skips it, so someone who walked in and out while
   * sending failed was never sent (#19). Rejects only when `stopping()` says so.
   */
  async sendPersistently(
    cands: Candidate[],
    opts: { heartbeat?: () => void; stopping?: () => boolean; onError?: (err: unknown, attempt: number) => void } = {},
  ): Promise<number> {
    let todo = cands;
    const failing = this.failing;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.sendSoon(todo);
        } catch (err) {
          // Known as failing (for "why"), until they are sent or given up.
          for (const c of todo) failing.add(c);
          opts.onError?.(err, attempt);
          if (opts.stopping?.()) throw err;
          await this.retryPause(attempt, opts);
          if (opts.stopping?.()) throw err;
          todo = this.stillUnsent(todo);
        }
      }
    } finally {
      for (const c of cands) failing.delete(c);
    }
  }

  /** Candidates whose sending is failing and being retried (see {@link sendPersistently}). */
  private readonly failing = new Set<Candidate>();

  private async retryPause(attempt: number, opts: { heartbeat?: () => void }): Promise<void> {
    // At most 10 s between tries, so that the heartbeat comes well within LOCATION's 30 s ack wait.
    await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** attempt)));
    opts.heartbeat?.();
  }

  /**
   * Those still unsent (a failed reservation or claim gave their mark back), marked again; others
   * may have been queued again meanwhile by a newer event or a tick (marked): theirs is that send.
   */
  private stillUnsent(todo: Candidate[]): Candidate[] {
    const now = this.ports.now();
    const again: Candidate[] = [];
    for (const c of todo) {
      const { rt, i } = c;
      if (rt.removed || rt.task.state !== 'running' || bit(this.sentBits(rt, now), i)) {
        this.failing.delete(c);
        continue;
      }
      this.markSent(rt, i);
      again.push(c);
    }
    return again;
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queued.length) {
        const batch = this.queued,
          ws = this.waiting;
        this.queued = [];
        this.waiting = [];
        try {
          const n = await this.send(batch);
          for (const w of ws) w.resolve(n);
        } catch (err) {
          for (const w of ws) w.reject(err);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Sends the candidates: per task and carrier, reserve the budget (KV CAS); per task and claim
   * part, claim the people with one log append per chunk (exactly one writer wins; people someone
   * else claimed first are dropped and their reservation released); publish the jobs, many in
   * flight, with Nats-Msg-Id = job id. A claim whose outcome is unknown (timeout) keeps its
   * reservation: a lost ack can cost a send, never exceed a cap.
   */
  private async send(cands: Candidate[]): Promise<number> {
    const owns = this.ports.owns;
    if (owns) {
      // Fencing, locally: people whose shard lease this instance no longer holds are the new owner's.
      const mine: Candidate[] = [];
      for (const c of cands) {
        if (owns(c.i)) mine.push(c);
        else clearBit(c.rt.sent, c.i);
      }
      cands = mine;
    }
    if (cands.length === 0) return 0;
    const now = this.ports.now();
    const day = shanghaiDay(now);
    // Number keys, not strings: this loop and the next run once per person (100,000 at a task's start).
    const groups = new Map<number, BudgetGroup>();
    for (const { rt, i } of cands) {
      const ci = this.presence.carrier[i];
      const key = rt.slot * CARRIERS.length + ci;
      let g = groups.get(key);
      if (!g) {
        const carrier = CARRIERS[ci];
        const spec = rt.task.spec;
        groups.set(
          key,
          (g = {
            rt,
            carrier,
            idx: [],
            unused: 0,
            scope: {
              taskId: rt.task.id,
              accountId: spec.accountId,
              carrier,
              day,
              quota: spec.quota[carrier]!,
              initialBalance: spec.balance,
            },
          }),
        );
      }
      g.idx.push(i);
    }
    const errors: unknown[] = [];
    const parts = new Map<number, { rt: TaskRuntime; subject: string; people: Claimant[] }>();
    await Promise.all(
      [...groups.values()].map(async (g) => {
        const { rt, carrier, idx } = g;
        let grant: Grant;
        try {
          grant = await this.ports.budget.reserve(g.scope, idx.length);
        } catch (err) {
          for (const i of idx) clearBit(rt.sent, i);
          errors.push(err);
          return;
        }
        let k = grant.granted;
        for (const reason of ['daily_cap', 'total_cap', 'balance'] as const) {
          for (let n = grant.skipped[reason] ?? 0; n > 0; n--, k++) {
            clearBit(rt.sent, idx[k]);
            this.hold(rt, idx[k], reason, now);
          }
          if (grant.skipped[reason]) {
            const ci = CARRIERS.indexOf(carrier);
            rt.blockedUntil[ci] = now + CAP_BACKOFF_MS;
            rt.blockedReason[ci] = reason;
          }
        }
        const sd = sendDay(rt.task.spec.frequency, now);
        for (let n = 0; n < grant.granted; n++) {
          const i = idx[n];
          const msisdn = this.presence.msisdnOf(i);
          const part = claimPart(msisdn);
          const key = rt.slot * CLAIM_PARTS + part;
          let p = parts.get(key);
          if (!p) parts.set(key, (p = { rt, subject: claimSubject(rt.task.id, sd, part), people: [] }));
          p.people.push({ i, msisdn, carrier, group: g });
        }
      }),
    );
    const won: ClaimChunk[][] = await Promise.all(
      [...parts.values()].map((p) =>
        this.claim(p.rt, p.subject, p.people, now, errors).catch((err) => {
          errors.push(err);
          return [];
        }),
      ),
    );
    // Jobs of every part at once, one message per claim chunk, carrier and batch: their publishes are pipelined together.
    const jobsOf = new Map<TaskRuntime, JobBatch[]>();
    const partList = [...parts.values()];
    for (let k = 0; k < won.length; k++) {
      if (won[k].length === 0) continue;
      const rt = partList[k].rt;
      if (rt.removed || rt.task.state !== 'running') continue; // stopped meanwhile: the claims stay, nothing is sent
      const batches = jobsOf.get(rt) ?? jobsOf.set(rt, []).get(rt)!;
      for (const ch of won[k]) for (const b of this.batchesOf(rt, ch, now)) batches.push(b);
    }
    let published = 0;
    await Promise.all(
      [...jobsOf].map(async ([rt, batches]) => {
        const r = await this.publishAll(rt, batches);
        published += r.ok;
        if (r.error) errors.push(r.error);
      }),
    );
    await Promise.all(
      [...groups.values()].map((g) =>
        this.ports.budget.release(g.scope, g.unused).catch((err) => {
          errors.push(err);
        }),
      ),
    );
    if (errors.length) throw errors[0];
    return published;
  }

  /**
   * Claims people on one claim subject, chunk by chunk; returns those this instance won. Chunks
   * others stored first are folded into what this instance knows was sent (their recent jobs are
   * published again: JetStream drops the copy when the first made it).
   */
  private async claim(rt: TaskRuntime, subject: string, people: Claimant[], now: number, errors: unknown[]): Promise<ClaimChunk[]> {
    const won: ClaimChunk[] = [];
    let todo = people;
    const owns = this.ports.owns;
    while (todo.length) {
      if (owns) {
        // Fencing (lease mode): the lease is checked again right before each append, not only when
        // the send began. An owner that stalled after choosing its people (GC pause, SIGSTOP, slow
        // KV) and lost the lease meanwhile claims nobody of that shard on its stale presence; the
        // new owner decides about them. Their reservations are given back.
        const still: Claimant[] = [];
        for (const c of todo) {
          if (owns(c.i)) still.push(c);
          else {
            clearBit(rt.sent, c.i);
            c.group.unused++;
          }
        }
        todo = still;
        if (!todo.length) break;
      }
      const size = this.ports.claimChunk ?? CLAIM_CHUNK;
      const chunk = todo.length > size ? todo.slice(0, size) : todo;
      const rest = todo.length > size ? todo.slice(size) : [];
      let r: AppendResult;
      const stored = claimChunk(
        `${this.ports.instance}:${now}:${++this.chunkSeq}`,
        this.ports.instance,
        now,
        chunk,
        this.ports.jobBatch ?? JOB_BATCH,
        this.ports.fence?.(),
      );
      try {
        r = await this.ports.claims.append(subject, stored);
      } catch (err) {
        // Unknown outcome: they may be reconsidered, and their reservations stay taken.
        // The chunks won before this one are still published by the caller.
        for (const c of todo) clearBit(rt.sent, c.i);
        for (const c of rest) c.group.unused++;
        errors.push(err);
        break;
      }
      // Others' chunks may hold people of this chunk (when it lost) or of the chunks still to come.
      const taken = r.others.length ? await this.fold(rt, r.others, now, new Set(todo.map((c) => c.msisdn))) : undefined;
      if (r.ok) {
        won.push(stored);
        for (const c of chunk) {
          this.unhold(rt, c.i);
          this.noteReached(rt, c.i);
        }
      }
      const left: Claimant[] = [];
      for (const c of r.ok ? rest : todo) {
        if (taken?.has(c.msisdn)) c.group.unused++;
        else left.push(c);
      }
      todo = left;
    }
    return won;
  }

  /** Folds others' claim chunks into what was sent; returns which of `mine` they claimed. */
  private async fold(rt: TaskRuntime, chunks: ClaimChunk[], now: number, mine?: Set<string>): Promise<Set<string>> {
    const taken = new Set<string>();
    const again: JobBatch[] = [];
    for (const ch of chunks) {
      const recent = now - ch.at < this.republishWithinMs && !rt.removed;
      let wanted = false;
      for (const { msisdn, carrier } of chunkPeople(ch)) {
        const i = this.presence.ensure(msisdn, carrier);
        this.sentBits(rt, now);
        this.markSent(rt, i);
        this.unhold(rt, i);
        if (mine?.has(msisdn)) {
          taken.add(msisdn);
          wanted = true;
        }
      }
      // The whole chunk's messages, as its writer built them, so that the stream drops the copies.
      if (recent && wanted) for (const b of this.batchesOf(rt, ch, now)) again.push(b);
    }
    if (again.length) await this.publishAll(rt, again, false);
    return taken;
  }

  /** The job messages of a stored claim chunk (see {@link chunkBatches}). */
  private batchesOf(rt: TaskRuntime, ch: ClaimChunk, now: number): JobBatch[] {
    const sd = sendDay(rt.task.spec.frequency, now);
    return chunkBatches(rt.task.id, ch, (msisdn, carrier) => alertJob(rt.task, msisdn, carrier, alertJobId(rt.task.id, msisdn, sd), now));
  }

  /**
   * Publishes job messages, up to {@link PUBLISH_WINDOW} in flight (a sliding window); failed ones
   * go to the retry list. `count`: these are this instance's own sends (progress and `published`);
   * republished copies of sends already counted (restored claims, a rival's chunks) are not counted,
   * also when they are retried.
   */
  private async publishAll(rt: TaskRuntime, batches: JobBatch[], count = true): Promise<{ ok: number; error?: unknown }> {
    let ok = 0;
    let error: unknown;
    if (batches.length) {
      await new Promise<void>((resolve) => {
        let next = 0,
          inflight = 0;
        const pump = () => {
          while (inflight < PUBLISH_WINDOW && next < batches.length) {
            const batch = batches[next++];
            inflight++;
            this.ports.publish(batch).then(
              () => {
                if (count) {
                  rt.sentBy[batch.carrier] += batch.jobs.length;
                  ok += batch.jobs.length;
                }
                if (--inflight === 0 && next >= batches.length) resolve();
                else pump();
              },
              (err: unknown) => {
                error ??= err;
                this.retry.push({ rt, batch, count });
                if (--inflight === 0 && next >= batches.length) resolve();
                else pump();
              },
            );
          }
        };
        pump();
      });
    }
    if (count && ok) {
      rt.dirty = true;
      this.published += ok;
    }
    return { ok, error };
  }

  /** Publishes again the job messages whose publish failed (their claims are stored). */
  private async retryPublishes(): Promise<void> {
    if (this.retry.length === 0) return;
    const todo = this.retry;
    this.retry = [];
    const groups = new Map<string, { rt: TaskRuntime; count: boolean; batches: JobBatch[] }>();
    for (const { rt, batch, count } of todo) {
      if (rt.removed) continue;
      const key = `${rt.slot}:${count}`;
      (groups.get(key) ?? groups.set(key, { rt, count, batches: [] }).get(key)!).batches.push(batch);
    }
    for (const g of groups.values()) await this.publishAll(g.rt, g.batches, g.count);
  }

  /**
   * Restores what was already claimed for a task (after a restart) and publishes again the jobs of
   * recent claims, which a crash may have left unpublished (JetStream drops the real duplicates).
   */
  async restoreClaims(id: string): Promise<{ claims: number; republished: number }> {
    const rt = this.runtimes.get(id);
    if (!rt) return { claims: 0, republished: 0 };
    const now = this.ports.now();
    const sd = sendDay(rt.task.spec.frequency, now);
    let claims = 0,
      republished = 0;
    const again: JobBatch[] = [];
    for await (const { chunk } of this.ports.claims.list(id, sd)) {
      for (const { msisdn, carrier } of chunkPeople(chunk)) {
        const i = this.presence.ensure(msisdn, carrier);
        this.sentBits(rt, now);
        this.markSent(rt, i);
        this.unhold(rt, i);
        claims++;
      }
      if (now - chunk.at < this.republishWithinMs) {
        for (const b of this.batchesOf(rt, chunk, now)) again.push(b);
        republished += chunk.msisdns.length;
      }
    }
    if (again.length) await this.publishAll(rt, again, false);
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
        sent += await this.sendSoon(cands);
        cands = [];
      }
    }
    return sent + (await this.sendSoon(cands));
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
    await this.retryPublishes();
    let sent = 0;
    for (const rt of [...this.runtimes.values()]) {
      if (rt.task.state !== 'running') continue;
      this.heldToday(rt, now);
      const open = inDates(rt.task.spec, now) && inWindows(rt.task.spec, now);
      const opened = open && !rt.windowOpen;
      rt.windowOpen = open;
      if (!open) continue;
      const newDay = rt.task.spec.frequency === 'daily' && rt.sentDay !== shanghaiDay(now);
      if (full || opened || newDay) sent += await this.reconsider(rt, [...rt.inside.keys()], now);
      else
        sent += await this.reconsider(
          rt,
          [...rt.pending].filter(([, r]) => HELD_FOR_RETRY.has(r)).map(([i]) => i),
          now,
        );
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
    const s = this.runtimes.get(id)?.sentBy;
    return s ? s.cmcc + s.cucc + s.ctcc : 0;
  }

  /** People inside a task's region on this instance now (for tests and the big screen). */
  membersOf(id: string): number {
    return this.runtimes.get(id)?.inside.size ?? 0;
  }

  /**
   * Reach estimate over this instance's presence: per carrier and serving cell, the people present
   * in the region and those passing the rules (raw: the portal sums every instance's cells and
   * thresholds each (cell, carrier) count, see {@link ReachReply}), and how many more today's caps
   * allow. Cells go in messages of at most `cellsPerPart` cells.
   */
  async reach(req: ReachRequest, shards: number[], cellsPerPart = REACH_CELLS_PER_PART): Promise<ReachReply[]> {
    const t0 = performance.now();
    const now = this.ports.now();
    const p = this.presence;
    const cells = p.cells;
    const region = compileRegion(req.region);
    const inRegion = new Uint8Array(cells.size);
    for (let c = 0; c < cells.size; c++) inRegion[c] = region.contains(cells.lng[c], cells.lat[c]) ? 1 : 0;
    const present = [0, 0, 0],
      passing = [0, 0, 0];
    const cellPresent = new Int32Array(cells.size),
      cellPassing = new Int32Array(cells.size);
    for (let i = 0; i < p.size; i++) {
      const c = p.cell[i];
      if (c === NO_CELL || !inRegion[c] || !p.isPresent(i, now)) continue;
      present[p.carrier[i]]++;
      cellPresent[c]++;
      if (req.rules.length === 0 || passesRules(req.rules, this.view(i))) {
        passing[p.carrier[i]]++;
        cellPassing[c]++;
      }
    }
    // Per carrier and id (entries of one id at several positions are one cell to the reader).
    const out: { ids: string[]; present: number[]; passing: number[]; at: Map<string, number> }[] = CARRIERS.map(() => ({
      ids: [],
      present: [],
      passing: [],
      at: new Map(),
    }));
    let total = 0;
    for (let c = 0; c < cells.size; c++) {
      if (cellPresent[c] === 0) continue;
      const o = out[cells.carrier[c]]!;
      const id = cells.ids[c]!;
      const k = o.at.get(id);
      if (k !== undefined) {
        o.present[k]! += cellPresent[c];
        o.passing[k]! += cellPassing[c];
        continue;
      }
      o.at.set(id, o.ids.length);
      o.ids.push(id);
      o.present.push(cellPresent[c]);
      o.passing.push(cellPassing[c]);
      total++;
    }
    const allowed = [0, 0, 0];
    const remaining: ReachReply['remaining'] = {};
    await Promise.all(
      CARRIERS.map(async (carrier, ci) => {
        const q = req.quota[carrier];
        if (!q) {
          if (Object.keys(req.quota).length) remaining[carrier] = 0;
          return void (allowed[ci] = Object.keys(req.quota).length ? 0 : passing[ci]);
        }
        const used = req.taskId
          ? await this.ports.budget.peek({
              taskId: req.taskId,
              accountId: '',
              carrier,
              day: shanghaiDay(now),
              quota: q,
              initialBalance: Number.MAX_SAFE_INTEGER,
            })
          : { dailyUsed: 0, totalUsed: 0, balance: Number.MAX_SAFE_INTEGER };
        remaining[carrier] = Math.max(0, Math.min(q.dailyCap - used.dailyUsed, q.total - used.totalUsed));
        allowed[ci] = grantFor(passing[ci], q, used).granted;
      }),
    );
    const pc = (a: number[]): PerCarrier => ({ cmcc: a[0], cucc: a[1], ctcc: a[2] });
    const parts = Math.max(1, Math.ceil(total / cellsPerPart));
    const replies: ReachReply[] = [];
    // Cells in carrier order, cut every `cellsPerPart`.
    let carrier = 0,
      from = 0;
    for (let part = 0; part < parts; part++) {
      const cellsOut: NonNullable<ReachReply['cells']> = {};
      let room = cellsPerPart;
      while (room > 0 && carrier < CARRIERS.length) {
        const o = out[carrier]!;
        const to = Math.min(o.ids.length, from + room);
        if (to > from)
          cellsOut[CARRIERS[carrier]] = {
            ids: o.ids.slice(from, to),
            present: o.present.slice(from, to),
            passing: o.passing.slice(from, to),
          };
        room -= to - from;
        if (to >= o.ids.length) {
          carrier++;
          from = 0;
        } else from = to;
      }
      replies.push({
        v: 1,
        instance: this.ports.instance,
        shards,
        present: pc(present),
        passing: pc(passing),
        allowedToday: pc(allowed),
        cells: cellsOut,
        remaining,
        part,
        parts,
        tookMs: performance.now() - t0,
      });
    }
    return replies;
  }
}
