import { describe, expect, it } from 'vitest';
import { ingestCityLocator } from './ingest-admin-areas.ts';

describe('city of a point (Zhejiang geography)', () => {
  const cityOf = ingestCityLocator();
  it.each<[string, [number, number], string | undefined]>([
    ['West Lake, 杭州 西湖区', [120.12, 30.24], '330100'],
    ['宁波 city centre', [121.55, 29.87], '330200'],
    ['温州 city centre', [120.67, 28.0], '330300'],
    ['Shanghai (outside the geography)', [121.47, 31.23], undefined],
    ['the Tarim basin', [80, 40], undefined],
  ])('%s', (_n, [lng, lat], want) => expect(cityOf(lng, lat)).toBe(want));
});
