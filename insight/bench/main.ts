/**
 * Insight benchmark: `npm run bench:insight`.
 *
 * The issue asks for 7 days × 1,000,000 subscribers. On a shared 2-core machine that cannot finish
 * in 3 minutes, so everything is scaled by SCALE (default 0.02 → 20,000 subscribers, 400 cells,
 * 7 full days of history). Figures are printed last, one JSON object per line.
 *
 * - sink_events_per_s: 10 location events per subscriber over the last 2 h (200,000 at 0.02), 100 per
 *   message) pre-published to JetStream, then consumed → presence → batched ClickHouse inserts
 *   (moves + 3 materialized views, snapshots, checkpoint) → acks, end to end.
 * - region_metrics_p95_ms: POST /regions/metrics over HTTP (every metric of the issue in one
 *   response) for circles, polygons and rectangles of 1–8 km, on top of 7 days of history; the
 *   value is the first query per region, `polling_p95_ms` the same regions asked again (cached
 *   settled history, as when the portal polls).
 * - heatmap_p95_ms: GET /heatmap for random viewports at zoom 9–15.
 * - clickhouse_bytes_per_day: bytes on disk of the day-partitioned history tables / 7.
 *
 * Servers: NATS_URL / CLICKHOUSE_URL from the environment, or started here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { jetstream } from '@nats-io/jetstream';
import { latLngToCell } from 'h3-js';
import { connectClickHouse, connectNats, createLogger, ensureStream, jetstreamManager, migrateClickHouse, selectRows } from '@geo/infra';
import { startStack, type RunningStack } from '../../infra/src/servers/stack.ts';
import { InsightEnv } from '../src/config.ts';
import { createInsight } from '../src/service.ts';
import { INSIGHT_HISTORY_TABLES, INSIGHT_MIGRATIONS } from '../src/schema/migrations.ts';
import { cellKey, CELL_H3_RES } from '../src/sink/cells.ts';
import { NO_ADMIN_AREAS } from '../src/regions/region.ts';
import { mulberry32 } from '../src/test/population.ts';

const SCALE = Number(process.env.INSIGHT_BENCH_SCALE ?? 0.02);
const SUBS = Math.round(1_000_000 * SCALE);
const CELLS_X = 50;
const CELLS_Y = Math.max(4, Math.round(20_000 * SCALE / CELLS_X));
const CELLS = CELLS_X * CELLS_Y;
const DAYS = 7;
const MOVES_PER_SUB_DAY = 8;
const LIVE_EVENTS_PER_SUB = 10;
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const log = (msg: string) => process.stderr.write(`[bench:insight] ${msg}\n`);
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))]!;
const rnd = mulberry32(42);

const tag = Date.now().toString(36);
const DB = `insight_bench_${tag}`;
const STREAM = `INSIGHT_BENCH_${tag}`;
const PREFIX = `insightbench${tag}`;

let stack: RunningStack | undefined;
let dataDir: string | undefined;
const natsUrl = process.env.NATS_URL;
const chUrl = process.env.CLICKHOUSE_URL;
if (!natsUrl || !chUrl) {
  dataDir = mkdtempSync(join(tmpdir(), 'insight-bench-'));
  stack = await startStack({ dataDir, natsUrl, clickhouseUrl: chUrl, log: () => undefined });
}
const NATS = natsUrl ?? stack!.natsUrl;
const CH = chUrl ?? stack!.clickhouseUrl;

try {
  const root = connectClickHouse(CH);
  await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
  const ch = connectClickHouse(CH, DB);
  await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);

  // --- cells: a grid near Hangzhou, ~1.1 km apart ---
  const cells = Array.from({ length: CELLS }, (_, i) => {
    const x = i % CELLS_X;
    const y = Math.floor(i / CELLS_X);
    const lng = 119.9 + x * 0.01;
    const lat = 30.0 + y * 0.01;
    const name = `BENCH-${x}-${y}`;
    return { name, lng, lat, key: cellKey(name) };
  });
  const now = Math.floor(Date.now() / 1000) * 1000;
  await ch.insert({
    table: 'insight_cells',
    format: 'TabSeparated',
    values: Readable.from([cells.map((c) => `${c.key}\t${c.name}\t${c.lat}\t${c.lng}\t${BigInt(`0x${latLngToCell(c.lat, c.lng, CELL_H3_RES)}`)}\t330100\t${now / 1000}\n`).join('')], { objectMode: false }),
  });

  // --- 7 days of history, generated server-side (as the sink would have written it) ---
  let t = Date.now();
  const keys = `[${cells.map((c) => `toUInt64(${c.key})`).join(',')}]`;
  const histStart = Math.floor((now - DAYS * DAY) / 300_000) * 300; // seconds
  const buckets = DAYS * 288;
  const movesTotal = SUBS * MOVES_PER_SUB_DAY * DAYS;
  const chunk = 500_000;
  for (let off = 0; off < movesTotal; off += chunk) {
    const n = Math.min(chunk, movesTotal - off);
    await ch.command({
      query: `INSERT INTO insight_moves SELECT
          toDateTime(${histStart} + intHash32(number) % ${DAYS * 86400}) AS ts,
          toUInt64(13900000000 + number % ${SUBS}) AS sub,
          arrayElement(${keys}, 1 + intHash32(number * 7 + 1) % ${CELLS}) AS from_cell,
          arrayElement(${keys}, 1 + intHash32(number * 7 + 2) % ${CELLS}) AS to_cell,
          toUInt8(1 + number % 3) AS carrier
        FROM numbers(${off}, ${n})`,
      clickhouse_settings: { max_query_size: '67108864' } as Record<string, string>,
    });
  }
  const perBucketRows = CELLS;
  const avgPerCell = SUBS / CELLS;
  for (let d = 0; d < DAYS; d++) {
    await ch.command({
      query: `INSERT INTO insight_population_5m SELECT bucket, cell, cmcc + cucc + ctcc AS n, cmcc, cucc, ctcc FROM (SELECT
          toDateTime(${histStart} + intDiv(number, ${perBucketRows}) * 300) AS bucket,
          arrayElement(${keys}, 1 + number % ${perBucketRows}) AS cell,
          toUInt32(${avgPerCell / 3} * (0.6 + 0.4 * sin(intDiv(number, ${perBucketRows}) * 6.2832 / 288)) + intHash32(number) % 5) AS cmcc,
          toUInt32(cmcc * 0.6) AS cucc, toUInt32(cmcc * 0.5) AS ctcc
        FROM numbers(${d * 288 * perBucketRows}, ${288 * perBucketRows}))`,
      clickhouse_settings: { max_query_size: '67108864' } as Record<string, string>,
    });
  }
  log(`history: ${movesTotal.toLocaleString()} moves, ${(buckets * perBucketRows).toLocaleString()} snapshot rows in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  // --- live events, pre-published ---
  const nc = await connectNats(NATS, 'insight-bench');
  await ensureStream(await jetstreamManager(nc), { name: STREAM, subjects: [`${PREFIX}.>`], max_bytes: 4 * 1024 ** 3 });
  const js = jetstream(nc);
  t = Date.now();
  const home = new Int32Array(SUBS).map(() => Math.floor(rnd() * CELLS));
  const carriers = ['cmcc', 'cucc', 'ctcc'] as const;
  const homes = ['330106', '330102', '330105', '110101', '440305', '510104'];
  let published = 0;
  let pending: Promise<unknown>[] = [];
  for (let step = 0; step < LIVE_EVENTS_PER_SUB; step++) {
    const base = now - 2 * HOUR + step * 11 * MIN;
    let batch: unknown[] = [];
    for (let s = 0; s < SUBS; s++) {
      if (rnd() < 0.3) home[s] = Math.min(CELLS - 1, Math.max(0, home[s]! + Math.floor(rnd() * 3) - 1 + (rnd() < 0.5 ? CELLS_X : -CELLS_X)));
      const c = cells[home[s]!]!;
      batch.push({
        msisdn: String(13900000000 + s), carrier: carriers[s % 3], ts: base + Math.floor((s / SUBS) * 10 * MIN / 1000) * 1000,
        cell: c.name, lat: c.lat, lng: c.lng, kind: 'periodic', gender: s % 2 ? 'm' : 'f', age: 16 + (s % 60), home: homes[s % homes.length],
      });
      if (batch.length === 100) {
        pending.push(js.publish(`${PREFIX}.${carriers[published % 3]}.${published % 8}`, JSON.stringify({ v: 1, events: batch })));
        published += batch.length;
        batch = [];
        if (pending.length >= 500) { await Promise.all(pending); pending = []; }
      }
    }
    if (batch.length) {
      pending.push(js.publish(`${PREFIX}.cmcc.0`, JSON.stringify({ v: 1, events: batch })));
      published += batch.length;
    }
  }
  await Promise.all(pending);
  log(`published ${published.toLocaleString()} live events in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  // --- sink throughput: start the service and consume everything ---
  const cfg = InsightEnv.parse({
    LOG_LEVEL: 'warn', NATS_URL: NATS, CLICKHOUSE_URL: `${CH}/${DB}`, HEALTH_PORT: '0', API_PORT: '0',
    INSIGHT_STREAM: STREAM, INSIGHT_CONSUMER: 'insight-bench', INSIGHT_FILTER_SUBJECT: `${PREFIX}.>`,
  });
  t = Date.now();
  const insight = await createInsight(cfg, createLogger('insight', 'warn'), { admin: NO_ADMIN_AREAS, now: () => now });
  while (insight.sink.applied < published) {
    if (Date.now() - t > 150_000) throw new Error(`sink applied only ${insight.sink.applied} of ${published}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await insight.sink.flush();
  const sinkSeconds = (Date.now() - t) / 1000;
  const sinkRate = published / sinkSeconds;
  log(`sink: ${published.toLocaleString()} events in ${sinkSeconds.toFixed(1)} s, ${insight.sink.flushes} flushes taking ${(insight.sink.flushMs / 1000).toFixed(1)} s, inserts ${JSON.stringify(insight.sink.insertMs)}, parse+apply ${(insight.sink.handleMs / 1000).toFixed(1)} s`);

  // --- region metrics ---
  const regions = Array.from({ length: 25 }, (_, i) => {
    const c = cells[Math.floor(rnd() * CELLS)]!;
    const kind = i % 4;
    if (kind === 0) return { shapes: [{ type: 'circle', center: [c.lng, c.lat], radiusM: 1000 + rnd() * 7000 }] };
    if (kind === 1) return { shapes: [{ type: 'rectangle', bbox: [c.lng - 0.03, c.lat - 0.02, c.lng + 0.03, c.lat + 0.02] }] };
    const r = 0.02 + rnd() * 0.04;
    const ring = Array.from({ length: 5 }, (_, j) => [c.lng + r * Math.cos((j * 2 * Math.PI) / 5), c.lat + r * Math.sin((j * 2 * Math.PI) / 5)]);
    return { shapes: [{ type: 'polygon', coordinates: [ring] }] };
  });
  const post = async (region: unknown) => {
    const res = await fetch(`${insight.apiUrl}/regions/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ region }) });
    if (res.status !== 200) throw new Error(`metrics: ${res.status} ${await res.text()}`);
    return res.json() as Promise<{ population: { total: { value: number | null } }; cells: number }>;
  };
  for (const r of regions.slice(0, 3)) await post(r);
  const regionMs: number[] = [];
  let sample = '';
  for (const r of regions) {
    const s = performance.now();
    const m = await post(r);
    regionMs.push(performance.now() - s);
    sample ||= `${m.cells} cells, population ${m.population.total.value}`;
  }
  // The portal polls: the same regions again, now with settled history cached.
  const warmMs: number[] = [];
  for (const r of regions) {
    const s = performance.now();
    await post(r);
    warmMs.push(performance.now() - s);
  }
  log(`region metrics: ${regions.length} regions cold then polled again, e.g. ${sample}`);

  // --- heat map ---
  const heatMs: number[] = [];
  for (let i = 0; i < 100; i++) {
    const zoom = 9 + Math.floor(rnd() * 7);
    const span = 360 / 2 ** zoom * 3;
    const c = cells[Math.floor(rnd() * CELLS)]!;
    const s = performance.now();
    const res = await fetch(`${insight.apiUrl}/heatmap?bbox=${c.lng - span},${c.lat - span / 2},${c.lng + span},${c.lat + span / 2}&zoom=${zoom}`);
    await res.json();
    heatMs.push(performance.now() - s);
  }

  // --- disk per day ---
  const [disk] = await selectRows<{ b: string }>(ch, `SELECT sum(bytes_on_disk) AS b FROM system.parts WHERE database = '${DB}' AND active AND table IN (${INSIGHT_HISTORY_TABLES.map((x) => `'${x}'`).join(',')})`);
  const bytesPerDay = Number(disk!.b) / DAYS;

  await insight.stop();
  await (await jetstreamManager(nc)).streams.delete(STREAM).catch(() => undefined);
  await nc.drain();
  if (!process.env.INSIGHT_BENCH_KEEP) await root.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
  else log(`kept database ${DB}`);
  await ch.close();
  await root.close();

  const out = (metric: string, value: number, unit: string, extra: Record<string, unknown> = {}) =>
    console.log(JSON.stringify({ bench: 'insight', metric, value: Math.round(value * 100) / 100, unit, ...extra }));
  const scale = { subscribers: SUBS, cells: CELLS, days: DAYS, scale: SCALE };
  out('region_metrics_p95_ms', p95(regionMs), 'ms', { ...scale, first_query: true, polling_p95_ms: Math.round(p95(warmMs)) });
  out('heatmap_p95_ms', p95(heatMs), 'ms', scale);
  out('sink_events_per_s', sinkRate, '1/s', { events: published });
  out('clickhouse_bytes_per_day', bytesPerDay, 'B', { ...scale, per_million_subscribers: Math.round(bytesPerDay / SCALE) });
} finally {
  // Servers started here go away even when the run fails.
  await stack?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
