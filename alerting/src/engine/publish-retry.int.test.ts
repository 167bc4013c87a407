import { describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { declareMessagingStreams, SMS_JOBS_STREAM } from '@geo/messaging';
import { Registry } from 'prom-client';
import { engineFixture } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, numbers, publishEvents, sleep, until } from '../testing/engine-kit.ts';

/**
 * #19, the 3-node drill's 936 people never sent: their claims were stored, but the SMS_JOBS
 * publishes of their jobs got no ack (the stream's leader had just been killed) and waited in the
 * publish window's retry list, which only the engine's tick republished; the tick did not run
 * again before the drill ended, and nothing said that jobs were waiting. Here SMS_JOBS answers
 * nothing for a while (the stream gone and a silent subscriber on its subjects: a publish gets no
 * ack, as with a leader lost), and the engine's tick is held back (a period longer than the test):
 * the jobs must go out once the stream is back, whatever the tick does, and the engine must say
 * meanwhile that jobs wait for their publish (what the drill's "quiet" must read).
 */
const t = engineFixture('publish-retry', { engine: false });

describe('jobs whose publish got no ack', () => {
  it('are published again once SMS_JOBS answers, without waiting for a tick, and counted as waiting meanwhile', async () => {
    const registry = new Registry();
    const e = await t.startEngine('publish-retry', { tickMs: 3_600_000, publishTimeoutMs: 1_000, registry });
    const centre: [number, number] = [96, 41];
    const people = numbers(6);
    await e.store.submit('pubretry-1', circleTask(centre, 500));
    await until('running', async () => (await e.store.get('pubretry-1'))?.task.state === 'running');
    await e.idle();

    // SMS_JOBS stops answering: no stream stores the jobs, and a silent subscriber keeps the server
    // from answering "no responders" at once, so each publish waits for its ack until it times out.
    const jsm = await jetstreamManager(t.nc);
    await jsm.streams.delete(SMS_JOBS_STREAM);
    const silent = t.nc.subscribe('sms.jobs.>', { callback: () => undefined });
    await t.nc.flush();

    await publishEvents(
      t.nc,
      people.map((m) => event(m, 'cucc', centre)),
    );
    // Claimed, and their jobs' publishes timed out: they wait in the retry list.
    await until('jobs waiting for their publish', async () => e.awaitingPublish() >= people.length, 30_000);
    const gauge = await registry.getSingleMetricAsString('alerting_jobs_awaiting_publish');
    expect(gauge).toMatch(new RegExp(`alerting_jobs_awaiting_publish ${people.length}\\b`));

    // SMS_JOBS answers again.
    silent.unsubscribe();
    await declareMessagingStreams(t.nc);
    await until('every job published', async () => (await jobsOf(t.nc, 'pubretry-1')).length >= people.length, 30_000);
    await sleep(500);
    const jobs = await jobsOf(t.nc, 'pubretry-1');
    expect(jobs.map((j) => j.msisdn).sort()).toEqual([...people].sort());
    expect(e.awaitingPublish()).toBe(0);
  }, 90_000);
});
