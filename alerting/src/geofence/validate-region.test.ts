import { describe, expect, it } from 'vitest';
import type { RegionPart } from '../contract.ts';
import { REGION_LIMITS, regionIssues, type RegionIssueReason } from './validate-region.ts';

const square: [number, number][] = [
  [120, 30],
  [120.1, 30],
  [120.1, 30.1],
  [120, 30.1],
  [120, 30],
];
const star = (n: number): [number, number][] =>
  Array.from({ length: n }, (_, i) => {
    const a = (i / n) * 2 * Math.PI,
      r = i % 2 ? 0.05 : 0.1;
    return [120 + r * Math.cos(a), 30 + r * Math.sin(a)];
  });

const cases: { name: string; parts: RegionPart[]; reason?: RegionIssueReason; message?: RegExp }[] = [
  { name: 'a plain square', parts: [{ kind: 'polygon', rings: [square] }] },
  { name: 'an unclosed ring (closed for you)', parts: [{ kind: 'polygon', rings: [square.slice(0, 4)] }] },
  { name: 'a concave star', parts: [{ kind: 'polygon', rings: [star(40)] }] },
  {
    name: 'a square with a hole',
    parts: [
      {
        kind: 'polygon',
        rings: [
          square,
          [
            [120.03, 30.03],
            [120.06, 30.03],
            [120.06, 30.06],
            [120.03, 30.06],
          ],
        ],
      },
    ],
  },
  {
    name: 'circle, rectangle, polyline and admin area together',
    parts: [
      { kind: 'circle', center: [120, 30], radiusM: 500 },
      { kind: 'rectangle', west: 120, south: 30, east: 120.2, north: 30.2 },
      {
        kind: 'polyline',
        path: [
          [120, 30],
          [120.1, 30.1],
        ],
        bufferM: 200,
      },
      { kind: 'admin', code: '330106', geometry: { type: 'MultiPolygon', coordinates: [[square]] } },
    ],
  },
  { name: 'an empty region', parts: [], reason: 'empty', message: /region is empty/ },
  {
    name: 'a bow-tie polygon',
    parts: [
      {
        kind: 'polygon',
        rings: [
          [
            [0, 0],
            [1, 1],
            [1, 0],
            [0, 1],
          ],
        ],
      },
    ],
    reason: 'self_intersection',
    message: /edges cross: edge 0 of the outer ring meets edge 2/,
  },
  {
    name: 'a hole crossing the outer ring',
    parts: [
      {
        kind: 'polygon',
        rings: [
          square,
          [
            [120.05, 30.05],
            [120.2, 30.05],
            [120.2, 30.06],
            [120.05, 30.06],
          ],
        ],
      },
    ],
    reason: 'self_intersection',
    message: /hole 1/,
  },
  {
    name: 'a hole outside the outer ring',
    parts: [
      {
        kind: 'polygon',
        rings: [
          square,
          [
            [121, 31],
            [121.01, 31],
            [121.01, 31.01],
          ],
        ],
      },
    ],
    reason: 'hole_outside',
  },
  {
    name: 'a spike folding back on itself',
    parts: [
      {
        kind: 'polygon',
        rings: [
          [
            [0, 0],
            [2, 0],
            [1, 0],
            [1, 1],
          ],
        ],
      },
    ],
    reason: 'self_intersection',
  },
  {
    name: 'a two-vertex polygon',
    parts: [
      {
        kind: 'polygon',
        rings: [
          [
            [0, 0],
            [1, 1],
            [0, 0],
          ],
        ],
      },
    ],
    reason: 'too_few_vertices',
    message: /at least 3/,
  },
  { name: 'a polygon with no rings', parts: [{ kind: 'polygon', rings: [] }], reason: 'empty' },
  {
    name: 'collinear vertices enclosing nothing',
    parts: [
      {
        kind: 'polygon',
        rings: [
          [
            [0, 0],
            [1, 0],
            [2, 0],
            [3, 0],
          ],
        ],
      },
    ],
    reason: 'self_intersection',
  },
  {
    name: 'too many vertices',
    parts: [{ kind: 'polygon', rings: [star(REGION_LIMITS.maxDrawnVertices + 2)] }],
    reason: 'too_many_vertices',
    message: /at most 10000/,
  },
  {
    name: 'a latitude beyond 90',
    parts: [
      {
        kind: 'polygon',
        rings: [
          [
            [0, 0],
            [1, 95],
            [1, 0],
          ],
        ],
      },
    ],
    reason: 'out_of_range',
  },
  {
    name: 'a zero radius',
    parts: [{ kind: 'circle', center: [120, 30], radiusM: 0 }],
    reason: 'radius_not_positive',
    message: /greater than 0 m \(got 0\)/,
  },
  { name: 'a negative radius', parts: [{ kind: 'circle', center: [120, 30], radiusM: -5 }], reason: 'radius_not_positive' },
  { name: 'a huge radius', parts: [{ kind: 'circle', center: [120, 30], radiusM: 2e6 }], reason: 'radius_too_large' },
  {
    name: 'an inverted rectangle',
    parts: [{ kind: 'rectangle', west: 121, south: 30, east: 120, north: 31 }],
    reason: 'degenerate_rectangle',
  },
  { name: 'a one-point polyline', parts: [{ kind: 'polyline', path: [[120, 30]], bufferM: 10 }], reason: 'too_few_vertices' },
  {
    name: 'a polyline without buffer',
    parts: [
      {
        kind: 'polyline',
        path: [
          [120, 30],
          [121, 30],
        ],
        bufferM: 0,
      },
    ],
    reason: 'buffer_not_positive',
  },
  {
    name: 'an admin area with no known boundary',
    parts: [{ kind: 'admin', code: '330106' }],
    reason: 'admin_geometry_missing',
    message: /330106/,
  },
  {
    name: 'an admin area with a self-crossing boundary',
    parts: [
      {
        kind: 'admin',
        code: '330106',
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [1, 1],
              [1, 0],
              [0, 1],
            ],
          ],
        },
      },
    ],
    reason: 'self_intersection',
  },
];

describe('regionIssues (checked at submit time)', () => {
  for (const c of cases) {
    it(c.reason ? `refuses ${c.name} with reason ${c.reason}` : `accepts ${c.name}`, () => {
      const issues = regionIssues({ parts: c.parts });
      if (!c.reason) return expect(issues).toEqual([]);
      expect(issues.map((i) => i.reason)).toContain(c.reason);
      if (c.message) expect(issues.map((i) => i.message).join('\n')).toMatch(c.message);
    });
  }
});
