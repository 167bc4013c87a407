import { describe, expect, it } from 'vitest';
import { ACCEPTED_PARTS_MESSAGE, FormRegion } from '../task-form.ts';

const square = (x: number, y: number, d: number): [number, number][] => [
  [x, y],
  [x + d, y],
  [x + d, y + d],
  [x, y + d],
  [x, y],
];

describe('task regions for integrators: GeoJSON as well as the console shapes', () => {
  it('takes a GeoJSON Polygon with a hole, a MultiPolygon and a Feature as polygon / multipolygon parts', () => {
    const r = FormRegion.parse({
      parts: [
        { type: 'Polygon', coordinates: [square(120, 30, 0.2), square(120.05, 30.05, 0.05)] },
        { type: 'MultiPolygon', coordinates: [[square(121, 30, 0.1)], [square(121.5, 30, 0.1), square(121.52, 30.02, 0.02)]] },
        { type: 'Feature', properties: { name: 'x' }, geometry: { type: 'Polygon', coordinates: [square(122, 30, 0.1)] } },
        { kind: 'circle', center: [120.1, 30.2], radiusM: 500 },
      ],
    });
    expect(r.parts[0]).toEqual({ kind: 'polygon', rings: [square(120, 30, 0.2), square(120.05, 30.05, 0.05)] });
    expect(r.parts[1]).toEqual({
      kind: 'multipolygon',
      polygons: [[square(121, 30, 0.1)], [square(121.5, 30, 0.1), square(121.52, 30.02, 0.02)]],
    });
    expect(r.parts[2]).toEqual({ kind: 'polygon', rings: [square(122, 30, 0.1)] });
    expect(r.parts[3]).toEqual({ kind: 'circle', center: [120.1, 30.2], radiusM: 500 });
  });

  it('answers a part of no known kind with the accepted kinds, not 无效输入', () => {
    for (const bad of [{ kind: 'hexagon' }, { type: 'Point', coordinates: [120, 30] }, 'polygon', null, [1, 2]]) {
      const r = FormRegion.safeParse({ parts: [bad] });
      expect(r.success).toBe(false);
      expect(r.error!.issues).toEqual([expect.objectContaining({ path: ['parts', 0], message: ACCEPTED_PARTS_MESSAGE })]);
      expect(ACCEPTED_PARTS_MESSAGE).toContain('MultiPolygon');
    }
  });

  it('keeps the field path and message of a known kind with bad fields', () => {
    const r = FormRegion.safeParse({
      parts: [
        { kind: 'circle', center: [120, 30] },
        { type: 'Polygon', coordinates: 'x' },
      ],
    });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toContain('parts.0.radiusM');
    expect(paths).toContain('parts.1.coordinates');
  });

  it('explains a region that is not { parts }', () => {
    const r = FormRegion.safeParse('西湖区');
    expect(r.error!.issues[0]!.message).toContain('parts');
  });
});
