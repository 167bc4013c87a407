import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { connectClickHouse, connectNats, ensureStream, jetstreamManager, type ClickHouseClient, type NatsConnection } from '@geo/infra';
import { freePort, startService, until, type ServiceProcess } from '@geo/infra/testing';
import type { LocationEvent } from '@geo/ingest';

/**
 * Edge hysteresis (#21) against a differencing attacker (#17, invariant 7), through insight's HTTP
 * API on the real process (its own stream and ClickHouse database), k = 10. The attacker asks the
 * same region twice with `minOutsideSeconds` one second apart (and `bufferMeters` one metre apart),
 * hoping the difference is the one person who was away exactly that long. Two spots:
 *
 * - A: 12 commuters away 15 minutes and back, and 1 person away exactly 600 s. At 599 / 600 s the
 *   target's return is an entry, at 601 s not: 13 or 12 crossings, both 10 on the grid.
 * - B: 14 commuters and 1 such person: 15 or 14 crossings, 20 or 10 — a difference of k, never 1.
 *
 * Every figure of the two answers (flows, the day series, dwell, population) must differ by 0 or a
 * multiple of k, and no difference may equal the hidden count (1).
 */
const K = 10;
const MIN = 60_000;
const RUN = randomBytes(3).toString('hex');
const DB = `hyst_priv_${RUN}`;
const STREAM = `T_HYST_PRIV_${RUN.toUpperCase()}`;
const PREFIX = `hystpriv${RUN}`;
/** The answers' "now": a whole minute, after every event below. */
const NOW = Math.floor(Date.now() / MIN) * MIN - 2 * MIN;
const T0 = NOW - 45 * MIN;

const A: [number, number] = [119.61, 30.61];
const B: [number, number] = [119.71, 30.61];
/** Where commuters go: 8 km from both, beyond any buffer asked. */
const AWAY: [number, number] = [119.66, 30.68];

let seq = 0;
const msisdn = () => `136${String(parseInt(RUN, 16) % 1000).padStart(3, '0')}${String(++seq).padStart(5, '0')}`;
const ev = (id: string, ts: number, at: [number, number], kind: LocationEvent['kind']): LocationEvent => ({
  msisdn: id,
  carrier: 'cmcc',
  ts,
  cell: `hp-${RUN}-${at[0].toFixed(3)}`,
  lng: at[0],
  lat: at[1],
  kind,
  gender: 'f',
  age: 30,
  home: '330100',
});
/** Seen at `home` from T0, away at `leave` for `awayS` seconds, back, and seen again before NOW. */
function commuter(home: [number, number], leave: number, awayS: number): LocationEvent[] {
  const id = msisdn();
  return [
    ev(id, T0, home, 'periodic'),
    ev(id, leave, AWAY, 'handover'),
    ev(id, leave + awayS * 1000, home, 'handover'),
    ev(id, NOW - MIN, home, 'periodic'),
  ];
}
const people = [
  ...Array.from({ length: 12 }, (_, i) => commuter(A, T0 + MIN + i * 1000, 900)),
  commuter(A, T0 + 3 * MIN, 600),
  ...Array.from({ length: 14 }, (_, i) => commuter(B, T0 + MIN + i * 1000, 900)),
  commuter(B, T0 + 3 * MIN, 600),
];

describe('edge hysteresis ± 1 against a differencing attacker (real insight process, k = 10)', () => {
  let insight: ServiceProcess;
  let nc: NatsConnection;
  let ch: ClickHouseClient;
  let api: string;

  beforeAll(async () => {
    ch = connectClickHouse(inject('clickhouseUrl'));
    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    nc = await connectNats(inject('natsUrl'), 'proof-hysteresis-privacy');
    await ensureStream(await jetstreamManager(nc), { name: STREAM, subjects: [`${PREFIX}.>`] });
    const [health, apiPort] = [await freePort(), await freePort()];
    insight = startService('insight', 'insight/src/main.ts', {
      healthUrl: `http://127.0.0.1:${health}/healthz`,
      alsoListening: [`http://127.0.0.1:${apiPort}/heatmap`],
      env: {
        NATS_URL: inject('natsUrl'),
        CLICKHOUSE_URL: `${inject('clickhouseUrl').replace(/\/$/, '')}/${DB}`,
        HEALTH_PORT: String(health),
        API_PORT: String(apiPort),
        INSIGHT_STREAM: STREAM,
        INSIGHT_FILTER_SUBJECT: `${PREFIX}.>`,
        INSIGHT_CONSUMER: `hystpriv-${RUN}`,
        INSIGHT_K: String(K),
      },
    });
    await insight.ready;
    api = `http://127.0.0.1:${apiPort}`;
    // In time order, one batch: each person's events in order.
    const events = people.flat().sort((a, b) => a.ts - b.ts);
    await jetstream(nc, { timeout: 15_000 }).publish(`${PREFIX}.cmcc.0`, JSON.stringify({ v: 1, events }));
    await until('B’s crowd counted', async () => (await metrics(B)).population.total.value === 20, 90_000);
  }, 180_000);

  afterAll(async () => {
    await nc?.drain();
    await insight?.stop();
    await ch?.command({ query: `DROP DATABASE IF EXISTS ${DB}` }).catch(() => undefined);
    await ch?.close();
  });

  async function metrics(at: [number, number], hysteresis?: { bufferMeters?: number; minOutsideSeconds?: number }) {
    const res = await fetch(`${api}/regions/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        region: { shapes: [{ type: 'circle', center: at, radiusM: 300 }] },
        at: NOW,
        ...(hysteresis ? { hysteresis } : {}),
      }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as any;
  }
  /** Every released figure of an answer, by name. */
  function figures(m: any): Map<string, number> {
    const out = new Map<string, number>();
    const walk = (path: string, o: unknown) => {
      if (o && typeof o === 'object') {
        if ('suppressed' in o && 'value' in o) out.set(path, (o as { value: number | null }).value ?? 0);
        else for (const [k, v] of Object.entries(o)) walk(`${path}.${k}`, v);
      }
    };
    walk('', { population: m.population, flow: m.flow, dwell: m.dwell, series: m.series, origin: m.origin, portrait: m.portrait });
    return out;
  }

  it.each([
    { spot: 'A', at: A },
    { spot: 'B', at: B },
  ])(
    'spot $spot: minOutsideSeconds 599 / 600 / 601 and bufferMeters ± 1 differ by 0 or a multiple of k, never by the one person',
    async ({ at }) => {
      const asked = [
        { minOutsideSeconds: 599 },
        { minOutsideSeconds: 600 },
        { minOutsideSeconds: 601 },
        { bufferMeters: 299, minOutsideSeconds: 600 },
        { bufferMeters: 300, minOutsideSeconds: 600 },
        { bufferMeters: 301, minOutsideSeconds: 600 },
      ];
      const answers = [];
      for (const h of asked) answers.push(figures(await metrics(at, h)));
      // Something to subtract from: the commuters' return is an entry under every setting.
      expect(answers[0]!.get('.flow.lastHour.inflow'), JSON.stringify([...answers[0]!])).toBeGreaterThanOrEqual(K);
      const diffs = new Set<number>();
      for (let i = 0; i < answers.length; i++)
        for (let j = i + 1; j < answers.length; j++)
          for (const [name, v] of answers[i]!) {
            const d = Math.abs(v - (answers[j]!.get(name) ?? 0));
            diffs.add(d);
            expect(d % K, `${JSON.stringify(asked[i])} vs ${JSON.stringify(asked[j])}: ${name}`).toBe(0);
          }
      // The attacker's reading of the one person away exactly 600 s: never 1.
      expect(diffs.has(1)).toBe(false);
    },
  );

  it('at B the flip is visible only as k: 15 or 14 crossings read 20 or 10', async () => {
    const before = (await metrics(B, { minOutsideSeconds: 599 })).flow.lastHour.inflow.value;
    const after = (await metrics(B, { minOutsideSeconds: 601 })).flow.lastHour.inflow.value;
    // The attacker sees that something changed around a grid point, not that it was one person.
    expect([before, after]).toEqual([20, 10]);
  });
});
