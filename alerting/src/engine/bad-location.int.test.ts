import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connectNats, DEAD_LETTER_STREAM, DeadLetter, ensureDeadLetterStream, type NatsConnection } from '@geo/infra';
import { encodeLocationBatch, locationSubject, shardOf } from '@geo/ingest';
import { declareAll, event, numbers, silent, sleep, until } from './int-test-kit.ts';
import { runEngine, type RunningEngine } from './run-engine.ts';

let nc: NatsConnection;
let eng: RunningEngine | undefined;

beforeAll(async () => {
  nc = await connectNats(inject('natsUrl'), 'alerting-bad-location');
  await declareAll(nc);
  await ensureDeadLetterStream(nc);
});
afterAll(async () => {
  await eng?.stop();
  await nc?.drain();
});

/** Dead letters of alerting whose original payload contains `mark`. */
async function deadLettersWith(mark: string, since: Date): Promise<DeadLetter[]> {
  const js = jetstream(nc, { timeout: 15_000 });
  const info = await (await js.jetstreamManager()).streams.info(DEAD_LETTER_STREAM);
  if (info.state.messages === 0) return [];
  const c = await js.consumers.get(DEAD_LETTER_STREAM, { deliver_policy: DeliverPolicy.StartTime, opt_start_time: since.toISOString() });
  const out: DeadLetter[] = [];
  for (;;) {
    const batch = await c.fetch({ max_messages: 500, expires: 1000 });
    let n = 0;
    for await (const m of batch) {
      n++;
      const d = DeadLetter.parse(m.json());
      if (d.service === 'alerting' && Buffer.from(d.data, 'base64').includes(mark)) out.push(d);
    }
    if (n === 0) return out;
  }
}

describe('malformed LOCATION messages', () => {
  it('dead-letters a corrupt binary batch and a JSON batch with a bad event, each with its reason, and goes on consuming', async () => {
    const since = new Date(Date.now() - 1000);
    eng = await runEngine({ nc, log: silent, shards: [0, 1, 2, 3, 4, 5, 6, 7], instance: 'bad-input', tickMs: 500 });
    await eng.ready;
    const mark = `bad-${Math.random().toString(36).slice(2, 10)}`;
    const [m1, m2] = numbers(2);
    const js = jetstream(nc, { timeout: 15_000 });
    // A binary batch whose carrier column says 9 (the byte after the home column).
    const corrupt = encodeLocationBatch([event(m1, 'cmcc', [81, 41], { cell: `${mark}-bin` })]);
    corrupt[24 + 8 + 8 + 8 + 8 + 4 + 4] = 9;
    await js.publish(locationSubject('cmcc', shardOf(m1)), corrupt);
    await js.publish(locationSubject('cucc', shardOf(m2)), JSON.stringify({ v: 1, events: [{ ...event(m2, 'cucc', [81, 41], { cell: `${mark}-json` }), ts: 'yesterday' }] }));

    let dead: DeadLetter[] = [];
    await until('both dead-lettered', async () => (dead = await deadLettersWith(mark, since)).length >= 2, 60_000);
    const reasons = dead.map((d) => d.reason).sort();
    expect(reasons[0]).toMatch(/^not a LOCATION binary batch: event 0: carrier 9/);
    expect(reasons[1]).toMatch(/^not a LocationBatch: event 0: ts/);

    // Still consuming: good batches (binary) reach presence. Other test files' engines share the
    // durable consumers, so keep publishing fresh people until this engine has seen one.
    const seen = async () => {
      const fresh = numbers(20);
      await Promise.all(fresh.map((m) => js.publish(locationSubject('ctcc', shardOf(m)), encodeLocationBatch([event(m, 'ctcc', [81, 41])]))));
      await sleep(300);
      return fresh.some((m) => eng!.engine.presence.indexOf(m) >= 0);
    };
    await until('a good batch applied after the bad ones', seen, 60_000);
  });
});
