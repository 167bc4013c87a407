import { describe, expect, it } from 'vitest';
import { latLngToCell } from 'h3-js';
import { shippedAreas } from '../geography.ts';
import { areaNamer, hexagonArea } from './area-names.ts';

describe('the area a check-in hexagon is named by', () => {
  const nameOf = areaNamer(shippedAreas());
  it.each([
    [120.13, 30.25, '西湖区'],
    [120.16, 30.27, '拱墅区'],
    [120.5, 30.3, '萧山区'],
    [121.5, 29.87, '海曙区'],
  ])('(%f, %f) lies in %s', (lng, lat, name) => expect(nameOf(lng, lat)?.name).toBe(name));

  it('is null outside every known area (the Yellow Sea)', () => expect(nameOf(123, 32)).toBeNull());

  it('falls back to the city where no district has a boundary there', () => {
    const cityOnly = areaNamer(shippedAreas().filter((a) => a.level !== 'district'));
    expect(cityOnly(120.16, 30.27)).toEqual({ code: '330100', name: '杭州市' });
  });

  it('names an H3 hexagon by its centre, over the boundaries in force', () => {
    expect(hexagonArea(latLngToCell(30.27, 120.16, 9))?.name).toBe('拱墅区');
  });
});
