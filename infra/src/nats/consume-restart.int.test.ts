import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { headers } from '@nats-io/nats-core';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { connectNats, type NatsConnection } from './connect.ts';
import { consumeValidated } from './consume.ts';
import { ensureDeadLetterStream } from './dead-letter.ts';
import { ensureConsumer, ensureStream, jetstreamManager } from './streams.ts';
import { until } from '../testing/until.ts';

const Ping = z.object({ id: z.number().int() });

/**
 * A consumer that stops consuming while its service runs is the worst failure a queue can have
 * (#19: alerting's shard 0 after the NATS cluster lost nodes). nats.js ends a consume iterator for
 * good on a 400 answer to a pull; consumeValidated opens it again until it is stopped.
 */
describe('consumeValidated when its consume iterator ends (real nats-server)', () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'consume-restart-test');
    await ensureDeadLetterStream(nc);
  });
  afterAll(async () => nc?.drain());

  it('opens the consumer again and handles the messages published afterwards, counting the restart', async () => {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, { name: 'RESTARTS', subjects: ['restart.>'] });
    await ensureConsumer(jsm, 'RESTARTS', { durable_name: 'restarter' });
    let pull: string | undefined;
    const sniff = nc.subscribe('$JS.API.CONSUMER.MSG.NEXT.RESTARTS.restarter', { callback: (_e, m) => void (pull = m.reply ?? pull) });
    const seen: number[] = [];
    const registry = new Registry();
    const running = await consumeValidated({
      nc,
      service: 'test',
      stream: 'RESTARTS',
      consumer: 'restarter',
      schema: Ping,
      log: pino({ level: 'silent' }),
      registry,
      handle: async (p) => void seen.push(p.id),
    });
    const js = jetstream(nc);
    await js.publish('restart.a', JSON.stringify({ id: 1 }));
    await until('the first message handled', () => seen.includes(1), 10_000);
    await until('a pull seen', () => pull !== undefined, 10_000);
    sniff.unsubscribe();
    // What nats-server answers a pull it cannot take: nats.js stops the iterator with it.
    nc.publish(pull!, new Uint8Array(), { headers: headers(400, 'Bad Request') });
    await new Promise((r) => setTimeout(r, 500));
    await js.publish('restart.a', JSON.stringify({ id: 2 }));
    await until('the message published after the iterator ended handled', () => seen.includes(2), 15_000);
    expect(seen).toEqual([1, 2]);
    expect(running.restarts).toBeGreaterThanOrEqual(1);
    expect(await registry.metrics()).toMatch(/^consumer_restarts_total\{stream="RESTARTS",consumer="restarter",reason="failed"\} [1-9]/m);
    await running.stop();
  });
});
