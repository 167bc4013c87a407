import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { AckPolicy, DeliverPolicy, jetstream, JetStreamApiError, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import {
  deadLetterMsg,
  deadLetterWriter,
  ensureConsumer,
  jetstreamManager,
  ms,
  selectRows,
  type ClickHouseClient,
  type Logger,
  type NatsConnection,
  GapFiller,
  streamGapSource,
} from '@geo/infra';
import { decodeLocationColumns, decodeLocationMessage, isBinaryLocationMessage, type LocationColumns } from '@geo/ingest';
import { Counter, type Registry } from 'prom-client';
import { CARRIER_CODE, streamPos, type EventLike, type PresenceState, type StateSink } from './presence-state.ts';
import { NativeColumns, setU64, type NativeType } from './native-block.ts';
import { RowBinaryWriter } from './row-binary.ts';

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
  /** Also receives every snapshot (population per cell at a boundary), for region queries. */
  population?: { record(bucketMs: number, counts: Uint32Array): void };
  /** Also receives every move (`from` -1 for a first sighting), for polls of live regions. */
  recent?: { record(tsMs: number, sub: number, from: number, to: number): void };
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

/** `insight_moves_to`, as the sink writes it (Native columns). */
const MOVE_COLUMNS: { name: string; type: NativeType }[] = [
  { name: 'ts', type: 'DateTime' },
  { name: 'sub', type: 'UInt64' },
  { name: 'from_cell', type: 'UInt64' },
  { name: 'to_cell', type: 'UInt64' },
  { name: 'carrier', type: 'UInt8' },
  { name: 'from_h3', type: 'UInt64' },
  { name: 'to_h3', type: 'UInt64' },
];
/** `insight_presence`: one row per subscriber changed since the last checkpoint. */
const CHECKPOINT_COLUMNS: { name: string; type: NativeType }[] = [
  { name: 'sub', type: 'UInt64' },
  { name: 'cell', type: 'UInt64' },
  { name: 'ts', type: 'UInt64' },
  { name: 'carrier', type: 'UInt8' },
  { name: 'gender', type: 'UInt8' },
  { name: 'age', type: 'UInt8' },
  { name: 'home', type: 'UInt32' },
  { name: 'detached', type: 'UInt8' },
  { name: 'pos', type: 'UInt64' },
];
/** The consume loop gives the event loop a turn after this much work (ms). */
const YIELD_MS = 20;
const sec = (msTime: number) => Math.floor(msTime / 1000);
/**
 * A checkpoint is also due once this many messages wait for their ack (the consumer allows
 * 50,000 unacked; binary batches hold 500 events, JSON ones ~100).
 */
const CHECKPOINT_MESSAGES = 20_000;

/** A cheap structural check per event: the stream is internal and ingest validated with zod. */
function looksLikeEvent(e: EventLike): boolean {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.msisdn === 'string' &&
    e.msisdn.length === 11 &&
    CARRIER_CODE[e.carrier] !== undefined &&
    typeof e.ts === 'number' &&
    Number.isFinite(e.ts) &&
    e.ts > 0 &&
    typeof e.cell === 'string' &&
    e.cell.length > 0 &&
    typeof e.lat === 'number' &&
    Number.isFinite(e.lat) &&
    typeof e.lng === 'number' &&
    Number.isFinite(e.lng)
  );
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
 */
export class LocationSink implements StateSink {
  private moves = new NativeColumns(MOVE_COLUMNS, 1 << 16);
  private checkpoint = new NativeColumns(CHECKPOINT_COLUMNS, 1 << 16);
  private snapshots = new RowBinaryWriter(1 << 16);
  private unacked: JsMsg[] = [];
  private pendingEvents = 0;
  private flushing: Promise<void> = Promise.resolve();
  private queued?: Promise<void>;
  /** Whether the queued flush must write the checkpoint (an explicit `flush()` asked for it). */
  private queuedFull = false;
  private lastCheckpoint = performance.now();
  /** Checkpoints written (each acks the messages it covers). */
  checkpoints = 0;
  private stopping = false;
  private loop?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private closeMessages?: () => Promise<void>;
  private readonly counter?: Counter<'outcome'>;
  /** Fills lost deliveries from the stream (set once consuming starts). */
  gapFiller?: GapFiller;
  /** Events applied since start (for benchmarks and health). */
  applied = 0;
  /** Flushes completed, and the time they took (ms). */
  flushes = 0;
  flushMs = 0;
  /** Time spent parsing and applying messages (ms). */
  handleMs = 0;
  /** How long restoring presence took at start (ms), and when consuming began (performance.now()). */
  restoreMs = 0;
  consumingSince = 0;
  /** The last boundary snapshotted before this process started (ms): earlier ones are in ClickHouse. */
  restoredBoundary = 0;
  /** Flushes that found the lease gone and wrote nothing. */
  fencedFlushes = 0;
  /** Follow mode: the stream sequence the ordered consumer started at. */
  followFrom = 0;
  private readonly follow: boolean;

  constructor(private readonly opts: SinkOptions) {
    this.follow = opts.mode === 'follow';
    if (opts.registry && !this.follow) {
      this.counter = new Counter({
        name: 'insight_sink_events_total',
        help: 'Location events by outcome',
        labelNames: ['outcome'],
        registers: [opts.registry],
      });
    }
  }

  // StateSink: rows go straight into typed-array columns (no per-row strings or objects).
  /** `insight_moves_to`: ts, sub, from_cell, to_cell, carrier, from_h3, to_h3. */
  move(ts: number, sub: number, from: number, to: number, carrier: number): void {
    this.opts.recent?.record(ts, sub, from, to);
    if (this.follow) return;
    const cells = this.opts.state.cells;
    const m = this.moves;
    m.reserve(1);
    const k = m.rows++;
    const d = m.data;
    d[0]![k] = sec(ts);
    setU64(d[1] as Uint32Array, k, sub);
    const fromH3 = d[5] as Uint32Array;
    if (from < 0) {
      setU64(d[2] as Uint32Array, k, 0);
      fromH3[2 * k] = 0;
      fromH3[2 * k + 1] = 0;
    } else {
      setU64(d[2] as Uint32Array, k, cells.key[from]!);
      fromH3[2 * k] = cells.h3Lo[from]!;
      fromH3[2 * k + 1] = cells.h3Hi[from]!;
    }
    setU64(d[3] as Uint32Array, k, cells.key[to]!);
    d[4]![k] = carrier;
    const toH3 = d[6] as Uint32Array;
    toH3[2 * k] = cells.h3Lo[to]!;
    toH3[2 * k + 1] = cells.h3Hi[to]!;
  }

  /** `insight_population`: bucket, h3, cell, n, cmcc, cucc, ctcc. */
  snapshot(bucketMs: number, counts: Uint32Array): void {
    const { key, h3Hi, h3Lo } = this.opts.state.cells;
    this.opts.population?.record(bucketMs, counts);
    if (this.follow) return;
    const t = sec(bucketMs);
    const w = this.snapshots;
    for (let c = 0; c < counts.length; c += 4) {
      const n = counts[c]! + counts[c + 1]! + counts[c + 2]! + counts[c + 3]!;
      const i = c >> 2;
      if (n > 0)
        w.row(40)
          .u32(t)
          .u64hl(h3Hi[i]!, h3Lo[i]!)
          .u64(key[i]!)
          .u32(n)
          .u32(counts[c + 1]!)
          .u32(counts[c + 2]!)
          .u32(counts[c + 3]!);
    }
  }

  /** Restores presence and cells from ClickHouse, declares the consumer, and starts consuming. */
  async start(): Promise<void> {
    const t0 = performance.now();
    await restoreState(this.opts.ch, this.opts.state);
    this.restoredBoundary = this.opts.state.lastBoundary;
    this.restoreMs = performance.now() - t0;
    const jsm = await jetstreamManager(this.opts.nc);
    // Ingest owns and declares the stream; when insight starts first, wait for it (declaring it
    // here with other options would change ingest's stream).
    for (let waited = 0; ; waited++) {
      try {
        await jsm.streams.info(this.opts.stream);
        break;
      } catch (err) {
        if (!/stream not found/i.test((err as Error).message) || this.stopping) throw err;
        if (waited % 30 === 0)
          this.opts.log.warn({ stream: this.opts.stream }, 'waiting for the stream to be declared (ingest declares it)');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    if (this.follow) return this.startFollowing(jsm);
    // Re-creating the durable would cut off whoever consumes it now: only while the lease is ours.
    if (this.opts.mayWrite && !this.opts.mayWrite()) throw new Error('the sink lease was lost before the sink started');
    await rewindToAckFloor(jsm, this.opts.stream, this.opts.consumer, this.opts.log, this.opts.alwaysRewind);
    await ensureConsumer(jsm, this.opts.stream, {
      durable_name: this.opts.consumer,
      filter_subject: this.opts.filterSubject,
      ack_wait: ms(this.opts.ackWaitMs ?? 60_000),
      // The sink never gives up on a message: bad ones are dead-lettered, and ClickHouse outages
      // are waited out. Redeliveries are skipped by stream position.
      max_deliver: -1,
      max_ack_pending: 50_000,
    });
    const consumer = await jetstream(this.opts.nc).consumers.get(this.opts.stream, this.opts.consumer);
    // Deliveries lost in transit (a connection cut) are read back from the stream in order before
    // the newer message that revealed them is applied (see GapFiller).
    const delivered = (await consumer.info(true)).delivered;
    this.gapFiller = new GapFiller(
      {
        source: streamGapSource(jsm, this.opts.stream),
        filterSubject: this.opts.filterSubject,
        log: this.opts.log,
        registry: this.opts.registry,
        metricName: 'insight_sink_gap_messages_total',
        stopping: () => this.stopping,
        apply: (seq, data) => this.handle(data, seq),
      },
      { stream: delivered.stream_seq, delivery: delivered.consumer_seq },
    );
    const gaps = this.gapFiller;
    const messages = await consumer.consume({ max_messages: 1000 });
    this.closeMessages = async () => void (await messages.close());
    this.consumingSince = performance.now();
    const writeDead = deadLetterWriter(this.opts.nc, 'insight');
    const flushEvents = this.opts.flushEvents ?? 100_000;
    this.loop = (async () => {
      // The consume iterator hands over buffered messages in microtasks: without a macrotask turn
      // now and then, a full-rate backlog keeps timers and sockets (/healthz, the query API) waiting
      // for as long as it lasts (over 30 s was seen). Yield every YIELD_MS of work.
      let since = performance.now();
      for await (const msg of messages) {
        const info = msg.info;
        const gap = gaps.tracker.next(info.deliveryCount, info.streamSequence, info.deliverySequence);
        if (gap !== undefined && !(await gaps.fill(gap))) break;
        const t0 = performance.now();
        const bad = this.handle(msg.data, info.streamSequence, msg);
        const t1 = performance.now();
        this.handleMs += t1 - t0;
        if (t1 - since >= YIELD_MS) {
          await new Promise<void>((r) => setImmediate(r));
          since = performance.now();
        }
        if (bad) {
          await deadLetterMsg(writeDead, msg, bad).catch((err: unknown) => this.opts.log.error({ err }, 'could not dead-letter'));
          continue;
        }
        if (this.pendingEvents >= flushEvents) {
          // One flush in flight while the next batch fills; wait only when far behind (ClickHouse
          // slow or down), which stops pulling from JetStream.
          const flushed = this.flushQueued(false);
          if (this.pendingEvents >= 3 * flushEvents) await flushed;
        }
        if (this.stopping) break;
      }
    })();
    this.timer = setInterval(() => {
      if (this.unacked.length > 0) void this.flushQueued(false).catch(() => undefined);
    }, this.opts.flushMs ?? 1000);
  }

  /**
   * Follow mode: the same state as the holder's, for queries. The restored checkpoint covers the
   * durable's ack floor; an ordered consumer (in stream order, re-created by the client at the right
   * sequence after any gap) reads on from there, and events already in the checkpoint are skipped
   * by stream position as in the holder. Nothing is written, acked or dead-lettered.
   */
  private async startFollowing(jsm: JetStreamManager): Promise<void> {
    let floor = 0;
    try {
      floor = (await jsm.consumers.info(this.opts.stream, this.opts.consumer)).ack_floor.stream_seq;
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === 10014)) throw err; // not found: nothing consumed yet
    }
    this.followFrom = floor + 1;
    const consumer = await jetstream(this.opts.nc).consumers.get(this.opts.stream, {
      // A string (not an array): nats.js sends it as `filter_subject`, which nats-server 2.9 takes.
      filter_subjects: this.opts.filterSubject,
      ...(floor > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: floor + 1 } : { deliver_policy: DeliverPolicy.All }),
    });
    const messages = await consumer.consume({ max_messages: 1000 });
    this.closeMessages = async () => void (await messages.close());
    this.consumingSince = performance.now();
    this.loop = (async () => {
      let since = performance.now();
      for await (const msg of messages) {
        const t0 = performance.now();
        const bad = this.handle(msg.data, msg.info.streamSequence);
        const t1 = performance.now();
        this.handleMs += t1 - t0;
        if (bad)
          this.opts.log.debug({ seq: msg.info.streamSequence, bad }, 'standby skipped a malformed message (the holder dead-letters it)');
        if (t1 - since >= YIELD_MS) {
          await new Promise<void>((r) => setImmediate(r));
          since = performance.now();
        }
        if (this.stopping) break;
      }
    })();
  }

  /**
   * Applies one message (stream sequence `seq`); returns a reason when the whole message is
   * malformed. `msg` is acked after the next checkpoint; a message read back from the stream to
   * fill a gap has none (its own redelivery is acked).
   */
  private handle(data: Uint8Array, seq: number, msg?: JsMsg): string | undefined {
    let cols: LocationColumns;
    try {
      // Binary (ingest's publisher) or JSON LOCATION batches, as columns: no object per event.
      cols = decodeLocationColumns(data);
    } catch (err) {
      // A binary batch is checked whole; a JSON one with a bad event keeps its good events.
      if (isBinaryLocationMessage(data)) return (err as Error).message;
      return this.handleEvents(data, seq, msg);
    }
    const applied = this.opts.state.applyColumns(cols, seq, this);
    this.settled(msg, cols.count, applied, 0);
    return undefined;
  }

  /** The slow path for a JSON batch that holds malformed events: applies the others one by one. */
  private handleEvents(data: Uint8Array, seq: number, msg?: JsMsg): string | undefined {
    let events: EventLike[];
    try {
      events = decodeLocationMessage(data);
    } catch (err) {
      return (err as Error).message;
    }
    const state = this.opts.state;
    let applied = 0;
    let invalid = 0;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (!looksLikeEvent(e)) {
        invalid++;
        continue;
      }
      if (state.apply(e, streamPos(seq, i), this)) applied++;
    }
    if (invalid) this.opts.log.warn({ seq, invalid }, 'skipped malformed events in a batch');
    this.settled(msg, events.length, applied, invalid);
    return undefined;
  }

  private settled(msg: JsMsg | undefined, events: number, applied: number, invalid: number): void {
    this.applied += applied;
    this.pendingEvents += events;
    if (msg) this.unacked.push(msg);
    const skipped = events - applied - invalid;
    if (this.counter) {
      if (applied) this.counter.inc({ outcome: 'applied' }, applied);
      if (skipped) this.counter.inc({ outcome: 'duplicate' }, skipped);
      if (invalid) this.counter.inc({ outcome: 'invalid' }, invalid);
    }
  }

  /** Writes everything pending, the checkpoint included, then acks what it covers. */
  flush(): Promise<void> {
    return this.flushQueued(true);
  }

  /**
   * Flushes run one after another. A flush already queued (not started) takes everything pending
   * when it starts; `full` makes it write the checkpoint whether or not one is due.
   */
  private flushQueued(full: boolean): Promise<void> {
    if (this.queued) {
      if (full) this.queuedFull = true;
      return this.queued;
    }
    this.queuedFull = full;
    const next = this.flushing.then(() => {
      this.queued = undefined;
      return this.flushNow(this.queuedFull);
    });
    this.queued = next;
    this.flushing = next.catch(() => undefined);
    return next;
  }

  /**
   * Moves, snapshots and new cells go out on every flush. The checkpoint (each changed
   * subscriber's row) goes out every `checkpointMs`, and only it makes the messages acked: a
   * subscriber seen several times in between costs one row, not one per flush, and the
   * checkpoint is most of what ClickHouse is asked to write. A crash in between redelivers those
   * messages from the ack floor onto the previous checkpoint, which writes the same moves and
   * snapshots again — rows the tables already hold (see the class comment).
   */
  private async flushNow(full: boolean): Promise<void> {
    if (this.follow) return;
    const mayWrite = this.opts.mayWrite;
    if (mayWrite && !mayWrite()) {
      // The lease is gone (a pause outlived it, or it was handed over): another instance owns the
      // durable now, and re-reads everything after the ack floor. Write and ack nothing.
      this.fencedFlushes++;
      return;
    }
    const state = this.opts.state;
    const cells = state.cells;
    const checkpointDue =
      full || this.unacked.length >= CHECKPOINT_MESSAGES || performance.now() - this.lastCheckpoint >= (this.opts.checkpointMs ?? 5000);
    const msgs = checkpointDue ? this.unacked : [];
    const fresh = cells.takeFresh();
    const dirty = checkpointDue ? state.takeDirty() : [];
    const snapshots = this.snapshots.take();
    const moves = this.moves.take();
    if (checkpointDue) {
      this.unacked = [];
      this.lastCheckpoint = performance.now();
    }
    this.pendingEvents = 0;
    if (msgs.length === 0 && snapshots.rows === 0 && fresh.length === 0 && dirty.length === 0 && moves.rows === 0) return;
    const now = sec(Date.now());
    const cw = new RowBinaryWriter(1024 + fresh.length * 64);
    for (const c of fresh)
      cw.row()
        .u64(cells.key[c]!)
        .str(cells.names[c]!)
        .f64(cells.lat[c]!)
        .f64(cells.lng[c]!)
        .u64hl(cells.h3Hi[c]!, cells.h3Lo[c]!)
        .u32(cells.city[c]!)
        .u32(now)
        .u8(cells.carrier[c]!);
    const checkpoint = checkpointDue ? this.checkpointRows(dirty) : undefined;
    const started = performance.now();
    try {
      // Snapshots, cells and moves are independent (a move naming a cell not yet written is only
      // read through the cell's key), so they go in parallel. The checkpoint goes last: it moves
      // past the snapshot boundaries and events this flush covers, and only then are they acked.
      await Promise.all([
        this.insert('insight_population', snapshots),
        this.insert('insight_cells', cw.take()),
        this.insert('insight_moves_to', moves, 'Native'),
      ]);
      if (checkpoint) {
        if (mayWrite && !mayWrite()) {
          this.fencedFlushes++;
          return;
        }
        await this.insert('insight_presence', checkpoint, 'Native');
      }
      if (mayWrite && !mayWrite()) {
        this.fencedFlushes++;
        return;
      }
    } catch (err) {
      // Only when stopping for good: leave the messages unacked so JetStream redelivers them.
      cells.returnFresh(fresh);
      state.returnDirty(dirty);
      throw err;
    }
    for (const m of msgs) m.ack();
    if (checkpoint) this.checkpoints++;
    this.flushes++;
    this.flushMs += performance.now() - started;
  }

  /**
   * The checkpoint rows of the subscribers in `dirty`, as a Native block. Gathered in index order
   * (sorted), which reads the state arrays front to back instead of at random.
   */
  private checkpointRows(dirty: number[]): { bytes: Buffer; rows: number } {
    const state = this.opts.state;
    const key = state.cells.key;
    const order = Int32Array.from(dirty).sort();
    const n = order.length;
    const c = this.checkpoint;
    c.reserve(n);
    const [sub, cell, ts, carrier, gender, age, home, detached, pos] = c.data as [
      Uint32Array,
      Uint32Array,
      Uint32Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint32Array,
      Uint8Array,
      Uint32Array,
    ];
    const {
      msisdn: sMsisdn,
      cell: sCell,
      ts: sTs,
      carrier: sCarrier,
      gender: sGender,
      age: sAge,
      home: sHome,
      detached: sDetached,
      pos: sPos,
    } = state;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      setU64(sub, k, sMsisdn[i]!);
      const ci = sCell[i]!;
      setU64(cell, k, ci < 0 ? 0 : key[ci]!);
      setU64(ts, k, sTs[i]!);
      carrier[k] = sCarrier[i]!;
      gender[k] = sGender[i]!;
      age[k] = sAge[i]!;
      home[k] = sHome[i]!;
      detached[k] = sDetached[i]!;
      setU64(pos, k, sPos[i]!);
    }
    c.rows = n;
    return c.take();
  }

  /** Time spent per table in inserts (ms), for the benchmark. */
  readonly insertMs: Record<string, number> = {};

  private async insert(table: string, rows: { bytes: Buffer; rows: number }, format: 'RowBinary' | 'Native' = 'RowBinary'): Promise<void> {
    if (rows.rows === 0) return;
    const t0 = performance.now();
    try {
      await this.insertRetrying(table, rows, format);
    } finally {
      this.insertMs[table] = (this.insertMs[table] ?? 0) + performance.now() - t0;
    }
  }

  private async insertRetrying(table: string, rows: { bytes: Buffer; rows: number }, format: 'RowBinary' | 'Native'): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await insertBody(this.opts.ch, table, format, rows.bytes);
        return;
      } catch (err) {
        if (this.stopping && attempt >= 3) throw err;
        this.opts.log.error({ err, table, rows: rows.rows, attempt }, 'ClickHouse insert failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
      }
    }
  }

  /**
   * Stops consuming, writes what is pending and acks it (SIGTERM path). `flush: false` (the lease
   * was lost): stops without writing; what was not acked is delivered again to the next holder.
   */
  async stop(opts: { flush?: boolean } = {}): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.closeMessages?.();
    await this.loop?.catch(() => undefined);
    if (opts.flush !== false) await this.flush();
    else await this.flushing;
  }
}

/**
 * Makes the durable consumer deliver again, in stream order, everything after its ack floor, when a
 * previous process left messages delivered but unacked (kill -9, or stopped with messages still
 * buffered). Otherwise JetStream hands out newer messages at once and redelivers the pending ones
 * only after `ack_wait`: a subscriber's newer event is then applied to the older checkpointed state
 * and writes a move that never happened (A→C where the stream says A→B→C; the B-event is later
 * skipped as older), beside the A→B and B→C the killed process may already have written. The
 * consumer cannot be moved back, so it is re-created starting at the floor (insight is its only
 * user); events already applied (in the checkpoint) are skipped by stream position as usual.
 */
export async function rewindToAckFloor(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  log: Logger,
  always = false,
): Promise<boolean> {
  let info;
  try {
    info = await jsm.consumers.info(stream, durable);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === 10014) return false; // consumer not found
    throw err;
  }
  if (info.num_ack_pending === 0 && !always) return false;
  const c = info.config;
  const from = info.ack_floor.stream_seq + 1;
  if (info.num_ack_pending === 0) log.info({ durable, from }, 'taking the durable over: re-created from its ack floor');
  else
    log.warn(
      { durable, from, pending: info.num_ack_pending },
      'unacked messages from a previous run: re-delivering them in order from the ack floor',
    );
  await jsm.consumers.delete(stream, durable);
  await jsm.consumers.add(stream, {
    durable_name: durable,
    filter_subject: c.filter_subject,
    ack_policy: AckPolicy.Explicit,
    ack_wait: c.ack_wait,
    max_deliver: c.max_deliver,
    max_ack_pending: c.max_ack_pending,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
  });
  return true;
}

/**
 * One `INSERT … FORMAT RowBinary` (the client's `insert()` does not offer RowBinary; `exec` sends
 * any body). The table name is one of the sink's own constants.
 */
export async function insertRowBinary(ch: ClickHouseClient, table: string, bytes: Buffer): Promise<void> {
  await insertBody(ch, table, 'RowBinary', bytes);
}

/** One `INSERT INTO table FORMAT format` with a body already in that format. */
export async function insertBody(ch: ClickHouseClient, table: string, format: 'RowBinary' | 'Native', bytes: Buffer): Promise<void> {
  const res = await ch.exec({ query: `INSERT INTO ${table} FORMAT ${format}`, values: Readable.from([bytes], { objectMode: false }) });
  res.stream.resume();
  await finished(res.stream);
}

/** Loads cells and the presence checkpoint into memory (once, at start-up). */
export async function restoreState(ch: ClickHouseClient, state: PresenceState): Promise<void> {
  const cells = state.cells;
  const cellRows = await selectRows<{ cell: string; carrier: number; name: string; lat: number; lng: number; city: number }>(
    ch,
    'SELECT toString(cell) AS cell, any(carrier) AS carrier, any(name) AS name, any(lat) AS lat, any(lng) AS lng, any(city) AS city FROM insight_cells GROUP BY cell',
  );
  for (const r of cellRows) cells.restore(Number(r.carrier), r.name, Number(r.cell), r.lat, r.lng, Number(r.city));
  cells.takeFresh();
  const rs = await ch.query({
    query: `SELECT sub, cell, ts, carrier, gender, age, home, detached, pos FROM insight_presence FINAL`,
    format: 'TabSeparated',
  });
  const text = await rs.text();
  // A million rows take seconds: give the event loop a turn now and then so /healthz answers
  // while restoring (a liveness probe would otherwise restart the service mid-restore).
  let since = performance.now();
  for (const line of text.split('\n')) {
    if (!line) continue;
    if (performance.now() - since > YIELD_MS) {
      await new Promise<void>((r) => setImmediate(r));
      since = performance.now();
    }
    const f = line.split('\t');
    const cell = Number(f[1]) === 0 ? -1 : (cells.indexOfKey(Number(f[1])) ?? -1);
    state.restore({
      sub: Number(f[0]),
      cell,
      ts: Number(f[2]),
      carrier: Number(f[3]),
      gender: Number(f[4]),
      age: Number(f[5]),
      home: Number(f[6]),
      detached: Number(f[7]),
      pos: Number(f[8]),
    });
  }
  state.takeDirty();
  const [b] = await selectRows<{ b: number }>(ch, 'SELECT toUInt64(max(bucket)) AS b FROM insight_population');
  const last = Number(b?.b ?? 0) * 1000;
  // Without any snapshot yet, start at the watermark's boundary (nothing to say about earlier ones).
  state.lastBoundary = last > 0 ? last : state.watermark - (state.watermark % 300_000);
}
