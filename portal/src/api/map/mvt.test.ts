import { describe, expect, it } from 'vitest';
import { encodePointTile, readPoints, tileBounds, toTilePixel } from './mvt.ts';

describe('vector tile points', () => {
  const [z, x, y] = [14, 13661, 6747];
  const [w, s, e, n] = tileBounds(z, x, y);
  const inside = { lng: (w + e) / 2, lat: (s + n) / 2 };

  it('reads back the points it writes, with their text and number properties, to within a pixel', () => {
    const tile = encodePointTile(
      'towers',
      [
        { ...inside, properties: { name: '移动·联通', cells: 2 } },
        { lng: w + (e - w) * 0.1, lat: n - (n - s) * 0.9, properties: { name: '电信', cells: 1 } },
      ],
      z,
      x,
      y,
    );
    const back = readPoints(tile, new Set(['towers']), z, x, y);
    expect(back.map((p) => p.properties)).toEqual([
      { name: '移动·联通', cells: 2 },
      { name: '电信', cells: 1 },
    ]);
    const pixel = (e - w) / 4096;
    expect(Math.abs(back[0]!.lng - inside.lng)).toBeLessThan(pixel);
    expect(Math.abs(back[0]!.lat - inside.lat)).toBeLessThan(pixel);
    expect(back[0]!.layer).toBe('towers');
  });

  it('keeps a point just beyond the edge (negative pixel coordinates) where it is', () => {
    const out = { lng: w - (e - w) / 100, lat: inside.lat };
    expect(toTilePixel(out.lng, out.lat, z, x, y)[0]).toBeLessThan(0);
    const [back] = readPoints(encodePointTile('t', [{ ...out, properties: {} }], z, x, y), new Set(['t']), z, x, y);
    expect(back!.lng).toBeCloseTo(out.lng, 5);
  });

  it('skips the layers it was not asked for', () => {
    const tile = encodePointTile('other', [{ ...inside, properties: { name: 'x' } }], z, x, y);
    expect(readPoints(tile, new Set(['towers']), z, x, y)).toEqual([]);
  });
});
