import { describe, expect, it } from 'vitest';
import { adminAreasFrom, type Region } from '../regions/region.ts';
import { SIM_AREAS } from '../test/population.ts';
import { haloTest } from './edge-flow.ts';

describe('the region grown by an edge buffer (haloTest)', () => {
  const admin = adminAreasFrom(SIM_AREAS as never);
  // 330106's east edge is at 120.055°; 0.0015° of longitude at 30° N is about 145 m.
  const district: Region = { areas: ['330106'], shapes: [] };
  const rect: Region = { areas: [], shapes: [{ type: 'rectangle', bbox: [119.995, 29.995, 120.015, 30.005] }] };
  const circle: Region = { areas: [], shapes: [{ type: 'circle', center: [120.0, 30.0], radiusM: 1000 }] };

  it.each([
    ['an area, 145 m past its edge, 500 m buffer', district, 500, [120.0565, 30.03], true],
    ['an area, 145 m past its edge, 100 m buffer', district, 100, [120.0565, 30.03], false],
    ['an area, 145 m diagonally past its corner (~205 m), 250 m buffer', district, 250, [120.0565, 30.0565], true],
    ['an area, far away', district, 500, [121.0, 31.0], false],
    ['a rectangle, 145 m east', rect, 500, [120.0165, 30.0], true],
    ['a rectangle, 145 m east, 100 m buffer', rect, 100, [120.0165, 30.0], false],
    ['a circle, 300 m past its radius', circle, 500, [120.0, 30.0117], true],
    ['a circle, 300 m past its radius, 200 m buffer', circle, 200, [120.0, 30.0117], false],
  ] as const)('%s', (_, region, metres, [x, y], near) => {
    expect(haloTest(region, admin, metres)(x, y)).toBe(near);
  });
});
