import { z } from 'zod';
import { jetstream, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ms } from './streams.ts';
import { declareTopology, type TopologyPart } from './topology.ts';

/** Where every service puts what it could not process: `dlq.<service>.<source stream>`. */
export const DEAD_LETTER_STREAM = 'DEAD_LETTER';
export const deadLetterSubject = (service: string, source: string) => `dlq.${service}.${source}`;

/** A dead-letter entry: the original bytes (base64) and a reason a person can act on. */
export const DeadLetter = z.object({
  service: z.string(),
  reason: z.string(),
  at: z.string(),
  source: z.object({
    stream: z.string().optional(),
    subject: z.string(),
    seq: z.number().optional(),
    deliveries: z.number().optional(),
  }),
  data: z.string().describe('original payload, base64 (its first DEAD_LETTER_MAX_DATA bytes when `bytes` is larger)'),
  /** The original payload's size, when only its beginning is kept. */
  bytes: z.number().optional(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;

/** infra's own part of the topology: the dead-letter stream every service writes to. */
export function deadLetterTopology(): TopologyPart {
  return {
    owner: 'infra',
    streams: [{ name: DEAD_LETTER_STREAM, subjects: ['dlq.>'], max_age: ms(30 * 24 * 3600 * 1000), max_bytes: 1024 * 1024 * 1024 }],
    buckets: [],
  };
}

export async function ensureDeadLetterStream(nc: NatsConnection, replicas = 1): Promise<void> {
  await declareTopology(nc, [deadLetterTopology()], replicas);
}

/**
 * How much of a rejected payload a dead letter keeps. Enough to see what was wrong; a payload near
 * nats-server's max_payload (1 MB), grown by a third in base64, would otherwise make an entry the
 * server refuses — and the dead letter would be lost.
 */
export const DEAD_LETTER_MAX_DATA = 64 * 1024;

export interface DeadLetterWriter {
  (reason: string, source: DeadLetter['source'], data: Uint8Array): Promise<void>;
}

export function deadLetterWriter(nc: NatsConnection, service: string): DeadLetterWriter {
  const js = jetstream(nc);
  return async (reason, source, data) => {
    const whole = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const entry: DeadLetter = {
      service,
      reason,
      at: new Date().toISOString(),
      source,
      data: whole.subarray(0, DEAD_LETTER_MAX_DATA).toString('base64'),
      ...(whole.length > DEAD_LETTER_MAX_DATA ? { bytes: whole.length } : {}),
    };
    const subject = deadLetterSubject(service, source.stream ?? 'core');
    await js.publish(subject, JSON.stringify(entry));
  };
}

/** Dead-letters a JetStream message and terminates it so it is never redelivered. */
export async function deadLetterMsg(write: DeadLetterWriter, msg: JsMsg, reason: string): Promise<void> {
  await write(reason, { stream: msg.info.stream, subject: msg.subject, seq: msg.seq, deliveries: msg.info.deliveryCount }, msg.data);
  msg.term(reason.slice(0, 200));
}
