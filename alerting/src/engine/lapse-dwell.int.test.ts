import { beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { jetstream } from '@nats-io/jetstream';
import type { LeaseValue } from '@geo/infra';
import { shardOf } from '@geo/ingest';
import { LEASES_BUCKET } from '../streams.ts';
import { engineFixture } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, numbers, offset, publishEvents, sleep, until } from '../testing/engine-kit.ts';

/**
 * #19: people a tick finds during a fence lapse (here: their minimum dwell reached) failed with
 * NotOwnedError and were retried only by a later pass over the region's members; the lapse ends with
 * the shard lost and taken again (presence forgotten, replayed from LOCATION, then activation), so
 * someone who walked out before that was sent by nobody: no event of theirs says when the dwell was
 * reached. The tick's people are kept for the new fence and sent when this instance takes the shard
 * again, as the message path keeps its unacked events.
 *
 * Deterministic as lease-lapse.int: the engine's clock moves on by more than the ttl (and the dwell)
 * right after a renewal, so the fence lapses while the lease manager's next tick is a renewal period away.
 */
let skew = 0;
const TTL_MS = 40_000;
const RENEW_MS = 15_000;

const t = engineFixture('lapse-dwell', { engine: { leases: { ttlMs: TTL_MS, renewMs: RENEW_MS }, now: () => Date.now() + skew } });
beforeAll(async () => {
  await until('every shard taken over', async () => t.engine.shards().filter((s) => s.consuming).length === 8, 30_000);
}, 90_000);

async function leaseOf(shard: number): Promise<{ value: LeaseValue; revision: number }> {
  const kv = await new Kvm(jetstream(t.nc)).open(LEASES_BUCKET);
  const e = await kv.get(`lease.alerting.s${shard}`);
  if (!e || e.operation !== 'PUT') throw new Error(`no lease for shard ${shard}`);
  return { value: e.json<LeaseValue>(), revision: e.revision };
}

describe('a tick during a fence lapse', () => {
  it('sends the people whose dwell it found reached while the fence lapsed, though they walked out before the shard was taken again', async () => {
    const centre: [number, number] = [97, 42];
    const walkers = numbers(6);
    await t.engine.store.submit('lapse-dwell', circleTask(centre, 500, { minDwellMin: 1 }));
    await until('running', async () => (await t.engine.store.get('lapse-dwell'))?.task.state === 'running');
    await publishEvents(
      t.nc,
      walkers.map((m) => event(m, 'cmcc', centre, { ts: Date.now() + skew })),
    );
    await until('walkers seen', async () => t.seen(...walkers), 10_000);
    await sleep(1_500);
    expect(await jobsOf(t.nc, 'lapse-dwell')).toEqual([]); // dwell not reached yet
    // Right after a renewal the clock moves on by more than the ttl and the minimum dwell: the ticks
    // find everyone's dwell reached while the fence has lapsed.
    const shard = shardOf(walkers[0]!);
    const before = await leaseOf(shard);
    await until('a renewal', async () => (await leaseOf(shard)).revision !== before.revision, RENEW_MS + 10_000, 50);
    skew += TTL_MS + 30_000;
    await sleep(2_500);
    // They walk out before the lease manager notices the lapse and the shard is taken again.
    await publishEvents(
      t.nc,
      walkers.map((m) => event(m, 'cmcc', offset(centre, 5_000, 0), { ts: Date.now() + skew })),
    );
    await until('the lease taken again', async () => (await leaseOf(shard)).value.epoch > before.value.epoch, RENEW_MS + 15_000);
    await until('every shard consumed again', async () => t.engine.shards().filter((s) => s.consuming).length === 8, 30_000);
    await until(
      'every walker sent',
      async () => new Set((await jobsOf(t.nc, 'lapse-dwell')).map((j) => j.msisdn)).size >= walkers.length,
      20_000,
    ).catch(() => undefined);
    const jobs = await jobsOf(t.nc, 'lapse-dwell');
    expect(jobs.map((j) => j.msisdn).sort()).toEqual([...walkers].sort());
  }, 150_000);
});
