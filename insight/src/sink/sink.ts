import { jetstreamManager, type ClickHouseClient, type GapFiller, type Logger, type NatsConnection } from '@geo/infra';
import { Counter, type Registry } from 'prom-client';
import type { PresenceState } from './presence-state.ts';
import { SinkIntake } from './intake.ts';
import { LocationPolicy } from './policy.ts';
import { restoreState } from './restore.ts';
import { SinkStorage } from './storage.ts';

// The sink's jobs live beside it: intake.ts (consuming), policy.ts (what a message does to
// presence), storage.ts (batched writes, checkpoint, fencing), restore.ts (start-up state).
export { currentDurable, rewindToAckFloor } from './intake.ts';
export { insertBody, insertRowBinary } from './storage.ts';
export { restoreState } from './restore.ts';

export interface SinkOptions {
  nc: NatsConnection;
  ch: ClickHouseClient;
  state: PresenceState;
  log: Logger;
  /** @default 'LOCATION' */
  stream: string;
  /** Durable consumer owned by insight. @default 'insight-sink' */
  consumer: string;
  /** @default 'loc.>' */
  filterSubject: string;
  /** Flush when this many events are pending (rows per insert stay in the 10k–100k range). @default 100_000 */
  flushEvents?: number;
  /** Flush at least this often when events trickle in. @default 1000 */
  flushMs?: number;
  /**
   * Write the presence checkpoint, and ack what it covers, at most this often (ms); flushes in
   * between write moves, snapshots and cells only. @default 5000
   */
  checkpointMs?: number;
  registry?: Registry;
  /** The consumer's `ack_wait` (ms): how long a delivered message may stay unacked before it is redelivered. @default 60_000 */
  ackWaitMs?: number;
  /** How long the durable may deliver nothing while messages are pending before it is opened again (CONSUMER_STALL_MS). @default 20000 */
  stallMs?: number;
  /** Also receives every snapshot (population per cell at a boundary), for region queries. */
  population?: { record(bucketMs: number, counts: Uint32Array): void };
  /** Also receives every move (`from` -1 for a first sighting), for polls of live regions. */
  recent?: { record(tsMs: number, sub: number, from: number, to: number): void };
  /** Told the hours each flush's written moves fell in (the holder's `PairFiller`). */
  pairs?: { touched(hoursMs: Iterable<number>): void };
  /** Told each hour a move is applied in (holder and standby): the region queries' `PairHours`. */
  pairHours?: { touched(hourMs: number): void };
  /**
   * `write` (the lease holder): consume the durable consumer, write ClickHouse, ack. `follow` (a
   * standby): keep the same live state for queries from an ordered consumer of the stream that
   * starts where the durable's checkpoint ends (its ack floor), writing and acking nothing.
   * @default 'write'
   */
  mode?: 'write' | 'follow';
  /**
   * Whether this instance may still write (the sink lease is certainly held: `LeaseManager.fence`).
   * Checked before a flush writes anything and again before the checkpoint and the acks; when it
   * says no, nothing more is written or acked (the next holder re-reads from the ack floor).
   * @default always
   */
  mayWrite?: () => boolean;
  /**
   * Re-create the durable consumer from its ack floor at start even when nothing is pending: a new
   * lease holder does, so that pull requests a killed holder left at the server cannot take
   * deliveries. @default false
   */
  alwaysRewind?: boolean;
}

/**
 * The ClickHouse sink: consumes LOCATION with its own durable consumer, keeps live presence in
 * memory (PresenceState), and writes in batches: 5-minute presence snapshots, new cells and moves
 * every ~100k events (or second), and every few seconds the changed subscribers' checkpoint rows
 * after them; only the checkpoint acks the messages it covers.
 *
 * Per event the hot path allocates nothing: a LOCATION message is read as columns (ingest's
 * binary batch, or JSON turned into columns), applied to typed arrays, and moves and checkpoint
 * rows are gathered into typed-array columns sent as ClickHouse Native blocks.
 *
 * Effects are idempotent: a redelivered message is skipped by stream position once its effect is
 * in the checkpoint; a crash before the checkpoint re-applies the unacked messages onto the
 * previous one and writes some rows twice, which the tables absorb (ReplacingMergeTree keyed by
 * the row, or uniq states). A failed insert is retried with back-off for as long as ClickHouse is
 * down; meanwhile nothing is acked and consumption pauses.
 *
 * This class is the sink's administration (start and stop, lease mode, figures); the work is done
 * by its intake (SinkIntake), policy (LocationPolicy) and storage (SinkStorage).
 */
export class LocationSink {
  private readonly storage: SinkStorage;
  private readonly policy: LocationPolicy;
  private readonly intake: SinkIntake;
  private stopping = false;
  private timer?: NodeJS.Timeout;
  private readonly follow: boolean;
  /** How long restoring presence took at start (ms). */
  restoreMs = 0;
  /** The last boundary snapshotted before this process started (ms): earlier ones are in ClickHouse. */
  restoredBoundary = 0;

  constructor(private readonly opts: SinkOptions) {
    this.follow = opts.mode === 'follow';
    const stopping = () => this.stopping;
    this.storage = new SinkStorage({
      ch: opts.ch,
      state: opts.state,
      log: opts.log,
      follow: this.follow,
      checkpointMs: opts.checkpointMs,
      mayWrite: opts.mayWrite,
      population: opts.population,
      recent: opts.recent,
      pairs: opts.pairs,
      pairHours: opts.pairHours,
      stopping,
    });
    const counter =
      opts.registry && !this.follow
        ? new Counter({
            name: 'insight_sink_events_total',
            help: 'Location events by outcome',
            labelNames: ['outcome'],
            registers: [opts.registry],
          })
        : undefined;
    this.policy = new LocationPolicy(opts.state, this.storage, opts.log, counter);
    this.intake = new SinkIntake({
      nc: opts.nc,
      log: opts.log,
      stream: opts.stream,
      consumer: opts.consumer,
      filterSubject: opts.filterSubject,
      registry: opts.registry,
      ackWaitMs: opts.ackWaitMs,
      stallMs: opts.stallMs,
      alwaysRewind: opts.alwaysRewind,
      flushEvents: opts.flushEvents,
      policy: this.policy,
      storage: this.storage,
      stopping,
    });
  }

  /** Events applied since start (for benchmarks and health). */
  get applied(): number {
    return this.policy.applied;
  }
  /** Checkpoints written (each acks the messages it covers). */
  get checkpoints(): number {
    return this.storage.checkpoints;
  }
  /** Flushes completed, and the time they took (ms). */
  get flushes(): number {
    return this.storage.flushes;
  }
  get flushMs(): number {
    return this.storage.flushMs;
  }
  /** Flushes that found the lease gone and wrote nothing. */
  get fencedFlushes(): number {
    return this.storage.fencedFlushes;
  }
  /** Time spent per table in inserts (ms), for the benchmark. */
  get insertMs(): Record<string, number> {
    return this.storage.insertMs;
  }
  /** Time spent parsing and applying messages (ms). */
  get handleMs(): number {
    return this.intake.handleMs;
  }
  /** When consuming began (performance.now()). */
  get consumingSince(): number {
    return this.intake.consumingSince;
  }
  /** The holder's durable: the configured name, or `<name>-<n>` after the n-th rewind (#19). */
  get durable(): string | undefined {
    return this.intake.durable;
  }
  /** Follow mode: the stream sequence the ordered consumer started at. */
  get followFrom(): number {
    return this.intake.followFrom;
  }
  /** Fills lost deliveries from the stream (set once consuming starts). */
  get gapFiller(): GapFiller | undefined {
    return this.intake.gapFiller;
  }

  /** Restores presence and cells from ClickHouse, declares the consumer, and starts consuming. */
  async start(): Promise<void> {
    const t0 = performance.now();
    await restoreState(this.opts.ch, this.opts.state);
    this.restoredBoundary = this.opts.state.lastBoundary;
    this.restoreMs = performance.now() - t0;
    const jsm = await jetstreamManager(this.opts.nc);
    await this.intake.waitForStream(jsm);
    if (this.follow) return this.intake.follow(jsm);
    // Re-creating the durable would cut off whoever consumes it now: only while the lease is ours.
    if (this.opts.mayWrite && !this.opts.mayWrite()) throw new Error('the sink lease was lost before the sink started');
    await this.intake.consumeDurable(jsm);
    this.timer = setInterval(() => {
      if (this.storage.unackedCount > 0) void this.storage.flushQueued(false).catch(() => undefined);
    }, this.opts.flushMs ?? 1000);
  }

  /** Writes everything pending, the checkpoint included, then acks what it covers. */
  flush(): Promise<void> {
    return this.storage.flush();
  }

  /**
   * Stops consuming, writes what is pending and acks it (SIGTERM path). `flush: false` (the lease
   * was lost): stops without writing; what was not acked is delivered again to the next holder.
   */
  async stop(opts: { flush?: boolean } = {}): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.intake.close();
    if (opts.flush !== false) await this.flush();
    else await this.storage.settled();
  }
}
