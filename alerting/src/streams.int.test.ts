import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectNats, jetstreamManager, type NatsConnection } from '@geo/infra';
import { LOCATION_STREAM, declareLocationStream } from '@geo/ingest';
import { declareAlertingStreams, presenceConsumer } from './streams.ts';

let nc: NatsConnection;
beforeAll(async () => {
  nc = await connectNats(inject('natsUrl'), 'alerting-streams');
  await declareLocationStream(nc);
});
afterAll(async () => {
  await nc?.drain();
});

describe('alerting streams', () => {
  it('declares a LOCATION consumer per shard that the server never gives up on (failed batches retried, not dropped)', async () => {
    await declareAlertingStreams(nc, { shards: [0, 1, 2, 3, 4, 5, 6, 7] });
    const jsm = await jetstreamManager(nc);
    for (let shard = 0; shard < 8; shard++) {
      const c = (await jsm.consumers.info(LOCATION_STREAM, presenceConsumer(shard))).config;
      expect({ shard, max_deliver: c.max_deliver, filter: c.filter_subject }).toEqual({ shard, max_deliver: -1, filter: `loc.*.${shard}` });
    }
  });
});
