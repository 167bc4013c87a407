import { regionIssues } from '@geo/alerting';
import { describe, expect, it } from 'vitest';
import { circleRing, featureToPart, geojsonToParts, haversineM, ImportError, partToFeature } from './region-parts.ts';

describe('drawn shapes ↔ region parts', () => {
  it('turns a drawn rectangle into a rectangle part, and back', () => {
    const f = partToFeature({ kind: 'rectangle', west: 120.1, south: 30.2, east: 120.2, north: 30.3 })!;
    expect(featureToPart(f)).toEqual({ kind: 'rectangle', west: 120.1, south: 30.2, east: 120.2, north: 30.3 });
  });

  it('keeps a circle as centre and radius, within a metre', () => {
    const f = partToFeature({ kind: 'circle', center: [120.15, 30.25], radiusM: 1500 })!;
    const p = featureToPart({ ...f, properties: { mode: 'circle' } });
    expect(p?.kind).toBe('circle');
    if (p?.kind !== 'circle') return;
    expect(haversineM(p.center, [120.15, 30.25])).toBeLessThan(1);
    expect(Math.abs(p.radiusM - 1500)).toBeLessThanOrEqual(2);
  });

  it('gives a polyline its buffer width and produces parts the region validator accepts', () => {
    const line = featureToPart({
      type: 'Feature',
      geometry: {
        type: 'LineString',
        coordinates: [
          [120, 30],
          [120.1, 30.1],
        ],
      },
      properties: { mode: 'linestring', bufferM: 300 },
    });
    expect(line).toEqual({
      kind: 'polyline',
      path: [
        [120, 30],
        [120.1, 30.1],
      ],
      bufferM: 300,
    });
    const poly = featureToPart({
      type: 'Feature',
      geometry: { type: 'Polygon', coordinates: [circleRing([120, 30], 800)] },
      properties: { mode: 'polygon' },
    })!;
    expect(regionIssues({ parts: [line!, poly] })).toEqual([]);
  });
});

describe('GeoJSON import', () => {
  it('takes polygons, multipolygons and lines from a FeatureCollection', () => {
    const parts = geojsonToParts({
      type: 'FeatureCollection',
      features: [
        {
          type: 'Feature',
          properties: {},
          geometry: {
            type: 'Polygon',
            coordinates: [
              [
                [120, 30],
                [120.1, 30],
                [120.1, 30.1],
                [120, 30],
              ],
            ],
          },
        },
        {
          type: 'Feature',
          properties: {},
          geometry: {
            type: 'MultiPolygon',
            coordinates: [
              [
                [
                  [121, 30],
                  [121.1, 30],
                  [121.1, 30.1],
                  [121, 30],
                ],
              ],
            ],
          },
        },
        {
          type: 'Feature',
          properties: {},
          geometry: {
            type: 'LineString',
            coordinates: [
              [120, 29],
              [120.2, 29.2],
            ],
          },
        },
        { type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [120, 29] } },
      ],
    });
    expect(parts.map((p) => p.kind)).toEqual(['polygon', 'multipolygon', 'polyline']);
  });

  it.each([[null], [{ hello: 1 }], [{ type: 'Point', coordinates: [1, 2] }]])('refuses %j with a reason', (input) => {
    expect(() => geojsonToParts(input)).toThrow(ImportError);
  });
});
