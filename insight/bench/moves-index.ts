/**
 * CPU of one region's crossings over the moves held in memory (#24): `npx tsx insight/bench/moves-index.ts`.
 *
 * The moves of `region-cpu.ts`'s world (8 a subscriber a day over 25 h, each to a neighbouring
 * cell of the carrier), then for rectangles of 110 / 441 / 930 / 2,601 cells the crossings of the
 * last 24 h read by the region's cells from the segments and by one pass over every move, timed in CPU of
 * this process, with the number of crossings each found (they must agree). `INSIGHT_BENCH_SCALE`
 * (subscribers in millions, default 1), `INSIGHT_BENCH_CELL_SCALE` (default 1: 20,022 cells),
 * `REGION_CPU_REPEAT` (default 4). Prints one JSON line per size.
 */
import { loadavg } from 'node:os';
import { seededRandom } from '@geo/infra/basics';
import { RecentMoves, type MoveChunk } from '../src/metrics/recent-moves.ts';
import { benchGrid, benchMsisdn, cellOfCarrier, stepInCarrier } from './bench-world.ts';

const SCALE = Number(process.env.INSIGHT_BENCH_SCALE ?? 1);
const CELL_SCALE = Number(process.env.INSIGHT_BENCH_CELL_SCALE ?? 1);
const REPEAT = Number(process.env.REGION_CPU_REPEAT ?? 4);
const SUBS = Math.round(1_000_000 * SCALE);
const HOUR = 3_600_000;
const SIZES = (process.env.REGION_CPU_SIZES ?? '11x10,21x21,31x30,51x51')
  .split(',')
  .map((s) => s.split('x').map(Number) as [number, number]);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const rnd = seededRandom(7);
const grid = benchGrid(CELL_SCALE);
const now = Date.now();
const recent = new RecentMoves();
const moves = Math.round((SUBS * 8 * 25) / 24);
const from = now - 25 * HOUR;
const pos = Int32Array.from({ length: SUBS }, (_, s) => cellOfCarrier(grid, s % 3, s * 7919));
const c0 = cpuMs();
for (let j = 0; j < moves; j++) {
  const s = Math.floor(rnd() * SUBS);
  const a = pos[s]!;
  const b = stepInCarrier(grid, a, rnd());
  pos[s] = b;
  recent.record(from + Math.floor((j / moves) * 25 * HOUR), benchMsisdn(s), a, b);
}
const recordMs = cpuMs() - c0;
recent.start(from);
const mib = (b: number) => Math.round(b / 2 ** 20);
console.log(
  JSON.stringify({
    bench: 'insight-moves-index',
    metric: 'memory',
    moves: recent.size,
    moves_mib: mib(recent.bytes),
    index_mib: mib(recent.indexBytes),
    segmented: recent.segmented,
    record_cpu_ms_incl_index: Math.round(recordMs),
    rss_mib: mib(process.memoryUsage().rss),
  }),
);

/** The pass over every move held that `crossings` did before the segments (#24). */
function fullPass(inRegion: Uint8Array, fromS: number, toS: number, fn: (t: number, sub: number, f: number, c: number) => void) {
  const held = recent as unknown as { chunks: MoveChunk[]; segments: Omit<MoveChunk, 'head'>[] };
  for (const c of [...held.segments.map((s) => ({ ...s, head: 0 })), ...held.chunks]) {
    if (c.maxS < fromS || c.minS > toS) continue;
    const { ts, from, to } = c;
    for (let k = c.head; k < c.n; k++) {
      const f = from[k]!;
      if (inRegion[to[k]!] === (f < 0 ? 0 : inRegion[f])) continue;
      const t = ts[k]!;
      if (t >= fromS && t <= toS) fn(t, c.sub[k]!, f, to[k]!);
    }
  }
}

const toS = Math.floor(now / 1000);
const fromS = toS - 24 * 3600;
const load0 = loadavg()[0]!;
for (const [w, h] of SIZES) {
  const indexed: number[] = [];
  const full: number[] = [];
  let found = [0, 0];
  for (let i = 0; i < REPEAT + 1; i++) {
    const x0 = Math.floor(rnd() * (grid.x - w + 1));
    const y0 = Math.floor(rnd() * (grid.y - h + 1));
    const mask = new Uint8Array(grid.cells.length);
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) mask[y * grid.x + x] = 1;
    let a = 0;
    let b = 0;
    let t = cpuMs();
    recent.crossings(mask, fromS, toS, () => a++);
    const ti = cpuMs() - t;
    t = cpuMs();
    fullPass(mask, fromS, toS, () => b++);
    const tf = cpuMs() - t;
    if (a !== b) throw new Error(`crossings differ: ${a} indexed, ${b} by a full pass`);
    // The first round warms the JIT up.
    if (i === 0) continue;
    indexed.push(Math.round(ti));
    full.push(Math.round(tf));
    found = [a, b];
  }
  console.log(
    JSON.stringify({
      bench: 'insight-moves-index',
      metric: 'crossings_cpu_ms',
      region_cells: w * h,
      indexed_cpu_ms: indexed,
      full_pass_cpu_ms: full,
      crossings: found[0],
      moves: recent.size,
      load_avg: [Math.round(load0 * 10) / 10, Math.round(loadavg()[0]! * 10) / 10],
    }),
  );
}
