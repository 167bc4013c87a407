import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { latLngToCell, cellToParent } from 'h3-js';
import { jetstream } from '@nats-io/jetstream';
import { connectClickHouse, connectNats, createLogger, ensureStream, jetstreamManager, selectRows, type ClickHouseClient, type NatsConnection } from '@geo/infra';
import type { LocationEvent } from '@geo/ingest';
import { InsightEnv } from './config.ts';
import { createInsight, type RunningInsight } from './service.ts';
import { adminAreasFrom, type Region } from './regions/region.ts';
import { RegionMetrics, Heatmap, AGE_BANDS, DWELL_BUCKETS, type Count } from './api/schemas.ts';
import { kCount } from './metrics/privacy.ts';
import { ageBand, dwellBucket, historyRows, recentRows, shanghaiMidnight } from './metrics/region-metrics.ts';
import { GRID, SIM_AREAS, gridCell, simulate, timeline, type Person } from './test/population.ts';
import { entryTime, flow, populationAtBoundary, presentAt, type InRegion } from './test/truth.ts';

const K = 10;
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const FIVE = 5 * MIN;

// "Now" is 14:00 in Shanghai (06:00 UTC), the most recent one, so "since midnight" spans 14 hours.
const AT = (() => {
  const d = Date.now() - HOUR;
  const six = Math.floor(d / DAY) * DAY + 6 * HOUR;
  return six <= d ? six : six - DAY;
})();
const START = AT - 26 * HOUR;

const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const STREAM = `INSIGHT_IT_${tag}`;
const PREFIX = `insightit${tag}`;
const DB = `insight_it_${tag}`;

const cellByName = new Map<string, ReturnType<typeof gridCell>>();
for (let x = 0; x < GRID; x++) for (let y = 0; y < GRID; y++) cellByName.set(gridCell(x, y).name, gridCell(x, y));

/** Regions under test with an independent membership test on the grid's coordinates. */
const REGIONS: { name: string; region: Region; inR: InRegion }[] = [
  { name: 'district 330106 (by code)', region: { areas: ['330106'], shapes: [] }, inR: (c) => { const g = cellByName.get(c)!; return g.x >= 2 && g.x <= 5 && g.y >= 2 && g.y <= 5; } },
  {
    name: 'a drawn triangle',
    region: { areas: [], shapes: [{ type: 'polygon', coordinates: [[[120.035, 30.035], [120.1051, 30.035], [120.035, 30.1051]]] }] },
    // No grid point on an edge: inside ⇔ x ≥ 4, y ≥ 4 and x + y ≤ 14 (the hypotenuse is x + y = 14.01).
    inR: (c) => { const g = cellByName.get(c)!; return g.x >= 4 && g.y >= 4 && g.x + g.y <= 14; },
  },
  {
    name: 'a 2.5 km circle',
    region: { areas: [], shapes: [{ type: 'circle', center: [120.06, 30.06], radiusM: 2500 }] },
    inR: (c) => { const g = cellByName.get(c)!; return haversine(g.lng, g.lat, 120.06, 30.06) <= 2500; },
  },
  {
    name: 'city 330200 plus a rectangle',
    region: { areas: ['330200'], shapes: [{ type: 'rectangle', bbox: [120.005, 30.085, 120.035, 30.115] }] },
    inR: (c) => { const g = cellByName.get(c)!; return g.x >= 8 || (g.x >= 1 && g.x <= 3 && g.y >= 9 && g.y <= 11); },
  },
];

function haversine(lng1: number, lat1: number, lng2: number, lat2: number): number {
  const r = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLng = (lng2 - lng1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * r * Math.asin(Math.sqrt(a));
}

const people: Person[] = simulate(900, START, AT);
const events: LocationEvent[] = timeline(people);
const half = Math.floor(events.length / 200) * 100;

describe('insight pipeline: simulated population → NATS → sink → ClickHouse → API', () => {
  let nc: NatsConnection;
  let admin: ClickHouseClient;
  let ch: ClickHouseClient;
  let insight: RunningInsight | undefined;
  const metrics = new Map<string, RegionMetrics>();

  const config = () =>
    InsightEnv.parse({
      LOG_LEVEL: 'silent',
      NATS_URL: inject('natsUrl'),
      CLICKHOUSE_URL: `${inject('clickhouseUrl')}/${DB}`,
      HEALTH_PORT: '0',
      API_PORT: '0',
      INSIGHT_STREAM: STREAM,
      INSIGHT_CONSUMER: 'insight-it',
      INSIGHT_FILTER_SUBJECT: `${PREFIX}.>`,
    });
  const start = () => createInsight(config(), createLogger('insight', 'silent'), { admin: adminAreasFrom(SIM_AREAS as never), now: () => AT });

  async function publish(from: number, to: number): Promise<void> {
    const js = jetstream(nc);
    for (let i = from; i < to; i += 100) {
      await js.publish(`${PREFIX}.all.0`, JSON.stringify({ v: 1, events: events.slice(i, Math.min(to, i + 100)) }));
    }
  }

  async function waitApplied(n: number): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (insight!.sink.applied < n) {
      if (Date.now() > deadline) throw new Error(`sink applied ${insight!.sink.applied} of ${n} events`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await insight!.sink.flush();
  }

  /** The population ring is restored in the background; the exact checks below read it. */
  async function waitRing(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!insight!.population.ready) {
      if (Date.now() > deadline) throw new Error('the population ring was not restored');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function query(region: Region): Promise<RegionMetrics> {
    const res = await call(`${insight!.apiUrl}/regions/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ region, at: AT }) });
    expect(res.status).toBe(200);
    const body = await res.json();
    for (const p of people.slice(0, 50)) expect(JSON.stringify(body)).not.toContain(p.msisdn);
    return RegionMetrics.parse(body);
  }

  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'insight-it');
    await ensureStream(await jetstreamManager(nc), { name: STREAM, subjects: [`${PREFIX}.>`] });
    admin = connectClickHouse(inject('clickhouseUrl'));
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    ch = connectClickHouse(inject('clickhouseUrl'), DB);

    // First half, then a stop (SIGTERM path: flush + ack).
    insight = await start();
    await publish(0, half);
    await waitApplied(half);
    await insight.stop();
    // Force JetStream to redeliver everything: a fresh durable consumer starts at the first message.
    await (await jetstreamManager(nc)).consumers.delete(STREAM, 'insight-it');
    insight = await start();
    await publish(half, events.length);
    // The first half comes back and is skipped by stream position; only the second half applies.
    await waitApplied(events.length - half);
    await waitRing();
    for (const r of REGIONS) metrics.set(r.name, await query(r.region));
  });

  afterAll(async () => {
    await insight?.stop();
    await nc?.drain();
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${DB}` }).catch(() => undefined);
    await ch?.close();
    await admin?.close();
  });

  const expectCount = (actual: Count, truth: number) => expect(actual).toEqual(kCount(truth, K));

  it('applied every event exactly once across a restart with full redelivery', async () => {
    expect(insight!.sink.applied).toBe(events.length - half);
    const [m] = await selectRows<{ n: string; d: string }>(ch, 'SELECT count() AS n, uniqExact(sub, ts, to_cell) AS d FROM insight_moves_to');
    expect(Number(m!.n)).toBe(Number(m!.d));
    const truthMoves = people.reduce((n, p) => n + movesCount(p), 0);
    expect(Number(m!.n)).toBe(truthMoves);
  });

  for (const r of REGIONS) {
    describe(r.name, () => {
      const present = () => people.map((p) => ({ p, e: presentAt(p, AT) })).filter((x) => x.e && r.inR(x.e.cell));

      it('counts live population per carrier exactly', () => {
        const m = metrics.get(r.name)!;
        const now = present();
        expect(now.length).toBeGreaterThan(0);
        expectCount(m.population.total, now.length);
        for (const c of ['cmcc', 'cucc', 'ctcc'] as const) expectCount(m.population.byCarrier[c], now.filter((x) => x.e!.carrier === c).length);
      });

      it('finds the weekly maximum and when it was', () => {
        const m = metrics.get(r.name)!;
        let best = -1;
        let at = 0;
        const first = Math.floor(events[0]!.ts / FIVE) * FIVE;
        for (let b = first + FIVE; b <= events.at(-1)!.ts; b += FIVE) {
          const n = populationAtBoundary(people, r.inR, b);
          if (n >= best) [best, at] = [n, b];
        }
        if (present().length >= best) [best, at] = [present().length, AT];
        expectCount(m.weeklyMax.count, best);
        expect(m.weeklyMax.at).toBe(new Date(at).toISOString());
      });

      it('counts inflow and outflow in the last hour and since midnight (Asia/Shanghai)', () => {
        const m = metrics.get(r.name)!;
        const midnight = shanghaiMidnight(AT);
        expect(m.flow.sinceMidnight.since).toBe(new Date(midnight).toISOString());
        expect(new Date(midnight + 8 * HOUR).getUTCHours()).toBe(0);
        expectCount(m.flow.lastHour.inflow, flow(people, r.inR, AT - HOUR, AT, 'in'));
        expectCount(m.flow.lastHour.outflow, flow(people, r.inR, AT - HOUR, AT, 'out'));
        expectCount(m.flow.sinceMidnight.inflow, flow(people, r.inR, midnight, AT, 'in'));
        expectCount(m.flow.sinceMidnight.outflow, flow(people, r.inR, midnight, AT, 'out'));
      });

      it('breaks present people down by origin, locality, dwell and portrait', () => {
        const m = metrics.get(r.name)!;
        const now = present();
        const provinces = new Map<string, number>();
        const cities = new Map<string, number>();
        let local = 0, roaming = 0, unknown = 0, noHome = 0;
        const dwell = new Array(DWELL_BUCKETS.length).fill(0);
        const gender = { m: 0, f: 0, unknown: 0 };
        const age = new Map<string, number>();
        for (const { p, e } of now) {
          const home = e!.home;
          if (home) {
            provinces.set(`${home.slice(0, 2)}0000`, (provinces.get(`${home.slice(0, 2)}0000`) ?? 0) + 1);
            cities.set(`${home.slice(0, 4)}00`, (cities.get(`${home.slice(0, 4)}00`) ?? 0) + 1);
            if (Number(`${home.slice(0, 4)}00`) === cellByName.get(e!.cell)!.city) local++;
            else roaming++;
          } else { noHome++; unknown++; }
          const entered = entryTime(p, r.inR, AT);
          dwell[entered === undefined || AT - entered >= 8 * HOUR ? 5 : dwellBucket(AT - entered)]++;
          gender[(e!.gender ?? 'unknown') as 'm']++;
          const band = e!.age === undefined ? 'unknown' : ageBand(e!.age);
          age.set(band, (age.get(band) ?? 0) + 1);
        }
        for (const [list, truth] of [[m.origin.provinces, provinces], [m.origin.cities, cities]] as const) {
          const eligible = [...truth].filter(([, n]) => n >= K).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 10);
          expect(list.map((g) => [g.code, g.count.value])).toEqual(eligible);
        }
        const listed = (l: { count: Count }[]) => l.reduce((s, g) => s + g.count.value!, 0);
        expectCount(m.origin.otherProvinces, now.length - noHome - listed(m.origin.provinces));
        expectCount(m.origin.otherCities, now.length - noHome - listed(m.origin.cities));
        expectCount(m.origin.local, local);
        expectCount(m.origin.roaming, roaming);
        expectCount(m.origin.unknownLocality, unknown);
        DWELL_BUCKETS.forEach((b, i) => expectCount(m.dwell.find((d) => d.bucket === b)!.count, dwell[i]));
        for (const g of m.portrait.gender) expectCount(g.count, gender[g.gender]);
        for (const b of AGE_BANDS) expectCount(m.portrait.age.find((a) => a.band === b)!.count, age.get(b) ?? 0);
        const cross = m.portrait.genderByAge.filter((c) => c.count.suppressed);
        expect(cross.every((c) => c.count.value === null)).toBe(true);
      });

      it('draws the 24 h series at 5 minutes and the 7-day series hourly', () => {
        const m = metrics.get(r.name)!;
        const first = Math.floor(events[0]!.ts / FIVE) * FIVE;
        const last = events.at(-1)!.ts;
        const snap = (b: number) => (b > first && b <= last ? populationAtBoundary(people, r.inR, b) : 0);
        expect(m.series.day).toHaveLength(288);
        for (const pt of m.series.day) {
          const t = Date.parse(pt.t);
          expectCount(pt.population, snap(t));
          // Distinct people per bucket are counted exactly (uniqExact over moves).
          expectCount(pt.inflow, flow(people, r.inR, t, t + FIVE, 'in', false));
          expectCount(pt.outflow, flow(people, r.inR, t, t + FIVE, 'out', false));
        }
        expect(m.series.week).toHaveLength(168);
        for (const pt of m.series.week.slice(-30)) {
          const t = Date.parse(pt.t);
          let max = 0;
          for (let b = t; b < t + HOUR; b += FIVE) max = Math.max(max, snap(b));
          expectCount(pt.population, max);
          expectCount(pt.inflow, flow(people, r.inR, t, t + HOUR, 'in', false));
        }
      });
    });
  }

  it('shows a heat map per H3 cell with small cells suppressed', async () => {
    for (const zoom of [14, 10]) {
      const res = await call(`${insight!.apiUrl}/heatmap?bbox=119.99,29.99,120.2,30.2&zoom=${zoom}`);
      expect(res.status).toBe(200);
      const hm = Heatmap.parse(await res.json());
      const truth = new Map<string, number>();
      for (const p of people) {
        const e = presentAt(p, AT);
        if (!e) continue;
        const h9 = latLngToCell(e.lat, e.lng, 9);
        const h = hm.resolution === 9 ? h9 : cellToParent(h9, hm.resolution);
        truth.set(h, (truth.get(h) ?? 0) + 1);
      }
      expect(new Map(hm.cells.map((c) => [c.h3, c.count]))).toEqual(new Map([...truth].map(([h, n]) => [h, kCount(n, K)])));
      if (zoom === 14) expect(hm.cells.some((c) => c.count.suppressed)).toBe(true);
    }
  });

  it('answers a repeated (polling) query from cached settled history plus fresh buckets, identically', async () => {
    // The fresh part comes from the moves held in memory (they cover it): no ClickHouse query.
    const served = insight!.recent.served;
    for (const r of REGIONS) expect(await query(r.region)).toEqual(metrics.get(r.name));
    expect(insight!.recent.served - served).toBe(REGIONS.length);
  });

  it('answers identically from ClickHouse snapshots as from the in-memory population ring (before it is restored)', async () => {
    insight!.population.ready = false;
    try {
      for (const r of REGIONS) expect(await query(r.region)).toEqual(metrics.get(r.name));
    } finally {
      insight!.population.ready = true;
    }
  });

  it('reads the same history by H3 alone as by the cells’ keys (every grid cell has its own H3 cell)', async () => {
    const stored = await selectRows<{ name: string; cell: string; h3: string }>(ch, 'SELECT name, toString(cell) AS cell, toString(h3) AS h3 FROM insight_cells FINAL');
    expect(new Set(stored.map((c) => c.h3)).size).toBe(stored.length);
    const sorted = (rows: [number, number, number][]) => rows.map((x) => x.join(' ')).sort();
    const range = { in5From: AT - DAY, out5From: AT - DAY, in1hFrom: AT - 7 * DAY, out1hFrom: AT - 7 * DAY, subsFrom: AT - 16 * HOUR, subsEdge: AT - 10 * 60_000 };
    for (const r of REGIONS) {
      const inside = stored.filter((c) => r.inR(c.name));
      const filter = { keys: inside.map((c) => Number(c.cell)), h3s: inside.map((c) => c.h3) };
      const byKeys = await historyRows(ch, { ...filter, h3Exact: false }, AT, range);
      expect(byKeys.length).toBeGreaterThan(100);
      expect(sorted(await historyRows(ch, { ...filter, h3Exact: true }, AT, range))).toEqual(sorted(byKeys));
    }
  });

  it('reads the same fresh history from the moves held in memory as from ClickHouse (what a poll reads)', async () => {
    const recent = insight!.recent;
    // The service restarted after the first half: memory holds every move after the restored
    // watermark, and the last 90 minutes of event time.
    expect(recent.covers(AT - 85 * MIN)).toBe(true);
    expect(recent.covers(AT - 7 * DAY)).toBe(false);
    const stored = await selectRows<{ name: string; cell: string; h3: string }>(ch, 'SELECT name, toString(cell) AS cell, toString(h3) AS h3 FROM insight_cells FINAL');
    const sorted = (rows: [number, number, number][]) => rows.map((x) => x.join(' ')).sort();
    const cells = insight!.state.cells;
    for (const range of [
      { in5From: AT - 85 * MIN, out5From: AT - 85 * MIN, in1hFrom: AT - HOUR, out1hFrom: AT - HOUR, subsFrom: AT - 85 * MIN, subsEdge: AT - 10 * MIN },
      { in5From: AT - 15 * MIN, out5From: AT - 10 * MIN, in1hFrom: AT - 70 * MIN, out1hFrom: AT - 65 * MIN, subsFrom: AT - 10 * MIN, subsEdge: AT - 7 * MIN },
    ]) {
      const kinds = new Set<number>();
      for (const r of REGIONS) {
        const inside = stored.filter((c) => r.inR(c.name));
        const mask = new Uint8Array(cells.size);
        for (const c of inside) mask[cells.indexOfKey(Number(c.cell))!] = 1;
        const fromClickHouse = await historyRows(ch, { keys: inside.map((c) => Number(c.cell)), h3s: inside.map((c) => c.h3), h3Exact: false }, AT, range);
        for (const [d] of fromClickHouse) kinds.add(d);
        expect(sorted(recentRows(recent, mask, AT, range))).toEqual(sorted(fromClickHouse));
      }
      // Flows in and out, and settled and fresh entries, inflows and outflows all took part.
      expect([...kinds].sort((a, b) => a - b)).toEqual([1, 2, 10, 11, 12, 13, 14, 15]);
    }
  });

  it('gives the same answers after ClickHouse holds every row twice (a crash between insert and ack)', async () => {
    for (const t of ['insight_moves_to', 'insight_population']) await ch.command({ query: `INSERT INTO ${t} SELECT * FROM ${t}` });
    // A restarted service has no cache: every figure is read again from the doubled tables, and the
    // population ring is restored from them.
    await insight!.stop();
    insight = await start();
    await waitRing();
    for (const r of REGIONS) expect(await query(r.region)).toEqual(metrics.get(r.name));
    insight!.population.ready = false;
    for (const r of REGIONS) expect(await query(r.region)).toEqual(metrics.get(r.name));
    insight!.population.ready = true;
  });

  it('refuses bad requests with 400 and a reason', async () => {
    const post = (body: unknown) => call(`${insight!.apiUrl}/regions/metrics`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
    const cases: [unknown, RegExp][] = [
      ['{nope', /not valid JSON/],
      [{}, /region/],
      [{ region: {} }, /at least one area code or one shape/],
      [{ region: { areas: ['999999'] } }, /unknown area code 999999/],
      [{ region: { shapes: [{ type: 'polygon', coordinates: [[[120, 30], [120.1, 30.1], [120.1, 30], [120, 30.1]]] }] } }, /edges cross/],
      [{ region: { shapes: [{ type: 'circle', center: [200, 30], radiusM: 10 }] } }, /shapes\.0\.center/],
    ];
    for (const [body, reason] of cases) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(JSON.stringify(await res.json())).toMatch(reason);
    }
    const hm = await call(`${insight!.apiUrl}/heatmap?bbox=1,2,3&zoom=12`);
    expect(hm.status).toBe(400);
    expect(JSON.stringify(await hm.json())).toMatch(/bbox must be four numbers/);
  });
});

/**
 * fetch, retried once on a reset connection: the truth computations above block this process's
 * event loop for seconds, and a kept-alive socket the server closed meanwhile is then reused.
 */
async function call(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch {
    return fetch(url, init);
  }
}

function movesCount(p: Person): number {
  let n = 0;
  let prev: string | undefined;
  for (const e of p.events) {
    if (e.cell !== prev) n++;
    prev = e.cell;
  }
  return n;
}
