import { describe, expect, it } from 'vitest';
import { TaskProgress, progressSubject } from '../contract.ts';
import { engineFixture } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, numbers, offset, publishEvents, sleep, until } from '../testing/engine-kit.ts';

let site = 0;
const nextSite = (): [number, number] => [75 + site++ * 0.5, 33];

// Its own nats-server: another test file's engine on the shared one (same durable consumers)
// would receive some of these events, and this file asks its own engine.
const t = engineFixture('skips');

/** The latest progress of each instance, summed (another file's engine may hold some people). */
function summed(progress: TaskProgress[]) {
  const latest = new Map<string, TaskProgress>();
  for (const p of progress) latest.set(p.instance, p);
  let sent = 0;
  const skipped: Record<string, number> = {};
  for (const p of latest.values()) {
    sent += p.sent.cmcc + p.sent.cucc + p.sent.ctcc;
    for (const [r, n] of Object.entries(p.skipped)) skipped[r] = (skipped[r] ?? 0) + (n ?? 0);
  }
  return { sent, skipped };
}

describe('skip counters', () => {
  it('counts each person held back by a daily cap once, however often the cap is retried', async () => {
    const centre = nextSite();
    const people = numbers(30);
    await publishEvents(
      t.nc,
      people.map((m, i) => event(m, 'cmcc', offset(centre, i * 10, 0))),
    );
    await until('people seen', () => t.seen(...people));
    const progress: TaskProgress[] = [];
    const sub = t.nc.subscribe(progressSubject('t-skips'), { callback: (_e, m) => void progress.push(TaskProgress.parse(m.json())) });
    await t.engine.store.submit('t-skips', circleTask(centre, 1_000, { quota: { cmcc: { total: 100, dailyCap: 10 } } }));
    await until('ten sent', async () => (await jobsOf(t.nc, 't-skips')).length >= 10);
    await until('the rest counted', () => summed(progress).skipped.daily_cap === 20);
    // The cap is tried again every few seconds (CAP_BACKOFF_MS = 5 s) and on every full pass;
    // people also keep producing events inside the region meanwhile.
    for (let r = 1; r <= 3; r++) {
      await sleep(2_500);
      await publishEvents(
        t.nc,
        people.map((m, i) => event(m, 'cmcc', offset(centre, i * 10, r * 10))),
      );
    }
    await sleep(5_000);
    sub.unsubscribe();
    expect((await jobsOf(t.nc, 't-skips')).length).toBe(10);
    expect(summed(progress)).toEqual({ sent: 10, skipped: { daily_cap: 20 } });
  });
});
