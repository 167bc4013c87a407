import { describe, expect, it } from 'vitest';
import type { LocationEvent } from '@geo/ingest';
import { engineFixture } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, numbers, offset, publishEvents, sleep, until } from '../testing/engine-kit.ts';
import type { RunningEngine } from './run-engine.ts';

const t = engineFixture('edge-int', { server: 'shared', engine: false });
let eng: RunningEngine | undefined;

describe('edge hysteresis on real NATS', () => {
  it('people jittering across the edge every 30 s for 10 minutes get one SMS, with hysteresis and without (once a day, as today)', async () => {
    // Far from the other tests' sites (they simulate Zhejiang; engine.int uses 80°E and east of it).
    const centre: [number, number] = [70.5, 45];
    eng = await t.startEngine('edge-1');
    const run = Math.random().toString(36).slice(2, 8);
    const plain = `t-edge-plain-${run}`,
      hyst = `t-edge-hyst-${run}`;
    await eng.store.submit(plain, circleTask(centre, 1_000, { frequency: 'daily' }));
    await eng.store.submit(
      hyst,
      circleTask(centre, 1_000, { frequency: 'daily', hysteresis: { bufferMeters: 500, minOutsideSeconds: 300 } }),
    );
    await sleep(500);
    const jitter = numbers(6);
    const t0 = Date.now() - 10 * 60_000;
    const events: LocationEvent[] = [];
    // In order per person: 950 m from the centre (inside), then 1,050 m (outside, within the buffer), …
    for (let k = 0; k <= 20; k++)
      for (const [n, m] of jitter.entries())
        events.push(event(m, 'cmcc', offset(centre, k % 2 === 0 ? 950 : 1_050, n * 20), { ts: t0 + k * 30_000, kind: 'handover' }));
    await publishEvents(t.nc, events);
    await until(
      'everyone sent for both tasks',
      async () => (await jobsOf(t.nc, plain)).length >= 6 && (await jobsOf(t.nc, hyst)).length >= 6,
    );
    // Ticks and redeliveries have time to send anyone twice.
    await sleep(1_500);
    for (const id of [plain, hyst]) {
      const jobs = await jobsOf(t.nc, id);
      expect(jobs.map((j) => j.msisdn).sort()).toEqual([...jitter].sort());
    }
  });

  it(
    'in real time, with a minimum dwell: jitter every 5 s reaches a minute of dwell only with hysteresis',
    { timeout: 150_000 },
    async () => {
      const centre: [number, number] = [70.5, 46];
      eng ??= await t.startEngine('edge-1');
      const run = Math.random().toString(36).slice(2, 8);
      const plain = `t-edge-dwell-${run}`,
        hyst = `t-edge-hdwell-${run}`;
      const over = { frequency: 'daily', minDwellMin: 1 } as const;
      await eng.store.submit(plain, circleTask(centre, 1_000, over));
      await eng.store.submit(hyst, circleTask(centre, 1_000, { ...over, hysteresis: { bufferMeters: 500, minOutsideSeconds: 30 } }));
      await sleep(500);
      const jitter = numbers(4);
      const started = Date.now();
      for (let k = 0; Date.now() - started < 80_000; k++) {
        await publishEvents(
          t.nc,
          jitter.map((m, n) => event(m, 'cmcc', offset(centre, k % 2 === 0 ? 950 : 1_050, n * 20), { kind: 'handover' })),
        );
        await sleep(5_000);
      }
      await until('the hysteresis task sent everyone', async () => (await jobsOf(t.nc, hyst)).length >= jitter.length);
      expect((await jobsOf(t.nc, hyst)).map((j) => j.msisdn).sort()).toEqual([...jitter].sort());
      // Without it each return restarted dwell: never a minute on end.
      expect(await jobsOf(t.nc, plain)).toEqual([]);
    },
  );
});
