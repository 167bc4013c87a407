import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import {
  connectClickHouse,
  connectNats,
  createLogger,
  ensureStream,
  jetstreamManager,
  migrateClickHouse,
  selectRows,
  type ClickHouseClient,
  type NatsConnection,
} from '@geo/infra';
import { startClickHouseCluster, until, type RunningClickHouseCluster } from '@geo/infra/testing';
import { InsightEnv } from '../config.ts';
import { createInsight, type RunningInsight } from '../service.ts';
import { adminAreasFrom, type Region } from '../regions/region.ts';
import { SIM_AREAS, simulate, timeline } from '../test/population.ts';
import { INSIGHT_MIGRATIONS } from './migrations.ts';
import { compactClosedDays, dayKey, dropOldPartitions } from './retention.ts';

/**
 * Issue 19: insight on ClickHouse across two shards. The same simulated population goes through two
 * insight instances, one on the run's single clickhouse-server and one on two unreplicated shards
 * (two more servers started here, `Distributed` over `_local` tables); after both restart (presence
 * restored from ClickHouse, history read from it), every region answer and the heat map are the same.
 */

const MIN = 60_000;
const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const STREAM = `INSIGHT_CLUSTER_${tag}`;
const PREFIX = `insightcluster${tag}`;
const DB = `insight_cluster_${tag}`;
const END = Math.floor(Date.now() / 1000) * 1000 - MIN;
const people = simulate(1500, END - 6 * 60 * MIN, END, 19);
const events = timeline(people);

const REGIONS: Record<string, Region> = {
  district: { areas: ['330106'], shapes: [] },
  rectangle: { areas: [], shapes: [{ type: 'rectangle', bbox: [120.025, 30.025, 120.075, 30.085] }] },
  circle: { areas: [], shapes: [{ type: 'circle', center: [120.06, 30.05], radiusM: 2500 }] },
  east: { areas: ['330200'], shapes: [] },
};

describe('insight on two ClickHouse shards answers as on one node', () => {
  let nc: NatsConnection;
  let cluster: RunningClickHouseCluster;
  let dataDir: string;
  let single: ClickHouseClient;
  let sharded: ClickHouseClient;
  const insights: Partial<Record<'one' | 'two', RunningInsight>> = {};

  const urlOf = { one: () => `${inject('clickhouseUrl')}/${DB}`, two: () => cluster.url.replace('/?', `/${DB}?`) };
  const start = async (which: 'one' | 'two') => {
    const cfg = InsightEnv.parse({
      LOG_LEVEL: 'silent',
      NATS_URL: inject('natsUrl'),
      CLICKHOUSE_URL: urlOf[which](),
      HEALTH_PORT: '0',
      API_PORT: '0',
      INSIGHT_STREAM: STREAM,
      INSIGHT_CONSUMER: `insight-cluster-${which}`,
      INSIGHT_FILTER_SUBJECT: `${PREFIX}.>`,
    });
    insights[which] = await createInsight(cfg, createLogger('insight', 'silent'), { admin: adminAreasFrom(SIM_AREAS as never) });
  };
  const applied = async (which: 'one' | 'two', n: number) => {
    await until(`${which}: the sink to apply ${n} events`, () => insights[which]!.sink.applied >= n, 120_000);
    await insights[which]!.sink.flush();
  };
  const metrics = async (which: 'one' | 'two', region: Region, at: number): Promise<unknown> => {
    const res = await fetch(`${insights[which]!.apiUrl}/regions/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ region, at }),
    });
    expect(res.status).toBe(200);
    return res.json();
  };
  const heatmap = async (which: 'one' | 'two', zoom: number): Promise<unknown> => {
    const res = await fetch(`${insights[which]!.apiUrl}/heatmap?bbox=119.9,29.9,120.2,30.2&zoom=${zoom}`);
    expect(res.status).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'geo-ch-cluster-'));
    cluster = await startClickHouseCluster({ dataDir, shards: 2 });
    for (const node of [inject('clickhouseUrl'), ...cluster.nodes.map((n) => n.url)]) {
      const root = connectClickHouse(node);
      await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
      await root.close();
    }
    single = connectClickHouse(urlOf.one());
    sharded = connectClickHouse(urlOf.two());
    nc = await connectNats(inject('natsUrl'), 'insight-cluster-it');
    await ensureStream(await jetstreamManager(nc), { name: STREAM, subjects: [`${PREFIX}.>`] });
    await Promise.all([start('one'), start('two')]);
  }, 180_000);

  afterAll(async () => {
    await insights.one?.stop();
    await insights.two?.stop();
    await nc?.drain();
    await single?.command({ query: `DROP DATABASE IF EXISTS ${DB}` }).catch(() => undefined);
    await single?.close();
    await sharded?.close();
    await cluster?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates <table>_local on each shard and <table> as Distributed over them, and migrating again does nothing', async () => {
    for (const node of cluster.nodes) {
      const ch = connectClickHouse(`${node.url}/${DB}`);
      try {
        const tables = await selectRows<{ name: string; engine: string }>(
          ch,
          "SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND name LIKE 'insight%' ORDER BY name",
        );
        const engines = Object.fromEntries(tables.map((t) => [t.name, t.engine]));
        for (const t of ['insight_cells', 'insight_moves_to', 'insight_moves_from', 'insight_population', 'insight_presence']) {
          expect(engines[t], t).toBe('Distributed');
          expect(engines[`${t}_local`], `${t}_local`).toBe('ReplacingMergeTree');
        }
        expect(engines.insight_moves_from_mv).toBe('MaterializedView');
        // Nothing of the rewrites' intermediate tables is left.
        expect(tables.map((t) => t.name).filter((n) => /_v\d/.test(n))).toEqual([]);
        // The Distributed table has the local table's columns (version 3 added `carrier` to cells).
        const cols = await selectRows<{ name: string }>(
          ch,
          "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'insight_cells' AND name = 'carrier'",
        );
        expect(cols).toHaveLength(1);
      } finally {
        await ch.close();
      }
    }
    expect(await migrateClickHouse(sharded, 'insight', INSIGHT_MIGRATIONS)).toEqual([]);
  });

  it('gives the same region metrics and heat map on two shards as on one, after both restarted from ClickHouse', async () => {
    const js = jetstream(nc);
    for (let i = 0; i < events.length; i += 100)
      await js.publish(`${PREFIX}.all.0`, JSON.stringify({ v: 1, events: events.slice(i, i + 100) }));
    await Promise.all([applied('one', events.length), applied('two', events.length)]);

    // The rows really are spread: each shard holds part of the moves, and together all of them.
    const [all] = await selectRows<{ n: string }>(single, 'SELECT count() AS n FROM insight_moves_to');
    const perShard = await Promise.all(
      cluster.nodes.map(async (node) => {
        const ch = connectClickHouse(`${node.url}/${DB}`);
        const [r] = await selectRows<{ n: string }>(ch, 'SELECT count() AS n FROM insight_moves_to_local');
        await ch.close();
        return Number(r!.n);
      }),
    );
    expect(perShard.every((n) => n > 0)).toBe(true);
    expect(perShard.reduce((a, b) => a + b, 0)).toBe(Number(all!.n));

    // A redelivery after a crash writes rows the tables already hold (sink.ts): write every row again,
    // on one node and through the Distributed tables. The copies must meet their originals on one
    // shard, where FINAL and the ReplacingMergeTree keys absorb them.
    for (const c of [single, sharded]) {
      for (const t of ['insight_population', 'insight_moves_to', 'insight_presence', 'insight_cells']) {
        await c.command({ query: `INSERT INTO ${t} SELECT * FROM ${t}` });
      }
    }

    // Restart both: presence comes back from the checkpoint, history only from ClickHouse.
    await Promise.all([insights.one!.stop(), insights.two!.stop()]);
    await Promise.all([start('one'), start('two')]);
    // Both fill the pair atoms of the settled hours (#24): on two shards from the Distributed moves,
    // each pair's people counted over both shards; the first queries below read them.
    const [filledOne, filledTwo] = await Promise.all([insights.one!.fillPairs(), insights.two!.fillPairs()]);
    expect(filledTwo).toEqual(filledOne);
    expect(filledTwo.length).toBeGreaterThan(0);
    const reads = insights.two!.pairReads;

    for (const at of [END, END - 90 * MIN]) {
      for (const [name, region] of Object.entries(REGIONS)) {
        const [one, two] = await Promise.all([metrics('one', region, at), metrics('two', region, at)]);
        expect(two, `${name} at END-${(END - at) / MIN}min`).toEqual(one);
      }
    }
    expect(insights.two!.pairReads).toBeGreaterThan(reads);
    const district = (await metrics('two', REGIONS.district!, END)) as { population: { total: { value: number | null } } };
    expect(district.population.total.value).toBeGreaterThan(0);
    for (const zoom of [14, 12, 10]) {
      // `at` is each answer's own clock; the cells are what must agree.
      const [one, two] = (await Promise.all([heatmap('one', zoom), heatmap('two', zoom)])) as { cells: unknown[] }[];
      expect(two!.cells, `zoom ${zoom}`).toEqual(one!.cells);
      expect(two!.cells.length).toBeGreaterThan(0);
    }
  });

  it('runs upkeep on every shard: closed days merged into one part, old days dropped', async () => {
    // A second write of the same day, so that each shard's day has several parts to merge.
    const more = people
      .filter((p) => p.events.length > 0)
      .slice(0, 300)
      .map((p) => {
        const last = p.events[p.events.length - 1]!;
        return { ...last, ts: END + 30_000, cell: `${last.cell}-X`, lat: last.lat + 0.001, kind: 'handover' as const };
      });
    const before = insights.two!.sink.applied;
    await jetstream(nc).publish(`${PREFIX}.all.0`, JSON.stringify({ v: 1, events: more.slice(0, 100) }));
    await jetstream(nc).publish(`${PREFIX}.all.0`, JSON.stringify({ v: 1, events: more.slice(100, 200) }));
    await jetstream(nc).publish(`${PREFIX}.all.0`, JSON.stringify({ v: 1, events: more.slice(200) }));
    await applied('two', before + 300);
    const later = END + 3 * 86_400_000;
    const merged = await compactClosedDays(sharded, later);
    const days = [...new Set(events.map((e) => dayKey(e.ts)))];
    // Each shard's moves of today took a second part (population snapshots are written at 5-minute
    // boundaries only). Run between 00:00 and 06:00 UTC, the 6 h of events began yesterday, whose
    // partition the sink's flushes may also have left in several parts (4 merged, not 2): every
    // partition in one part afterwards is checked below.
    for (const t of ['insight_moves_to', 'insight_moves_from']) {
      const n = merged.filter((m) => m.startsWith(`${t}_local:`)).length;
      expect(n, t).toBeGreaterThanOrEqual(2);
      expect(n, t).toBeLessThanOrEqual(2 * days.length);
    }
    for (const node of cluster.nodes) {
      const ch = connectClickHouse(`${node.url}/${DB}`);
      const parts = await selectRows<{ table: string; partition: string; n: string }>(
        ch,
        "SELECT table, partition, count() AS n FROM system.parts WHERE database = currentDatabase() AND active AND table LIKE 'insight_%_local' AND table != 'insight_cells_local' AND table != 'insight_presence_local' AND table != 'insight_pairs_hours_local' GROUP BY table, partition",
      );
      await ch.close();
      expect(parts.length).toBeGreaterThan(0);
      expect(parts.filter((p) => Number(p.n) > 1)).toEqual([]);
      expect(parts.every((p) => days.includes(Number(p.partition.replace(/'/g, ''))))).toBe(true);
    }
    await dropOldPartitions(sharded, 8, END + 20 * 86_400_000);
    const left = await selectRows<{ n: string }>(sharded, 'SELECT count() AS n FROM insight_moves_to');
    expect(Number(left[0]!.n)).toBe(0);
  });
});
