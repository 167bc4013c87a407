import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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
import { InsightEnv } from './config.ts';
import { createInsight, type RunningInsight } from './service.ts';
import { adminAreasFrom, type Region } from './regions/region.ts';
import { Heatmap, RegionMetrics } from './api/schemas.ts';
import { movesOf } from './test/truth.ts';
import { SIM_AREAS, simulate, timeline, type Person } from './test/population.ts';

/**
 * Two insight services on the same stream, ClickHouse and lease bucket (real servers): one holds
 * the sink lease and writes, the other is a standby that keeps its own live state from the stream.
 * Any instance answers region queries and the heat map identically. When the holder stops, the
 * standby takes the lease and the durable over from its ack floor: every move is in ClickHouse
 * once, none missing, also for events published across the handover.
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
const AT = Math.floor((Date.now() - HOUR) / MIN) * MIN;
const START = AT - 6 * HOUR;
const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const STREAM = `INSIGHT_SB_${tag}`;
const PREFIX = `insightsb${tag}`;
const DB = `insight_sb_${tag}`;
const CONSUMER = `insight-sb-${tag}`;
const TTL = 2000;

const REGIONS: Region[] = [
  { areas: ['330106'], shapes: [] },
  { areas: [], shapes: [{ type: 'circle', center: [120.06, 30.06], radiusM: 2500 }] },
  { areas: ['330200'], shapes: [{ type: 'rectangle', bbox: [120.005, 30.085, 120.035, 30.115] }] },
];

const people: Person[] = simulate(1500, START, AT, 11);
const events: LocationEvent[] = timeline(people);
const cut = Math.floor(events.length * 0.6);
/** The services' "now": the newest event published so far. */
let clock = events[cut - 1]!.ts;

describe('insight standby: the sink by lease, queries from any instance', () => {
  let nc: NatsConnection;
  let admin: ClickHouseClient;
  let ch: ClickHouseClient;
  const running: RunningInsight[] = [];

  const start = (id: string) =>
    createInsight(
      InsightEnv.parse({
        LOG_LEVEL: 'silent',
        NATS_URL: inject('natsUrl'),
        CLICKHOUSE_URL: `${inject('clickhouseUrl')}/${DB}`,
        HEALTH_PORT: '0',
        API_PORT: '0',
        INSIGHT_STREAM: STREAM,
        INSIGHT_CONSUMER: CONSUMER,
        INSIGHT_FILTER_SUBJECT: `${PREFIX}.>`,
        INSIGHT_K: '2',
        INSIGHT_LEASE_TTL_MS: String(TTL),
        INSTANCE_ID: `${id}-${tag}`,
      }),
      createLogger('insight', 'silent'),
      { admin: adminAreasFrom(SIM_AREAS as never), now: () => clock },
    );

  async function publish(list: LocationEvent[]): Promise<void> {
    const js = jetstream(nc);
    for (let i = 0; i < list.length; i += 100)
      await js.publish(`${PREFIX}.all.0`, JSON.stringify({ v: 1, events: list.slice(i, i + 100) }));
  }

  /** Waits until every running instance has applied events up to `ts` (their newest event). */
  async function caughtUp(ts: number): Promise<void> {
    // Throwing (rather than returning false) puts each instance's state into the timeout message.
    await until(
      `every instance caught up to ${ts}`,
      () => {
        if (running.some((r) => r.state.watermark < ts || r.role === 'switching'))
          throw new Error(`not caught up: ${running.map((r) => `${r.role} ${r.state.watermark}`).join(', ')} < ${ts}`);
        return true;
      },
      90_000,
    );
    for (const r of running) if (r.role === 'holder') await r.sink.flush();
    // The presence index is shared for 2 s.
    await new Promise((r) => setTimeout(r, 2100));
  }

  const holders = () => running.filter((r) => r.role === 'holder');

  async function oneHolder(): Promise<RunningInsight> {
    await until('exactly one holder, none switching', () => holders().length === 1 && !running.some((r) => r.role === 'switching'));
    return holders()[0]!;
  }

  async function answers(i: RunningInsight): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const region of REGIONS) {
      const res = await fetch(`${i.apiUrl}/regions/metrics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ region }),
      });
      expect(res.status).toBe(200);
      out.push(RegionMetrics.parse(await res.json()));
    }
    for (const zoom of [14, 11]) {
      const res = await fetch(`${i.apiUrl}/heatmap?bbox=119.99,29.99,120.2,30.2&zoom=${zoom}`);
      expect(res.status).toBe(200);
      out.push(Heatmap.parse(await res.json()));
    }
    return out;
  }

  beforeAll(async () => {
    nc = await connectNats(inject('natsUrl'), 'insight-sb');
    await ensureStream(await jetstreamManager(nc), { name: STREAM, subjects: [`${PREFIX}.>`] });
    admin = connectClickHouse(inject('clickhouseUrl'));
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
    ch = connectClickHouse(`${inject('clickhouseUrl')}/${DB}`);
    running.push(await start('a'));
    await running[0]!.holding();
    running.push(await start('b'));
    // When b wins the rendezvous, a hands the lease over within two renewals (ttl / 3 each).
    await new Promise((r) => setTimeout(r, TTL));
    await oneHolder();
  }, 120_000);

  afterAll(async () => {
    for (const r of running) await r.stop().catch(() => undefined);
    await nc?.drain();
    await ch?.close();
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${DB}` }).catch(() => undefined);
    await admin?.close();
  });

  it('runs one sink: one holder, one standby that writes nothing', async () => {
    await publish(events.slice(0, cut));
    await caughtUp(events[cut - 1]!.ts);
    const holder = await oneHolder();
    const standby = running.find((r) => r !== holder)!;
    expect(standby.role).toBe('standby');
    expect(standby.state.count).toBe(holder.state.count);
    expect(standby.sink.flushes + standby.sink.checkpoints).toBe(0);
    expect(holder.sink.checkpoints).toBeGreaterThan(0);
    expect(standby.state.count).toBeGreaterThan(1000);
  }, 120_000);

  it('answers every region and the heat map identically from the standby and from the holder', async () => {
    const holder = await oneHolder();
    const standby = running.find((r) => r !== holder)!;
    const a = await answers(holder);
    const b = await answers(standby);
    expect(b).toEqual(a);
    // Something to compare: figures released, not only suppressed ones.
    expect(a.slice(0, REGIONS.length).some((m) => ((m as RegionMetrics).population.total.value ?? 0) > 0)).toBe(true);
    expect((a.at(-1) as Heatmap).cells.length).toBeGreaterThan(0);
  }, 60_000);

  it('hands the sink to the standby when the holder stops; every move is written once, none missing', async () => {
    const holder = await oneHolder();
    const standby = running.find((r) => r !== holder)!;
    // Half of the rest before the stop, the other half while the standby takes over.
    const mid = cut + Math.floor((events.length - cut) / 2);
    await publish(events.slice(cut, mid));
    const t0 = Date.now();
    const stopping = holder.stop();
    running.splice(running.indexOf(holder), 1);
    await publish(events.slice(mid));
    await stopping;
    await standby.holding();
    clock = AT;
    const tookOverMs = Date.now() - t0;
    expect(standby.role).toBe('holder');
    await caughtUp(events.at(-1)!.ts);
    // A handover (released lease) is taken at the standby's next tick, well under the ttl.
    expect(tookOverMs).toBeLessThan(30_000);
    const truth = new Set(people.flatMap((p) => movesOf(p).map((m) => `${p.msisdn}|${m.ts / 1000}`)));
    const rows = await selectRows<{ k: string; n: string }>(
      ch,
      "SELECT concat(toString(sub), '|', toString(toUInt32(ts))) AS k, toString(count()) AS n FROM insight_moves_to FINAL GROUP BY k",
    );
    const written = new Set(rows.map((r) => r.k));
    expect(rows.filter((r) => Number(r.n) > 1)).toEqual([]);
    expect([...truth].filter((k) => !written.has(k))).toEqual([]);
    expect([...written].filter((k) => !truth.has(k))).toEqual([]);
  }, 120_000);

  it('answers identically again from a new standby started after the handover', async () => {
    running.push(await start('c'));
    await caughtUp(events.at(-1)!.ts);
    const holder = await oneHolder();
    const standby = running.find((r) => r !== holder)!;
    expect(await answers(standby)).toEqual(await answers(holder));
  }, 120_000);
});
