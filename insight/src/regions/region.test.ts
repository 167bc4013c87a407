import { describe, expect, it } from 'vitest';
import { CellDictionary } from '../sink/cells.ts';
import { NO_ADMIN_AREAS, Region, RegionError, RegionResolver, compileRegion, regionMask } from './region.ts';

const cells = new CellDictionary();
const names = ['c0', 'c1', 'c2', 'c3'];
[
  [120.0, 30.0],
  [120.01, 30.0],
  [120.02, 30.0],
  [120.0, 30.02],
].forEach(([lng, lat], i) => cells.intern(1, names[i]!, lat!, lng!));
const inside = (r: unknown) => [...regionMask(compileRegion(Region.parse(r), NO_ADMIN_AREAS), cells)];

describe('regions', () => {
  it.each([
    ['a rectangle (edges inclusive)', { shapes: [{ type: 'rectangle', bbox: [119.99, 29.99, 120.01, 30.01] }] }, [1, 1, 0, 0]],
    ['a circle of 1.2 km', { shapes: [{ type: 'circle', center: [120.0, 30.0], radiusM: 1200 }] }, [1, 1, 0, 0]],
    [
      'a polyline 600 m wide',
      {
        shapes: [
          {
            type: 'polyline',
            coordinates: [
              [120.0, 30.002],
              [120.03, 30.002],
            ],
            widthM: 600,
          },
        ],
      },
      [1, 1, 1, 0],
    ],
    [
      'a polygon',
      {
        shapes: [
          {
            type: 'polygon',
            coordinates: [
              [
                [119.995, 29.995],
                [120.015, 29.995],
                [119.995, 30.03],
              ],
            ],
          },
        ],
      },
      [1, 1, 0, 1],
    ],
  ])('tests %s on the exact geometry', (_, r, want) => expect(inside(r)).toEqual(want));

  it('refuses a polygon whose edges cross, naming where', () => {
    const r = Region.parse({
      shapes: [
        {
          type: 'polygon',
          coordinates: [
            [
              [120, 30],
              [120.1, 30.1],
              [120.1, 30],
              [120, 30.1],
            ],
          ],
        },
      ],
    });
    expect(() => compileRegion(r, NO_ADMIN_AREAS)).toThrow(/edges cross near \[120\.05000, 30\.05000\]/);
  });

  const sq = (x: number, y: number, d = 0.01) => [
    [x, y],
    [x + d, y],
    [x + d, y + d],
    [x, y + d],
    [x, y],
  ];
  it.each([
    [
      'a ring of three positions, closed',
      [
        [
          [120, 30],
          [121, 30],
          [120, 30],
        ],
      ],
      /the outer ring has 2 distinct vertices/,
    ],
    [
      'one position four times',
      [
        [
          [120, 30],
          [120, 30],
          [120, 30],
          [120, 30],
        ],
      ],
      /1 distinct vertices/,
    ],
    [
      'collinear vertices',
      [
        [
          [120, 30],
          [120.1, 30],
          [120.2, 30],
          [120, 30],
        ],
      ],
      /encloses no area|edges cross/,
    ],
    ['a hole outside the outer ring', [sq(120, 30), sq(121, 31)], /hole 1 lies outside the outer ring/],
    [
      'an edge across the antimeridian',
      [
        [
          [179, 30],
          [-179, 30],
          [-179, 31],
        ],
      ],
      /crosses the 180° meridian/,
    ],
  ])('refuses %s as alerting does, with a RegionError (a 400)', (_, coordinates, reason) => {
    const r = Region.parse({ shapes: [{ type: 'polygon', coordinates }] });
    expect(() => compileRegion(r, NO_ADMIN_AREAS)).toThrow(RegionError);
    expect(() => compileRegion(r, NO_ADMIN_AREAS)).toThrow(reason);
  });

  it('accepts a polygon with a hole inside and repeated vertices', () => {
    const r = Region.parse({
      shapes: [
        {
          type: 'polygon',
          coordinates: [
            [
              [119.99, 29.99],
              [119.99, 29.99],
              [120.03, 29.99],
              [120.03, 30.03],
              [119.99, 30.03],
            ],
            sq(120.005, 29.995, 0.01),
          ],
        },
      ],
    });
    expect([...regionMask(compileRegion(r, NO_ADMIN_AREAS), cells)]).toEqual([1, 0, 1, 1]);
  });

  it('refuses an unknown area code and an empty region', () => {
    expect(() => compileRegion(Region.parse({ areas: ['330106'] }), NO_ADMIN_AREAS)).toThrow(RegionError);
    expect(Region.safeParse({}).success).toBe(false);
  });
});

describe('regions over the project geography (ingest)', () => {
  it('finds West Lake in Hangzhou (330100) and inside 西湖区 (330106)', async () => {
    const { loadAdminAreas } = await import('@geo/ingest');
    const { adminAreasFrom } = await import('./region.ts');
    const admin = adminAreasFrom(loadAdminAreas());
    expect(admin.cityAt(120.14, 30.245)).toBe(330100);
    const dict = new CellDictionary();
    dict.intern(1, 'westlake', 30.245, 120.14);
    dict.intern(1, 'ningbo', 29.87, 121.55);
    expect([...regionMask(compileRegion(Region.parse({ areas: ['330106'] }), admin), dict)]).toEqual([1, 0]);
  });
});

describe('resolved regions', () => {
  // Two sector cells of one site 38 m apart (the same H3 cell), and one a kilometre away.
  const dict = new CellDictionary();
  dict.intern(1, 'site-a', 30.0, 120.0);
  dict.intern(1, 'site-b', 30.0, 120.0004);
  dict.intern(1, 'far', 30.0, 120.01);
  const resolver = new RegionResolver(dict, NO_ADMIN_AREAS);
  const resolve = (bbox: number[]) => resolver.resolve(Region.parse({ shapes: [{ type: 'rectangle', bbox }] }));

  it('lets history be filtered by H3 alone when no cell outside shares an H3 cell with one inside', () => {
    expect(dict.h3Dec[0]).toBe(dict.h3Dec[1]);
    const both = resolve([119.99, 29.99, 120.001, 30.01]);
    expect(both.indexes).toEqual([0, 1]);
    expect(both.h3s).toHaveLength(1);
    expect(both.h3Exact).toBe(true);
    expect(resolve([120.005, 29.99, 120.02, 30.01]).h3Exact).toBe(true);
  });

  it('falls back to the cells’ keys when a boundary splits the cells of one H3 cell', () => {
    const one = resolve([119.99, 29.99, 120.0002, 30.01]);
    expect(one.indexes).toEqual([0]);
    expect(one.h3Exact).toBe(false);
  });
});
