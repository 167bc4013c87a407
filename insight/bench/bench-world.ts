/**
 * The simulated world both insight benchmarks use (`bench/main.ts`, `bench/sink.ts`): a grid of
 * cells near Hangzhou, ~1.1 km apart, and a live stream of location events in which subscribers
 * step to a neighbouring cell of their carrier now and then.
 *
 * A cell belongs to one carrier's network (DESIGN.md invariant 8): row `cy` of the grid is carrier
 * `cy % 3`'s (0 cmcc, 1 cucc, 2 ctcc), so the grid keeps its 20,022 cells in all (figures stay
 * comparable with runs before cells were per carrier, when every carrier used every cell by one
 * name) and each carrier's cells lie in every third row. A subscriber (carrier `s % 3`) stays on
 * its carrier's rows: neighbours are ±1 column or ±3 rows.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { latLngToCell } from 'h3-js';
import type { ClickHouseClient } from '@geo/infra';
import { LocationBatchBuilder } from '@geo/ingest';
import { cellKey, CELL_H3_RES } from '../src/sink/cells.ts';
import { insertRowBinary } from '../src/sink/sink.ts';
import { h3Halves, RowBinaryWriter } from '../src/sink/row-binary.ts';

export interface BenchCell {
  name: string;
  lng: number;
  lat: number;
  key: number;
  /** Carrier code (1 cmcc, 2 cucc, 3 ctcc). */
  carrier: number;
  /** H3 index (hex) at the sink's resolution. */
  h3: string;
}

export interface BenchGrid {
  x: number;
  y: number;
  cells: BenchCell[];
}

/** 20,000 × `scale` cells (at least 10 × 10), row by row from the south-west corner. */
export function benchGrid(scale: number): BenchGrid {
  const x = Math.max(10, Math.round(Math.sqrt(20_000 * scale)));
  const y = Math.max(10, Math.round((20_000 * scale) / x));
  const cells = Array.from({ length: x * y }, (_, i) => {
    const cx = i % x;
    const cy = Math.floor(i / x);
    const lng = 119.5 + cx * 0.01;
    const lat = 29.7 + cy * 0.01;
    const name = `BENCH-${cx}-${cy}`;
    const carrier = 1 + (cy % 3);
    return { name, lng, lat, key: cellKey(carrier, name), carrier, h3: latLngToCell(lat, lng, CELL_H3_RES) };
  });
  return { x, y, cells };
}

/**
 * The `k`-th cell (mod their number) of carrier `c` (0 cmcc, 1 cucc, 2 ctcc): rows c, c + 3, ….
 * `cellOfCarrierSql` is the same in ClickHouse SQL.
 */
export function cellOfCarrier(grid: BenchGrid, c: number, k: number): number {
  const j = k % (grid.x * Math.ceil((grid.y - c) / 3));
  return (c + 3 * Math.floor(j / grid.x)) * grid.x + (j % grid.x);
}

export function cellOfCarrierSql(grid: BenchGrid, c: string, k: string): string {
  // Every operand UInt64: 18.16 types mixed signed/unsigned arithmetic into a wrapping Int32.
  const n = [0, 1, 2].map((x) => `toUInt64(${grid.x * Math.ceil((grid.y - x) / 3)})`);
  const j = `(toUInt64(${k}) % multiIf(${c} = 0, ${n[0]}, ${c} = 1, ${n[1]}, ${n[2]}))`;
  return `toUInt32((toUInt64(${c}) + 3 * intDiv(${j}, toUInt64(${grid.x}))) * ${grid.x} + ${j} % toUInt64(${grid.x}))`;
}

/** A neighbour of cell `c` in its carrier's rows (±1 column, ±3 rows, clamped at the edge), by `r` in [0, 1). */
export function stepInCarrier(grid: BenchGrid, c: number, r: number): number {
  const X = grid.x;
  const n = grid.cells.length;
  return r < 0.25 && c % X > 0
    ? c - 1
    : r < 0.5 && c % X < X - 1
      ? c + 1
      : r < 0.75 && c >= 3 * X
        ? c - 3 * X
        : c + 3 * X < n
          ? c + 3 * X
          : c;
}

/** Writes the grid's cells to `insight_cells` as the sink would have (city 330100, first seen then). */
export async function insertBenchCells(ch: ClickHouseClient, grid: BenchGrid, firstSeenS: number): Promise<void> {
  const w = new RowBinaryWriter();
  for (const c of grid.cells) {
    const [hi, lo] = h3Halves(c.h3);
    w.row().u64(c.key).str(c.name).f64(c.lat).f64(c.lng).u64hl(hi, lo).u32(330100).u32(firstSeenS).u8(c.carrier);
  }
  await insertRowBinary(ch, 'insight_cells', w.take().bytes);
}

/** Home areas (GB/T 2260), by subscriber number mod 6. */
export const BENCH_HOMES = [330106, 330102, 330105, 110101, 440305, 510104] as const;

/** Subscriber `s`'s MSISDN. */
export const benchMsisdn = (s: number) => 13_900_000_000 + s;

/** The live stream: `count` events over the `spanMs` before `now`, as one publisher writes them. */
export interface LiveStreamOptions {
  js: JetStreamClient;
  /** Subjects are `<prefix>.<carrier>.<n mod 8>`. */
  prefix: string;
  grid: BenchGrid;
  subscribers: number;
  /** Each subscriber's cell (index into the grid), updated as they step. */
  where: Int32Array;
  count: number;
  now: number;
  rnd: () => number;
  /** Events are spread over this long before `now`. @default 10 minutes */
  spanMs?: number;
  /** `binary`: ingest's GLOC batches (LOCATION_FORMAT=binary); `json`: `{v:1, events}`. */
  format: 'binary' | 'json';
  perMessage: number;
}

const CARRIERS = ['cmcc', 'cucc', 'ctcc'] as const;
const MIN = 60_000;

/**
 * Publishes the live stream: a random subscriber per event, a quarter of whom first step to a
 * neighbouring cell (clamped at the grid's edge). At most 100 publishes wait for their acks.
 * @returns events and messages published.
 */
export async function publishLiveStream(o: LiveStreamOptions): Promise<{ events: number; messages: number }> {
  const { grid, where, rnd } = o;
  const builder = new LocationBatchBuilder(o.perMessage);
  let json: unknown[] = [];
  let events = 0;
  let messages = 0;
  let pending: Promise<unknown>[] = [];
  const send = async (force: boolean) => {
    const k = o.format === 'json' ? json.length : builder.count;
    if (k === 0 || (!force && k < o.perMessage)) return;
    // encode() starts the next batch: count first.
    const body = o.format === 'json' ? JSON.stringify({ v: 1, events: json }) : builder.encode();
    json = [];
    pending.push(o.js.publish(`${o.prefix}.${CARRIERS[messages % 3]}.${messages % 8}`, body, { timeout: 60_000 }));
    messages++;
    events += k;
    // Bounded in flight: with 500 pending, a loaded machine timed publishes out.
    if (pending.length >= 100 || force) {
      await Promise.all(pending);
      pending = [];
    }
  };
  for (let j = 0; j < o.count; j++) {
    const s = Math.floor(rnd() * o.subscribers);
    if (rnd() < 0.25) where[s] = stepInCarrier(grid, where[s]!, rnd());
    const c = grid.cells[where[s]!]!;
    const span = o.spanMs ?? 10 * MIN;
    const ts = o.now - span + Math.floor((j / o.count) * span);
    const home = BENCH_HOMES[s % 6]!;
    if (o.format === 'json') {
      json.push({
        msisdn: String(benchMsisdn(s)),
        carrier: CARRIERS[s % 3],
        ts,
        cell: c.name,
        lat: c.lat,
        lng: c.lng,
        kind: 'periodic',
        gender: s % 2 ? 'f' : 'm',
        age: 16 + (s % 60),
        home: String(home),
      });
    } else {
      builder.addFields(benchMsisdn(s), s % 3, ts, c.name, c.lat, c.lng, 0, s % 2 ? 2 : 1, 16 + (s % 60), home);
    }
    await send(false);
  }
  await send(true);
  return { events, messages };
}
