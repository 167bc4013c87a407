import { describe, expect, it } from 'vitest';
import { booleanPointInPolygon, point } from '@turf/turf';
import { loadAdminAreas } from './admin-areas.ts';

describe('administrative areas (Zhejiang by default)', () => {
  const areas = loadAdminAreas();

  it('has the province, its 11 cities and its 90 districts with six-digit GB/T 2260 codes and parents', () => {
    const by = (level: string) => areas.filter((a) => a.level === level);
    expect(by('province').map((a) => [a.code, a.name])).toEqual([['330000', '浙江省']]);
    expect(by('city')).toHaveLength(11);
    expect(by('district')).toHaveLength(90);
    for (const a of areas) {
      expect(a.code).toMatch(/^\d{6}$/);
      if (a.level === 'city') expect(a.parent).toBe('330000');
      if (a.level === 'district') expect(a.parent).toBe(`${a.code.slice(0, 4)}00`);
    }
  });

  it.each([
    ['West Lake', 120.1445, 30.246, '330106'], // 西湖区
    ['Ningbo Tianyi Square', 121.5545, 29.8705, '330203'], // 海曙区
    ['Yiwu market', 120.0745, 29.3065, '330782'], // 义乌市
    ['Wenzhou Wuma Street', 120.6558, 28.0181, '330302'], // 鹿城区
  ])('puts %s in the right district', (_name, lng, lat, code) => {
    const hits = areas.filter((a) => a.level === 'district' && a.geometry && booleanPointInPolygon(point([lng, lat]), a.geometry));
    expect(hits.map((a) => a.code)).toEqual([code]);
    const city = areas.find((a) => a.code === `${code.slice(0, 4)}00`)!;
    expect(booleanPointInPolygon(point([lng, lat]), city.geometry!)).toBe(true);
  });

  it('keeps districts that postdate the polygons, without a boundary, rather than inventing one', () => {
    const qiantang = areas.find((a) => a.code === '330114')!;
    expect(qiantang.name).toBe('钱塘区');
    expect(qiantang.geometry).toBeNull();
  });
});
