import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  JetStreamApiError,
  type ConsumerInfo,
  type ConsumerMessages,
  type JetStreamManager,
} from '@nats-io/jetstream';
import {
  ConsumeLoop,
  DEFAULT_STALL_MS,
  deadLetterWriter,
  durableProgress,
  ensureConsumer,
  superviseConsume,
  ms,
  GapFiller,
  streamGapSource,
  type Logger,
  type NatsConnection,
} from '@geo/infra';
import { Counter, type Registry } from 'prom-client';
import type { LocationPolicy } from './policy.ts';
import type { SinkStorage } from './storage.ts';

/** The consume loop gives the event loop a turn after this much work (ms). */
const YIELD_MS = 20;

export interface SinkIntakeOptions {
  nc: NatsConnection;
  log: Logger;
  stream: string;
  consumer: string;
  filterSubject: string;
  registry?: Registry;
  /** See SinkOptions.ackWaitMs. @default 60_000 */
  ackWaitMs?: number;
  /** See SinkOptions.alwaysRewind. */
  alwaysRewind?: boolean;
  /** See SinkOptions.flushEvents. @default 100_000 */
  flushEvents?: number;
  /**
   * The holder's consumer delivered nothing this long while messages were pending for it: it is
   * opened again (CONSUMER_STALL_MS). @default 20000
   */
  stallMs?: number;
  policy: LocationPolicy;
  storage: SinkStorage;
  stopping(): boolean;
}

/**
 * The sink's intake: the stream's messages, in order, to the policy, through infra's ConsumeLoop.
 * The holder consumes the durable (gap fill, dead-lettering, pausing while flushes are far
 * behind); a standby follows the stream with an ordered consumer. Both give the event loop a turn
 * every YIELD_MS of work.
 */
export class SinkIntake {
  /** Fills lost deliveries from the stream (set once consuming starts). */
  gapFiller?: GapFiller;
  /** Time spent parsing and applying messages (ms). */
  get handleMs(): number {
    return this.consumeLoop?.handleMs ?? 0;
  }
  /** When consuming began (performance.now()). */
  consumingSince = 0;
  /** Follow mode: the stream sequence the ordered consumer started at. */
  followFrom = 0;
  /** Times the consume iterator ended, failed or stalled on its own and was opened again. */
  restarts = 0;
  /**
   * The holder's durable: the configured name, or `<name>-<n>` after the n-th rewind (see
   * `rewindToAckFloor`). Undefined until the holder consumes.
   */
  durable?: string;
  private consumeLoop?: ConsumeLoop;
  private loop?: Promise<void>;
  /** Stops consuming (the standby's iterator, or the holder's supervisor). */
  private closeMessages?: () => Promise<void>;
  private closing = false;
  private readonly restartCounter?: Counter<'mode'>;

  constructor(private readonly o: SinkIntakeOptions) {
    if (o.registry)
      this.restartCounter =
        (o.registry.getSingleMetric('insight_sink_consumer_restarts_total') as Counter<'mode'> | undefined) ??
        new Counter({
          name: 'insight_sink_consumer_restarts_total',
          help: "Times the sink's consume iterator ended, failed or stalled while the sink ran and was opened again",
          labelNames: ['mode'],
          registers: [o.registry],
        });
  }

  /** Ingest owns and declares the stream; when insight starts first, wait for it (declaring it here with other options would change ingest's stream). */
  async waitForStream(jsm: JetStreamManager): Promise<void> {
    for (let waited = 0; ; waited++) {
      try {
        await jsm.streams.info(this.o.stream);
        return;
      } catch (err) {
        if (!/stream not found/i.test((err as Error).message) || this.o.stopping()) throw err;
        if (waited % 30 === 0) this.o.log.warn({ stream: this.o.stream }, 'waiting for the stream to be declared (ingest declares it)');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** The holder: declares the durable (from its ack floor) and consumes it. */
  async consumeDurable(jsm: JetStreamManager): Promise<void> {
    const o = this.o;
    const durable = await rewindToAckFloor(jsm, o.stream, o.consumer, o.log, o.alwaysRewind);
    this.durable = durable;
    await ensureConsumer(jsm, o.stream, {
      durable_name: durable,
      filter_subject: o.filterSubject,
      ack_wait: ms(o.ackWaitMs ?? 60_000),
      // The sink never gives up on a message: bad ones are dead-lettered, and ClickHouse outages
      // are waited out. Redeliveries are skipped by stream position.
      max_deliver: -1,
      max_ack_pending: 50_000,
    });
    const consumer = await jetstream(o.nc).consumers.get(o.stream, durable);
    // Deliveries lost in transit (a connection cut) are read back from the stream in order before
    // the newer message that revealed them is applied (see GapFiller).
    const delivered = (await consumer.info(true)).delivered;
    const policy = o.policy;
    const storage = o.storage;
    this.gapFiller = new GapFiller(
      {
        source: streamGapSource(jsm, o.stream),
        filterSubject: o.filterSubject,
        log: o.log,
        registry: o.registry,
        metricName: 'insight_sink_gap_messages_total',
        stopping: o.stopping,
        apply: (seq, data) => policy.handle(data, seq),
      },
      { stream: delivered.stream_seq, delivery: delivered.consumer_seq },
    );
    const writeDead = deadLetterWriter(o.nc, 'insight');
    const flushEvents = o.flushEvents ?? 100_000;
    const loop = new ConsumeLoop({
      log: o.log,
      gaps: this.gapFiller,
      deadLetter: writeDead,
      yieldMs: YIELD_MS,
      stopping: o.stopping,
      handle: (msg) => {
        const bad = policy.handle(msg.data, msg.info.streamSequence, msg);
        if (bad !== undefined || storage.pendingEvents < flushEvents) return bad;
        // One flush in flight while the next batch fills; wait only when far behind (ClickHouse
        // slow or down): the flush is then the message's work in flight, and pulling stops until
        // it is done.
        const flushed = storage.flushQueued(false);
        return storage.pendingEvents >= 3 * flushEvents ? flushed : undefined;
      },
    });
    await this.start(loop, () => consumer.consume({ max_messages: 1000 }), jsm);
  }

  /**
   * Follow mode: the same state as the holder's, for queries. The restored checkpoint covers the
   * durable's ack floor; an ordered consumer (in stream order, re-created by the client at the right
   * sequence after any gap) reads on from there, and events already in the checkpoint are skipped
   * by stream position as in the holder. Nothing is written, acked or dead-lettered.
   */
  async follow(jsm: JetStreamManager): Promise<void> {
    const o = this.o;
    let floor = 0;
    try {
      // The durable in use: the newest generation (a rewind creates `<name>-<n>`).
      const name = await currentDurable(jsm, o.stream, o.consumer);
      if (name) floor = (await jsm.consumers.info(o.stream, name)).ack_floor.stream_seq;
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === 10014)) throw err; // not found: nothing consumed yet
    }
    this.followFrom = floor + 1;
    // The last stream sequence handed over: an iterator opened again (the first one ended for good,
    // #19) reads on after it.
    let last = floor;
    const open = async () =>
      (
        await jetstream(o.nc).consumers.get(o.stream, {
          // A string (not an array): nats.js sends it as `filter_subject`, which nats-server 2.9 takes.
          filter_subjects: o.filterSubject,
          ...(last > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: last + 1 } : { deliver_policy: DeliverPolicy.All }),
        })
      ).consume({ max_messages: 1000 });
    const policy = o.policy;
    const loop = new ConsumeLoop({
      log: o.log,
      yieldMs: YIELD_MS,
      stopping: o.stopping,
      handle: (msg) => {
        last = msg.info.streamSequence;
        return policy.handle(msg.data, last);
      },
      onMalformed: (msg, bad) =>
        o.log.debug({ seq: msg.info.streamSequence, bad }, 'standby skipped a malformed message (the holder dead-letters it)'),
    });
    await this.start(loop, open);
  }

  /**
   * Consumes what `open` gives until closed, through infra's consume supervisor (#19): the iterator is
   * opened again, with back-off, whenever it ends while the sink runs (nats.js ends a consume
   * iterator for good on a 400 answer to a pull or a subscription error). A holder that stops
   * consuming while it holds the lease writes nothing and lets nobody else write; a standby that
   * stops following answers region queries from a state frozen at that moment. The holder's durable
   * (`durable`: its manager) is also replaced when it stalls; messages its old iterator had received
   * but not handed over are read back from the stream by the gap filler (a delivery gap) and acked
   * when they are redelivered. A standby's ordered consumer is opened after the last message it
   * handed over (the client itself re-creates it after gaps and missed heartbeats).
   */
  private async start(loop: ConsumeLoop, open: () => Promise<ConsumerMessages>, durable?: JetStreamManager): Promise<void> {
    const o = this.o;
    const mode = durable ? 'durable' : 'follow';
    this.consumeLoop = loop;
    // A first open that fails fails the start, as before; later ones are the supervisor's to retry.
    let first: ConsumerMessages | undefined = await open();
    const supervisor = superviseConsume({
      what: { stream: o.stream, consumer: durable ? this.durable : undefined, mode },
      log: o.log,
      stopping: () => this.closing || o.stopping(),
      open: async () => {
        const m = first;
        first = undefined;
        return m ?? open();
      },
      loop,
      onRestart: () => {
        this.restarts++;
        this.restartCounter?.inc({ mode });
      },
      ...(durable
        ? { stall: { ms: o.stallMs ?? DEFAULT_STALL_MS, progress: () => durableProgress(durable, o.stream, this.durable ?? o.consumer) } }
        : {}),
    });
    this.closeMessages = () => supervisor.stop();
    this.consumingSince = performance.now();
    this.loop = supervisor.done;
  }

  /** Stops pulling and waits for the loop to end. */
  async close(): Promise<void> {
    this.closing = true;
    await this.closeMessages?.();
    await this.loop?.catch(() => undefined);
  }
}

/** The generation in a sink durable's name: `<base>` is 0, `<base>-<n>` is n; another name undefined. */
export function durableGeneration(base: string, name: string): number | undefined {
  if (name === base) return 0;
  if (!name.startsWith(`${base}-`)) return undefined;
  const tail = name.slice(base.length + 1);
  return /^[1-9]\d{0,14}$/.test(tail) ? Number(tail) : undefined;
}

/**
 * The sink's durables on `stream` for the configured name `base`, oldest generation first: `base`
 * itself (the first one, and every durable before #19's drill 8), then `base-1`, `base-2`, … one per
 * rewind. The last one is the durable in use; older ones are left only by a holder that died
 * between creating a rewind's durable and deleting its predecessor.
 */
export async function sinkDurables(jsm: JetStreamManager, stream: string, base: string): Promise<ConsumerInfo[]> {
  const found: { gen: number; info: ConsumerInfo }[] = [];
  for await (const info of jsm.consumers.list(stream)) {
    const gen = durableGeneration(base, info.name);
    if (gen !== undefined) found.push({ gen, info });
  }
  return found.sort((a, b) => a.gen - b.gen).map((x) => x.info);
}

/** The name of the sink durable in use for `base` (the newest generation), or undefined when there is none yet. */
export async function currentDurable(jsm: JetStreamManager, stream: string, base: string): Promise<string | undefined> {
  return (await sinkDurables(jsm, stream, base)).at(-1)?.name;
}

/**
 * Makes the durable consumer deliver again, in stream order, everything after its ack floor, when a
 * previous process left messages delivered but unacked (kill -9, or stopped with messages still
 * buffered). Otherwise JetStream hands out newer messages at once and redelivers the pending ones
 * only after `ack_wait`: a subscriber's newer event is then applied to the older checkpointed state
 * and writes a move that never happened (A→C where the stream says A→B→C; the B-event is later
 * skipped as older), beside the A→B and B→C the killed process may already have written. A
 * consumer cannot be moved back, so a new one is created starting at the floor (insight is its
 * only user); events already applied (in the checkpoint) are skipped by stream position as usual.
 *
 * The new durable has a **new name**, the next generation (`<base>-<n>`), and only then is the old
 * one deleted (#19, failover drill 8). Deleting and re-adding one name with another deliver policy
 * (or start sequence: neither can be updated) left a NATS node that restarted afterwards unhealthy
 * for good: it recovered the old consumer from its own store, replayed the delete and the add of
 * the same name from its meta log as an *update* of that consumer, which nats-server 2.10 refuses
 * ("Consumer create failed during update … deliver policy can not be updated"), and then reported
 * "monitor goroutine not running" for the consumer (`rewind-cluster.int.test.ts`). Created before
 * the old one is deleted, a holder killed in between leaves two; the next holder takes the newest
 * (its start is the same floor or a later one) and deletes the rest.
 *
 * Returns the name of the durable to consume (`base` when none exists yet).
 */
export async function rewindToAckFloor(jsm: JetStreamManager, stream: string, base: string, log: Logger, always = false): Promise<string> {
  const all = await sinkDurables(jsm, stream, base);
  const info = all.at(-1);
  if (!info) return base;
  const stale = all.slice(0, -1);
  if (info.num_ack_pending === 0 && !always) {
    await deleteDurables(jsm, stream, stale, log);
    return info.name;
  }
  const c = info.config;
  const from = info.ack_floor.stream_seq + 1;
  const name = `${base}-${durableGeneration(base, info.name)! + 1}`;
  if (info.num_ack_pending === 0)
    log.info({ durable: name, was: info.name, from }, 'taking the durable over: a new one from its ack floor');
  else
    log.warn(
      { durable: name, was: info.name, from, pending: info.num_ack_pending },
      'unacked messages from a previous run: re-delivering them in order from the ack floor (a new durable)',
    );
  await jsm.consumers.add(stream, {
    durable_name: name,
    filter_subject: c.filter_subject,
    ack_policy: AckPolicy.Explicit,
    ack_wait: c.ack_wait,
    max_deliver: c.max_deliver,
    max_ack_pending: c.max_ack_pending,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
  });
  await deleteDurables(jsm, stream, all, log);
  return name;
}

/** Deletes superseded sink durables; one that cannot be deleted now is logged and deleted by the next rewind. */
async function deleteDurables(jsm: JetStreamManager, stream: string, old: ConsumerInfo[], log: Logger): Promise<void> {
  for (const o of old)
    try {
      await jsm.consumers.delete(stream, o.name);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === 10014) continue; // already gone
      log.warn({ err, durable: o.name }, 'could not delete a superseded sink durable; the next rewind deletes it');
    }
}
