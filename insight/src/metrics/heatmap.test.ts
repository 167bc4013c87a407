import { describe, expect, it } from 'vitest';
import { cellToBoundary, greatCircleDistance, latLngToCell, UNITS } from 'h3-js';
import { resolutionForZoom } from './heatmap.ts';
import { CELL_H3_RES } from '../sink/cells.ts';

const HANGZHOU = { lat: 30.25, lng: 120.17 };

/** maplibre's ground resolution: 512-px tiles, so zoom z is a 256-px map's z + 1. */
const metresPerPixel = (zoom: number, lat: number) => (40075016.686 * Math.cos((lat * Math.PI) / 180)) / (512 * 2 ** zoom);

/** The widest span of the real hexagon at a place, corner to corner, in metres. */
function hexagonAcrossM(lat: number, lng: number, res: number): number {
  const b = cellToBoundary(latLngToCell(lat, lng, res));
  let d = 0;
  for (const p of b) for (const q of b) d = Math.max(d, greatCircleDistance(p, q, UNITS.m));
  return d;
}

describe('resolutionForZoom (maplibre zoom, 512-px tiles)', () => {
  it.each([9, 9.5, 10])('a city view over Hangzhou at zoom %s draws hexagons a few km and a few dozen pixels across', (zoom) => {
    const res = resolutionForZoom(zoom, HANGZHOU.lat);
    const m = hexagonAcrossM(HANGZHOU.lat, HANGZHOU.lng, res);
    expect(m / 1000).toBeGreaterThan(1);
    expect(m / 1000).toBeLessThan(5);
    const px = m / metresPerPixel(zoom, HANGZHOU.lat);
    expect(px).toBeGreaterThan(16);
    expect(px).toBeLessThan(64);
  });

  it('a whole city fitted on the big screen (zoom ~7.9) does not get one 40 km hexagon over its centre', () => {
    const res = resolutionForZoom(7.9, HANGZHOU.lat);
    expect(hexagonAcrossM(HANGZHOU.lat, HANGZHOU.lng, res) / 1000).toBeLessThan(20);
  });

  it('keeps hexagons between ~20 and ~53 px across at every zoom until the stored resolution caps it', () => {
    for (let zoom = 2; zoom <= 22; zoom += 0.25) {
      const res = resolutionForZoom(zoom, HANGZHOU.lat);
      const px = hexagonAcrossM(HANGZHOU.lat, HANGZHOU.lng, res) / metresPerPixel(zoom, HANGZHOU.lat);
      // The real hexagon here is within ~20 % of H3's average for its resolution.
      expect(px, `zoom ${zoom} res ${res}`).toBeGreaterThan(16);
      if (res < CELL_H3_RES) expect(px, `zoom ${zoom} res ${res}`).toBeLessThan(64);
    }
  });

  it('is never finer than the stored resolution nor coarser than 0, and finer as the map zooms in', () => {
    expect(resolutionForZoom(22)).toBe(CELL_H3_RES);
    expect(resolutionForZoom(0)).toBeGreaterThanOrEqual(0);
    const res = [0, 3, 6, 8, 10, 12, 14, 22].map((z) => resolutionForZoom(z));
    expect(res).toEqual([...res].sort((a, b) => a - b));
  });

  it('takes the latitude into account: a northern city is no coarser at the same zoom (its pixels cover less ground)', () => {
    for (let zoom = 4; zoom <= 12; zoom += 0.5)
      expect(resolutionForZoom(zoom, 45.75)).toBeGreaterThanOrEqual(resolutionForZoom(zoom, 18.25));
    // One zoom where they differ, so the latitude is really used.
    expect([...Array(33).keys()].some((i) => resolutionForZoom(4 + i / 4, 45.75) !== resolutionForZoom(4 + i / 4, 18.25))).toBe(true);
  });
});
