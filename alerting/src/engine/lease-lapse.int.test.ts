import { beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { LeaseValue } from '@geo/infra';
import { shardOf } from '@geo/ingest';
import { CAPS_BUCKET, LEASES_BUCKET, declareAlertingStreams } from '../streams.ts';
import { engineFixture } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, numbers, offset, publishEvents, sleep, until } from '../testing/engine-kit.ts';

/**
 * #19 (nats-cluster-failover missed 2–8 qualifying people): sending failed at the caps KV while a
 * shard's lease lapsed. Sending then found the people "no longer ours" (the fence had lapsed, the
 * lease not yet given up) and dropped them as if sent: the message was acked, the lease was lost and
 * won again by the same instance, and the take-over's replay evaluated only what lay past the ack
 * floor. Someone who walked in and out meanwhile was sent by nobody.
 *
 * Deterministic: the engine's clock is moved on by the lease ttl right after a renewal, so the fence
 * lapses while the lease manager's next tick (which gives the leases up and takes them again) is
 * still a renewal period away; the caps bucket comes back inside that window.
 */
let skew = 0;
const TTL_MS = 40_000;
const RENEW_MS = 15_000;

const t = engineFixture('lease-lapse', { engine: { leases: { ttlMs: TTL_MS, renewMs: RENEW_MS }, now: () => Date.now() + skew } });
beforeAll(async () => {
  await until('every shard taken over', async () => t.engine.shards().filter((s) => s.consuming).length === 8, 30_000);
}, 90_000);

/** The lease of a shard in the bucket (owner, epoch) and the key's revision. */
async function leaseOf(shard: number): Promise<{ value: LeaseValue; revision: number }> {
  const kv = await new Kvm(jetstream(t.nc)).open(LEASES_BUCKET);
  const e = await kv.get(`lease.alerting.s${shard}`);
  if (!e || e.operation !== 'PUT') throw new Error(`no lease for shard ${shard}`);
  return { value: e.json<LeaseValue>(), revision: e.revision };
}

describe('a lease that lapses while sending fails', () => {
  it('sends the people who walked in and out while their shard lease lapsed and was taken again', async () => {
    const centre: [number, number] = [98, 43];
    const walkers = numbers(6);
    await t.engine.store.submit('lapse-1', circleTask(centre, 500));
    await until('running', async () => (await t.engine.store.get('lapse-1'))?.task.state === 'running');
    // Sending fails: the budget counters' bucket is gone.
    await (await jetstreamManager(t.nc)).streams.delete(`KV_${CAPS_BUCKET}`);
    const t0 = Date.now();
    await publishEvents(
      t.nc,
      walkers.map((m) => event(m, 'cmcc', centre, { ts: t0 })),
    );
    await sleep(1_500);
    // They walk out again (newer events) while sending still fails.
    await publishEvents(
      t.nc,
      walkers.map((m) => event(m, 'cmcc', offset(centre, 5_000, 0), { ts: t0 + 1_000 })),
    );
    await sleep(1_500);
    expect(await jobsOf(t.nc, 'lapse-1')).toEqual([]);
    // Right after a renewal, the clock moves on by the ttl: the fence lapses now, the lease manager
    // notices (gives the leases up, takes them again) only at its next tick, RENEW_MS away.
    const shard = shardOf(walkers[0]!);
    const before = await leaseOf(shard);
    await until('a renewal', async () => (await leaseOf(shard)).revision !== before.revision, RENEW_MS + 10_000, 50);
    skew += TTL_MS;
    // The bucket comes back inside that window: the next retry finds the fence lapsed.
    await declareAlertingStreams(t.nc);
    await until('the lease taken again', async () => (await leaseOf(shard)).value.epoch > before.value.epoch, RENEW_MS + 15_000);
    await until('every shard consumed again', async () => t.engine.shards().filter((s) => s.consuming).length === 8, 30_000);
    await until(
      'every walker sent',
      async () => new Set((await jobsOf(t.nc, 'lapse-1')).map((j) => j.msisdn)).size >= walkers.length,
      30_000,
    ).catch(() => undefined);
    const jobs = await jobsOf(t.nc, 'lapse-1');
    expect(jobs.map((j) => j.msisdn).sort()).toEqual([...walkers].sort());
  }, 150_000);
});
