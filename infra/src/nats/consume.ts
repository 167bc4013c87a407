import { jetstream, type ConsumerMessages, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { deadLetterMsg, deadLetterWriter } from './dead-letter.ts';
import { jetstreamManager } from './streams.ts';
import { durableProgress, superviseConsume } from './supervised-consume.ts';

export interface ConsumeOptions<T> {
  nc: NatsConnection;
  service: string;
  stream: string;
  consumer: string;
  /** Checked on every message; one that fails goes to the dead-letter stream with zod's reasons. */
  schema: z.ZodType<T>;
  handle: (value: T, msg: JsMsg) => Promise<void>;
  /** After this many failed deliveries the message is dead-lettered (match the consumer's max_deliver). */
  maxDeliver?: number;
  /** Messages pulled at once. */
  batch?: number;
  log: Logger;
  registry?: Registry;
  /**
   * A stall watchdog (see `superviseConsume`): the consumer is opened again when it delivered nothing
   * this long while messages were pending for it. Off by default.
   */
  stallMs?: number;
}

export interface RunningConsumer {
  stop(): Promise<void>;
  /** Resolves when the loop ends (after `stop`: an iterator that ends before is replaced). */
  readonly done: Promise<void>;
  /** Times the consume iterator ended or failed before `stop` and was opened again. */
  readonly restarts: number;
}

/** A person-readable summary of zod issues: `path: message; path: message`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

const counters = new WeakMap<Registry, Counter<'stream' | 'consumer' | 'outcome'>>();
const restartCounters = new WeakMap<Registry, Counter<'stream' | 'consumer' | 'reason'>>();
function restartCounterFor(registry?: Registry) {
  if (!registry) return undefined;
  let c = restartCounters.get(registry);
  if (!c) {
    c = new Counter({
      name: 'consumer_restarts_total',
      help: 'JetStream consume iterators that ended (ended), threw (failed) or stalled (stalled) before being stopped, and were opened again',
      labelNames: ['stream', 'consumer', 'reason'],
      registers: [registry],
    });
    restartCounters.set(registry, c);
  }
  return c;
}
function counterFor(registry?: Registry) {
  if (!registry) return undefined;
  let c = counters.get(registry);
  if (!c) {
    c = new Counter({
      name: 'consumer_messages_total',
      help: 'JetStream messages by outcome',
      labelNames: ['stream', 'consumer', 'outcome'],
      registers: [registry],
    });
    counters.set(registry, c);
  }
  return c;
}

/**
 * Consumes a durable pull consumer: parses JSON, validates with the schema, calls `handle`, acks.
 * Invalid messages are dead-lettered with a reason and never crash the loop; a failing handler
 * gets the message back with a growing delay until `maxDeliver`, then it is dead-lettered.
 *
 * Until `stop`, an iterator that ends is opened again by infra's consume supervisor (with back-off,
 * logged, counted in `consumer_restarts_total`): nats.js ends one for good on a 400 to a pull or a
 * subscription error, and a consumer that silently stopped consuming is the worst failure a queue
 * can have (#19). Messages are handled one at a time, in order.
 */
export async function consumeValidated<T>(opts: ConsumeOptions<T>): Promise<RunningConsumer> {
  const js = jetstream(opts.nc);
  const writeDead = deadLetterWriter(opts.nc, opts.service);
  const maxDeliver = opts.maxDeliver ?? 10;
  const count = counterFor(opts.registry);
  const labels = (outcome: string) => ({ stream: opts.stream, consumer: opts.consumer, outcome });
  const restartCount = restartCounterFor(opts.registry);
  const open = async () => (await js.consumers.get(opts.stream, opts.consumer)).consume({ max_messages: opts.batch ?? 256 });
  // The first open fails the call (a consumer missing at start is a configuration error); later
  // ones are the supervisor's to retry.
  let first: ConsumerMessages | undefined = await open();
  let jsm: Promise<JetStreamManager> | undefined;

  const handleOne = async (msg: JsMsg) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(msg.data));
    } catch (err) {
      await deadLetterMsg(writeDead, msg, `not valid JSON: ${(err as Error).message}`);
      count?.inc(labels('invalid'));
      return;
    }
    const r = opts.schema.safeParse(parsed);
    if (!r.success) {
      await deadLetterMsg(writeDead, msg, `does not match the ${opts.stream} contract: ${describeIssues(r.error)}`);
      count?.inc(labels('invalid'));
      opts.log.warn({ subject: msg.subject, seq: msg.seq }, 'dead-lettered a message that breaks the contract');
      return;
    }
    try {
      await opts.handle(r.data, msg);
      msg.ack();
      count?.inc(labels('ok'));
    } catch (err) {
      const deliveries = msg.info.deliveryCount;
      if (deliveries >= maxDeliver) {
        await deadLetterMsg(writeDead, msg, `handler failed ${deliveries} times: ${(err as Error).message}`);
        count?.inc(labels('dead'));
      } else {
        msg.nak(Math.min(30_000, 250 * 2 ** deliveries));
        count?.inc(labels('retry'));
      }
      opts.log.error({ err, subject: msg.subject, seq: msg.seq, deliveries }, 'message handler failed');
    }
  };

  const loop = superviseConsume({
    what: { stream: opts.stream, consumer: opts.consumer },
    log: opts.log,
    open: async () => {
      const m = first;
      first = undefined;
      return m ?? open();
    },
    handle: async (msg) => {
      try {
        await handleOne(msg);
      } catch (err) {
        // Dead-lettering itself failed (NATS down): leave the message unacked so it comes back.
        opts.log.error({ err, subject: msg.subject }, 'could not dead-letter; message will be redelivered');
      }
    },
    onRestart: (reason) => restartCount?.inc({ stream: opts.stream, consumer: opts.consumer, reason }),
    ...(opts.stallMs
      ? {
          stall: {
            ms: opts.stallMs,
            progress: async () => durableProgress(await (jsm ??= jetstreamManager(opts.nc)), opts.stream, opts.consumer),
          },
        }
      : {}),
  });
  return {
    done: loop.done,
    get restarts() {
      return loop.restarts;
    },
    stop: () => loop.stop(),
  };
}
