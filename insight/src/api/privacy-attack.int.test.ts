import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cellToParent, latLngToCell } from 'h3-js';
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
import type { LocationEvent } from '@geo/ingest';
import { InsightEnv } from '../config.ts';
import { createInsight, type RunningInsight } from '../service.ts';
import { adminAreasFrom, type Region } from '../regions/region.ts';
import { Heatmap, RegionMetrics } from './schemas.ts';
import { SIM_AREAS } from '../test/population.ts';
import { resolutionForZoom } from '../metrics/heatmap.ts';
import { atom } from '../metrics/privacy.ts';

/**
 * The differencing attacks of issue 17, black-box through the real HTTP API against real servers
 * (NATS → sink → ClickHouse → API), with the default k = 10.
 *
 * A busy region R (four cells of 48, 30, 25 and 12 people) and hidden cells outside it holding
 * 1, 8, 6, 6, 1 and 5 people (the figures), who arrived there from a busy cell outside.
 * The attacker asks for R and for R ∪ {one hidden cell} and subtracts. Every figure about present
 * people is a sum of per-(cell, category) atoms, each count quantised to the grid of k (0 under k,
 * else the nearest multiple of k); flows are sums of per-(from cell → to cell) atoms, quantised the
 * same way: the hidden cells change nothing, and no two answers of the battery differ by 1 to k − 1.
 */

const K = 10;
const MIN = 60_000;
const HOUR = 60 * MIN;
const AT = Math.floor((Date.now() - HOUR) / MIN) * MIN;

const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const STREAM = `INSIGHT_PRIV_${tag}`;
const PREFIX = `insightpriv${tag}`;
const DB = `insight_priv_${tag}`;

interface Cell {
  name: string;
  lng: number;
  lat: number;
}
const cell = (name: string, lng: number, lat: number): Cell => ({ name, lng, lat });
/** R's cells, 1 km apart. */
const BUSY = [cell('B1', 120.0, 30.0), cell('B2', 120.01, 30.0), cell('B3', 120.0, 30.01), cell('B4', 120.01, 30.01)];
const BUSY_PEOPLE = [48, 30, 25, 12];
/** A busy cell outside R: where movers come from and go to. */
const X = cell('X', 120.05, 30.05);
/** Hidden cells, outside R, each far from the others. */
const HIDDEN = [1, 8, 6, 6, 1, 5].map((n, i) => ({ cell: cell(`H${i + 1}`, 120.03, 30.0 + i * 0.01), people: n }));
/** Hidden cells that small groups cross into / out of R through. */
const H_OUT = cell('HOUT', 120.03, 30.07);
const H_IN = cell('HIN', 120.03, 30.08);
/** A lone cell of 12 people far from everything else (outside the heat map's box), and where one of them goes. */
const T = cell('T', 120.5, 30.5);
const T_PEOPLE = 12;
const Y = cell('Y', 120.6, 30.6);
const TR: Region = { areas: [], shapes: [{ type: 'circle', center: [T.lng, T.lat], radiusM: 300 }] };

const R: Region = { areas: [], shapes: [{ type: 'rectangle', bbox: [119.995, 29.995, 120.015, 30.015] }] };
const plus = (c: Cell): Region => ({ areas: [], shapes: [...R.shapes, { type: 'circle', center: [c.lng, c.lat], radiusM: 300 }] });

let seq = 0;
const msisdn = () => `138${String(20_000_000 + ++seq).padStart(8, '0')}`;
const GENDERS = ['m', 'f', undefined] as const;
const HOMES = ['330106', '330102', '330203', '440305', undefined] as const;

/** Events: everyone is first seen at AT − 100 min and reports every 20 min; moves at the given times. */
function person(
  path: { at: number; cell: Cell }[],
  profile: { gender?: string; age?: number; home?: string },
  carrier: 'cmcc' | 'cucc' | 'ctcc',
): LocationEvent[] {
  const id = msisdn();
  const out: LocationEvent[] = [];
  let here = path[0]!.cell;
  let next = 1;
  for (let t = AT - 100 * MIN; t <= AT - MIN; t += 20 * MIN) {
    while (next < path.length && path[next]!.at <= t) {
      const m = path[next++]!;
      here = m.cell;
      out.push(ev(id, carrier, m.at, here, 'handover', profile));
    }
    out.push(ev(id, carrier, t, here, 'periodic', profile));
  }
  while (next < path.length) {
    const m = path[next++]!;
    out.push(ev(id, carrier, m.at, m.cell, 'handover', profile));
  }
  return out;
}
const ev = (
  id: string,
  carrier: string,
  ts: number,
  c: Cell,
  kind: string,
  p: { gender?: string; age?: number; home?: string },
): LocationEvent =>
  ({
    msisdn: id,
    carrier,
    ts,
    cell: c.name,
    lat: c.lat,
    lng: c.lng,
    kind,
    ...(p.gender ? { gender: p.gender } : {}),
    ...(p.age !== undefined ? { age: p.age } : {}),
    ...(p.home ? { home: p.home } : {}),
  }) as LocationEvent;

function population(): { busy: LocationEvent[][]; hidden: LocationEvent[][]; crossing: LocationEvent[][] } {
  const busy: LocationEvent[][] = [];
  const start = AT - 100 * MIN;
  // One carrier's cells (a cell is a carrier's, invariant 8: three carriers' people in one cell id
  // are three cells, here each under k).
  BUSY.forEach((c, b) => {
    for (let i = 0; i < BUSY_PEOPLE[b]!; i++) {
      busy.push(person([{ at: start, cell: c }], { gender: GENDERS[i % 3], age: 20 + (i % 5) * 10, home: HOMES[i % 5] }, 'cmcc'));
    }
  });
  // 14 people move X → B1 and 11 leave B2 → X, 20 minutes ago: crossings of at least k.
  for (let i = 0; i < 14; i++)
    busy.push(
      person(
        [
          { at: start, cell: X },
          { at: AT - 20 * MIN, cell: BUSY[0]! },
        ],
        { gender: 'm', age: 40, home: '330106' },
        'cmcc',
      ),
    );
  for (let i = 0; i < 11; i++)
    busy.push(
      person(
        [
          { at: start, cell: BUSY[1]! },
          { at: AT - 25 * MIN, cell: X },
        ],
        { gender: 'f', age: 30, home: '330102' },
        'cucc',
      ),
    );
  for (let i = 0; i < 40; i++) busy.push(person([{ at: start, cell: X }], { gender: 'm', age: 50 }, 'ctcc'));
  // T's 12: one profile, so that every category of the cell holds all of them.
  for (let i = 0; i < T_PEOPLE; i++) busy.push(person([{ at: start, cell: T }], { gender: 'm', age: 40, home: '330106' }, 'cmcc'));
  // The hidden people: a rare profile (female, 35, from Beijing), arrived from X 30 minutes ago.
  const hidden: LocationEvent[][] = [];
  for (const h of HIDDEN)
    for (let i = 0; i < h.people; i++)
      hidden.push(
        person(
          [
            { at: start, cell: X },
            { at: AT - 30 * MIN, cell: h.cell },
          ],
          { gender: 'f', age: 35, home: '110101' },
          'cmcc',
        ),
      );
  // Small groups crossing R's edge through hidden cells: 3 leave B1 for HOUT, 4 come from HIN into B2.
  const crossing: LocationEvent[][] = [];
  for (let i = 0; i < 3; i++)
    crossing.push(
      person(
        [
          { at: start, cell: BUSY[0]! },
          { at: AT - 15 * MIN, cell: H_OUT },
        ],
        { gender: 'f', age: 35, home: '110101' },
        'cmcc',
      ),
    );
  for (let i = 0; i < 4; i++)
    crossing.push(
      person(
        [
          { at: start, cell: H_IN },
          { at: AT - 15 * MIN, cell: BUSY[1]! },
        ],
        { gender: 'f', age: 35, home: '110101' },
        'cmcc',
      ),
    );
  return { busy, hidden, crossing };
}

/** Everything but the number of known cells in the region (a fact about the map, not about people). */
const figures = (m: RegionMetrics) => ({ ...m, cells: undefined });
const withoutDwell = (m: RegionMetrics) => ({ ...figures(m), dwell: undefined });

describe('privacy: differencing attacks through the HTTP API (k = 10)', () => {
  let nc: NatsConnection;
  let admin: ClickHouseClient;
  let insight: RunningInsight | undefined;
  const people = population();

  const config = () =>
    InsightEnv.parse({
      LOG_LEVEL: 'silent',
      NATS_URL: inject('natsUrl'),
      CLICKHOUSE_URL: `${inject('clickhouseUrl')}/${DB}`,
      HEALTH_PORT: '0',
      API_PORT: '0',
      INSIGHT_STREAM: STREAM,
      INSIGHT_CONSUMER: 'insight-priv',
      INSIGHT_FILTER_SUBJECT: `${PREFIX}.>`,
    });

  async function publish(groups: LocationEvent[][]): Promise<void> {
    const events = groups.flat().sort((a, b) => a.ts - b.ts);
    const js = jetstream(nc);
    const before = insight!.sink.applied;
    for (let i = 0; i < events.length; i += 100)
      await js.publish(`${PREFIX}.all.0`, JSON.stringify({ v: 1, events: events.slice(i, i + 100) }));
    await until(`the sink to apply ${events.length} more events`, () => insight!.sink.applied >= before + events.length, 60_000);
    await insight!.sink.flush();
    // The presence index is shared for 2 s: let the next query see the new events.
    await new Promise((r) => setTimeout(r, 2100));
  }

  /** Every released figure of every answer of the battery, by its path in the answer ("heatmap" + hexagon for the map). */
  const released = new Map<string, number[]>();
  const label = (v: unknown, i: number): string => {
    const o = v as Record<string, unknown>;
    return String(o.t ?? o.bucket ?? o.code ?? [o.gender, o.band].filter((x) => x !== undefined).join('×')) || String(i);
  };
  const collect = (path: string, x: unknown): void => {
    if (Array.isArray(x)) x.forEach((v, i) => collect(`${path}[${label(v, i)}]`, v));
    else if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      if ('suppressed' in o && 'value' in o) {
        if (typeof o.value === 'number') released.set(path, [...(released.get(path) ?? []), o.value]);
      } else for (const [key, v] of Object.entries(o)) collect(`${path}.${key}`, v);
    }
  };

  async function metrics(region: Region, hysteresis?: { bufferMeters?: number; minOutsideSeconds?: number }): Promise<RegionMetrics> {
    const res = await fetch(`${insight!.apiUrl}/regions/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ region, ...(hysteresis ? { hysteresis } : {}) }),
    });
    expect(res.status).toBe(200);
    const m = RegionMetrics.parse(await res.json());
    collect('metrics', m);
    return m;
  }

  async function heatmap(zoom: number): Promise<Map<string, number | null>> {
    const res = await fetch(`${insight!.apiUrl}/heatmap?bbox=119.9,29.9,120.2,30.2&zoom=${zoom}`);
    expect(res.status).toBe(200);
    const hm = Heatmap.parse(await res.json());
    for (const c of hm.cells) collect(`heatmap.${c.h3}`, c.count);
    return new Map(hm.cells.map((c) => [c.h3, c.count.value]));
  }

  const before: { r?: RegionMetrics; heat: Map<number, Map<string, number | null>> } = { heat: new Map() };

  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'insight-priv');
    await ensureStream(await jetstreamManager(nc), { name: STREAM, subjects: [`${PREFIX}.>`] });
    admin = connectClickHouse(inject('clickhouseUrl'));
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    insight = await createInsight(config(), createLogger('insight', 'silent'), {
      admin: adminAreasFrom(SIM_AREAS as never),
      now: () => AT,
    });
    // The crossers go first: the busy region's figures are those with them and without the hidden people.
    await publish([...people.busy, ...people.crossing]);
    before.r = await metrics(R);
    for (const zoom of [14, 12, 10, 8]) before.heat.set(zoom, await heatmap(zoom));
    await publish(people.hidden);
  }, 180_000);

  afterAll(async () => {
    await insight?.stop();
    await nc?.drain();
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${DB}` }).catch(() => undefined);
    await admin?.close();
  });

  it('answers the busy region with real figures (the attack has something to subtract from)', async () => {
    const m = await metrics(R);
    // B1: 48 + 14 movers in (+3 who left for HOUT), B2: 30 + 4 in from HIN (+11 who left for X), B3, B4,
    // each cell's count on the grid of k.
    expect(m.population.total.value).toBe(atom(48 + 14, K) + atom(30 + 4, K) + atom(25, K) + atom(12, K));
    expect(m.flow.lastHour.inflow.value).toBe(atom(14, K));
    expect(m.flow.lastHour.outflow.value).toBe(atom(11, K));
    expect(m.series.day.some((p) => p.population.value !== null)).toBe(true);
  });

  it('(1) R and R ∪ {a hidden cell of 1, 8, 6, 6, 1 or 5 people} give identical answers in every figure', async () => {
    const r = await metrics(R);
    expect(figures(r)).toEqual(figures(before.r!));
    for (const h of HIDDEN) {
      const m = await metrics(plus(h.cell));
      expect(m.cells).toBe(r.cells + 1);
      expect(figures(m)).toEqual(figures(r));
    }
  });

  it('(2) the cross-tabs (gender × age) and origin hide the hidden people’s rare profile, alone or with others', async () => {
    const all: Region = {
      areas: [],
      shapes: [
        ...R.shapes,
        ...HIDDEN.map((h) => ({ type: 'circle' as const, center: [h.cell.lng, h.cell.lat] as [number, number], radiusM: 300 })),
      ],
    };
    const r = await metrics(R);
    const m = await metrics(all);
    // 27 hidden people together, but never 10 in one cell: the whole answer is R's.
    expect(figures(m)).toEqual(figures(r));
    const f35 = m.portrait.genderByAge.find((c) => c.gender === 'f' && c.band === '35-44')!;
    expect(f35.count).toEqual({ value: null, suppressed: true });
    expect(m.origin.provinces.map((p) => p.code)).not.toContain('110000');
    // A suppressed category and an empty one look the same.
    const empty = m.portrait.genderByAge.find((c) => c.gender === 'unknown' && c.band === '<18')!;
    expect(empty.count).toEqual(f35.count);
  });

  it('(1b) flows and dwell: small groups crossing R’s edge through a hidden cell change no figure', async () => {
    const r = await metrics(R);
    for (const c of [H_OUT, H_IN]) {
      const m = await metrics(plus(c));
      expect(withoutDwell(m)).toEqual(withoutDwell(r));
      // Dwell is time since entering the region, which depends on the region: the 4 people who came
      // into B2 from HIN entered R 15 minutes ago, R ∪ {HIN} 100 (B2's 1–2 h band: 30 or 34). On
      // the grid of k every band is identical or differs by a multiple of k.
      for (const [i, band] of r.dwell.entries()) {
        const d = Math.abs((m.dwell[i]!.count.value ?? 0) - (band.count.value ?? 0));
        expect(d % K, `${band.bucket}: ${band.count.value} vs ${m.dwell[i]!.count.value}`).toBe(0);
      }
      // Here 30 and 34 are both 30 on the grid: the whole answer is R's.
      expect(figures(m)).toEqual(figures(r));
    }
  });

  it('(1c) with edge hysteresis (#21), flows, their series and dwell are still sums of atoms: R and R ∪ {a hidden cell} differ by multiples of k', async () => {
    for (const h of [{ bufferMeters: 500, minOutsideSeconds: 600 }, { minOutsideSeconds: 300 }, { bufferMeters: 2000 }]) {
      const r = await metrics(R, h);
      // Something to subtract from: the busy crowd came in from X, far outside any of these buffers.
      expect(r.flow.sinceMidnight.inflow.value, JSON.stringify(h)).toBeGreaterThan(0);
      for (const c of [H_OUT, H_IN, HIDDEN[1]!.cell]) {
        const m = await metrics(plus(c), h);
        const pairs: [string, { value: number | null }, { value: number | null }][] = [
          ['flow.lastHour.inflow', r.flow.lastHour.inflow, m.flow.lastHour.inflow],
          ['flow.lastHour.outflow', r.flow.lastHour.outflow, m.flow.lastHour.outflow],
          ['flow.sinceMidnight.inflow', r.flow.sinceMidnight.inflow, m.flow.sinceMidnight.inflow],
          ['flow.sinceMidnight.outflow', r.flow.sinceMidnight.outflow, m.flow.sinceMidnight.outflow],
          ...r.dwell.map(
            (d, i) => [`dwell ${d.bucket}`, d.count, m.dwell[i]!.count] as [string, { value: number | null }, { value: number | null }],
          ),
          ...r.series.day.flatMap((p, i) => [
            [`in ${p.t}`, p.inflow, m.series.day[i]!.inflow] as [string, { value: number | null }, { value: number | null }],
            [`out ${p.t}`, p.outflow, m.series.day[i]!.outflow] as [string, { value: number | null }, { value: number | null }],
          ]),
        ];
        for (const [what, a, b] of pairs) expect(Math.abs((a.value ?? 0) - (b.value ?? 0)) % K, `${JSON.stringify(h)} ${what}`).toBe(0);
      }
    }
  });

  it('(3) the heat map: a coarse hexagon is the sum of its released children, and the hidden people change no hexagon at any zoom', async () => {
    const fine = await heatmap(14);
    for (const zoom of [12, 10, 8]) {
      const coarse = await heatmap(zoom);
      expect(coarse).toEqual(before.heat.get(zoom));
      const sums = new Map<string, number>();
      for (const [h, v] of fine) {
        const parent = cellToParent(h, resolutionForZoom(zoom));
        sums.set(parent, (sums.get(parent) ?? 0) + (v ?? 0));
      }
      expect(coarse).toEqual(new Map([...sums].filter(([, v]) => v > 0)));
    }
    expect(fine).toEqual(before.heat.get(14));
    for (const h of HIDDEN) expect(fine.has(latLngToCell(h.cell.lat, h.cell.lng, 9))).toBe(false);
  });

  it('(4) repeated and padded queries give nothing more: every answer is the same', async () => {
    const r = await metrics(R);
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await metrics(R));
    // Padded with empty spots, a far circle and each hidden cell, in turn.
    for (let i = 0; i < 5; i++)
      answers.push(
        await metrics({ areas: [], shapes: [...R.shapes, { type: 'circle', center: [120.1 + i * 0.001, 30.1], radiusM: 50 + i }] }),
      );
    for (const h of HIDDEN)
      answers.push(await metrics({ areas: [], shapes: [{ type: 'circle', center: [h.cell.lng, h.cell.lat], radiusM: 200 }, ...R.shapes] }));
    for (const a of answers) expect(figures(a)).toEqual(figures(r));
    // A hidden cell alone: nothing about it is shown, and it looks like an empty spot.
    const alone = await metrics({
      areas: [],
      shapes: [{ type: 'circle', center: [HIDDEN[1]!.cell.lng, HIDDEN[1]!.cell.lat], radiusM: 300 }],
    });
    const nowhere = await metrics({ areas: [], shapes: [{ type: 'circle', center: [120.15, 30.15], radiusM: 300 }] });
    expect(figures(alone)).toEqual(figures(nowhere));
  });

  it('(5) time differencing: one person leaving a live cell of 12 is not visible (12 → 11 answers the same)', async () => {
    // Move the watermark close to now first, so that the move below crosses no 5-minute boundary
    // (a new snapshot would add a series point the first answer did not have yet).
    const x = people.busy.find((p) => p[0]!.cell === X.name)![0]!;
    await publish([[{ ...x, ts: AT - 20_000 }]]);
    const t1 = await metrics(TR);
    expect(t1.population.total).toEqual({ value: atom(T_PEOPLE, K), suppressed: false });
    const mover = people.busy.find((p) => p[0]!.cell === T.name)!;
    await publish([[{ ...mover[0]!, ts: AT - 10_000, cell: Y.name, lat: Y.lat, lng: Y.lng, kind: 'handover' } as LocationEvent]]);
    const t2 = await metrics(TR);
    // The move is applied (the mover is in Y's cell now, seen from a region around Y)…
    expect((await metrics({ areas: [], shapes: [{ type: 'circle', center: [Y.lng, Y.lat], radiusM: 300 }] })).cells).toBe(1);
    // …and T's answer, polled again, is the same in every figure.
    expect(figures(t2)).toEqual(figures(t1));
  });

  it('(6) over the whole battery every released figure is on the grid of k: any two answers differ by 0 or at least k', () => {
    expect(released.size).toBeGreaterThan(50);
    let pairs = 0;
    for (const [path, values] of released) {
      for (const v of values) expect(v % K, `${path} = ${v}`).toBe(0);
      const distinct = [...new Set(values)];
      for (const a of distinct)
        for (const b of distinct) {
          pairs++;
          expect(a === b || Math.abs(a - b) >= K, `${path}: ${a} vs ${b}`).toBe(true);
        }
    }
    // Across figures too (a region's total against another's, a cross-tab cell against its row).
    const all = [...new Set([...released.values()].flat())];
    for (const a of all) for (const b of all) expect(Math.abs(a - b) % K, `${a} vs ${b}`).toBe(0);
    expect(pairs).toBeGreaterThan(0);
  });
});
