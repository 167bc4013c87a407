import { CARRIERS } from '@geo/ingest';
import type { Presence } from '../presence/presence.ts';
import { sendDay, type Grant } from '../rules/evaluate.ts';
import { shanghaiDay } from '../rules/shanghai-time.ts';
import { claimPart, claimSubject, type ClaimChunk } from './claims.ts';
import { PublishWindow, batchesOf } from './publish-window.ts';
import { Claiming, NotOwnedError, budgetGroup, claimants, type BudgetGroup, type Claimants } from './claiming.ts';

export { NotOwnedError } from './claiming.ts';
import type { EnginePorts } from './ports.ts';
import { bit, clearBit, hold, markSent, sentBits, type Candidate, type ShanghaiToday, type TaskRuntime } from './task-runtime.ts';

const CAP_BACKOFF_MS = 5_000;

/** People of one task queued for sending (subscriber indexes). */
interface Run {
  rt: TaskRuntime;
  idx: number[];
}

/**
 * Delivery: what happens to a person once detection chose them (tile38's `hooks.go` to the
 * engine's `fence.go`). Per task and carrier a budget reservation (KV CAS), per task and claim
 * part one claim-log append per chunk (exactly one writer wins), then the jobs published with
 * Nats-Msg-Id, many in flight; publishes that fail are retried, candidates whose sending fails
 * are retried themselves, and restoring a task reads back who was claimed.
 */
export class Delivery {
  constructor(
    private readonly ports: EnginePorts,
    private readonly presence: Presence,
    private readonly today: ShanghaiToday,
  ) {
    this.jobs = new PublishWindow(ports.publish);
    this.claiming = new Claiming(ports, presence, today, this.jobs, (rt, i) => this.notOwned.push({ rt, i }));
  }

  /**
   * People chosen for sending and dropped because their shard lease was not certainly held here (a
   * fence lapse), in order; the engine takes them when the shard's lease is lost (see
   * {@link Engine.takeNotOwned}).
   */
  notOwned: Candidate[] = [];

  /** Jobs published since start (for metrics). */
  get published(): number {
    return this.jobs.published;
  }

  /** People whose jobs wait for their publish to be retried (see {@link PublishWindow.awaiting}). */
  get awaitingPublish(): number {
    return this.jobs.awaiting;
  }

  /** Publishes again the job messages whose publish failed (their claims are stored). */
  retryPublishes(): Promise<void> {
    return this.jobs.retryPublishes();
  }

  /** Whether someone's sending for a task is failing and being retried (for "why"). */
  isFailing(rt: TaskRuntime, i: number, msisdn: string): boolean {
    if (this.jobs.retrying(rt, msisdn)) return true;
    for (const c of this.failing) if (c.rt === rt && c.i === i) return true;
    return false;
  }

  /** People queued for the next send, per task (a run each). */
  private queued: Run[] = [];
  private waiting: { resolve(n: number): void; reject(err: unknown): void }[] = [];
  private flushing = false;
  private readonly jobs: PublishWindow;
  private readonly claiming: Claiming;

  /**
   * Queues candidates for sending and resolves once they are sent (or held with a reason), with the
   * number of jobs published by the flush that carried them. Sends run one at a time and each takes
   * everything queued meanwhile (group commit): under load one budget reservation and one claim
   * per task, carrier and part cover many event batches, and the latency stays one round of sending.
   */
  sendSoon(cands: Candidate[]): Promise<number> {
    if (cands.length === 0) return Promise.resolve(0);
    let run: Run | undefined;
    for (const { rt, i } of cands) {
      if (run?.rt !== rt) this.queued.push((run = { rt, idx: [] }));
      run.idx.push(i);
    }
    return this.queue();
  }

  /** {@link sendSoon} for people of one task (subscriber indexes), with no object per person: a task's start. */
  sendSoonFor(rt: TaskRuntime, idx: number[]): Promise<number> {
    if (idx.length === 0) return Promise.resolve(0);
    this.queued.push({ rt, idx });
    return this.queue();
  }

  private queue(): Promise<number> {
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

  private async retryPause(attempt: number, opts: { heartbeat?: () => void; stopping?: () => boolean }): Promise<void> {
    // At most 10 s between tries, so that the heartbeat comes well within LOCATION's 30 s ack wait;
    // cut short once `stopping()` says so (a take-over waits for the sends of the run it replaces).
    const until = performance.now() + Math.min(10_000, 500 * 2 ** attempt);
    for (let left = until - performance.now(); left > 0 && !opts.stopping?.(); left = until - performance.now())
      await new Promise((r) => setTimeout(r, Math.min(left, 200)));
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
      if (rt.removed || rt.task.state !== 'running' || bit(sentBits(rt, this.today.at(now)), i)) {
        this.failing.delete(c);
        continue;
      }
      markSent(rt, i, this.presence.size);
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
  private async send(runs: Run[]): Promise<number> {
    const owns = this.ports.owns;
    const now = this.ports.now();
    const day = shanghaiDay(now);
    const carrierOf = this.presence.carrier;
    // Per task its carriers' groups, found once per run: this loop runs once per person (1,000,000 at a city's start).
    const groups: BudgetGroup[] = [];
    const byTask = new Map<TaskRuntime, (BudgetGroup | undefined)[]>();
    let notOwned = 0;
    for (const { rt, idx } of runs) {
      let gs = byTask.get(rt);
      if (!gs) byTask.set(rt, (gs = CARRIERS.map(() => undefined)));
      for (let k = 0; k < idx.length; k++) {
        const i = idx[k];
        // Fencing, locally: people whose shard lease this instance does not certainly hold are not
        // sent here; the send fails for them (NotOwnedError), so that they are retried or left to the
        // next owner, never dropped as if sent.
        if (owns && !owns(i)) {
          clearBit(rt.sent, i);
          this.notOwned.push({ rt, i });
          notOwned++;
          continue;
        }
        const ci = carrierOf[i];
        let g = gs[ci];
        if (!g) groups.push((g = gs[ci] = budgetGroup(rt, CARRIERS[ci], day)));
        g.idx.push(i);
      }
    }
    const errors: unknown[] = notOwned ? [new NotOwnedError(notOwned)] : [];
    if (groups.length === 0) {
      if (errors.length) throw errors[0];
      return 0;
    }
    const parts: Claimants[] = [];
    const partsOf = new Map<TaskRuntime, Claimants[]>();
    await Promise.all(
      groups.map(async (g) => {
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
            hold(rt, idx[k], reason, this.today.at(now), this.presence.size);
          }
          if (grant.skipped[reason]) {
            const ci = CARRIERS.indexOf(carrier);
            rt.blockedUntil[ci] = now + CAP_BACKOFF_MS;
            rt.blockedReason[ci] = reason;
          }
        }
        const sd = sendDay(rt.task.spec.frequency, now);
        let mine = partsOf.get(rt);
        if (!mine) partsOf.set(rt, (mine = []));
        const ci = CARRIERS.indexOf(carrier);
        for (let n = 0; n < grant.granted; n++) {
          const i = idx[n];
          const msisdn = this.presence.msisdnOf(i);
          const part = claimPart(msisdn);
          let p = mine[part];
          if (!p) parts.push((p = mine[part] = claimants(rt, claimSubject(rt.task.id, sd, part))));
          p.groups[ci] = g;
          p.i.push(i);
          p.msisdn.push(msisdn);
          p.carrier.push(ci);
        }
      }),
    );
    let published = 0;
    const publishing: Promise<void>[] = [];
    // Each chunk's jobs go out as soon as its claim is stored, while the other chunks are still being
    // claimed: node builds and encodes while nats-server stores (the two cores work at once).
    const publishChunk = (rt: TaskRuntime, ch: ClaimChunk, numbers: Float64Array) => {
      if (rt.removed || rt.task.state !== 'running') return; // stopped meanwhile: the claims stay, nothing is sent
      publishing.push(
        this.jobs.publishAll(rt, batchesOf(rt, ch, now, numbers)).then((r) => {
          published += r.ok;
          if (r.error) errors.push(r.error);
        }),
      );
    };
    await Promise.all(
      parts.map((p) =>
        this.claiming
          .claim(p, now, errors, (ch, numbers) => publishChunk(p.rt, ch, numbers))
          .catch((err) => {
            errors.push(err);
            return [];
          }),
      ),
    );
    await Promise.all(publishing);
    await Promise.all(
      groups.map((g) =>
        this.ports.budget.release(g.scope, g.unused).catch((err) => {
          errors.push(err);
        }),
      ),
    );
    if (errors.length) throw errors[0];
    return published;
  }

  /** See {@link Claiming.restore}. */
  restoreClaims(rt: TaskRuntime): Promise<{ claims: number; republished: number }> {
    return this.claiming.restore(rt);
  }
}
