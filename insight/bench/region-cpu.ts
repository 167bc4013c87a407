/**
 * CPU per region query of the service's own work, without servers (#24): `npx tsx insight/bench/region-cpu.ts`.
 *
 * Builds the bench's world (`bench-world.ts`) in memory as the service holds it after a start —
 * presence of every subscriber, the population ring's 7 days, the last 25 h of moves (8 a subscriber
 * a day, each to a neighbouring cell) — and answers `regionMetrics` for rectangles of 110 / 441 /
 * 930 / 2,601 cells: a first query and two polls each, timed in CPU of this process (user + system:
 * far less sensitive to the shared machine's load than wall time). ClickHouse is a stub that says
 * every hour's pair atoms are filled and returns none of them: the one small query a first query
 * sends there is not counted (the full bench, `main.ts`, measures it).
 *
 * `INSIGHT_BENCH_SCALE` (default 1: 1,000,000 subscribers, 20,022 cells; `INSIGHT_BENCH_CELL_SCALE` scales
 * the cells apart, e.g. 10M subscribers on the same cells), `REGION_CPU_REPEAT`
 * regions per size (default 4), `REGION_CPU_SIZES`, `REGION_CPU_PROFILE=<file>`: a CPU profile of the queries.
 * Prints one JSON line per size.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import type { ClickHouseClient } from '@geo/infra';
import { seededRandom } from '@geo/infra/basics';
import { CellDictionary } from '../src/sink/cells.ts';
import { PresenceState, BUCKET_MS } from '../src/sink/presence-state.ts';
import { PopulationRing } from '../src/metrics/population-ring.ts';
import { RecentMoves } from '../src/metrics/recent-moves.ts';
import { HistoryCache } from '../src/metrics/history-cache.ts';
import { PresenceIndex } from '../src/metrics/presence-index.ts';
import { PairHours } from '../src/metrics/pair-query.ts';
import { PersonTimesCache, regionMetrics, type MetricsContext } from '../src/metrics/region-metrics.ts';
import { NO_ADMIN_AREAS, RegionResolver } from '../src/regions/region.ts';
import { BENCH_HOMES, benchGrid, benchMsisdn, cellOfCarrier, stepInCarrier } from './bench-world.ts';

const SCALE = Number(process.env.INSIGHT_BENCH_SCALE ?? 1);
const REPEAT = Number(process.env.REGION_CPU_REPEAT ?? 4);
const SUBS = Math.round(1_000_000 * SCALE);
/** Cells scale apart (`INSIGHT_BENCH_CELL_SCALE`, default the same): a province has the cells it has, whatever its people. */
const CELL_SCALE = Number(process.env.INSIGHT_BENCH_CELL_SCALE ?? SCALE);
const K = 10;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Rectangles in grid cells, `REGION_CPU_SIZES=51x51,…` (default: 110 / 441 / 930 / 2,601 cells). */
const SIZES = (process.env.REGION_CPU_SIZES ?? '11x10,21x21,31x30,51x51')
  .split(',')
  .map((s) => s.split('x').map(Number) as [number, number]);

const began = performance.now();
const log = (msg: string) => process.stderr.write(`[region-cpu +${((performance.now() - began) / 1000).toFixed(1)}s] ${msg}\n`);
const mib = (b: number) => Math.round(b / 2 ** 20);
const memory = () => {
  const m = process.memoryUsage();
  return { rss_mib: mib(m.rss), heap_used_mib: mib(m.heapUsed), array_buffers_mib: mib(m.arrayBuffers) };
};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const rnd = seededRandom(7);
const grid = benchGrid(CELL_SCALE);
const CELLS = grid.cells.length;
const now = Math.floor(Date.now() / BUCKET_MS) * BUCKET_MS + 123_000;

// --- cells and presence: each subscriber in its carrier's cell, last seen within the last 2 h ---
const cells = new CellDictionary();
for (const c of grid.cells) cells.restore(c.carrier, c.name, c.key, c.lat, c.lng, 330100);
const state = new PresenceState(cells, 2 * HOUR, SUBS);
const where = Int32Array.from({ length: SUBS }, (_, s) => cellOfCarrier(grid, s % 3, s * 7919));
for (let s = 0; s < SUBS; s++)
  state.restore({
    sub: benchMsisdn(s),
    cell: where[s]!,
    ts: now - 2 * HOUR + 60_000 + Math.floor(rnd() * 118 * 60_000),
    carrier: 1 + (s % 3),
    gender: 1 + (s % 2),
    age: 16 + (s % 60),
    home: BENCH_HOMES[s % 6]!,
    detached: 0,
    pos: 0,
  });
log(`presence: ${SUBS.toLocaleString()} subscribers on ${CELLS.toLocaleString()} cells`);

// --- the population ring: 7 days of 5-minute boundaries, a daily cycle per cell ---
const ring = new PopulationRing();
const perCell = SUBS / CELLS;
const counts = new Uint32Array(CELLS * 4);
for (let b = now - 7 * DAY; b <= now; b += BUCKET_MS) {
  const bucket = b - (b % BUCKET_MS);
  const cycle = 0.7 + 0.3 * Math.sin((bucket / BUCKET_MS) * ((2 * Math.PI) / 288));
  for (let c = 0; c < CELLS; c++) counts[c * 4 + grid.cells[c]!.carrier] = Math.floor(perCell * cycle + rnd() * 7);
  ring.record(bucket, counts);
}
ring.ready = true;
log('population ring: 7 days');

// --- the last 25 h of moves, in time order: 8 a subscriber a day, each to a neighbouring cell ---
const recent = new RecentMoves();
const moves = Math.round((SUBS * 8 * 25) / 24);
const from = now - 25 * HOUR;
const pos = Int32Array.from(where);
for (let j = 0; j < moves; j++) {
  const s = Math.floor(rnd() * SUBS);
  const a = pos[s]!;
  const b = stepInCarrier(grid, a, rnd());
  pos[s] = b;
  recent.record(from + Math.floor((j / moves) * 25 * HOUR), benchMsisdn(s), a, b);
}
recent.start(from);
log(`moves: ${recent.size.toLocaleString()} in memory (${(recent.bytes / 1e6).toFixed(0)} MB)`);
// What the service holds, by part (typed arrays) and for the process.
const presenceBytes = state.msisdn.byteLength * 3 + state.cell.byteLength + state.home.byteLength + state.carrier.byteLength * 5;
const ringBytes = CELLS * 2048 * 2;
const held = {
  presence_mib: mib(presenceBytes),
  ring_mib: mib(ringBytes),
  moves_mib: mib(recent.bytes),
  moves_index_mib: mib(recent.indexBytes),
  moves: recent.size,
  ...memory(),
};
log(`memory: ${JSON.stringify(held)}`);

// --- ClickHouse stub: every hour filled, no pair atoms ---
const hours = Array.from({ length: 9 * 24 }, (_, i) => `${Math.floor(now / HOUR) * 3600 - i * 3600}\t${Math.floor(now / 1000)}`).join('\n');
const ch = {
  query: async ({ query }: { query: string }) => ({ text: async () => (query.includes('insight_pairs_hours') ? hours : '') }),
} as unknown as ClickHouseClient;

const ctx: MetricsContext = {
  state,
  ch,
  regions: new RegionResolver(cells, NO_ADMIN_AREAS),
  k: K,
  cache: new HistoryCache(),
  times: new PersonTimesCache(),
  presence: new PresenceIndex(state),
  population: ring,
  recent,
  pairs: new PairHours(ch, K, 15_000),
  now: () => now,
};

const rect = (x: number, y: number, w: number, h: number) => {
  const sw = grid.cells[y * grid.x + x]!;
  return {
    areas: [],
    shapes: [
      {
        type: 'rectangle' as const,
        bbox: [sw.lng - 0.005, sw.lat - 0.005, sw.lng + (w - 1) * 0.01 + 0.005, sw.lat + (h - 1) * 0.01 + 0.005],
      },
    ],
  };
};
const timed = async (fn: () => Promise<unknown>) => {
  const c0 = cpuMs();
  const t0 = performance.now();
  await fn();
  return { cpu: cpuMs() - c0, wall: performance.now() - t0 };
};

// Warm-up (JIT) on small regions elsewhere.
for (let i = 0; i < 5; i++) await regionMetrics(ctx, rect(i, i, 5, 5) as never, now);

const session = process.env.REGION_CPU_PROFILE ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
}
const load0 = loadavg()[0]!;
const rows: Record<string, unknown>[] = [];
for (const [w, h] of SIZES) {
  const first: number[] = [];
  const polled: number[] = [];
  const wall: number[] = [];
  let n = 0;
  for (let i = 0; i < REPEAT; i++) {
    const region = rect(Math.floor(rnd() * (grid.x - w + 1)), Math.floor(rnd() * (grid.y - h + 1)), w, h);
    const f = await timed(async () => (n = (await regionMetrics(ctx, region as never, now)).cells));
    first.push(f.cpu);
    wall.push(f.wall);
    for (let j = 0; j < 2; j++) polled.push((await timed(() => regionMetrics(ctx, region as never, now))).cpu);
  }
  const r = (xs: number[]) => xs.map((x) => Math.round(x));
  log(`${n} cells: CPU first ${r(first).join(' / ')} ms, polled ${r(polled).join(' / ')} ms`);
  rows.push({
    bench: 'insight-region-cpu',
    metric: 'region_cpu_ms',
    region_cells: n,
    first_cpu_ms: r(first),
    polled_cpu_ms: r(polled),
    first_wall_ms: r(wall),
    subscribers: SUBS,
    cells: CELLS,
  });
}
if (session) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(process.env.REGION_CPU_PROFILE!, JSON.stringify(profile));
  session.disconnect();
}
console.log(
  JSON.stringify({ bench: 'insight-region-cpu', metric: 'memory', subscribers: SUBS, cells: CELLS, ...held, after_queries: memory() }),
);
for (const row of rows)
  console.log(JSON.stringify({ ...row, load_avg: [Math.round(load0 * 10) / 10, Math.round(loadavg()[0]! * 10) / 10] }));
