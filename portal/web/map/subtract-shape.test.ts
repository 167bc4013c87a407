import { describe, expect, it } from 'vitest';
import { compileRegion, regionIssues, type RegionPart } from '@geo/alerting';
import { subtractShape } from './subtract-shape.ts';

const square = (x: number, y: number, d: number): [number, number][] => [
  [x, y],
  [x + d, y],
  [x + d, y + d],
  [x, y + d],
  [x, y],
];
const inside = (parts: RegionPart[], p: [number, number]) => compileRegion({ parts }).contains(p[0], p[1]);

describe('挖空: a drawn shape subtracted from the drawn region', () => {
  const rect: RegionPart = { kind: 'rectangle', west: 120, south: 30, east: 120.1, north: 30.1 };

  it('gives an area a hole when the shape lies inside it, and the region test leaves the hole out', () => {
    const { parts, cut } = subtractShape([rect], square(120.04, 30.04, 0.02));
    expect(cut).toBe(1);
    expect(parts).toHaveLength(1);
    const p = parts[0] as Extract<RegionPart, { kind: 'polygon' }>;
    expect(p.kind).toBe('polygon');
    expect(p.rings).toHaveLength(2);
    expect(regionIssues({ parts })).toEqual([]);
    expect(inside(parts, [120.05, 30.05])).toBe(false);
    expect(inside(parts, [120.01, 30.01])).toBe(true);
  });

  it('cuts off the part a crossing shape covers, and splits an area in two when the shape crosses it', () => {
    const edge = subtractShape([rect], square(120.08, 29.9, 0.5)).parts[0] as Extract<RegionPart, { kind: 'polygon' }>;
    expect(edge.kind).toBe('polygon');
    expect(edge.rings).toHaveLength(1);
    expect(inside([edge], [120.09, 30.05])).toBe(false);
    const band: [number, number][] = [
      [120.04, 29.9],
      [120.06, 29.9],
      [120.06, 30.2],
      [120.04, 30.2],
      [120.04, 29.9],
    ];
    const split = subtractShape([rect], band).parts;
    expect(split.map((p) => p.kind)).toEqual(['multipolygon']);
    expect(inside(split, [120.05, 30.05])).toBe(false);
    expect(inside(split, [120.02, 30.05]) && inside(split, [120.08, 30.05])).toBe(true);
  });

  it('removes an area the shape covers, keeps untouched areas as drawn (a circle stays a circle), never cuts polylines or districts', () => {
    const circle: RegionPart = { kind: 'circle', center: [121, 30], radiusM: 500 };
    const line: RegionPart = {
      kind: 'polyline',
      path: [
        [120, 30],
        [120.1, 30.1],
      ],
      bufferM: 100,
    };
    const admin: RegionPart = { kind: 'admin', code: '330106' };
    const { parts, cut } = subtractShape([rect, circle, line, admin], square(119.9, 29.9, 0.5));
    expect(cut).toBe(1);
    expect(parts).toEqual([circle, line, admin]);
  });

  it('cuts a second hole into an area that has one', () => {
    const once = subtractShape([rect], square(120.01, 30.01, 0.02)).parts;
    const twice = subtractShape(once, square(120.06, 30.06, 0.02)).parts[0] as Extract<RegionPart, { kind: 'polygon' }>;
    expect(twice.rings).toHaveLength(3);
  });
});
