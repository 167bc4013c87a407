import { describe, expect, it } from 'vitest';
import { platformPlaces } from './places.ts';

const props = (fc: ReturnType<typeof platformPlaces>, name: string) => fc.features.find((f) => f.properties.name === name)!.properties;

describe('the platform places label layer', () => {
  it('without an import, labels every place itself', () => {
    const fc = platformPlaces();
    expect(fc.features.map((f) => f.properties.name)).toEqual(expect.arrayContaining(['西湖', '灵隐寺', '杭州奥体中心体育场']));
    expect(fc.features.filter((f) => 'namedBy' in f.properties)).toEqual([]);
  });

  it.each([
    ['the lake name at the lake centroid, 300 m away', { name: '西湖', lng: 120.146, lat: 30.248, layer: 'water_name' }, 'water_name'],
    ['a place node of the same name 1.5 km away', { name: '西湖', lng: 120.16, lat: 30.246, layer: 'place' }, 'place'],
    ['the same name 5 km away (another place)', { name: '西湖', lng: 120.2, lat: 30.246, layer: 'water_name' }, undefined],
    ['another name at the same spot', { name: '西湖风景名胜区', lng: 120.1445, lat: 30.246, layer: 'place' }, undefined],
  ])('with %s, West Lake is named by: %s', (_what, named, by) => {
    expect(props(platformPlaces([named]), '西湖').namedBy).toBe(by);
    expect(props(platformPlaces([named]), '灵隐寺').namedBy).toBeUndefined();
  });
});
