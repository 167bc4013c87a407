import { describe, expect, it } from 'vitest';
import { loadAdminAreas } from '@geo/ingest';
import { parseBoundaryFile } from './validate-file.ts';

const known = new Map(loadAdminAreas().map((a) => [a.code, a]));
/** A small square in 钱塘区 (下沙), anticlockwise, closed. */
const square = (x = 120.33, y = 30.3, d = 0.02) => [
  [
    [x, y],
    [x + d, y],
    [x + d, y + d],
    [x, y + d],
    [x, y],
  ],
];
const feature = (properties: Record<string, unknown> | null, geometry: unknown = { type: 'Polygon', coordinates: square() }) => ({
  type: 'Feature',
  properties,
  geometry,
});
const fc = (...features: unknown[]) => ({ type: 'FeatureCollection', features });
const parse = (file: unknown) => parseBoundaryFile(file, known, '33');

describe('an uploaded boundary file', () => {
  it('reads DataV-style features (adcode, name, level, parent object, 3-D positions) and derives level, parent and a label point', () => {
    const r = parse(
      fc(
        feature({ adcode: 330114, name: '钱塘区', level: 'district', parent: { adcode: 330100 } }),
        feature(
          { code: '330113' },
          { type: 'MultiPolygon', coordinates: [square(120.25, 30.42).map((r) => r.map(([x, y]) => [x, y, 0]))] },
        ),
      ),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.areas.map((a) => [a.code, a.name, a.level, a.parent])).toEqual([
      ['330114', '钱塘区', 'district', '330100'],
      ['330113', '临平区', 'district', '330100'], // the name from the current data
    ]);
    expect(r.areas[1]!.geometry).toEqual({ type: 'MultiPolygon', coordinates: [square(120.25, 30.42)] });
    expect(r.areas[0]!.center).not.toBeNull();
  });

  it('accepts a new area whose parent comes in the same file', () => {
    const r = parse(
      fc(feature({ adcode: 330199, name: '新区' }), feature({ adcode: 330100 }, { type: 'Polygon', coordinates: square(120, 30, 0.5) })),
    );
    expect(r.ok).toBe(true);
  });

  const bowtie = {
    type: 'Polygon',
    coordinates: [
      [
        [120.3, 30.3],
        [120.32, 30.32],
        [120.32, 30.3],
        [120.3, 30.32],
        [120.3, 30.3],
      ],
    ],
  };
  it.each([
    ['not a FeatureCollection', { type: 'Feature' }, -1, '须为 GeoJSON FeatureCollection'],
    ['no features', fc(), -1, '没有任何区域'],
    ['a feature that is no Feature', fc({ type: 'Point' }), 0, '第 1 个区域：不是 GeoJSON Feature'],
    ['no code', fc(feature({ name: 'x' })), 0, '缺少行政区划代码'],
    ['a township code', fc(feature({ adcode: '330114001' })), 0, '不是六位 GB/T 2260'],
    ['another province', fc(feature({ adcode: 320102, name: '玄武区' })), 0, '不属于本平台的省份'],
    ['a level the code contradicts', fc(feature({ adcode: 330114, level: 'city' })), 0, '级别“city”与代码不符'],
    ['a parent the code contradicts', fc(feature({ adcode: 330114, parent: { adcode: 330200 } })), 0, '上级“330200”与代码不符'],
    ['a parent that exists nowhere', fc(feature({ adcode: 339901, name: '新区' })), 0, '上级区域 339900 不存在'],
    ['a new area without a name', fc(feature({ adcode: 330199 })), 0, '新区域须有名称'],
    ['a point geometry', fc(feature({ adcode: 330114 }, { type: 'Point', coordinates: [120, 30] })), 0, 'Polygon 或 MultiPolygon'],
    ['crossing edges', fc(feature({ adcode: 330114 }, bowtie)), 0, '边界自相交：外环的第 1 条边与外环的第 3 条边'],
    [
      'a ring of two points',
      fc(
        feature(
          { adcode: 330114 },
          {
            type: 'Polygon',
            coordinates: [
              [
                [120, 30],
                [121, 30],
                [120, 30],
              ],
            ],
          },
        ),
      ),
      0,
      '顶点少于 3 个',
    ],
    ['a latitude of 95', fc(feature({ adcode: 330114 }, { type: 'Polygon', coordinates: square(120, 95) })), 0, '不是有效的 [经度, 纬度]'],
    [
      'a hole outside',
      fc(feature({ adcode: 330114 }, { type: 'Polygon', coordinates: [...square(120, 30, 0.1), ...square(121, 30, 0.01)] })),
      0,
      '洞（内环）在外环之外',
    ],
    ['the same code twice', fc(feature({ adcode: 330114 }), feature({ adcode: '330114' })), 1, '与第 1 个区域的代码重复'],
  ])('refuses %s, naming the feature and why', (_what, file, index, words) => {
    const r = parse(file);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]!.index).toBe(index);
    expect(r.issues[0]!.message).toContain(words);
  });

  it('lists every bad feature of a file, each with its index and code, and applies none', () => {
    const r = parse(
      fc(feature({ adcode: 330114 }), feature({ adcode: 330113 }, bowtie), feature({ adcode: 'x' }), feature({ adcode: 330383 })),
    );
    expect(r).toMatchObject({
      ok: false,
      issues: [
        { index: 1, code: '330113' },
        { index: 2, code: 'x' },
      ],
    });
    if (!r.ok) expect(r.issues[0]!.message).toMatch(/^第 2 个区域（330113）：边界自相交/);
  });
});
