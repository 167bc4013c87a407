import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { ensureStream, jetstreamManager, type NatsConnection } from '@geo/infra';
import { decodeLocationMessage } from '../codec/location-codec.ts';
import type { Carrier, LocationEvent } from '../contract.ts';

/**
 * A stream of its own for one test file, so files can run in parallel on the shared nats-server
 * (the real LOCATION stream's `loc.>` may not overlap another stream's subjects).
 */
export async function testLocationStream(nc: NatsConnection, label: string) {
  const tag = `${label}${randomBytes(3).toString('hex')}`;
  const name = `T_${tag.toUpperCase()}`;
  await ensureStream(await jetstreamManager(nc), { name, subjects: [`${tag}.>`] });
  return {
    name,
    subjectOf: (carrier: Carrier, shard: number) => `${tag}.${carrier}.${shard}`,
    /** Reads the whole stream in order: every event of every batch, and each message's Msg-Id. */
    async read(): Promise<{ events: LocationEvent[]; msgIds: string[] }> {
      const jsm = await jetstreamManager(nc);
      const total = (await jsm.streams.info(name)).state.messages;
      const consumer = await jetstream(nc).consumers.get(name);
      const events: LocationEvent[] = [];
      const msgIds: string[] = [];
      for (let seen = 0; seen < total;) {
        const batch = await consumer.fetch({ max_messages: 500, expires: 2000 });
        for await (const m of batch) {
          seen++;
          msgIds.push(m.headers?.get('Nats-Msg-Id') ?? '');
          events.push(...decodeLocationMessage(m.data));
        }
      }
      return { events, msgIds };
    },
  };
}
