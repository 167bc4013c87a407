import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { LocationEvent } from '@geo/ingest';
import type { Region } from '../regions/region.ts';
import type { RegionMetrics } from '../api/schemas.ts';
import { startTestInsight, type TestInsight } from '../test/test-insight.ts';

/**
 * Issue 21, edge hysteresis: ten people jittering across a region's edge (handovers between a cell
 * inside and three just outside, every 30 s for 5 minutes) after coming in from far away. Every move
 * across the edge is a crossing today: inflow and outflow count each crossing pair's people. With
 * hysteresis (500 m, 5 minutes) nobody left: one inflow each, no outflow, in the totals and the
 * day's 5-minute series alike. And ten others who stepped out over the edge for a minute keep the
 * dwell of their first entry.
 */

const MIN = 60_000;

interface Cell {
  name: string;
  lng: number;
  lat: number;
}
// The region's east edge is at 120.015°; 0.0015° of longitude at 30° N is about 145 m.
const Y: Cell = { name: 'EDGE-Y', lng: 120.005, lat: 30.0 };
const X1: Cell = { name: 'EDGE-X1', lng: 120.0165, lat: 30.0 };
const X2: Cell = { name: 'EDGE-X2', lng: 120.0165, lat: 30.001 };
const X3: Cell = { name: 'EDGE-X3', lng: 120.0165, lat: 29.999 };
const F: Cell = { name: 'EDGE-F', lng: 120.05, lat: 30.05 };
const R: Region = { areas: [], shapes: [{ type: 'rectangle', bbox: [119.995, 29.995, 120.015, 30.005] }] };
// A second region 11 km north, with a cell inside, one 145 m past its east edge and one far away.
const Y2: Cell = { name: 'EDGE-Y2', lng: 120.005, lat: 30.1 };
const X4: Cell = { name: 'EDGE-X4', lng: 120.0165, lat: 30.1 };
const F2: Cell = { name: 'EDGE-F2', lng: 120.05, lat: 30.15 };
const R2: Region = { areas: [], shapes: [{ type: 'rectangle', bbox: [119.995, 30.095, 120.015, 30.105] }] };

const people = Array.from({ length: 10 }, (_, i) => `137${String(40_000_000 + i).padStart(8, '0')}`);
const at = (c: Cell, ts: number, who = people): LocationEvent[] =>
  who.map(
    (m) =>
      ({
        msisdn: m,
        carrier: 'cmcc',
        ts,
        cell: c.name,
        lat: c.lat,
        lng: c.lng,
        kind: 'handover',
        gender: 'f',
        age: 30,
        home: '330106',
      }) as LocationEvent,
  );

describe('insight inflow / outflow with edge hysteresis', () => {
  let t: TestInsight;

  beforeAll(async () => {
    t = await startTestInsight('edge', { natsUrl: inject('natsUrl'), clickhouseUrl: inject('clickhouseUrl') });
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
  });

  const metrics = (body: object, region = R): Promise<RegionMetrics> => t.metrics({ region, ...body });

  it('counts the jitter as one inflow per person and no outflow with hysteresis, every crossing pair without', async () => {
    const t0 = Date.now() - 6 * MIN;
    const path = [F, Y, X1, Y, X2, Y, X3, Y, X1, Y];
    await t.publish(path.flatMap((c, k) => at(c, t0 + k * 30_000)));

    const plain = await metrics({});
    // In: F→Y, X1→Y, X2→Y, X3→Y; out: Y→X1, Y→X2, Y→X3; ten people each.
    expect(plain.flow.lastHour.inflow.value).toBe(40);
    expect(plain.flow.lastHour.outflow.value).toBe(30);
    const zero = await metrics({ hysteresis: { bufferMeters: 0, minOutsideSeconds: 0 } });
    expect(zero.flow).toEqual(plain.flow);

    const hyst = await metrics({ hysteresis: { bufferMeters: 500, minOutsideSeconds: 300 } });
    expect(hyst.flow.lastHour.inflow.value).toBe(10);
    expect(hyst.flow.lastHour.outflow).toEqual({ value: null, suppressed: true });
    // Time only (no buffer): the stays outside were 30 s, never 5 minutes: the same.
    const timeOnly = await metrics({ hysteresis: { minOutsideSeconds: 300 } });
    expect(timeOnly.flow.lastHour).toEqual(hyst.flow.lastHour);
    // Buffer only: the cells outside are within 500 m, so nobody went far.
    const bufferOnly = await metrics({ hysteresis: { bufferMeters: 500 } });
    expect(bufferOnly.flow.lastHour).toEqual(hyst.flow.lastHour);
    // A 100 m buffer leaves the cells outside (145 m) far, with no minimum time: as without.
    expect((await metrics({ hysteresis: { bufferMeters: 100 } })).flow.lastHour).toEqual(plain.flow.lastHour);

    // The 5-minute series count by the same rule: one entry each, nobody left, so they add up to the totals.
    const sum = (m: RegionMetrics, dir: 'inflow' | 'outflow') => m.series.day.reduce((n, p) => n + (p[dir].value ?? 0), 0);
    expect(sum(plain, 'inflow')).toBeGreaterThanOrEqual(40);
    expect(sum(plain, 'outflow')).toBeGreaterThanOrEqual(30);
    for (const m of [hyst, timeOnly, bufferOnly]) {
      expect(sum(m, 'inflow')).toBe(m.flow.sinceMidnight.inflow.value);
      expect(sum(m, 'inflow')).toBe(10);
      expect(sum(m, 'outflow')).toBe(0);
    }
    expect(zero.series).toEqual(plain.series);

    // A live query reads the moves around the region from memory; from ClickHouse alone (memory
    // said to hold nothing) the answer is the same.
    const recent = t.insight.recent;
    let served = recent.served;
    await metrics({});
    const plainReads = recent.served - served;
    served = recent.served;
    const fromMemory = await metrics({ hysteresis: { bufferMeters: 500, minOutsideSeconds: 300 } });
    expect(recent.served - served).toBe(plainReads + 1);
    // Memory said to hold nothing, or only the moves after the middle of the jitter (the rest from ClickHouse).
    const withHeld = async (afterS: number) => {
      const held = recent.completeAfterS;
      recent.completeAfterS = afterS;
      try {
        return await metrics({ hysteresis: { bufferMeters: 500, minOutsideSeconds: 300 } });
      } finally {
        recent.completeAfterS = held;
      }
    };
    const fromClickHouse = await withHeld(Number.POSITIVE_INFINITY);
    const split = await withHeld(Math.floor((t0 + 4 * 30_000) / 1000));
    const figures = (m: RegionMetrics) => ({
      flow: m.flow,
      day: m.series.day
        .filter((p) => !p.inflow.suppressed || !p.outflow.suppressed)
        .map(({ t, inflow, outflow }) => ({ t, inflow, outflow })),
      dwell: m.dwell,
    });
    expect(figures(fromClickHouse)).toEqual(figures(fromMemory));
    expect(figures(split)).toEqual(figures(fromMemory));
    expect(figures(fromMemory)).toEqual(figures(hyst));
  });

  it('keeps the first entry time for dwell when someone stepped out near the edge and came back soon', async () => {
    // Ten others, in a second region north of the first: in from far away 45 minutes ago, a step
    // out over the edge 3 minutes ago, back a minute later.
    const now = Date.now();
    const ten = Array.from({ length: 10 }, (_, i) => `137${String(41_000_000 + i).padStart(8, '0')}`);
    const path: [Cell, number][] = [
      [F2, now - 50 * MIN],
      [Y2, now - 45 * MIN],
      [X4, now - 3 * MIN],
      [Y2, now - 2 * MIN],
    ];
    await t.publish(path.flatMap(([c, ts]) => at(c, ts, ten)));

    const band = (m: RegionMetrics, b: string) => m.dwell.find((d) => d.bucket === b)!.count.value;
    const plain = await metrics({}, R2);
    expect(band(plain, '<30m')).toBe(10);
    expect(band(plain, '30-60m')).toBe(null);
    expect((await metrics({ hysteresis: { bufferMeters: 0, minOutsideSeconds: 0 } }, R2)).dwell).toEqual(plain.dwell);
    // Near the edge (buffer), or back within the time away: still in since 45 minutes ago.
    for (const hysteresis of [{ bufferMeters: 500, minOutsideSeconds: 300 }, { bufferMeters: 500 }, { minOutsideSeconds: 300 }]) {
      const m = await metrics({ hysteresis }, R2);
      expect(band(m, '30-60m'), JSON.stringify(hysteresis)).toBe(10);
      expect(band(m, '<30m'), JSON.stringify(hysteresis)).toBe(null);
      expect(m.population.total).toEqual(plain.population.total);
    }
  });

  it('refuses a hysteresis out of range with a clear 400', async () => {
    const res = await t.post({ region: R, hysteresis: { bufferMeters: -1 } });
    expect(res.status).toBe(400);
  });
});
