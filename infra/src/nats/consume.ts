import { jetstream, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { deadLetterMsg, deadLetterWriter } from './dead-letter.ts';

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
}

export interface RunningConsumer {
  stop(): Promise<void>;
  /** Resolves when the loop ends. */
  readonly done: Promise<void>;
}

/** A person-readable summary of zod issues: `path: message; path: message`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

const counters = new WeakMap<Registry, Counter<'stream' | 'consumer' | 'outcome'>>();
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
 */
export async function consumeValidated<T>(opts: ConsumeOptions<T>): Promise<RunningConsumer> {
  const js = jetstream(opts.nc);
  const consumer = await js.consumers.get(opts.stream, opts.consumer);
  const writeDead = deadLetterWriter(opts.nc, opts.service);
  const maxDeliver = opts.maxDeliver ?? 10;
  const count = counterFor(opts.registry);
  const labels = (outcome: string) => ({ stream: opts.stream, consumer: opts.consumer, outcome });
  const messages = await consumer.consume({ max_messages: opts.batch ?? 256 });

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

  const done = (async () => {
    for await (const msg of messages) {
      try {
        await handleOne(msg);
      } catch (err) {
        // Dead-lettering itself failed (NATS down): leave the message unacked so it comes back.
        opts.log.error({ err, subject: msg.subject }, 'could not dead-letter; message will be redelivered');
      }
    }
  })();
  return {
    done,
    async stop() {
      await messages.close();
      await done;
    },
  };
}
