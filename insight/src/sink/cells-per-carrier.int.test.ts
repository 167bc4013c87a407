import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cellToParent, latLngToCell } from 'h3-js';
import { jetstream } from '@nats-io/jetstream';
import {
  connectClickHouse,
  connectNats,
  createLogger,
  ensureStream,
  jetstreamManager,
  selectRows,
  type ClickHouseClient,
  type NatsConnection,
} from '@geo/infra';
import { until } from '@geo/infra/testing';
import type { LocationEvent } from '@geo/ingest';
import { InsightEnv } from '../config.ts';
import { createInsight, type RunningInsight } from '../service.ts';
import { adminAreasFrom, type Region } from '../regions/region.ts';
import { Heatmap, RegionMetrics } from '../api/schemas.ts';
import { SIM_AREAS } from '../test/population.ts';
import { atom } from '../metrics/privacy.ts';

/**
 * DESIGN.md invariant 8: a cell id is unique only within its carrier's network. cmcc's cell "C1" is
 * at P and ctcc's "C1" is 14 km away at Q; each carrier's people there, and a flow into ctcc's C1,
 * must be counted at their own place (population, heat map, flows), also after a restart (cells and
 * the checkpoint read back from ClickHouse). Keyed by the id alone, everyone was put at the place
 * seen first.
 */

const MIN = 60_000;
const AT = Math.floor((Date.now() - 60 * MIN) / MIN) * MIN;
const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const STREAM = `INSIGHT_CPC_${tag}`;
const PREFIX = `insightcpc${tag}`;
const DB = `insight_cpc_${tag}`;

const P = { lng: 120.0, lat: 30.0 };
const Q = { lng: 120.1, lat: 30.1 };
/** ctcc's C2, 1.1 km from Q: where ctcc's movers come from. */
const Q2 = { lng: 120.1, lat: 30.11 };
const near = (c: { lng: number; lat: number }): Region => ({
  areas: [],
  shapes: [{ type: 'circle', center: [c.lng, c.lat], radiusM: 500 }],
});

let seq = 0;
const ev = (id: string, carrier: 'cmcc' | 'ctcc', ts: number, cell: string, at: { lng: number; lat: number }): LocationEvent =>
  ({ msisdn: id, carrier, ts, cell, lat: at.lat, lng: at.lng, kind: 'periodic', gender: 'm', age: 30 }) as LocationEvent;

function events(): LocationEvent[] {
  const out: LocationEvent[] = [];
  // cmcc's C1 (at P) is seen first: 12 people.
  for (let i = 0; i < 12; i++) out.push(ev(`1380000${String(++seq).padStart(4, '0')}`, 'cmcc', AT - 50 * MIN, 'C1', P));
  // ctcc's C1 (at Q): 15 people, and 11 more who come from ctcc's C2 20 minutes ago.
  for (let i = 0; i < 15; i++) out.push(ev(`1330000${String(++seq).padStart(4, '0')}`, 'ctcc', AT - 45 * MIN, 'C1', Q));
  for (let i = 0; i < 11; i++) {
    const id = `1330000${String(++seq).padStart(4, '0')}`;
    out.push(ev(id, 'ctcc', AT - 45 * MIN, 'C2', Q2), ev(id, 'ctcc', AT - 20 * MIN, 'C1', Q));
  }
  return out.sort((a, b) => a.ts - b.ts);
}

describe('cells are keyed by (carrier, cell id)', () => {
  let nc: NatsConnection;
  let admin: ClickHouseClient;
  let insight: RunningInsight | undefined;

  const config = () =>
    InsightEnv.parse({
      LOG_LEVEL: 'silent',
      NATS_URL: inject('natsUrl'),
      CLICKHOUSE_URL: `${inject('clickhouseUrl')}/${DB}`,
      HEALTH_PORT: '0',
      API_PORT: '0',
      INSIGHT_STREAM: STREAM,
      INSIGHT_CONSUMER: 'insight-cpc',
      INSIGHT_FILTER_SUBJECT: `${PREFIX}.>`,
    });
  const start = () =>
    createInsight(config(), createLogger('insight', 'silent'), { admin: adminAreasFrom(SIM_AREAS as never), now: () => AT });

  async function metrics(region: Region): Promise<RegionMetrics> {
    const res = await fetch(`${insight!.apiUrl}/regions/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ region }),
    });
    expect(res.status).toBe(200);
    return RegionMetrics.parse(await res.json());
  }

  async function heat(): Promise<Map<string, number | null>> {
    const res = await fetch(`${insight!.apiUrl}/heatmap?bbox=119.9,29.9,120.2,30.2&zoom=14`);
    expect(res.status).toBe(200);
    return new Map(Heatmap.parse(await res.json()).cells.map((c) => [c.h3, c.count.value]));
  }

  async function check(): Promise<void> {
    const p = await metrics(near(P));
    expect(p.population.total.value).toBe(atom(12, 10));
    expect(p.population.byCarrier.cmcc.value).toBe(atom(12, 10));
    expect(p.population.byCarrier.ctcc.suppressed).toBe(true);
    expect(p.flow.lastHour.inflow.suppressed).toBe(true);
    const q = await metrics(near(Q));
    expect(q.population.total.value).toBe(atom(26, 10));
    expect(q.population.byCarrier.ctcc.value).toBe(atom(26, 10));
    expect(q.flow.lastHour.inflow.value).toBe(atom(11, 10));
    const h = await heat();
    expect(h.get(cellToParent(latLngToCell(P.lat, P.lng, 9), 9))).toBe(atom(12, 10));
    expect(h.get(cellToParent(latLngToCell(Q.lat, Q.lng, 9), 9))).toBe(atom(26, 10));
  }

  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'insight-cpc');
    await ensureStream(await jetstreamManager(nc), { name: STREAM, subjects: [`${PREFIX}.>`] });
    admin = connectClickHouse(inject('clickhouseUrl'));
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    insight = await start();
    const all = events();
    const js = jetstream(nc);
    for (let i = 0; i < all.length; i += 20) await js.publish(`${PREFIX}.all.0`, JSON.stringify({ v: 1, events: all.slice(i, i + 20) }));
    await until(`the sink to apply ${all.length} events`, () => insight!.sink.applied >= all.length, 60_000);
    await insight.sink.flush();
    await new Promise((r) => setTimeout(r, 2100));
  }, 120_000);

  afterAll(async () => {
    await insight?.stop();
    await nc?.drain();
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${DB}` }).catch(() => undefined);
    await admin?.close();
  });

  it('counts each carrier’s people, and flows into its cell, at its own cell’s place', async () => {
    await check();
  });

  it('writes one cell row per carrier at its own place, and gives the same answers after a restart', async () => {
    const cells = await selectRows<{ name: string; lat: number }>(
      admin,
      `SELECT name, lat FROM ${DB}.insight_cells FINAL WHERE name = 'C1' ORDER BY lat`,
    );
    expect(cells.map((c) => c.lat)).toEqual([P.lat, Q.lat]);
    await insight!.stop();
    insight = await start();
    await check();
  }, 60_000);
});
