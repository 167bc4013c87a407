import { describe, expect, it } from 'vitest';
import { engineFixture } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, numbers, offset, publishEvents, sleep, until } from '../testing/engine-kit.ts';

/**
 * Events that arrive while no alerting instance runs (between a stop or a crash and the restart)
 * were never evaluated. The restart replays LOCATION to rebuild presence; a person who walked
 * into the region and out again inside that gap must still be sent, not just tracked.
 *
 * Its own nats-server: with the shared one, another test file's engine (same durable consumers,
 * same task bucket) could evaluate these events live and hide the gap.
 */
const t = engineFixture('gap', { engine: false });

describe('events that arrived while alerting was down', () => {
  it('sends the people who walked in and out again before the restart, once each, and the ones still inside', async () => {
    const centre: [number, number] = [91, 43];
    const far = offset(centre, 50_000, 0);
    const before = numbers(40);
    await publishEvents(
      t.nc,
      before.map((m, i) => event(m, (['cmcc', 'cucc', 'ctcc'] as const)[i % 3], offset(centre, i * 10, 0))),
    );
    const store = await t.taskStore();
    await store.submit('t-gap', circleTask(centre, 5_000));
    const first = await t.startEngine('first');
    await until('the people present at the start are sent', async () => (await jobsOf(t.nc, 't-gap')).length >= before.length);
    await first.stop();

    // Nobody evaluates these: walkers come in and leave again, stayers come in and stay.
    const at = Date.now();
    const walkers = numbers(30);
    const stayers = numbers(10);
    await publishEvents(t.nc, [
      ...walkers.map((m, i) => event(m, (['cmcc', 'cucc', 'ctcc'] as const)[i % 3], offset(centre, 0, i * 10), { ts: at - 20_000 })),
      ...stayers.map((m) => event(m, 'cmcc', offset(centre, 100, 100), { ts: at - 15_000 })),
    ]);
    await publishEvents(
      t.nc,
      walkers.map((m, i) => event(m, (['cmcc', 'cucc', 'ctcc'] as const)[i % 3], far, { ts: at - 10_000, cell: 'far-away' })),
    );

    await t.startEngine('second');
    const want = [...before, ...walkers, ...stayers].sort();
    await until('everyone who was inside is sent', async () => (await jobsOf(t.nc, 't-gap')).length >= want.length, 30_000).catch(
      () => undefined,
    );
    await sleep(1_000);
    const jobs = await jobsOf(t.nc, 't-gap');
    const byNumber = new Map<string, number>();
    for (const j of jobs) byNumber.set(j.msisdn, (byNumber.get(j.msisdn) ?? 0) + 1);
    expect(walkers.filter((m) => !byNumber.has(m))).toEqual([]);
    expect([...byNumber.keys()].sort()).toEqual(want);
    expect([...byNumber.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  });
});
