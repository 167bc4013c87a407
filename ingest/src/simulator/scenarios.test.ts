import { describe, expect, it } from 'vitest';
import { loadAdminAreas } from '../geography/admin-areas.ts';
import { buildCells } from './cells.ts';
import { ATTRACTIONS } from './places.ts';
import { buildPopulation } from './population.ts';
import { distanceKm } from './random.ts';
import { createScenario } from './scenarios.ts';

const cells = buildCells(loadAdminAreas(), { seed: 1 });
const pop = buildPopulation(cells, { size: 20_000, seed: 5 });
const NOON_CST = Math.floor(Date.parse('2026-10-02T12:00:00+08:00') / 1000);

describe('scenarios', () => {
  it('sends a holiday crowd to West Lake by day, from all over the province, and nobody at night', () => {
    const lake = ATTRACTIONS.find((a) => a.id === 'west-lake')!;
    const s = createScenario({ kind: 'holiday', area: 'west-lake', share: 0.05, days: 3 }, NOON_CST - 4 * 3600, cells, pop);
    const at = (sec: number) => {
      const cities = new Set<number>();
      let n = 0;
      for (let i = 0; i < pop.size; i++) {
        const c = s.override(i, sec);
        if (c < 0) continue;
        n++;
        expect(distanceKm(cells.lat[c], cells.lng[c], lake.lat, lake.lng)).toBeLessThanOrEqual(lake.radiusKm + 0.01);
        cities.add(cells.city[pop.homeCell[i]]);
      }
      return { n, cities: cities.size };
    };
    const noon = at(NOON_CST + 24 * 3600);
    expect(noon.n).toBeGreaterThan(pop.size * 0.02);
    expect(noon.n).toBeLessThan(pop.size * 0.05);
    expect(noon.cities).toBeGreaterThan(8);
    expect(at(NOON_CST + 12 * 3600).n).toBe(0); // midnight
    expect(at(NOON_CST + 4 * 24 * 3600).n).toBe(0); // after the holiday
  });

  it('refuses an unknown place by name, listing the known ones', () => {
    expect(() => createScenario({ kind: 'typhoon', landfall: 'atlantis' }, NOON_CST, cells, pop)).toThrow(
      /unknown place "atlantis"; known: west-lake/,
    );
  });
});
