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

const people = Array.from({ length: 10 }, (_, i) => `137${String(40_000_000 + i).padStart(8, '0')}`);
const at = (c: Cell, ts: number): LocationEvent[] =>
  people.map(
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

  async function metrics(body: object): Promise<RegionMetrics> {
    const res = await fetch(`${insight!.apiUrl}/regions/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ region: R, ...body }),
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
