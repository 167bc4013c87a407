import { AckPolicy, DeliverPolicy, jetstream, JetStreamApiError, type ConsumerMessages, type JetStreamManager } from '@nats-io/jetstream';
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
    await rewindToAckFloor(jsm, o.stream, o.consumer, o.log, o.alwaysRewind);
    await ensureConsumer(jsm, o.stream, {
      durable_name: o.consumer,
      filter_subject: o.filterSubject,
      ack_wait: ms(o.ackWaitMs ?? 60_000),
      // The sink never gives up on a message: bad ones are dead-lettered, and ClickHouse outages
      // are waited out. Redeliveries are skipped by stream position.
      max_deliver: -1,
      max_ack_pending: 50_000,
    });
    const consumer = await jetstream(o.nc).consumers.get(o.stream, o.consumer);
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
      floor = (await jsm.consumers.info(o.stream, o.consumer)).ack_floor.stream_seq;
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
      what: { stream: o.stream, consumer: durable ? o.consumer : undefined, mode },
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
      ...(durable ? { stall: { ms: o.stallMs ?? DEFAULT_STALL_MS, progress: () => durableProgress(durable, o.stream, o.consumer) } } : {}),
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
