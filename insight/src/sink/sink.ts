import { Readable } from 'node:stream';
import { jetstream, type JsMsg } from '@nats-io/jetstream';
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
} from '@geo/infra';
import { Counter, type Registry } from 'prom-client';
import { CARRIER_CODE, streamPos, type EventLike, type PresenceState, type StateSink } from './presence-state.ts';

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
  registry?: Registry;
}

const dec = new TextDecoder();
const sec = (msTime: number) => Math.floor(msTime / 1000);

/** A cheap structural check per event: the stream is internal and ingest validated with zod. */
function looksLikeEvent(e: EventLike): boolean {
  return (
    typeof e === 'object' && e !== null &&
    typeof e.msisdn === 'string' && e.msisdn.length === 11 &&
    CARRIER_CODE[e.carrier] !== undefined &&
    typeof e.ts === 'number' && Number.isFinite(e.ts) && e.ts > 0 &&
    typeof e.cell === 'string' && e.cell.length > 0 &&
    typeof e.lat === 'number' && Number.isFinite(e.lat) &&
    typeof e.lng === 'number' && Number.isFinite(e.lng)
  );
}

/**
 * The ClickHouse sink: consumes LOCATION with its own durable consumer, keeps live presence in
 * memory (PresenceState), and writes in batches of 10k–100k rows: 5-minute presence snapshots,
 * new cells, moves, and the changed subscribers' checkpoint rows — in that order — and only then
 * acks the messages the batch covers.
 *
 * Effects are idempotent: a redelivered message is skipped by stream position once its effect is
 * in the checkpoint; a crash between two inserts can write some rows twice, which the tables
 * absorb (ReplacingMergeTree keyed by the row, or uniq states). A failed insert is retried with
 * back-off for as long as ClickHouse is down; meanwhile nothing is acked and consumption pauses.
 */
export class LocationSink implements StateSink {
  private moves: string[] = [];
  private snapshots: string[] = [];
  private unacked: JsMsg[] = [];
  private pendingEvents = 0;
  private flushing: Promise<void> = Promise.resolve();
  private queued?: Promise<void>;
  private stopping = false;
  private loop?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private closeMessages?: () => Promise<void>;
  private readonly counter?: Counter<'outcome'>;
  /** Events applied since start (for benchmarks and health). */
  applied = 0;
  /** Flushes completed, and the time they took (ms). */
  flushes = 0;
  flushMs = 0;
  /** Time spent parsing and applying messages (ms). */
  handleMs = 0;

  constructor(private readonly opts: SinkOptions) {
    if (opts.registry) {
      this.counter = new Counter({ name: 'insight_sink_events_total', help: 'Location events by outcome', labelNames: ['outcome'], registers: [opts.registry] });
    }
  }

  // StateSink: rows are built as TSV text straight away (no per-row objects).
  move(ts: number, sub: number, from: number, to: number, carrier: number): void {
    const cells = this.opts.state.cells;
    this.moves.push(`${sec(ts)}\t${sub}\t${from < 0 ? 0 : cells.key[from]}\t${cells.key[to]}\t${carrier}\n`);
  }

  snapshot(bucketMs: number, counts: Uint32Array): void {
    const key = this.opts.state.cells.key;
    const t = sec(bucketMs);
    for (let c = 0; c < counts.length; c += 4) {
      const n = counts[c]! + counts[c + 1]! + counts[c + 2]! + counts[c + 3]!;
      if (n > 0) this.snapshots.push(`${t}\t${key[c >> 2]}\t${n}\t${counts[c + 1]}\t${counts[c + 2]}\t${counts[c + 3]}\n`);
    }
  }

  /** Restores presence and cells from ClickHouse, declares the consumer, and starts consuming. */
  async start(): Promise<void> {
    await restoreState(this.opts.ch, this.opts.state);
    const jsm = await jetstreamManager(this.opts.nc);
    // Ingest owns and declares the stream; when insight starts first, wait for it (declaring it
    // here with other options would change ingest's stream).
    for (let waited = 0; ; waited++) {
      try {
        await jsm.streams.info(this.opts.stream);
        break;
      } catch (err) {
        if (!/stream not found/i.test((err as Error).message) || this.stopping) throw err;
        if (waited % 30 === 0) this.opts.log.warn({ stream: this.opts.stream }, 'waiting for the stream to be declared (ingest declares it)');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    await ensureConsumer(jsm, this.opts.stream, {
      durable_name: this.opts.consumer,
      filter_subject: this.opts.filterSubject,
      ack_wait: ms(60_000),
      // The sink never gives up on a message: bad ones are dead-lettered, and ClickHouse outages
      // are waited out. Redeliveries are skipped by stream position.
      max_deliver: -1,
      max_ack_pending: 50_000,
    });
    const consumer = await jetstream(this.opts.nc).consumers.get(this.opts.stream, this.opts.consumer);
    const messages = await consumer.consume({ max_messages: 1000 });
    this.closeMessages = async () => void (await messages.close());
    const writeDead = deadLetterWriter(this.opts.nc, 'insight');
    const flushEvents = this.opts.flushEvents ?? 100_000;
    this.loop = (async () => {
      for await (const msg of messages) {
        const t0 = performance.now();
        const bad = this.handle(msg);
        this.handleMs += performance.now() - t0;
        if (bad) {
          await deadLetterMsg(writeDead, msg, bad).catch((err: unknown) => this.opts.log.error({ err }, 'could not dead-letter'));
          continue;
        }
        if (this.pendingEvents >= flushEvents) {
          // One flush in flight while the next batch fills; wait only when far behind (ClickHouse
          // slow or down), which stops pulling from JetStream.
          const flushed = this.flush();
          if (this.pendingEvents >= 3 * flushEvents) await flushed;
        }
        if (this.stopping) break;
      }
    })();
    this.timer = setInterval(() => {
      if (this.unacked.length > 0) void this.flush().catch(() => undefined);
    }, this.opts.flushMs ?? 1000);
  }

  /** Applies one message; returns a reason when the whole message is malformed. */
  private handle(msg: JsMsg): string | undefined {
    let batch: { v?: unknown; events?: EventLike[] };
    try {
      batch = JSON.parse(dec.decode(msg.data));
    } catch (err) {
      return `not valid JSON: ${(err as Error).message}`;
    }
    if (batch?.v !== 1 || !Array.isArray(batch.events)) return 'not a LocationBatch: expected {"v":1,"events":[…]}';
    const state = this.opts.state;
    const seq = msg.seq;
    const events = batch.events;
    let skipped = 0;
    let applied = 0;
    let invalid = 0;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (!looksLikeEvent(e)) { invalid++; continue; }
      if (state.apply(e, streamPos(seq, i), this)) applied++;
      else skipped++;
    }
    this.applied += applied;
    this.pendingEvents += events.length;
    this.unacked.push(msg);
    if (this.counter) {
      if (applied) this.counter.inc({ outcome: 'applied' }, applied);
      if (skipped) this.counter.inc({ outcome: 'duplicate' }, skipped);
      if (invalid) this.counter.inc({ outcome: 'invalid' }, invalid);
    }
    if (invalid) this.opts.log.warn({ seq, invalid }, 'skipped malformed events in a batch');
    return undefined;
  }

  /** Writes everything pending, then acks what it covers. Flushes run one after another. */
  flush(): Promise<void> {
    // A flush already queued (not started) will take everything pending when it starts.
    if (this.queued) return this.queued;
    const next = this.flushing.then(() => {
      this.queued = undefined;
      return this.flushNow();
    });
    this.queued = next;
    this.flushing = next.catch(() => undefined);
    return next;
  }

  private async flushNow(): Promise<void> {
    const state = this.opts.state;
    const cells = state.cells;
    const msgs = this.unacked;
    const snapshots = this.snapshots;
    const moves = this.moves;
    const fresh = cells.takeFresh();
    const dirty = state.takeDirty();
    this.unacked = [];
    this.snapshots = [];
    this.moves = [];
    this.pendingEvents = 0;
    if (msgs.length === 0 && snapshots.length === 0 && fresh.length === 0 && dirty.length === 0) return;
    const now = sec(Date.now());
    const cellRows = fresh.map((c) => `${cells.key[c]}\t${tsvString(cells.names[c]!)}\t${cells.lat[c]}\t${cells.lng[c]}\t${BigInt(`0x${cells.h3[c]}`)}\t${cells.city[c]}\t${now}\n`);
    const presenceRows = dirty.map((i) =>
      `${state.msisdn[i]}\t${state.cell[i]! < 0 ? 0 : cells.key[state.cell[i]!]}\t${state.ts[i]}\t${state.carrier[i]}\t${state.gender[i]}\t${state.age[i]}\t${state.home[i]}\t${state.detached[i]}\t${state.pos[i]}\n`,
    );
    const started = performance.now();
    try {
      // Order matters: a snapshot is written before the checkpoint that moves past its boundary,
      // and a cell before any row that names it.
      await this.insert('insight_population_5m', snapshots);
      await this.insert('insight_cells', cellRows);
      await this.insert('insight_moves', moves);
      await this.insert('insight_presence', presenceRows);
    } catch (err) {
      // Only when stopping for good: leave the messages unacked so JetStream redelivers them.
      cells.returnFresh(fresh);
      state.returnDirty(dirty);
      throw err;
    }
    for (const m of msgs) m.ack();
    this.flushes++;
    this.flushMs += performance.now() - started;
  }

  /** Time spent per table in inserts (ms), for the benchmark. */
  readonly insertMs: Record<string, number> = {};

  private async insert(table: string, rows: string[]): Promise<void> {
    if (rows.length === 0) return;
    const t0 = performance.now();
    try {
      await this.insertRetrying(table, rows);
    } finally {
      this.insertMs[table] = (this.insertMs[table] ?? 0) + performance.now() - t0;
    }
  }

  private async insertRetrying(table: string, rows: string[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.ch.insert({ table, values: Readable.from([rows.join('')], { objectMode: false }), format: 'TabSeparated' });
        return;
      } catch (err) {
        if (this.stopping && attempt >= 3) throw err;
        this.opts.log.error({ err, table, rows: rows.length, attempt }, 'ClickHouse insert failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
      }
    }
  }

  /** Stops consuming, writes what is pending and acks it (SIGTERM path). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.closeMessages?.();
    await this.loop?.catch(() => undefined);
    await this.flush();
  }
}

function tsvString(s: string): string {
  return s.replace(/[\\\t\n]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : '\\n'));
}

/** Loads cells and the presence checkpoint into memory (once, at start-up). */
export async function restoreState(ch: ClickHouseClient, state: PresenceState): Promise<void> {
  const cells = state.cells;
  const cellRows = await selectRows<{ cell: string; name: string; lat: number; lng: number; city: number }>(
    ch,
    'SELECT toString(cell) AS cell, any(name) AS name, any(lat) AS lat, any(lng) AS lng, any(city) AS city FROM insight_cells GROUP BY cell',
  );
  for (const r of cellRows) cells.restore(r.name, Number(r.cell), r.lat, r.lng, Number(r.city));
  cells.takeFresh();
  const rs = await ch.query({
    query: `SELECT sub, cell, ts, carrier, gender, age, home, detached, pos FROM insight_presence FINAL`,
    format: 'TabSeparated',
  });
  const text = await rs.text();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split('\t');
    const cell = Number(f[1]) === 0 ? -1 : (cells.indexOfKey(Number(f[1])) ?? -1);
    state.restore({
      sub: Number(f[0]), cell, ts: Number(f[2]), carrier: Number(f[3]), gender: Number(f[4]), age: Number(f[5]),
      home: Number(f[6]), detached: Number(f[7]), pos: Number(f[8]),
    });
  }
  state.takeDirty();
  const [b] = await selectRows<{ b: number }>(ch, 'SELECT toUInt64(max(bucket)) AS b FROM insight_population_5m');
  const last = Number(b?.b ?? 0) * 1000;
  // Without any snapshot yet, start at the watermark's boundary (nothing to say about earlier ones).
  state.lastBoundary = last > 0 ? last : state.watermark - (state.watermark % 300_000);
}
