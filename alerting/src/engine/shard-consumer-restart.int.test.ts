import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { headers, type Subscription } from '@nats-io/nats-core';
import { Kvm } from '@nats-io/kv';
import { Registry } from 'prom-client';
import { jetstreamManager, type LeaseValue, type NatsConnection } from '@geo/infra';
import { LOCATION_STREAM, shardOf } from '@geo/ingest';
import { LEASES_BUCKET, TASKS_BUCKET, declareAlertingStreams, presenceConsumer } from '../streams.ts';
import { TaskStore } from '../tasks/task-store.ts';
import {
  circleTask,
  event,
  jobsOf,
  numbers,
  offset,
  ownNats,
  publishEvents,
  sleep,
  startEngine,
  until,
  type OwnNats,
} from '../testing/engine-kit.ts';
import type { RunningEngine } from './run-engine.ts';

/**
 * A LOCATION shard must keep being evaluated while its lease is held, whatever happens to its
 * consumer (#19: after the NATS cluster lost nodes, `alerting-0` kept 170 messages pending with
 * nothing delivered for 180 s, everything else caught up). Three ways a shard's consumer goes, each
 * brought about for real on a nats-server of this file's own:
 * - the consume iterator ends: nats.js ends it for good on a 400 answer to a pull;
 * - a take-over of the shard fails: it reads the durable consumer and the stream, which fail while
 *   a cluster elects leaders (here: the durable is missing when the lease is won back);
 * - the iterator stays open but its pull requests are gone (the consumer's leader node died with
 *   them; here: the durable is deleted and declared again under it), and nats.js only notices after
 *   two missed idle heartbeats (15 s each by default) and a consumer info.
 */
let own: OwnNats;
let nc: NatsConnection;
let engine: RunningEngine | undefined;
const centre: [number, number] = [101, 41];
let task = 0;

beforeAll(async () => {
  own = await ownNats('shard-restart');
  nc = own.nc;
}, 60_000);
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});
afterAll(async () => {
  await own?.close();
});

/** `n` new numbers whose events go to LOCATION shard 0. */
function shard0Numbers(n: number): string[] {
  const out: string[] = [];
  while (out.length < n) for (const m of numbers(50)) if (shardOf(m) === 0 && out.length < n) out.push(m);
  return out;
}

/** Submits a task around `centre` and waits until its first people (on shard 0) were sent. */
async function alertRunning(): Promise<string> {
  const id = `restart-${++task}`;
  const first = shard0Numbers(3);
  await publishEvents(
    nc,
    first.map((m) => event(m, 'cmcc', offset(centre, 100, 100))),
  );
  await new TaskStore(await new Kvm(nc).open(TASKS_BUCKET)).submit(id, circleTask(centre, 2_000));
  await until('the first people sent', async () => sentTo(await jobsOf(nc, id), first), 30_000);
  return id;
}

const sentTo = (jobs: { msisdn: string }[], who: string[]) => who.every((m) => jobs.some((j) => j.msisdn === m));

/** People of shard 0 walking into the region now; resolves once every one of them was sent. */
async function walkersSent(id: string, timeoutMs: number): Promise<void> {
  const walkers = shard0Numbers(5);
  await publishEvents(
    nc,
    walkers.map((m) => event(m, 'cucc', offset(centre, -200, 50))),
  );
  await until("shard 0's walkers sent", async () => sentTo(await jobsOf(nc, id), walkers), timeoutMs, 250).catch(async (err: Error) => {
    const ci = await (await jetstreamManager(nc)).consumers.info(LOCATION_STREAM, presenceConsumer(0));
    throw new Error(
      `${err.message}; ${presenceConsumer(0)}: ${ci.num_pending} pending, ${ci.num_ack_pending} unacked, ${ci.num_waiting} pulls waiting`,
    );
  });
}

/** The value of a counter (with labels) in the registry's Prometheus text. */
async function metric(registry: Registry, name: string, labels = ''): Promise<number> {
  const text = await registry.metrics();
  const m = new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ''} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** Reply subjects of the pull requests made for a durable (a subscriber sees them as the server does). */
function watchPulls(durable: string): { last: () => string | undefined; sub: Subscription } {
  let last: string | undefined;
  const sub = nc.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${LOCATION_STREAM}.${durable}`, {
    callback: (_err, m) => {
      if (m.reply) last = m.reply;
    },
  });
  return { last: () => last, sub };
}

describe("a LOCATION shard's consumer that goes away while the shard is held", () => {
  it('is started again when nats.js ends its iterator (a 400 to its pull): the people walking in afterwards are sent', async () => {
    const registry = new Registry();
    const pulls = watchPulls(presenceConsumer(0));
    engine = await startEngine(nc, 'restart-ended', { registry, stallMs: 60_000 });
    const id = await alertRunning();
    await until('a pull of shard 0 seen', () => pulls.last() !== undefined, 10_000);
    // The answer nats-server gives a pull it cannot take ("400 Bad Request"): nats.js stops the
    // consume iterator with that error, for good.
    nc.publish(pulls.last()!, new Uint8Array(), { headers: headers(400, 'Bad Request') });
    pulls.sub.unsubscribe();
    await sleep(500);
    await walkersSent(id, 20_000);
    expect(await metric(registry, 'alerting_shard_consumer_restarts_total', 'reason="failed"')).toBeGreaterThanOrEqual(1);
    expect(engine.shards().find((s) => s.shard === 0)).toMatchObject({ consuming: true });
  }, 90_000);

  it('is taken over again when the take-over fails (the durable unreadable when the lease is won back)', async () => {
    const registry = new Registry();
    engine = await startEngine(nc, 'restart-takeover', { registry, stallMs: 60_000, leases: { ttlMs: 2_000, renewMs: 300 } });
    const leases = await new Kvm(nc).open(LEASES_BUCKET);
    const lease = async () => (await leases.get('lease.alerting.s0'))?.json<LeaseValue>();
    await until('shard 0 held', async () => (await lease())?.owner === 'restart-takeover', 30_000);
    const id = await alertRunning();
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.delete(LOCATION_STREAM, presenceConsumer(0));
    // Another instance takes the lease (and dies): the engine loses shard 0, and wins it back once
    // the lease has expired, with the durable still missing.
    const stolen = (await lease())!;
    await leases.put('lease.alerting.s0', JSON.stringify({ owner: 'thief', epoch: stolen.epoch + 1, expiresAt: Date.now() + 1_500 }));
    await until('shard 0 won back', async () => (await lease())?.owner === 'restart-takeover', 20_000);
    // Held and consumed by nobody meanwhile: said so (the shards health check reads it).
    await until(
      'shard 0 reported held, its take-over failing',
      () => {
        const st = engine!.shards().find((s) => s.shard === 0);
        return st?.consuming === false && st.takingOver === true && st.idleMs !== undefined && st.backoffMs > 0;
      },
      10_000,
    );
    await sleep(1_500);
    await declareAlertingStreams(nc, { shards: [0] });
    await walkersSent(id, 30_000);
    expect(await metric(registry, 'alerting_shard_takeover_failures_total')).toBeGreaterThanOrEqual(1);
    expect(engine.shards().find((s) => s.shard === 0)).toMatchObject({ consuming: true });
  }, 120_000);

  it('is restarted when it stalls: messages pending and nothing delivered (its pulls lost with the consumer they went to)', async () => {
    const registry = new Registry();
    engine = await startEngine(nc, 'restart-stalled', { registry, stallMs: 2_000 });
    const id = await alertRunning();
    await sleep(1_000);
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.delete(LOCATION_STREAM, presenceConsumer(0));
    await declareAlertingStreams(nc, { shards: [0] });
    // nats.js would pull again only after two missed idle heartbeats (30 s and more): well within
    // that, the watchdog has restarted the consumer.
    await walkersSent(id, 20_000);
    expect(await metric(registry, 'alerting_shard_consumer_restarts_total', 'reason="stalled"')).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
