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
 * Issue 18: "outflow (漫出) is 0 in every region" while people left, and the books must balance:
 * population now = population before + inflow − outflow over the window. As deployed: the real
 * clock (live polls, caches and the in-memory recent moves), ingest's binary batches on several
 * carrier subjects, and a restart in the middle (restored presence, ClickHouse history).
 *
 * Groups move together, and every group, cell and crossing pair holds a multiple of k = 10 people,
 * so every atom is exact on the grid of k (README "Privacy model") and the books balance exactly.
 * (With other sizes each atom is rounded to the nearest multiple of k, and before + in − out can
 * be off by the rounding of each cell and pair.)
 */

const MIN = 60_000;
const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const STREAM = `INSIGHT_FLOW_${tag}`;
const PREFIX = `insightflow${tag}`;
const DB = `insight_flow_${tag}`;

interface Cell {
  name: string;
  lng: number;
  lat: number;
}
const A: Cell = { name: 'FLOW-A', lng: 120.0, lat: 30.0 };
const A2: Cell = { name: 'FLOW-A2', lng: 120.01, lat: 30.0 };
const Y: Cell = { name: 'FLOW-Y', lng: 120.05, lat: 30.05 };
const R: Region = { areas: [], shapes: [{ type: 'rectangle', bbox: [119.995, 29.995, 120.015, 30.005] }] };
const CARRIERS = ['cmcc', 'cucc', 'ctcc'] as const;

let seq = 0;
/**
 * Each group of people is one carrier's (0 cmcc, 1 cucc, 2 ctcc), so that the groups crossing
 * between cells stay at least k per crossing pair: a cell is a carrier's (DESIGN.md invariant 8).
 */
const carrierBy = new Map<string, (typeof CARRIERS)[number]>();
const people = (n: number, carrier: number) =>
  Array.from({ length: n }, () => {
    const m = `137${String(30_000_000 + ++seq).padStart(8, '0')}`;
    carrierBy.set(m, CARRIERS[carrier]!);
    return m;
  });
const carrierOf = (msisdn: string) => carrierBy.get(msisdn)!;
const at = (msisdns: string[], c: Cell, ts: number, kind: LocationEvent['kind'] = 'handover'): LocationEvent[] =>
  msisdns.map(
    (m) =>
      ({
        msisdn: m,
        carrier: carrierOf(m),
        ts,
        cell: c.name,
        lat: c.lat,
        lng: c.lng,
        kind,
        gender: 'f',
        age: 30,
        home: '330106',
      }) as LocationEvent,
  );

describe('insight flows balance the population (live, binary batches, restart)', () => {
  let nc: NatsConnection;
  let admin: ClickHouseClient;
  let insight: RunningInsight | undefined;
  let applied = 0;

  const config = () =>
    InsightEnv.parse({
      LOG_LEVEL: 'silent',
      NATS_URL: inject('natsUrl'),
      CLICKHOUSE_URL: `${inject('clickhouseUrl')}/${DB}`,
      HEALTH_PORT: '0',
      API_PORT: '0',
      INSIGHT_STREAM: STREAM,
      INSIGHT_CONSUMER: 'insight-flow',
      INSIGHT_FILTER_SUBJECT: `${PREFIX}.>`,
    });
  const start = async () => {
    insight = await createInsight(config(), createLogger('insight', 'silent'), { admin: adminAreasFrom(SIM_AREAS as never) });
    applied = 0;
  };

  /** Publishes as ingest does: binary batches, one subject per carrier and shard. */
  async function publish(events: LocationEvent[]): Promise<void> {
    const js = jetstream(nc);
    for (const carrier of CARRIERS) {
      const mine = events.filter((e) => e.carrier === carrier).sort((a, b) => a.ts - b.ts);
      if (mine.length) await js.publish(`${PREFIX}.${carrier}.${mine.length % 2}`, encodeLocationBatch(mine));
    }
    applied += events.length;
    await until(`the sink to apply ${applied} events`, () => insight!.sink.applied >= applied, 60_000);
    await insight!.sink.flush();
    await new Promise((r) => setTimeout(r, 2100));
  }

  async function metrics(): Promise<RegionMetrics> {
    const res = await fetch(`${insight!.apiUrl}/regions/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ region: R }),
    });
    expect(res.status).toBe(200);
    return RegionMetrics.parse(await res.json());
  }

  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'insight-flow');
    await ensureStream(await jetstreamManager(nc), { name: STREAM, subjects: [`${PREFIX}.>`] });
    admin = connectClickHouse(inject('clickhouseUrl'));
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    await start();
  }, 120_000);

  afterAll(async () => {
    await insight?.stop();
    await nc?.drain();
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${DB}` }).catch(() => undefined);
    await admin?.close();
  });

  const inA = people(40, 0);
  const inA2 = people(30, 1);
  const inY = people(30, 2);
  const leave1 = inA.slice(0, 10);
  const leave2 = inA.slice(10, 30);
  const enter = inY.slice(0, 10);
  const value = (c: { value: number | null }) => c.value ?? 0;

  it('counts people who leave as outflow, and population before + inflow − outflow = population now, poll after poll', async () => {
    const t0 = Date.now() - 40 * MIN;
    await publish([...at(inA, A, t0, 'attach'), ...at(inA2, A2, t0, 'attach'), ...at(inY, Y, t0, 'attach')]);
    const before = await metrics();
    expect(before.population.total.value).toBe(70);
    expect(before.flow.lastHour.outflow).toEqual({ value: null, suppressed: true });

    // 10 leave A for Y, 10 come from Y to A.
    await publish([...at(leave1, Y, Date.now() - 2000), ...at(enter, A, Date.now() - 1000)]);
    const mid = await metrics();
    expect(mid.flow.lastHour.outflow.value).toBe(10);
    expect(mid.flow.lastHour.inflow.value).toBe(10);
    expect(value(mid.population.total)).toBe(value(before.population.total) + 10 - 10);

    // 20 more leave, a few seconds ago: the poll's fresh part.
    await publish(at(leave2, Y, Date.now() - 1000));
    const now = await metrics();
    expect(now.flow.lastHour.outflow.value).toBe(30);
    expect(value(now.population.total)).toBe(
      value(before.population.total) + value(now.flow.lastHour.inflow) - value(now.flow.lastHour.outflow),
    );
    expect(value(now.population.total)).toBe(70 - 30 + 10);
    // The day series shows the same moves in its 5-minute buckets.
    const sum = (k: 'inflow' | 'outflow') => now.series.day.reduce((s, p) => s + value(p[k]), 0);
    expect(sum('outflow')).toBe(30);
    expect(sum('inflow')).toBe(10);
  });

  it('counts moves a lagging feed delivers 20 minutes late, between two polls (they were never counted)', async () => {
    const before = await metrics();
    // Carrier feeds lag: 10 more leave A2 for Y, and their events arrive only now, 20 minutes old.
    const lagging = inA2.slice(0, 10);
    const t = Date.now() - 20 * MIN;
    await publish(at(lagging, Y, t));
    const after = await metrics();
    expect(value(after.flow.lastHour.outflow)).toBe(value(before.flow.lastHour.outflow) + 10);
    expect(value(after.population.total)).toBe(value(before.population.total) - 10);
    expect(value(after.population.total)).toBe(70 - 30 + 10 - 10);
  });

  it('keeps counting people whose carrier clock runs a few seconds ahead of insight’s (population does not jump)', async () => {
    const was = await metrics();
    // Everyone in A2 reports again, stamped 3 s in the future by a carrier clock that runs ahead.
    await publish(at(inA2.slice(10), A2, Date.now() + 3000, 'periodic'));
    const now = await metrics();
    expect(now.population.total).toEqual(was.population.total);
  });

  it('keeps the same books after a restart (presence restored, history from ClickHouse)', async () => {
    const was = await metrics();
    await insight!.stop();
    await start();
    const again = await metrics();
    expect(again.population).toEqual(was.population);
    expect(again.flow.lastHour).toEqual(was.flow.lastHour);
    expect(again.dwell).toEqual(was.dwell);
    // Dwell from the recorded entries (ClickHouse), not from the restart: A holds 10 who came in
    // minutes ago and 10 first seen 40 minutes ago, A2 20 first seen 40 minutes ago.
    const band = (b: string) => again.dwell.find((d) => d.bucket === b)!.count.value;
    expect([band('<30m'), band('30-60m'), band('1-2h')]).toEqual([10, 30, null]);
  });
});
