import { jetstream, type JsMsg } from '@nats-io/jetstream';
import type { Registry } from 'prom-client';
import { GapFiller, deadLetterWriter, streamGapSource, type Logger, type NatsConnection } from '@geo/infra';
import { ConsumeLoop } from '../../../infra/src/nats/consume-loop.ts';
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
}

export interface ShardConsumers {
  /** Consumes one shard until its consumer is closed. */
  consume(shard: number): Promise<void>;
  /** Stops consuming one shard (its lease was lost). */
  close(shard: number): Promise<void>;
  /** Stops every shard and waits for the sends under way. */
  stop(): Promise<void>;
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

  const consumers: { close(): Promise<void> }[] = [];
  const shardConsumers = new Map<number, { close(): Promise<void> }>();
  const inflightAll = new Set<Promise<void>>();

  const jsm = await js.jetstreamManager();
  const gapSource = streamGapSource(jsm, LOCATION_STREAM);
  // Connection losses seen. Deliveries are lost in transit only across one: a gap in the delivery
  // sequence without one means another instance consumes the same durable (see consumeShard).
  let cuts = 0;
  // A QueuedIterator (typed as AsyncIterable): stop() ends it and removes its listener.
  const statuses = nc.status() as ReturnType<NatsConnection['status']> & { stop?(): void };
  const watchingStatus = (async () => {
    for await (const s of statuses) if (s.type === 'disconnect' || s.type === 'reconnect') cuts++;
  })();
  /** Counts `p` as under way for stop() (each shard's loop also counts it against its in-flight limit). */
  const trackAll = (p: Promise<void>): Promise<void> => {
    inflightAll.add(p);
    void p.finally(() => inflightAll.delete(p));
    return p;
  };

  /**
   * Consumes one shard's durable consumer. Deliveries lost in transit (a connection cut: the server
   * sent them, this process never got them; JetStream then hands out newer messages at once and the
   * lost ones only after ack_wait) are read back from the stream and applied in order before the
   * newer message that revealed them (see GapFiller). Without that, presence applies the newer
   * events first and skips the lost ones as older when they come back: someone who walked
   * A → B (inside) → C whose B was lost is evaluated A → C and never sent nor counted.
   *
   * Filled messages are not acked (they have no delivery here): their own redelivery later is
   * skipped by presence as already applied, and acked. Evaluation is synchronous and a fill
   * completes before the revealing message is handled, so events are applied in stream order
   * whatever sends are still in flight.
   *
   * Only the first gap after a connection loss is filled. Nothing stops two instances from
   * consuming one durable (each instance's shards come from its own config, all of them by
   * default): then each one's deliveries skip the other's all the time, and reading those back
   * would evaluate every message twice and stall each one on stream reads. Such a shard is logged
   * once (and costs one fill per connection loss).
   */
  const consumeShard = async (shard: number) => {
    const c = await js.consumers.get(LOCATION_STREAM, presenceConsumer(shard));
    const delivered = (await c.info(true)).delivered;
    const gaps = new GapFiller(
      {
        source: gapSource,
        filterSubject: locationFilter('*', shard),
        log,
        registry: o.registry,
        metricName: 'alerting_gap_messages_total',
        stopping: o.stopping,
        apply: (seq, data) => {
          const r = apply(data, shard, seq);
          if (typeof r === 'string') return r;
          if (r.work === undefined) o.onBatch?.(r.events, 0);
          else
            loop.track(
              trackAll(
                r.work.then(
                  () => o.onBatch?.(r.events, r.jobs),
                  (err) => log.error({ err, seq, shard }, 'sending for a message read back from the stream failed'),
                ),
              ),
            );
          return undefined;
        },
      },
      { stream: delivered.stream_seq, delivery: delivered.consumer_seq },
    );
    // Connection losses before the last gap. Not moved on by gapless deliveries: messages received
    // before a cut may still be handed over from the consumer's buffer after it was seen.
    let cutsSeen = cuts;
    let shared = false;
    const loop: ConsumeLoop = new ConsumeLoop({
      log,
      gaps,
      fillGap: (gap) => {
        if (cutsSeen !== cuts) {
          cutsSeen = cuts;
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
      stopping: o.stopping,
      handle: (m) => handle(m, shard),
    });
    const msgs = await c.consume({ max_messages: o.pullMessages ?? 16 });
    const closer = { close: async () => void (await msgs.close()) };
    consumers.push(closer);
    shardConsumers.set(shard, closer);
    await loop.run(msgs);
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
          stopping: () => o.givesUp(shard),
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

  /** Handles one delivered message: why it is malformed (the loop dead-letters it), or its sends under way. */
  const handle = (m: JsMsg, shard: number): string | Promise<void> | undefined => {
    const r = apply(m.data, shard, m.seq, () => m.working());
    if (typeof r === 'string') return r;
    if (r.work === undefined) {
      m.ack();
      o.onBatch?.(r.events, 0);
      return undefined;
    }
    return trackAll(
      r.work.then(
        () => {
          m.ack();
          o.onBatch?.(r.events, r.jobs);
        },
        (err) => {
          log.error({ err, seq: m.seq }, 'sending failed; the batch will be redelivered');
          m.nak(Math.min(30_000, 500 * 2 ** m.info.deliveryCount));
        },
      ),
    );
  };

  return {
    consume: consumeShard,
    async close(shard) {
      const c = shardConsumers.get(shard);
      shardConsumers.delete(shard);
      await c?.close().catch(() => undefined);
    },
    async stop() {
      await Promise.all(consumers.map((c) => c.close()));
      await Promise.allSettled([...inflightAll]);
      statuses.stop?.();
      await watchingStatus.catch(() => undefined);
    },
  };
}
