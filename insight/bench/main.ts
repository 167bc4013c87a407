/**
 * Insight benchmark: `npm run bench:insight` — the issue's scale by default: 7 days of history for
 * 1,000,000 subscribers on 20,000 cells. `INSIGHT_BENCH_SCALE=0.1` scales subscribers and cells
 * for a quicker run. Progress goes to stderr; figures are printed last, one JSON object per line.
 * One script of ~500 lines on purpose: a benchmark is read top to bottom as the one run it is
 * (generate, consume, query, print); its reusable parts live in bench-world.ts.
 *
 * - History is generated in ClickHouse, not pushed through the sink (56M moves would take far
 *   longer): `INSERT … SELECT` from `numbers()` joined to the cell table, one day at a time, into
 *   the same tables and the same row shape the sink writes (`insight_moves_to` → MV →
 *   `insight_moves_from`, `insight_population` snapshots every 5 minutes per cell, and the
 *   `insight_presence` checkpoint of every subscriber). 8 moves per subscriber per day, each to a
 *   neighbouring cell; population per cell with a daily cycle.
 * - sink_events_per_s: the service starts (restoring 1M subscribers from the checkpoint, timed
 *   apart), then consumes a realistic stream pre-published to JetStream — 2 location events per
 *   subscriber over the last 10 minutes, 500 per binary GLOC message as ingest publishes them, a quarter of them to a neighbouring
 *   cell —
 *   through presence, moves, snapshots and checkpoint inserts and acks, end to end.
 * - region_metrics_p95_ms: POST /regions/metrics over HTTP (every metric of the issue in one
 *   response) for 25 circles, rectangles and polygons of 1–8 km, the first query per region, after
 *   the pair atoms of the week's settled hours were filled (`pair_fill_s`, #24);
 *   `polling_p95_ms`: the same regions asked again (settled history cached, as the portal polls).
 * - big_region_first_p95_ms (#24): rectangles of 110 / 441 / 930 / 2,601 cells (2,601 ≈ a whole
 *   city), four of each at random places: the first query's p95 per size, and `polling_p95_ms`
 *   of two polls each.
 * - heatmap_p95_ms: GET /heatmap for 100 random viewports at zoom 9–15.
 * - clickhouse_bytes_per_day: bytes on disk of the day-partitioned history tables / 7.
 * - Closed days are merged into one part each before the service starts (`compactClosedDays`, as
 *   the running service does hourly): the generator's 1M-row inserts leave five or six parts a day.
 *
 * Servers: NATS_URL / CLICKHOUSE_URL from the environment, or started here (and stopped).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connectClickHouse, connectNats, createLogger, ensureStream, jetstreamManager, migrateClickHouse, selectRows } from '@geo/infra';
import { startStack, type RunningStack } from '../../infra/src/servers/stack.ts';
import { InsightEnv } from '../src/config.ts';
import { createInsight } from '../src/service.ts';
import { INSIGHT_HISTORY_TABLES, INSIGHT_MIGRATIONS } from '../src/schema/migrations.ts';
import { compactClosedDays } from '../src/schema/retention.ts';
import { insertRowBinary } from '../src/sink/sink.ts';
import { h3Halves, RowBinaryWriter } from '../src/sink/row-binary.ts';
import { NO_ADMIN_AREAS } from '../src/regions/region.ts';
import { seededRandom } from '@geo/infra/basics';
import { BENCH_HOMES, benchGrid, cellOfCarrier, cellOfCarrierSql, insertBenchCells, publishLiveStream } from './bench-world.ts';

const SCALE = Number(process.env.INSIGHT_BENCH_SCALE ?? 1);
const SUBS = Math.round(1_000_000 * SCALE);
const grid = benchGrid(SCALE);
const { x: CELLS_X, y: CELLS_Y, cells } = grid;
const CELLS = cells.length;
const DAYS = 7;
const MOVES_PER_SUB_DAY = 8;
const LIVE_EVENTS_PER_SUB = 2;
/** Big-region rectangles in grid cells (columns × rows): 110, 441, 930 and 2,601 cells (#24). */
const BIG_REGION_SIZES = [
  [11, 10],
  [21, 21],
  [31, 30],
  [51, 51],
] as const;
const REGIONS_PER_SIZE = 4;
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const SETTINGS = { max_query_size: '67108864' } as Record<string, string>;

const began = Date.now();
const log = (msg: string) => process.stderr.write(`[bench:insight +${((Date.now() - began) / 1000).toFixed(0)}s] ${msg}\n`);
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))]!;
const rnd = seededRandom(42);
/** CPU time (user + system, ms) this process has used: the service runs here. */
const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/**
 * CPU time (ms, 10 ms ticks) of the clickhouse-server this bench started (found by its data
 * directory in /proc); undefined when the servers came from the environment or /proc is missing.
 */
const clickhouseCpuMs = (): number | undefined => {
  if (!dataDir) return undefined;
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let cmd: string;
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (!cmd.includes('clickhouse') || !cmd.includes(dataDir)) continue;
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) * 10;
    }
  } catch {
    return undefined;
  }
  return undefined;
};

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
log(`scale ${SCALE}: ${SUBS.toLocaleString()} subscribers, ${CELLS.toLocaleString()} cells, ${DAYS} days`);

try {
  const root = connectClickHouse(CH);
  await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
  const ch = connectClickHouse(CH, DB);
  await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);

  // --- cells: a grid near Hangzhou, ~1.1 km apart ---
  const now = Math.floor(Date.now() / 1000) * 1000;
  const nowS = now / 1000;
  await insertBenchCells(ch, grid, nowS - DAYS * 86400);
  const bw = new RowBinaryWriter();
  cells.forEach((c, i) => {
    const [hi, lo] = h3Halves(c.h3);
    bw.row().u32(i).u64(c.key).u64hl(hi, lo);
  });
  // A helper table (index → key, H3) for generating history in ClickHouse; dropped with the database.
  await ch.command({ query: 'CREATE TABLE bench_cells (idx UInt32, key UInt64, h3 UInt64) ENGINE = Memory' });
  await insertRowBinary(ch, 'bench_cells', bw.take().bytes);

  // --- 7 days of history, generated server-side in the sink's row shape ---
  let t = Date.now();
  const histStart = Math.floor((now - DAYS * DAY) / 300_000) * 300; // seconds, on a 5-minute boundary
  const span = nowS - histStart;
  const movesTotal = SUBS * MOVES_PER_SUB_DAY * DAYS;
  // A move goes to cell `to` from one of its four neighbours in its carrier's rows (±1 column,
  // ±3 rows; clamped at the grid's edge), by a subscriber of that carrier (stepInCarrier).
  const neighbour = (to: string, h: string) =>
    `toUInt32(multiIf(${h} % 4 = 0 AND ${to} % ${CELLS_X} > 0, toInt64(${to}) - 1, ${h} % 4 = 1 AND ${to} % ${CELLS_X} < ${CELLS_X - 1}, toInt64(${to}) + 1,
      ${h} % 4 = 2 AND ${to} >= ${3 * CELLS_X}, toInt64(${to}) - ${3 * CELLS_X}, ${to} + ${3 * CELLS_X} < ${CELLS}, toInt64(${to}) + ${3 * CELLS_X}, toInt64(${to}) - ${3 * CELLS_X}))`;
  // Inserts of ~1M rows, each within one day (one partition), so that each stays well inside the
  // client's 60 s request timeout on a loaded machine and the parts stay few.
  const perDay = movesTotal / DAYS;
  const perInsert = Math.min(perDay, 1_000_000);
  // The last day's moves end 20 minutes before now, before the checkpoint's newest event (below):
  // a sink writes a move before the checkpoint that covers it, and a restarted service reads the
  // moves up to that event back into memory (#24); later ones come from the live stream.
  const lastDaySpan = nowS - 20 * 60 - (histStart + (DAYS - 1) * 86400);
  for (let d = 0; d < DAYS; d++) {
    for (let done = 0; done < perDay; done += perInsert) {
      const off = d * perDay + done;
      await ch.command({
        query: `INSERT INTO insight_moves_to (ts, sub, from_cell, to_cell, carrier, from_h3, to_h3)
          SELECT ts, sub, from_cell, to_cell, carrier, from_h3, to_h3 FROM (
            SELECT ts, sub, carrier, to_cell, to_h3, from_idx FROM (
              SELECT toDateTime(${histStart + d * 86400} + intHash32(number) % ${d === DAYS - 1 ? lastDaySpan : 86400}) AS ts,
                toUInt32(intHash32(number * 3 + 2) % ${CELLS}) AS to_idx,
                toUInt8(1 + intDiv(to_idx, ${CELLS_X}) % 3) AS carrier,
                toUInt64(13900000000 + 3 * (intHash32(number * 3 + 1) % ${Math.floor(SUBS / 3)}) + carrier - 1) AS sub,
                ${neighbour('to_idx', 'intHash32(number * 5 + 7)')} AS from_idx
              FROM numbers(${off}, ${Math.min(perInsert, perDay - done)})
            ) ANY INNER JOIN (SELECT idx AS to_idx, key AS to_cell, h3 AS to_h3 FROM bench_cells) USING to_idx
          ) ANY INNER JOIN (SELECT idx AS from_idx, key AS from_cell, h3 AS from_h3 FROM bench_cells) USING from_idx`,
        clickhouse_settings: SETTINGS,
      });
    }
    log(
      `history: moves ${((d + 1) * perDay).toLocaleString()} / ${movesTotal.toLocaleString()} (+ the same again by origin through the MV), ${((Date.now() - t) / 1000).toFixed(0)} s`,
    );
  }
  const buckets = Math.floor(span / 300);
  const perCell = SUBS / CELLS;
  const snapshotRows = buckets * CELLS;
  const chunkBuckets = Math.max(1, Math.floor(1_000_000 / CELLS));
  for (let b0 = 0; b0 < buckets; b0 += chunkBuckets) {
    const nb = Math.min(chunkBuckets, buckets - b0);
    await ch.command({
      query: `INSERT INTO insight_population (bucket, h3, cell, n, cmcc, cucc, ctcc)
        SELECT bucket, h3, key, n, if(carrier = 1, n, 0), if(carrier = 2, n, 0), if(carrier = 3, n, 0) FROM (
          SELECT toDateTime(${histStart} + (intDiv(number, ${CELLS}) + 1) * 300) AS bucket, toUInt32(number % ${CELLS}) AS idx,
            toUInt32(${(perCell * 0.45).toFixed(3)} * (0.7 + 0.3 * sin(intDiv(number, ${CELLS}) * 6.2832 / 288)) + intHash32(number) % 7) AS base,
            base + toUInt32(base * 0.6) + toUInt32(base * 0.5) AS n, toUInt8(1 + intDiv(idx, ${CELLS_X}) % 3) AS carrier
          FROM numbers(${b0 * CELLS}, ${nb * CELLS})
        ) ANY INNER JOIN (SELECT idx, key, h3 FROM bench_cells) USING idx`,
      clickhouse_settings: SETTINGS,
    });
  }
  log(`history: ${snapshotRows.toLocaleString()} snapshot rows, ${((Date.now() - t) / 1000).toFixed(0)} s`);
  // The checkpoint: every subscriber last seen within the last 2 h, in its carrier's cell (i × 7919) mod their number.
  await ch.command({
    query: `INSERT INTO insight_presence (sub, cell, ts, carrier, gender, age, home, detached, pos)
      SELECT sub, key, ts, carrier, gender, age, home, 0, 0 FROM (
        SELECT toUInt64(13900000000 + number) AS sub, ${cellOfCarrierSql(grid, 'number % 3', 'number * 7919')} AS idx,
          toUInt64(${now - 2 * HOUR + 60_000} + intHash32(number) % ${100 * MIN}) AS ts, toUInt8(1 + number % 3) AS carrier,
          toUInt8(1 + number % 2) AS gender, toUInt8(16 + number % 60) AS age,
          toUInt32(arrayElement([${BENCH_HOMES.join(', ')}], 1 + number % 6)) AS home
        FROM numbers(${SUBS})
      ) ANY INNER JOIN (SELECT idx, key FROM bench_cells) USING idx`,
    clickhouse_settings: SETTINGS,
  });
  const genSeconds = (Date.now() - t) / 1000;
  log(`history: checkpoint of ${SUBS.toLocaleString()} subscribers; generated in ${genSeconds.toFixed(0)} s`);
  // A service running through the week merged each day into one part within an hour of its close
  // (compactClosedDays, hourly); do the same for the generated days. Today stays in many parts.
  t = Date.now();
  const merged = await compactClosedDays(ch, now, 0);
  const compactSeconds = (Date.now() - t) / 1000;
  log(`history: ${merged.length} closed day partitions merged into one part each in ${compactSeconds.toFixed(0)} s`);

  // --- the live stream, pre-published: 2 events per subscriber over the last 10 minutes ---
  const nc = await connectNats(NATS, 'insight-bench');
  await ensureStream(await jetstreamManager(nc), { name: STREAM, subjects: [`${PREFIX}.>`], max_bytes: 8 * 1024 ** 3 });
  const js = jetstream(nc);
  t = Date.now();
  const where = Int32Array.from({ length: SUBS }, (_, i) => cellOfCarrier(grid, i % 3, i * 7919));
  // Binary GLOC batches of 500, as ingest's publisher writes LOCATION (LOCATION_FORMAT=binary).
  const { events: published } = await publishLiveStream({
    js,
    prefix: PREFIX,
    grid,
    subscribers: SUBS,
    where,
    count: SUBS * LIVE_EVENTS_PER_SUB,
    now,
    rnd,
    format: 'binary',
    perMessage: 500,
  });
  log(`published ${published.toLocaleString()} live events in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  // --- sink throughput: start the service (restore timed apart) and consume everything ---
  const cfg = InsightEnv.parse({
    LOG_LEVEL: 'warn',
    NATS_URL: NATS,
    // The database goes in the path, before any cluster query (`?cluster=…&nodes=…`).
    CLICKHOUSE_URL: (() => {
      const u = new URL(CH);
      u.pathname = `/${DB}`;
      return u.toString();
    })(),
    HEALTH_PORT: '0',
    API_PORT: '0',
    INSIGHT_STREAM: STREAM,
    INSIGHT_CONSUMER: 'insight-bench',
    INSIGHT_FILTER_SUBJECT: `${PREFIX}.>`,
    // One instance. On a loaded machine the event loop stalled past the default 6 s lease ttl (the
    // restore, a 2,601-cell query from ClickHouse): the sink lost its lease and the service rebuilt
    // its replica four times during the measurements, each time with empty caches and memory.
    INSIGHT_LEASES: 'false',
  });
  const insight = await createInsight(cfg, createLogger('insight', 'warn'), { admin: NO_ADMIN_AREAS, now: () => now });
  const sink = insight.sink;
  log(`service started: restored ${SUBS.toLocaleString()} subscribers from the checkpoint in ${(sink.restoreMs / 1000).toFixed(1)} s`);
  const deadline = Date.now() + 300_000;
  while (sink.applied < published) {
    if (Date.now() > deadline) throw new Error(`sink applied only ${sink.applied} of ${published}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await sink.flush();
  const sinkSeconds = (performance.now() - sink.consumingSince) / 1000;
  const sinkRate = published / sinkSeconds;
  const ms = (x: number) => Math.round(x);
  log(
    `sink: ${published.toLocaleString()} events in ${sinkSeconds.toFixed(1)} s, ${sink.flushes} flushes taking ${(sink.flushMs / 1000).toFixed(1)} s, ` +
      `inserts ${JSON.stringify(Object.fromEntries(Object.entries(sink.insertMs).map(([k, v]) => [k, ms(v)])))} ms, parse+apply ${(sink.handleMs / 1000).toFixed(1)} s`,
  );

  // --- region metrics: once the population ring (7 days per cell in memory) is restored ---
  const ringDeadline = Date.now() + 600_000;
  while (!insight.population.ready) {
    if (Date.now() > ringDeadline) throw new Error('the population ring was not restored within 10 minutes');
    await new Promise((r) => setTimeout(r, 100));
  }
  const ringReadyS = (performance.now() - sink.consumingSince) / 1000;
  log(`population ring restored ${ringReadyS.toFixed(1)} s after consuming began (in the background)`);
  // The last day of moves, read back into memory in the background (#24): first queries read
  // their per-person windows and recent series there.
  while (!insight.recent.covers(now - DAY)) {
    if (Date.now() > ringDeadline) throw new Error('the last day of moves was not back in memory within 10 minutes');
    await new Promise((r) => setTimeout(r, 100));
  }
  const movesReadyS = (performance.now() - sink.consumingSince) / 1000;
  const movesHeld = insight.recent.size;
  const movesBytes = insight.recent.bytes;
  log(
    `moves in memory: ${movesHeld.toLocaleString()} (${(movesBytes / 1e6).toFixed(0)} MB, ${(movesBytes / SUBS).toFixed(0)} B per subscriber), back ${movesReadyS.toFixed(1)} s after consuming began`,
  );
  // The holder fills the pair atoms of every settled hour of the week at its first fill run (a
  // minute after start; done here at once), and the hourly upkeep merges the closed days of the
  // pair tables into one part each (done here at once too).
  const fillStart = performance.now();
  const filledHours = await insight.fillPairs();
  const pairFillS = (performance.now() - fillStart) / 1000;
  const pairsMerged = await compactClosedDays(ch, now, 0);
  log(`pair atoms: ${filledHours.length} hours filled in ${pairFillS.toFixed(1)} s; ${pairsMerged.length} day partitions merged`);
  const centre = (x: number, y: number) => cells[y * CELLS_X + x]!;
  const regions = Array.from({ length: 25 }, (_, i) => {
    // Away from the grid's edge, so that every region is full of cells.
    const c = centre(8 + Math.floor(rnd() * (CELLS_X - 16)), 8 + Math.floor(rnd() * (CELLS_Y - 16)));
    const kind = i % 4;
    if (kind === 0) return { shapes: [{ type: 'circle', center: [c.lng, c.lat], radiusM: 1000 + rnd() * 7000 }] };
    if (kind === 1) return { shapes: [{ type: 'rectangle', bbox: [c.lng - 0.03, c.lat - 0.02, c.lng + 0.03, c.lat + 0.02] }] };
    const r = 0.02 + rnd() * 0.04;
    const ring = Array.from({ length: 5 }, (_, j) => [
      c.lng + r * Math.cos((j * 2 * Math.PI) / 5),
      c.lat + r * Math.sin((j * 2 * Math.PI) / 5),
    ]);
    return { shapes: [{ type: 'polygon', coordinates: [ring] }] };
  });
  const post = async (region: unknown) => {
    const res = await fetch(`${insight.apiUrl}/regions/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ region }),
    });
    if (res.status !== 200) throw new Error(`metrics: ${res.status} ${await res.text()}`);
    return res.json() as Promise<{
      population: { total: { value: number | null } };
      cells: number;
      flow: { sinceMidnight: { inflow: { value: number | null } } };
    }>;
  };
  // Warm-up on other regions (JIT, connections), not the measured ones.
  for (let i = 0; i < 3; i++) await post({ shapes: [{ type: 'circle', center: [centre(5 + i, 5).lng, centre(5, 5).lat], radiusM: 3000 }] });
  const regionMs: number[] = [];
  const sizes: number[] = [];
  let sample = '';
  for (const r of regions) {
    const s = performance.now();
    const m = await post(r);
    regionMs.push(performance.now() - s);
    sizes.push(m.cells);
    sample ||= `${m.cells} cells, population ${m.population.total.value}, inflow since midnight ${m.flow.sinceMidnight.inflow.value}`;
  }
  // The portal polls: the same regions again, now with settled history cached.
  const warmMs: number[] = [];
  for (const r of regions) {
    const s = performance.now();
    await post(r);
    warmMs.push(performance.now() - s);
  }
  log(
    `region metrics: ${regions.length} regions of ${Math.min(...sizes)}–${Math.max(...sizes)} cells, e.g. ${sample}; first p95 ${ms(p95(regionMs))} ms, polled p95 ${ms(p95(warmMs))} ms`,
  );

  // --- big regions (#24): rectangles of w × h grid cells (110 / 441 / 930 / 2,601; a whole city is
  // ~2,600), REGIONS_PER_SIZE of each at random places, first query then two polls ---
  // Besides the wall time (which a loaded machine inflates), the CPU each query cost this process
  // (the service runs here) and the ClickHouse server (when this bench started it).
  // INSIGHT_BENCH_PROFILE=<dir>: a CPU profile of this phase alone is written there.
  const profileDir = process.env.INSIGHT_BENCH_PROFILE;
  const session = profileDir ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
  }
  type Cost = { wall: number; cpu: number; ch?: number };
  const timed = async (fn: () => Promise<unknown>): Promise<Cost> => {
    const ch0 = clickhouseCpuMs();
    const c0 = ownCpuMs();
    const s = performance.now();
    await fn();
    const wall = performance.now() - s;
    const cpu = ownCpuMs() - c0;
    const ch1 = clickhouseCpuMs();
    return { wall, cpu, ch: ch0 === undefined || ch1 === undefined ? undefined : ch1 - ch0 };
  };
  const bySize: { cells: number; first: number[]; polled: number[]; firstCost: Cost[]; polledCost: Cost[] }[] = [];
  for (const [w, h] of BIG_REGION_SIZES) {
    const cw = Math.min(w, CELLS_X);
    const chh = Math.min(h, CELLS_Y);
    const row = { cells: 0, first: [] as number[], polled: [] as number[], firstCost: [] as Cost[], polledCost: [] as Cost[] };
    for (let i = 0; i < REGIONS_PER_SIZE; i++) {
      const sw = centre(Math.floor(rnd() * (CELLS_X - cw + 1)), Math.floor(rnd() * (CELLS_Y - chh + 1)));
      // Half a cell's spacing (0.01°) around the outer cells' centres.
      const region = {
        shapes: [
          {
            type: 'rectangle',
            bbox: [sw.lng - 0.005, sw.lat - 0.005, sw.lng + (cw - 1) * 0.01 + 0.005, sw.lat + (chh - 1) * 0.01 + 0.005],
          },
        ],
      };
      const first = await timed(async () => (row.cells = (await post(region)).cells));
      row.first.push(first.wall);
      row.firstCost.push(first);
      for (let j = 0; j < 2; j++) {
        const poll = await timed(() => post(region));
        row.polled.push(poll.wall);
        row.polledCost.push(poll);
      }
    }
    bySize.push(row);
    const cpus = (cs: Cost[]) => cs.map((c) => `${ms(c.cpu)}${c.ch === undefined ? '' : `+${ms(c.ch)}`}`).join(' / ');
    log(
      `big region ${row.cells} cells: first ${row.first.map(ms).join(' / ')} ms, polled ${row.polled.map(ms).join(' / ')} ms; ` +
        `CPU ms (service + ClickHouse) first ${cpus(row.firstCost)}, polled ${cpus(row.polledCost)}`,
    );
  }
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    const file = join(profileDir!, `big-regions-${tag}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    log(`CPU profile of the big regions: ${file}`);
  }

  // --- heat map ---
  const heatMs: number[] = [];
  for (let i = 0; i < 100; i++) {
    const zoom = 9 + Math.floor(rnd() * 7);
    const w = (360 / 2 ** zoom) * 3;
    const c = cells[Math.floor(rnd() * CELLS)]!;
    const s = performance.now();
    const res = await fetch(`${insight.apiUrl}/heatmap?bbox=${c.lng - w},${c.lat - w / 2},${c.lng + w},${c.lat + w / 2}&zoom=${zoom}`);
    await res.json();
    heatMs.push(performance.now() - s);
  }

  // --- disk per day ---
  const [disk] = await selectRows<{ b: string; rows: string }>(
    ch,
    `SELECT sum(bytes_on_disk) AS b, sum(rows) AS rows FROM system.parts WHERE database = '${DB}' AND active AND table IN (${INSIGHT_HISTORY_TABLES.map((x) => `'${x}'`).join(',')})`,
  );
  const bytesPerDay = Number(disk!.b) / DAYS;
  log(`disk: ${(Number(disk!.b) / 1e6).toFixed(0)} MB for ${Number(disk!.rows).toLocaleString()} history rows`);

  await insight.stop();
  await (await jetstreamManager(nc)).streams.delete(STREAM).catch(() => undefined);
  await nc.drain();
  if (!process.env.INSIGHT_BENCH_KEEP) await root.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
  else log(`kept database ${DB}`);
  await ch.close();
  await root.close();
  log(`done in ${((Date.now() - began) / 1000).toFixed(0)} s`);

  const out = (metric: string, value: number, unit: string, extra: Record<string, unknown> = {}) =>
    console.log(JSON.stringify({ bench: 'insight', metric, value: Math.round(value * 100) / 100, unit, ...extra }));
  const scale = { subscribers: SUBS, cells: CELLS, days: DAYS, scale: SCALE };
  out('region_metrics_p95_ms', p95(regionMs), 'ms', {
    ...scale,
    first_query: true,
    polling_p95_ms: ms(p95(warmMs)),
    ring_restored_after_s: Math.round(ringReadyS),
    pair_hours_filled: filledHours.length,
    pair_fill_s: Math.round(pairFillS * 10) / 10,
    region_cells: [Math.min(...sizes), Math.max(...sizes)],
  });
  for (const row of bySize)
    out('big_region_first_p95_ms', p95(row.first), 'ms', {
      ...scale,
      region_cells: row.cells,
      regions: row.first.length,
      first_ms: row.first.map(ms),
      polling_p95_ms: ms(p95(row.polled)),
      polled_ms: row.polled.map(ms),
      // CPU per query: this process (the service) and the ClickHouse server, less sensitive to load than wall time.
      first_cpu_ms: row.firstCost.map((c) => ms(c.cpu)),
      polled_cpu_ms: row.polledCost.map((c) => ms(c.cpu)),
      ...(row.firstCost[0]?.ch === undefined
        ? {}
        : { first_clickhouse_cpu_ms: row.firstCost.map((c) => ms(c.ch!)), polled_clickhouse_cpu_ms: row.polledCost.map((c) => ms(c.ch!)) }),
      load_avg: loadavg().map((x) => Math.round(x * 100) / 100),
    });
  out('moves_in_memory_bytes', movesBytes, 'B', {
    ...scale,
    moves: movesHeld,
    bytes_per_subscriber: Math.round(movesBytes / SUBS),
    restored_after_s: Math.round(movesReadyS),
  });
  out('heatmap_p95_ms', p95(heatMs), 'ms', scale);
  out('sink_events_per_s', sinkRate, '1/s', { events: published, subscribers: SUBS, restore_ms: ms(sink.restoreMs) });
  out('clickhouse_bytes_per_day', bytesPerDay, 'B', {
    ...scale,
    moves_per_day: SUBS * MOVES_PER_SUB_DAY,
    history_generation_s: Math.round(genSeconds),
    closed_days_merge_s: Math.round(compactSeconds),
  });
} finally {
  // Servers started here go away even when the run fails.
  await stack?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
