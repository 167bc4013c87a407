import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { connectNats, jetstreamManager, type NatsConnection } from '@geo/infra';
import { startTcpProxy, type TcpProxy } from '@geo/infra/testing';
import { LOCATION_STREAM, encodeLocationBatch, locationSubject, shardOf, type Carrier, type LocationEvent } from '@geo/ingest';
import { presenceConsumer } from '../streams.ts';
import { engineFixture } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, numbers, offset, sleep, until } from '../testing/engine-kit.ts';
import type { RunningEngine } from './run-engine.ts';

/**
 * Deliveries lost in transit mid-run. A durable pull consumer whose connection is cut loses the
 * messages the server had already sent; after the reconnect JetStream hands out newer messages at
 * once and redelivers the lost ones only after ack_wait (30 s, kept as deployed). Presence skips an
 * event older than the one applied, so a person who walked A (outside) → B (inside) → C (outside)
 * and whose B was lost would be evaluated A → C, and B skipped when redelivered: never sent,
 * never counted (invariant 3).
 *
 * Its own nats-server: with the shared one, another test file's engine (same durable consumers,
 * same task bucket) could receive B instead of this engine.
 */
const t = engineFixture('lost', { engine: false });
let proxy: TcpProxy;
let engineNc: NatsConnection;
let engine: RunningEngine | undefined;

beforeAll(async () => {
  const url = new URL(t.nats.url);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
  engineNc = await connectNats(`nats://127.0.0.1:${proxy.port}`, 'alerting-lost-deliveries-engine');
});
afterAll(async () => {
  await engine?.stop();
  await engineNc?.close();
  await proxy?.close();
});

/** Publishes one LOCATION message per subject (binary); returns the last stream sequence per shard and how many messages. */
async function publishRound(events: LocationEvent[]): Promise<{ last: Map<number, number>; messages: number }> {
  const js = jetstream(t.nc, { timeout: 15_000 });
  const bySubject = new Map<string, { shard: number; events: LocationEvent[] }>();
  for (const e of events) {
    const shard = shardOf(e.msisdn);
    const s = locationSubject(e.carrier, shard);
    (bySubject.get(s) ?? bySubject.set(s, { shard, events: [] }).get(s)!).events.push(e);
  }
  const last = new Map<number, number>();
  for (const [s, { shard, events: evs }] of bySubject) {
    const { seq } = await js.publish(s, encodeLocationBatch(evs));
    last.set(shard, Math.max(last.get(shard) ?? 0, seq));
  }
  return { last, messages: bySubject.size };
}

describe("LOCATION deliveries lost in transit (the engine's NATS connection cut mid-run)", () => {
  it('sends the people whose inside event was lost: read back from the stream before the newer event that revealed the loss', async () => {
    const centre: [number, number] = [97, 37];
    const far = offset(centre, 50_000, 0);
    const store = await t.taskStore();
    await store.submit('t-lost', circleTask(centre, 5_000));
    let handled = 0;
    const registry = new Registry();
    engine = await t.startEngine('lossy', { nc: engineNc, registry, onBatch: (events) => void (handled += events) });
    await until('the task running', () => engine!.engine.task('t-lost')?.state === 'running');

    const carriers: Carrier[] = ['cmcc', 'cucc', 'ctcc'];
    const walkers = numbers(60);
    const at = Date.now();
    // A: everyone outside, received and evaluated (nobody qualifies).
    await publishRound(walkers.map((m, i) => event(m, carriers[i % 3]!, far, { ts: at - 30_000, cell: 'far-a' })));
    await until('round A handled', () => handled >= walkers.length);

    // B: everyone inside, delivered by the server into a connection that never passes it on, then cut.
    proxy.hold();
    const b = await publishRound(walkers.map((m, i) => event(m, carriers[i % 3]!, offset(centre, i * 10, 0), { ts: at - 20_000 })));
    const jsm = await jetstreamManager(t.nc);
    await until('round B delivered into the held connection', async () => {
      for (const [shard, seq] of b.last)
        if ((await jsm.consumers.info(LOCATION_STREAM, presenceConsumer(shard))).delivered.stream_seq < seq) return false;
      return proxy.held() > 0;
    });
    let reconnected = false;
    void (async () => {
      for await (const s of engineNc.status()) if (s.type === 'reconnect') reconnected = true;
    })();
    proxy.cut();
    await until('the engine reconnected', () => reconnected);
    expect(await jobsOf(t.nc, 't-lost')).toEqual([]);

    // C: everyone outside again, delivered at once after the reconnect (B waits for ack_wait, 30 s).
    await publishRound(walkers.map((m, i) => event(m, carriers[i % 3]!, far, { ts: at - 10_000, cell: 'far-c' })));
    await until('round C handled', () => handled >= 2 * walkers.length);
    await until('every walker sent', async () => (await jobsOf(t.nc, 't-lost')).length >= walkers.length, 15_000).catch(() => undefined);
    await sleep(500);
    const jobs = await jobsOf(t.nc, 't-lost');
    expect(walkers.filter((m) => !jobs.some((j) => j.msisdn === m))).toEqual([]);
    expect(jobs.map((j) => j.msisdn).sort()).toEqual([...walkers].sort());
    const metric = Object.fromEntries(
      (await registry.getSingleMetric('alerting_gap_messages_total')!.get()).values.map((v) => [v.labels.outcome, v.value]),
    );
    // Each shard's gap also spans the other shards' messages (one stream): read, and passed over.
    expect([metric.applied, metric.malformed, metric.missing]).toEqual([b.messages, undefined, undefined]);

    // B's own redelivery (made due now) is skipped by presence as already applied, and acked: nobody twice.
    for (const shard of b.last.keys()) await jsm.consumers.update(LOCATION_STREAM, presenceConsumer(shard), { ack_wait: 1_000_000_000 });
    await until('round B redelivered and acked', async () => {
      for (const shard of b.last.keys())
        if ((await jsm.consumers.info(LOCATION_STREAM, presenceConsumer(shard))).num_ack_pending !== 0) return false;
      return true;
    });
    expect((await jobsOf(t.nc, 't-lost')).map((j) => j.msisdn).sort()).toEqual([...walkers].sort());
  });
  it('reads nothing back when deliveries skip without a connection loss (another instance consumes the same shards), and says so', async () => {
    const centre: [number, number] = [99, 36];
    const store = await t.taskStore();
    await store.submit('t-shared', circleTask(centre, 5_000));
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const registry = new Registry();
    const other = await t.startEngine('other', { log, registry });
    try {
      await until(
        'the task running',
        () => other.engine.task('t-shared')?.state === 'running' && engine!.engine.task('t-shared')?.state === 'running',
      );
      const people = numbers(120);
      const carriers: Carrier[] = ['cmcc', 'cucc', 'ctcc'];
      // Rounds of one message per subject: the two instances' pulls share them out.
      for (let r = 0; r < 5; r++)
        await publishRound(people.slice(r * 24, (r + 1) * 24).map((m, i) => event(m, carriers[i % 3]!, offset(centre, i * 10, r * 10))));
      await until('everyone sent', async () => (await jobsOf(t.nc, 't-shared')).length >= people.length);
      const jobs = await jobsOf(t.nc, 't-shared');
      expect(jobs.map((j) => j.msisdn).sort()).toEqual([...people].sort());
      expect(warnings.some((w) => w.includes('another instance consumes this shard too'))).toBe(true);
      expect((await registry.getSingleMetric('alerting_gap_messages_total')!.get()).values).toEqual([]);
    } finally {
      await other.stop();
    }
  });
});
