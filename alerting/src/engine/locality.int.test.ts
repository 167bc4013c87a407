import { beforeAll, describe, expect, it } from 'vitest';
import type { CrowdRule, RegionInput } from '../contract.ts';
import { installIngestAdminAreas } from '../geofence/ingest-admin-areas.ts';
import { engineFixture } from '../testing/engine-fixture.ts';
import { circleTask, event, jobsOf, numbers, offset, publishEvents, sleep, until } from '../testing/engine-kit.ts';

/**
 * Local (本地) vs roaming (外地): the person's home city against the city their current cell lies
 * in, the same for a drawn shape (which has no administrative codes) and a picked district.
 */
beforeAll(() => installIngestAdminAreas());
// Its own nats-server: another test file's engine on the shared one (same durable consumers)
// would receive some of these events, and this file asks its own engine.
const t = engineFixture('locality');

describe('local and roaming', () => {
  it('decides local from the home city against the city of the current cell, for drawn and picked regions alike', async () => {
    // West Lake, in 杭州市 西湖区 (330106).
    const spot: [number, number] = [120.12, 30.24];
    const [hz, xihu, sh, nb, unknown] = numbers(5);
    const homes: Record<string, string | undefined> = {
      [hz]: '330100',
      [xihu]: '330106',
      [sh]: '310101',
      [nb]: '330203',
      [unknown]: undefined,
    };
    const cell = `xihu-${Math.random().toString(36).slice(2, 8)}`;
    await publishEvents(
      t.nc,
      Object.entries(homes).map(([m, home], k) => event(m, (['cmcc', 'cucc', 'ctcc'] as const)[k % 3], offset(spot, 0, 0), { cell, home })),
    );
    await until('people seen', () => t.seen(...Object.keys(homes)));
    const [w, s] = offset(spot, -300, -300),
      [e, n] = offset(spot, 300, 300);
    const rectangle: RegionInput = { parts: [{ kind: 'rectangle', west: w, south: s, east: e, north: n }] };
    const district: RegionInput = { parts: [{ kind: 'admin', code: '330106' }] };
    const keep = (value: 'local' | 'roaming'): CrowdRule[] => [{ attribute: 'locality', action: 'keep', value }];
    const tasks = {
      'loc-rect-local': [rectangle, 'local'],
      'loc-rect-roaming': [rectangle, 'roaming'],
      'loc-district-local': [district, 'local'],
      'loc-district-roaming': [district, 'roaming'],
    } as const;
    for (const [id, [region, value]] of Object.entries(tasks))
      await t.engine.store.submit(id, { ...circleTask(spot, 100), region, rules: keep(value) });
    const mine = async (id: string) =>
      (await jobsOf(t.nc, id))
        .map((j) => j.msisdn)
        .filter((m) => m in homes)
        .sort();
    await until('all four sent', async () => (await Promise.all(Object.keys(tasks).map(mine))).every((s) => s.length === 2));
    await sleep(1_000);
    expect(await mine('loc-rect-local')).toEqual([hz, xihu].sort());
    expect(await mine('loc-district-local')).toEqual([hz, xihu].sort());
    expect(await mine('loc-rect-roaming')).toEqual([sh, nb].sort());
    expect(await mine('loc-district-roaming')).toEqual([sh, nb].sort());
  });
});
