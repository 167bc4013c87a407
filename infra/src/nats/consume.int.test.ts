import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { pino } from 'pino';
import { z } from 'zod';
import { connectNats, type NatsConnection } from './connect.ts';
import { consumeValidated } from './consume.ts';
import { DEAD_LETTER_STREAM, DeadLetter, ensureDeadLetterStream } from './dead-letter.ts';
import { ensureConsumer, ensureStream, jetstreamManager } from './streams.ts';
import { until } from '../testing/until.ts';

const Ping = z.object({ id: z.number().int(), text: z.string().min(1) });

describe('JetStream consumer with a contract (real nats-server)', () => {
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'consume-test');
    await ensureDeadLetterStream(nc);
  });
  afterAll(async () => nc?.drain());

  it('declares streams and consumers idempotently', async () => {
    const jsm = await jetstreamManager(nc);
    for (let i = 0; i < 2; i++) {
      await ensureStream(jsm, { name: 'IDEMP', subjects: ['idemp.>'] });
      await ensureConsumer(jsm, 'IDEMP', { durable_name: 'c1' });
    }
    expect((await jsm.streams.info('IDEMP')).config.subjects).toEqual(['idemp.>']);
    await ensureStream(jsm, { name: 'IDEMP', subjects: ['idemp.>', 'idemp2.>'] });
    expect((await jsm.streams.info('IDEMP')).config.subjects).toEqual(['idemp.>', 'idemp2.>']);
  });

  it('handles valid messages and dead-letters the ones that break the schema, with a reason, without stopping', async () => {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, { name: 'PINGS', subjects: ['ping.>'] });
    await ensureConsumer(jsm, 'PINGS', { durable_name: 'pinger', max_deliver: 3 });
    const js = jetstream(nc);
    await js.publish('ping.a', JSON.stringify({ id: 1, text: 'first' }));
    await js.publish('ping.a', '{not json');
    await js.publish('ping.a', JSON.stringify({ id: 'two', text: '' }));
    await js.publish('ping.a', JSON.stringify({ id: 3, text: 'after the bad ones' }));

    const seen: number[] = [];
    const running = await consumeValidated({
      nc,
      service: 'test',
      stream: 'PINGS',
      consumer: 'pinger',
      schema: Ping,
      log: pino({ level: 'silent' }),
      maxDeliver: 3,
      handle: async (p) => void seen.push(p.id),
    });
    await until('two good messages handled', () => seen.length >= 2, 10_000);
    expect(seen).toEqual([1, 3]);

    const dead = await jsm.streams.info(DEAD_LETTER_STREAM);
    expect(dead.state.messages).toBeGreaterThanOrEqual(2);
    const reasons: string[] = [];
    const c = await jetstream(nc).consumers.get(DEAD_LETTER_STREAM, { filter_subjects: 'dlq.test.PINGS' });
    for (let i = 0; i < 2; i++) {
      const m = await c.next({ expires: 2000 });
      if (!m) break;
      const entry = DeadLetter.parse(m.json());
      reasons.push(entry.reason);
      expect(entry.source.stream).toBe('PINGS');
    }
    expect(reasons[0]).toMatch(/not valid JSON/);
    expect(reasons[1]).toMatch(/id: .*number/i);
    expect(reasons[1]).toMatch(/text/);
    await running.stop();
  });

  it('dead-letters a message whose handler keeps failing, after max deliveries', async () => {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, { name: 'FLAKY', subjects: ['flaky.>'] });
    await ensureConsumer(jsm, 'FLAKY', { durable_name: 'f', max_deliver: 2 });
    await jetstream(nc).publish('flaky.x', JSON.stringify({ id: 9, text: 'boom' }));
    let attempts = 0;
    const running = await consumeValidated({
      nc,
      service: 'test',
      stream: 'FLAKY',
      consumer: 'f',
      schema: Ping,
      log: pino({ level: 'silent' }),
      maxDeliver: 2,
      handle: async () => {
        attempts++;
        throw new Error('downstream unavailable');
      },
    });
    const c = await jetstream(nc).consumers.get(DEAD_LETTER_STREAM, { filter_subjects: 'dlq.test.FLAKY' });
    const m = await c.next({ expires: 10_000 });
    expect(m).not.toBeNull();
    expect(DeadLetter.parse(m!.json()).reason).toMatch(/handler failed 2 times: downstream unavailable/);
    expect(attempts).toBe(2);
    await running.stop();
  });
});
