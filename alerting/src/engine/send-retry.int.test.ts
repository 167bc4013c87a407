import { describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { WHY_SUBJECT, WhyReply, whyAnswer } from '../contract.ts';
import { CAPS_BUCKET, declareAlertingStreams } from '../streams.ts';
import { engineFixture, requestAll } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, numbers, offset, publishEvents, sleep, until } from '../testing/engine-kit.ts';

/**
 * #19: a batch whose sending keeps failing, while newer events of the same people are applied,
 * was skipped on redelivery (presence already held the newer events), so someone who walked in
 * and out during the failure was never sent nor counted. The candidates themselves are retried.
 * Its own nats-server: the caps bucket is taken away to make sending fail.
 */
const t = engineFixture('send-retry');

describe('sending that fails for a while', () => {
  it('sends the people who walked in and out again while sending failed, once each', async () => {
    const centre: [number, number] = [97, 42];
    const walkers = numbers(5),
      stayers = numbers(5);
    await t.engine.store.submit('retry-1', circleTask(centre, 500));
    await until('running', async () => (await t.engine.store.get('retry-1'))?.task.state === 'running');
    // Sending fails: the budget counters' bucket is gone.
    const jsm = await jetstreamManager(t.nc);
    await jsm.streams.delete(`KV_${CAPS_BUCKET}`);
    const t0 = Date.now();
    await publishEvents(
      t.nc,
      [...walkers, ...stayers].map((m) => event(m, 'cmcc', centre, { ts: t0 })),
    );
    await sleep(1_500);
    // The walkers leave again (newer events) while sending still fails.
    await publishEvents(
      t.nc,
      walkers.map((m) => event(m, 'cmcc', offset(centre, 5_000, 0), { ts: t0 + 1_000 })),
    );
    await sleep(3_000);
    expect(await jobsOf(t.nc, 'retry-1')).toEqual([]);
    // Asked meanwhile why a walker got nothing: the send is failing and being retried.
    const why = await requestAll(t.nc, WHY_SUBJECT, { v: 1, taskId: 'retry-1', msisdn: walkers[0] }, (m) => WhyReply.parse(m));
    expect(whyAnswer(why).reason).toBe('send_failed');
    // The bucket comes back.
    await declareAlertingStreams(t.nc);
    await until('all ten sent', async () => (await jobsOf(t.nc, 'retry-1')).length >= 10, 45_000);
    await sleep(1_500);
    const jobs = await jobsOf(t.nc, 'retry-1');
    expect(jobs.map((j) => j.msisdn).sort()).toEqual([...walkers, ...stayers].sort());
  }, 90_000);
});
