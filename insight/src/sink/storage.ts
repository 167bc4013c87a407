import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { JsMsg } from '@nats-io/jetstream';
import type { ClickHouseClient, Logger } from '@geo/infra';
import type { PresenceState, StateSink } from './presence-state.ts';
import { NativeColumns, setU64, type NativeType } from './native-block.ts';
import { RowBinaryWriter } from './row-binary.ts';

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
const sec = (msTime: number) => Math.floor(msTime / 1000);
/**
 * A checkpoint is also due once this many messages wait for their ack (the consumer allows
 * 50,000 unacked; binary batches hold 500 events, JSON ones ~100).
 */
const CHECKPOINT_MESSAGES = 20_000;

export interface SinkStorageOptions {
  ch: ClickHouseClient;
  state: PresenceState;
  log: Logger;
  /** Follow mode (a standby): rows are handed to `population` and `recent` only; nothing is written. */
  follow: boolean;
  /** See SinkOptions.checkpointMs. @default 5000 */
  checkpointMs?: number;
  /** See SinkOptions.mayWrite (the lease fence). @default always */
  mayWrite?: () => boolean;
  population?: { record(bucketMs: number, counts: Uint32Array): void };
  recent?: { record(tsMs: number, sub: number, from: number, to: number): void };
  /** Told the hours (start ms) that each flush's written moves fell in: their pair atoms are (re)filled once settled (`PairFiller`). */
  pairs?: { touched(hoursMs: Iterable<number>): void };
  /** Told at once (holder and standby) each hour a move is applied in, switching from the hour of the move before: readers stop using that hour's pair atoms until it is filled again. */
  pairHours?: { touched(hourMs: number): void };
  /** The sink is stopping: a failing insert gives up after a few attempts instead of waiting ClickHouse out. */
  stopping(): boolean;
}

/**
 * The sink's storage: moves, snapshots, new cells and checkpoint rows gathered into typed-array
 * columns (no per-row strings or objects) and written to ClickHouse in batches; only the
 * checkpoint acks the messages it covers, and the lease fence is checked before anything is written
 * and again before the checkpoint and the acks.
 */
export class SinkStorage implements StateSink {
  private moves = new NativeColumns(MOVE_COLUMNS, 1 << 16);
  private checkpoint = new NativeColumns(CHECKPOINT_COLUMNS, 1 << 16);
  private snapshots = new RowBinaryWriter(1 << 16);
  private unacked: JsMsg[] = [];
  /** Hours (start ms) the moves gathered since the last flush fell in, and the last one (most moves fall in the same hour). */
  private movedHours = new Set<number>();
  private lastHour = -1;
  /** Events taken in since the last flush (a flush is due at `flushEvents`). */
  pendingEvents = 0;
  private flushing: Promise<void> = Promise.resolve();
  private queued?: Promise<void>;
  /** Whether the queued flush must write the checkpoint (an explicit `flush()` asked for it). */
  private queuedFull = false;
  private lastCheckpoint = performance.now();
  /** Checkpoints written (each acks the messages it covers). */
  checkpoints = 0;
  /** Flushes completed, and the time they took (ms). */
  flushes = 0;
  flushMs = 0;
  /** Flushes that found the lease gone and wrote nothing. */
  fencedFlushes = 0;
  /** Time spent per table in inserts (ms), for the benchmark. */
  readonly insertMs: Record<string, number> = {};

  constructor(private readonly opts: SinkStorageOptions) {}

  // StateSink: rows go straight into typed-array columns (no per-row strings or objects).
  /** `insight_moves_to`: ts, sub, from_cell, to_cell, carrier, from_h3, to_h3. */
  move(ts: number, sub: number, from: number, to: number, carrier: number): void {
    this.opts.recent?.record(ts, sub, from, to);
    const hour = ts - (ts % 3_600_000);
    if (hour !== this.lastHour) {
      // Most moves fall in the hour of the one before; a late one switches (and is told).
      this.lastHour = hour;
      this.opts.pairHours?.touched(hour);
      if (!this.opts.follow) this.movedHours.add(hour);
    }
    if (this.opts.follow) return;
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
    if (this.opts.follow) return;
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

  /** Takes in one message's events; `msg` (none for a message read back to fill a gap) is acked after the next checkpoint. */
  taken(msg: JsMsg | undefined, events: number): void {
    this.pendingEvents += events;
    if (msg) this.unacked.push(msg);
  }

  /** Messages waiting for a checkpoint to ack them. */
  get unackedCount(): number {
    return this.unacked.length;
  }

  /** Writes everything pending, the checkpoint included, then acks what it covers. */
  flush(): Promise<void> {
    return this.flushQueued(true);
  }

  /**
   * Flushes run one after another. A flush already queued (not started) takes everything pending
   * when it starts; `full` makes it write the checkpoint whether or not one is due.
   */
  flushQueued(full: boolean): Promise<void> {
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

  /** Resolves when the flushes queued so far have ended (whether or not they wrote). */
  settled(): Promise<void> {
    return this.flushing;
  }

  /**
   * Moves, snapshots and new cells go out on every flush. The checkpoint (each changed
   * subscriber's row) goes out every `checkpointMs`, and only it makes the messages acked: a
   * subscriber seen several times in between costs one row, not one per flush, and the
   * checkpoint is most of what ClickHouse is asked to write. A crash in between redelivers those
   * messages from the ack floor onto the previous checkpoint, which writes the same moves and
   * snapshots again — rows the tables already hold (see LocationSink).
   */
  private async flushNow(full: boolean): Promise<void> {
    if (this.opts.follow) return;
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
    const movedHours = this.movedHours;
    this.movedHours = new Set();
    // The next move is told again, so the hours it adds go to the next flush.
    this.lastHour = -1;
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
      if (movedHours.size) this.opts.pairs?.touched(movedHours);
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
      for (const h of movedHours) this.movedHours.add(h);
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
        if (this.opts.stopping() && attempt >= 3) throw err;
        this.opts.log.error({ err, table, rows: rows.rows, attempt }, 'ClickHouse insert failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
      }
    }
  }
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
