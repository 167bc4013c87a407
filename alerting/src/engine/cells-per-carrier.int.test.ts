import { describe, expect, it } from 'vitest';
import { engineFixture } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, numbers, offset, publishEvents, sleep, until } from '../testing/engine-kit.ts';

// Cell ids are unique only within one carrier's network (an ECGI includes the PLMN): invariant 8.
// Far from the other files' sites (they use latitude 40 and Zhejiang).
let site = 0;
const nextSite = (): [number, number] => [75 + site++ * 0.5, 35];

// Its own nats-server: another test file's engine on the shared one (same durable consumers)
// would receive some of these events, and this file asks its own engine.
const t = engineFixture('cells');

describe('cells keyed by carrier', () => {
  it('evaluates an event of carrier B at its own position when carrier A uses the same cell id elsewhere', async () => {
    const centre = nextSite();
    const tag = Math.random().toString(36).slice(2, 8);
    const shared = `460-shared-${tag}`,
      shared2 = `460-shared2-${tag}`;
    const inside = offset(centre, 100, 0),
      outside = offset(centre, 2_200, 0);
    const [aOut, bIn, aIn, bOut] = numbers(4);
    // cmcc names a cell 2.2 km outside the circle `shared`; cucc has its own `shared` inside it.
    // And the other way round for `shared2`. cmcc's events come first, so a global key would
    // place cucc's people at cmcc's position: a miss inside and a false positive outside.
    await publishEvents(t.nc, [event(aOut, 'cmcc', outside, { cell: shared }), event(aIn, 'cmcc', inside, { cell: shared2 })]);
    await until('cmcc people seen', () => t.seen(aOut, aIn));
    await publishEvents(t.nc, [event(bIn, 'cucc', inside, { cell: shared }), event(bOut, 'cucc', outside, { cell: shared2 })]);
    await until('cucc people seen', () => t.seen(bIn, bOut));
    await t.engine.store.submit('t-cells', circleTask(centre, 1_000));
    await until('the two inside sent', async () => (await jobsOf(t.nc, 't-cells')).length >= 2);
    await sleep(1_000);
    expect((await jobsOf(t.nc, 't-cells')).map((j) => j.msisdn).sort()).toEqual([bIn, aIn].sort());
  });

  it("uses the event's position when a carrier's cell turns up far from where it was known, and counts it", async () => {
    const centre = nextSite();
    const cell = `460-moved-${Math.random().toString(36).slice(2, 8)}`;
    const [before, after] = numbers(2);
    const conflicts = t.engine.engine.presence.cells.relocated;
    await t.engine.store.submit('t-moved', circleTask(centre, 1_000));
    await until('running', async () => (await t.engine.store.get('t-moved'))?.task.state === 'running');
    await publishEvents(t.nc, [event(before, 'ctcc', offset(centre, 3_000, 0), { cell })]);
    await until('first seen', () => t.seen(before));
    // The same carrier reports the id inside the circle now (a re-planned cell, or a feed error).
    await publishEvents(t.nc, [event(after, 'ctcc', offset(centre, 50, 0), { cell })]);
    await until('the one inside sent', async () => (await jobsOf(t.nc, 't-moved')).length >= 1);
    await sleep(1_000);
    expect((await jobsOf(t.nc, 't-moved')).map((j) => j.msisdn)).toEqual([after]);
    expect(t.engine.engine.presence.cells.relocated).toBe(conflicts + 1);
  });
});
