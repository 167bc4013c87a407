import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectNats } from './connect.ts';
import { ensureConsumer, ensureStream, jetstreamManager } from './streams.ts';
import type { NatsConnection } from '@nats-io/transport-node';

let nc: NatsConnection;
const stream = `CONSUMER_UPDATE_${Date.now().toString(36)}`;

beforeAll(async () => {
  nc = await connectNats(inject('natsUrl'), 'infra-consumer-update');
});
afterAll(async () => {
  await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
  await nc?.drain();
});

describe('ensureConsumer on an existing durable consumer', () => {
  it('changes its delivery limit, ack wait and pending limit in place (a deployed consumer gets the new settings)', async () => {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, { name: stream, subjects: [`${stream.toLowerCase()}.>`] });
    await ensureConsumer(jsm, stream, {
      durable_name: 'c',
      filter_subject: `${stream.toLowerCase()}.a`,
      max_deliver: 10,
      ack_wait: 30_000_000_000,
      max_ack_pending: 100,
    });
    await ensureConsumer(jsm, stream, {
      durable_name: 'c',
      filter_subject: `${stream.toLowerCase()}.a`,
      max_deliver: -1,
      ack_wait: 60_000_000_000,
      max_ack_pending: 2_000,
    });
    const c = (await jsm.consumers.info(stream, 'c')).config;
    expect([c.max_deliver, c.ack_wait, c.max_ack_pending]).toEqual([-1, 60_000_000_000, 2_000]);
  });
});
