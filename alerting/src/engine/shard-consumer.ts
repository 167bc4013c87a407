import { jetstream, type JsMsg } from '@nats-io/jetstream';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  ConsumeLoop,
  DEFAULT_STALL_MS,
  GapFiller,
  deadLetterWriter,
  durableProgress,
  streamGapSource,
  superviseConsume,
  type Logger,
  type NatsConnection,
  type Supervised,
} from '@geo/infra';
import { LOCATION_STREAM, locationFilter } from '@geo/ingest';
import { presenceConsumer } from '../streams.ts';
import type { Engine } from './engine.ts';
import { columnsOf } from './replay.ts';

export interface ShardConsumerOptions {
  nc: NatsConnection;
  engine: Engine;
  log: Logger;
  /** The service is stopping: fills and retries end. */
  stopping: () => boolean;
  /** Sending for a message of this shard should give up (stopping, or the shard's lease lost). */
  givesUp: (shard: number) => boolean;
  /** LOCATION messages handled at once per shard (see RunEngineOptions.inflight). @default 16 */
  inflight?: number;
  /** Messages each shard consumer pulls ahead (see RunEngineOptions.pullMessages). @default 16 */
  pullMessages?: number;
  onBatch?: (events: number, jobs: number) => void;
  registry?: Registry;
  /**
   * A shard consumer waiting this long for a message while its durable has messages pending (and
   * room for more unacked) is stalled: its pull requests were lost (the consumer's leader node
   * died with them) and it is restarted. nats.js notices that itself only after two missed idle
   * heartbeats and a consumer info that may back off 30 s more. @default 20000
   */
  stallMs?: number;
}

/** What a shard's consumer is doing (health, tests). */
export interface ShardConsumerState {
  shard: number;
  /** A consume iterator is open and its loop running. */
  consuming: boolean;
  /** Times it was restarted because it ended, failed to start or stalled while the shard was held. */
  restarts: number;
  /** Since when the loop has been waiting for a message (ms ago), when it is. */
  waitingMs?: number;
  /** How long no iterator has been open (ms), when none is: starting, or restarting after a failure. */
  idleMs?: number;
  /** The restart back-off in effect now (ms): 0 unless waiting to start the consumer again. */
  backoffMs: number;
  /** Lease mode: the shard was won and its take-over (replay, gap, activation) is under way. */
  takingOver?: boolean;
}

export interface ShardConsumers {
  /**
   * Consumes one shard until it is closed (`close`, `stop`): an iterator that ends, fails or stalls
   * meanwhile is replaced (with back-off, logged, counted in `alerting_shard_consumer_restarts_total`),
   * so the promise never settles while the shard is still wanted. A second `consume` of a shard
   * replaces the first.
   */
  consume(shard: number): Promise<void>;
  /** Stops consuming one shard (its lease was lost). */
  close(shard: number): Promise<void>;
  /** Stops every shard and waits for the sends under way. */
  stop(): Promise<void>;
  /**
   * Waits until the sends of a shard's closed runs have ended (a take-over waits for them before it
   * replays the shard: a send still under way holds its people as "being sent", and the replay
   * would pass them by; once it gives up it has given them back, and the replay evaluates them).
   */
  settled(shard: number): Promise<void>;
  /** Each shard being consumed (or restarting), in shard order. */
  states(): ShardConsumerState[];
}

/** One `consume(shard)`: the iterators its supervisor opened one after another, until it is closed. */
interface ShardRun {
  shard: number;
  closed: boolean;
  /** Opens, reopens and watches the shard's consume iterators (set once the previous run has ended). */
  supervisor?: Supervised;
  /** The shard's in-order loop, carried across iterators (set at the first open). */
  loop?: ConsumeLoop;
  /** When the run began (performance.now), for its idle time before its supervisor exists. */
  since: number;
  done: Promise<void>;
}

/**
 * The live path: each LOCATION shard's durable consumer, its messages evaluated in order (a message
 * that fails to decode is dead-lettered with its reason), who qualifies sent persistently, the
 * message acked once they are sent.
 */
export async function shardConsumers(o: ShardConsumerOptions): Promise<ShardConsumers> {
  const { nc, engine, log } = o;
  // A busy 2-core box answers JetStream requests slowly; 5 s (the default) fails good work there.
  const js = jetstream(nc, { timeout: 15_000 });
  const writeDead = deadLetterWriter(nc, 'alerting');

  const runs = new Map<number, ShardRun>();
  const inflightAll = new Set<Promise<void>>();
  /** Sends under way per shard, whichever run started them. */
  const inflightOf = new Map<number, Set<Promise<void>>>();
  const stallMs = o.stallMs ?? DEFAULT_STALL_MS;
  const restartsTotal = o.registry
    ? new Counter({
        name: 'alerting_shard_consumer_restarts_total',
        help: 'LOCATION shard consumers restarted while their shard was held, by why: ended (the iterator ended), failed (it threw or could not start), stalled (waited while messages were pending)',
        labelNames: ['reason'],
        registers: [o.registry],
      })
    : undefined;
  if (o.registry)
    new Gauge({
      name: 'alerting_shard_consumers',
      help: 'LOCATION shards held here, by whether a consume iterator is open for them now (consuming) or being restarted (restarting)',
      labelNames: ['state'],
      registers: [o.registry],
      collect() {
        let consuming = 0;
        for (const r of runs.values()) if (r.supervisor?.consuming) consuming++;
        this.set({ state: 'consuming' }, consuming);
        this.set({ state: 'restarting' }, runs.size - consuming);
      },
    });

  const jsm = await js.jetstreamManager();
  const gapSource = streamGapSource(jsm, LOCATION_STREAM);
  // Connection losses seen. Deliveries are lost in transit only across one (or a restart of the
  // shard's iterator): a gap in the delivery sequence without one means another instance consumes
  // the same durable (see consumeShard).
  let cuts = 0;
  // A QueuedIterator (typed as AsyncIterable): stop() ends it and removes its listener.
  const statuses = nc.status() as ReturnType<NatsConnection['status']> & { stop?(): void };
  const watchingStatus = (async () => {
    for await (const s of statuses) if (s.type === 'disconnect' || s.type === 'reconnect') cuts++;
  })();
  /** Counts `p` as under way for stop() (each shard's loop also counts it against its in-flight limit). */
  const trackAll = (p: Promise<void>, shard: number): Promise<void> => {
    inflightAll.add(p);
    let mine = inflightOf.get(shard);
    if (!mine) inflightOf.set(shard, (mine = new Set()));
    mine.add(p);
    void p.finally(() => {
      inflightAll.delete(p);
      mine.delete(p);
    });
    return p;
  };

  /** Closes a shard's run and waits until its loop has ended. */
  const closeRun = async (run: ShardRun): Promise<void> => {
    run.closed = true;
    await run.supervisor?.stop();
    await run.done;
  };

  /**
   * Consumes one shard's durable consumer until the run is closed. Deliveries lost in transit (a
   * connection cut: the server sent them, this process never got them; JetStream then hands out
   * newer messages at once and the lost ones only after ack_wait) are read back from the stream
   * and applied in order before the newer message that revealed them (see GapFiller). Without
   * that, presence applies the newer events first and skips the lost ones as older when they come
   * back: someone who walked A → B (inside) → C whose B was lost is evaluated A → C and never sent
   * nor counted.
   *
   * Filled messages are not acked (they have no delivery here): their own redelivery later is
   * skipped by presence as already applied, and acked. Evaluation is synchronous and a fill
   * completes before the revealing message is handled, so events are applied in stream order
   * whatever sends are still in flight.
   *
   * Only the first gap after a connection loss (or a restart of the iterator) is filled. Nothing
   * stops two instances from consuming one durable (static shards: each instance's come from its
   * own config, all of them by default): then each one's deliveries skip the other's all the time,
   * and reading those back would evaluate every message twice and stall each one on stream reads.
   * Such a shard is logged once (and costs one fill per connection loss).
   *
   * The iterator is replaced whenever it ends while the shard is wanted: nats.js ends it on a 400
   * to a pull, a subscription error or a closed connection, and a take-over's `consumers.get` can
   * fail while the cluster elects leaders; the watchdog closes one that stalled. The loop and the
   * gap tracker carry on across iterators (the delivery sequence carries on too), a restart
   * counting as a cut: messages the old iterator had buffered but not handed over are not acked,
   * and the first gap after it reads them back.
   */
  const consumeShard = (shard: number): Promise<void> => {
    const previous = runs.get(shard);
    const run: ShardRun = { shard, closed: false, since: performance.now(), done: Promise.resolve() };
    runs.set(shard, run);
    const ending = () => run.closed || o.stopping();
    run.done = (async () => {
      if (previous) await closeRun(previous);
      if (!ending()) await supervise(run);
      // Sends of this run still under way count for stop(); the loop's own limit no longer matters.
      if (runs.get(shard) === run) runs.delete(shard);
    })();
    return run.done;
  };

  /** Consumes the run's shard through infra's consume supervisor until the run is closed or the service stops. */
  const supervise = async (run: ShardRun): Promise<void> => {
    const shard = run.shard;
    const ending = () => run.closed || o.stopping();
    let cutsSeen = cuts;
    let shared = false;
    // The supervisor owns open, reopen with back-off, stall detection and stop; what carries over
    // from one iterator to the next (the in-order loop and its gap tracker, so that the first gap
    // after a restart reads back what the old iterator held) stays here. Taking the shard over
    // again when the take-over fails is the engine's (run-engine), which holds the lease.
    const supervisor = superviseConsume({
      what: { shard, consumer: presenceConsumer(shard) },
      log,
      stopping: ending,
      open: async () => {
        const c = await js.consumers.get(LOCATION_STREAM, presenceConsumer(shard));
        if (!run.loop) {
          const delivered = (await c.info(true)).delivered;
          const gaps = new GapFiller(
            {
              source: gapSource,
              filterSubject: locationFilter('*', shard),
              log,
              registry: o.registry,
              metricName: 'alerting_gap_messages_total',
              stopping: ending,
              apply: (seq, data) => {
                const r = apply(data, shard, seq, () => ending() || o.givesUp(shard));
                if (typeof r === 'string') return r;
                if (r.work === undefined) o.onBatch?.(r.events, 0);
                else
                  loop.track(
                    trackAll(
                      r.work.then(
                        () => o.onBatch?.(r.events, r.jobs),
                        (err) => log.error({ err, seq, shard }, 'sending for a message read back from the stream failed'),
                      ),
                      shard,
                    ),
                  );
                return undefined;
              },
            },
            { stream: delivered.stream_seq, delivery: delivered.consumer_seq },
          );
          const loop: ConsumeLoop = new ConsumeLoop({
            log,
            gaps,
            // Connection losses and restarts before the last gap. Not moved on by gapless
            // deliveries: messages received before a cut may still be handed over from the
            // consumer's buffer after it was seen.
            fillGap: (gap) => {
              const restarts = run.supervisor?.restarts ?? 0;
              if (cutsSeen !== cuts + restarts) {
                cutsSeen = cuts + restarts;
                return true;
              }
              if (!shared) {
                shared = true;
                log.warn(
                  { shard, consumer: presenceConsumer(shard), gap },
                  "another instance consumes this shard too (its deliveries skip without a connection loss): each instance sees part of its people's events",
                );
              }
              return false;
            },
            deadLetter: writeDead,
            inflight: o.inflight ?? 16,
            stopping: ending,
            handle: (m) => handle(m, run),
          });
          run.loop = loop;
        }
        return c.consume({ max_messages: o.pullMessages ?? 16 });
      },
      // Read through the run: the loop is made at the first open, and carried on across iterators.
      loop: {
        run: (messages) => run.loop!.run(messages),
        get waitingSince() {
          return run.loop?.waitingSince;
        },
        get handled() {
          return run.loop?.handled ?? 0;
        },
      },
      onRestart: (reason) => restartsTotal?.inc({ reason }),
      stall: { ms: stallMs, progress: () => durableProgress(jsm, LOCATION_STREAM, presenceConsumer(shard)) },
    });
    run.supervisor = supervisor;
    await supervisor.done;
  };

  /**
   * Applies one LOCATION message (stream sequence `seq`): evaluates its events synchronously, in
   * order, then sends who qualifies. Returns the work still running, or why
   * the whole message is malformed.
   */
  const apply = (
    data: Uint8Array,
    shard: number,
    seq: number,
    stopping: () => boolean,
    heartbeat?: () => void,
  ): { events: number; jobs: number; work?: Promise<unknown> } | string => {
    const events = columnsOf(data);
    if (typeof events === 'string') return events;
    const cands = engine.applyColumns(events, true);
    const work: Promise<unknown>[] = [];
    // The candidates are retried until sent, the message kept unacked (and in progress) meanwhile:
    // a restart before they are sent evaluates it again from the ack floor.
    if (cands.length)
      work.push(
        engine.sendPersistently(cands, {
          heartbeat,
          stopping,
          onError: (err, attempt) =>
            (attempt === 0 ? log.error : log.warn).call(
              log,
              { err, seq, shard, people: cands.length, attempt },
              'sending failed; retrying these people',
            ),
        }),
      );
    return {
      events: events.count,
      jobs: cands.length,
      work: work.length === 0 ? undefined : work.length === 1 ? work[0] : Promise.all(work),
    };
  };

  /**
   * Handles one delivered message of a run: why it is malformed (the loop dead-letters it), or its
   * sends under way. Once the run is closed (the shard's lease lost, or the service stopping) its
   * messages are left unacked: sending drops the people of a shard no longer held ("the new
   * owner's"), and an ack would move the ack floor past them, so the next holder's take-over
   * (which evaluates only what lies past the floor) would skip them too — someone who walked in and
   * out meanwhile was then sent by nobody. Unacked, they are evaluated by the take-over's replay and
   * their redelivery is skipped as already applied.
   */
  const handle = (m: JsMsg, run: ShardRun): string | Promise<void> | undefined => {
    const shard = run.shard;
    const dropped = () => run.closed || o.givesUp(shard);
    if (dropped()) return undefined;
    const r = apply(m.data, shard, m.seq, dropped, () => m.working());
    if (typeof r === 'string') return r;
    if (r.work === undefined) {
      m.ack();
      o.onBatch?.(r.events, 0);
      return undefined;
    }
    return trackAll(
      r.work.then(
        () => {
          if (dropped()) return;
          m.ack();
          o.onBatch?.(r.events, r.jobs);
        },
        (err) => {
          if (dropped()) return;
          log.error({ err, seq: m.seq }, 'sending failed; the batch will be redelivered');
          m.nak(Math.min(30_000, 500 * 2 ** m.info.deliveryCount));
        },
      ),
      shard,
    );
  };

  return {
    consume: consumeShard,
    async close(shard) {
      const run = runs.get(shard);
      if (run) await closeRun(run);
    },
    async settled(shard) {
      const mine = inflightOf.get(shard);
      while (mine?.size) await Promise.allSettled([...mine]);
    },
    async stop() {
      await Promise.all([...runs.values()].map(closeRun));
      await Promise.allSettled([...inflightAll]);
      statuses.stop?.();
      await watchingStatus.catch(() => undefined);
    },
    states() {
      const now = performance.now();
      return [...runs.values()]
        .sort((a, b) => a.shard - b.shard)
        .map((r) => {
          const sup = r.supervisor;
          const consuming = sup?.consuming ?? false;
          const idleSince = sup ? sup.idleSince : r.since;
          return {
            shard: r.shard,
            consuming,
            restarts: sup?.restarts ?? 0,
            backoffMs: sup?.backoffMs ?? 0,
            ...(r.loop?.waitingSince !== undefined && consuming ? { waitingMs: Math.round(now - r.loop.waitingSince) } : {}),
            ...(idleSince !== undefined && !consuming ? { idleMs: Math.round(now - idleSince) } : {}),
          };
        });
    },
  };
}
