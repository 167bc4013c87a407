import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import {
  connectClickHouse,
  connectNats,
  createLogger,
  ensureStream,
  jetstreamManager,
  type ClickHouseClient,
  type NatsConnection,
} from '@geo/infra';
import { until } from '@geo/infra/testing';
import { encodeLocationBatch, type LocationEvent } from '@geo/ingest';
import { InsightEnv } from '../config.ts';
import { createInsight, type RunningInsight } from '../service.ts';
import { adminAreasFrom, type Region } from '../regions/region.ts';
import { RegionMetrics } from '../api/schemas.ts';
import { SIM_AREAS } from '../test/population.ts';

/**
 * Issue 21, edge hysteresis: ten people jittering across a region's edge (handovers between a cell
 * inside and three just outside, every 30 s for 5 minutes) after coming in from far away. Every move
 * across the edge is a crossing today: inflow and outflow count each crossing pair's people. With
 * hysteresis (500 m, 5 minutes) nobody left: one inflow each, no outflow.
 */

const MIN = 60_000;
const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const STREAM = `INSIGHT_EDGE_${tag}`;
const PREFIX = `insightedge${tag}`;
const DB = `insight_edge_${tag}`;

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
  let nc: NatsConnection;
  let admin: ClickHouseClient;
  let insight: RunningInsight | undefined;

  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'insight-edge');
    await ensureStream(await jetstreamManager(nc), { name: STREAM, subjects: [`${PREFIX}.>`] });
    admin = connectClickHouse(inject('clickhouseUrl'));
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    const config = InsightEnv.parse({
      LOG_LEVEL: 'silent',
      NATS_URL: inject('natsUrl'),
      CLICKHOUSE_URL: `${inject('clickhouseUrl')}/${DB}`,
      HEALTH_PORT: '0',
      API_PORT: '0',
      INSIGHT_STREAM: STREAM,
      INSIGHT_CONSUMER: 'insight-edge',
      INSIGHT_FILTER_SUBJECT: `${PREFIX}.>`,
    });
    insight = await createInsight(config, createLogger('insight', 'silent'), { admin: adminAreasFrom(SIM_AREAS as never) });
  }, 120_000);

  afterAll(async () => {
    await insight?.stop();
    await nc?.drain();
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${DB}` }).catch(() => undefined);
    await admin?.close();
  });

  async function metrics(body: object, region = R): Promise<RegionMetrics> {
    const res = await fetch(`${insight!.apiUrl}/regions/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ region, ...body }),
    });
    expect(res.status).toBe(200);
    return RegionMetrics.parse(await res.json());
  }

  it('counts the jitter as one inflow per person and no outflow with hysteresis, every crossing pair without', async () => {
    const t0 = Date.now() - 6 * MIN;
    const path = [F, Y, X1, Y, X2, Y, X3, Y, X1, Y];
    const events = path.flatMap((c, k) => at(c, t0 + k * 30_000));
    await jetstream(nc).publish(`${PREFIX}.cmcc.0`, encodeLocationBatch(events));
    await until('the sink to apply the jitter', () => insight!.sink.applied >= events.length, 60_000);
    await insight!.sink.flush();
    await new Promise((r) => setTimeout(r, 2100));

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
    const events = path.flatMap(([c, ts]) => at(c, ts, ten));
    const before = insight!.sink.applied;
    await jetstream(nc).publish(`${PREFIX}.cmcc.0`, encodeLocationBatch(events));
    await until('the sink to apply the step out', () => insight!.sink.applied >= before + events.length, 60_000);
    await insight!.sink.flush();
    await new Promise((r) => setTimeout(r, 2100));

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
    const res = await fetch(`${insight!.apiUrl}/regions/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ region: R, hysteresis: { bufferMeters: -1 } }),
    });
    expect(res.status).toBe(400);
  });
});
