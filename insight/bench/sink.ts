/**
 * Sink-only benchmark: `npx tsx insight/bench/sink.ts` — the sink of `npm run bench:insight`
 * without 7 days of history and without the API, so that it runs in about a minute.
 *
 * A checkpoint of 1,000,000 subscribers on 20,000 cells is written to ClickHouse, 2,000,000 live
 * events (2 per subscriber over the last 10 minutes, a quarter of them to a neighbouring cell) are
 * pre-published to JetStream, and then a `LocationSink` restores the checkpoint and consumes them
 * all: presence, moves (and the moves-by-origin materialized view), 5-minute snapshots, checkpoint
 * rows, acks. The rate is events / seconds from the start of consuming to the last ack.
 *
 * - `SINK_BENCH_FORMAT`: `binary` (default: ingest's publisher, 500 events per message) or `json`
 *   (100 per message, as `bench/main.ts` publishes).
 * - `SINK_BENCH_SCALE`: subscribers, cells and events scaled (default 1).
 * - `SINK_BENCH_PROFILE=<file.cpuprofile>`: a V8 CPU profile of the consuming phase only.
 * - `NATS_URL` / `CLICKHOUSE_URL`: existing servers, or both are started here (and stopped).
 *
 * Figures are printed last, one JSON object per line.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connectClickHouse, connectNats, createLogger, ensureStream, jetstreamManager, migrateClickHouse } from '@geo/infra';
import { startStack, type RunningStack } from '../../infra/src/servers/stack.ts';
import { INSIGHT_MIGRATIONS } from '../src/schema/migrations.ts';
import { CellDictionary } from '../src/sink/cells.ts';
import { PresenceState } from '../src/sink/presence-state.ts';
import { insertRowBinary, LocationSink } from '../src/sink/sink.ts';
import { RowBinaryWriter } from '../src/sink/row-binary.ts';
import { PopulationRing } from '../src/metrics/population-ring.ts';
import { seededRandom } from '@geo/infra/basics';
import { BENCH_HOMES, benchGrid, cellOfCarrier, benchMsisdn, insertBenchCells, publishLiveStream } from './bench-world.ts';

const SCALE = Number(process.env.SINK_BENCH_SCALE ?? 1);
const FORMAT = process.env.SINK_BENCH_FORMAT === 'json' ? 'json' : 'binary';
const PER_MESSAGE = FORMAT === 'json' ? 100 : 500;
const SUBS = Math.round(1_000_000 * SCALE);
const grid = benchGrid(SCALE);
const { cells } = grid;
const CELLS = cells.length;
const LIVE = SUBS * 2;
const MIN = 60_000;

/** CPU seconds used so far by the servers this process started (its children), by command name. */
function childCpu(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) !== process.pid) continue;
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      // The process ended meanwhile.
    }
  }
  return out;
}

const began = Date.now();
const log = (msg: string) => process.stderr.write(`[bench:sink +${((Date.now() - began) / 1000).toFixed(0)}s] ${msg}\n`);
const rnd = seededRandom(42);
const tag = Date.now().toString(36);
const DB = `insight_sinkbench_${tag}`;
const STREAM = `INSIGHT_SINKBENCH_${tag}`;
const PREFIX = `insightsinkbench${tag}`;

let stack: RunningStack | undefined;
let dataDir: string | undefined;
if (!process.env.NATS_URL || !process.env.CLICKHOUSE_URL) {
  dataDir = mkdtempSync(join(tmpdir(), 'insight-sink-bench-'));
  stack = await startStack({ dataDir, natsUrl: process.env.NATS_URL, clickhouseUrl: process.env.CLICKHOUSE_URL, log: () => undefined });
}
const NATS = process.env.NATS_URL ?? stack!.natsUrl;
const CH = process.env.CLICKHOUSE_URL ?? stack!.clickhouseUrl;

try {
  const root = connectClickHouse(CH);
  await root.command({ query: `CREATE DATABASE IF NOT EXISTS ${DB}` });
  const ch = connectClickHouse(CH, DB);
  await migrateClickHouse(ch, 'insight', INSIGHT_MIGRATIONS);
  log(
    `scale ${SCALE}: ${SUBS.toLocaleString()} subscribers, ${CELLS.toLocaleString()} cells, ${LIVE.toLocaleString()} ${FORMAT} events, ${PER_MESSAGE} per message`,
  );

  const now = Math.floor(Date.now() / 1000) * 1000;
  await insertBenchCells(ch, grid, now / 1000 - 86400);
  // The checkpoint: every subscriber last seen within the last 2 h, in its carrier's cell (i × 7919) mod their number.
  const where = Int32Array.from({ length: SUBS }, (_, i) => cellOfCarrier(grid, i % 3, i * 7919));
  for (let s0 = 0; s0 < SUBS; s0 += 250_000) {
    const pw = new RowBinaryWriter(1 << 24);
    for (let s = s0; s < Math.min(SUBS, s0 + 250_000); s++) {
      pw.row()
        .u64(benchMsisdn(s))
        .u64(cells[where[s]!]!.key)
        .u64(now - 2 * 3600_000 + MIN + (((s * 2654435761) >>> 0) % (100 * MIN)))
        .u8(1 + (s % 3))
        .u8(1 + (s % 2))
        .u8(16 + (s % 60))
        .u32(BENCH_HOMES[s % 6]!)
        .u8(0)
        .u64(0);
    }
    await insertRowBinary(ch, 'insight_presence', pw.take().bytes);
  }
  log(`checkpoint of ${SUBS.toLocaleString()} subscribers written`);

  const nc = await connectNats(NATS, 'insight-sink-bench');
  await ensureStream(await jetstreamManager(nc), { name: STREAM, subjects: [`${PREFIX}.>`], max_bytes: 8 * 1024 ** 3 });
  const js = jetstream(nc);
  let t = Date.now();
  const { events: published, messages } = await publishLiveStream({
    js,
    prefix: PREFIX,
    grid,
    subscribers: SUBS,
    where,
    count: LIVE,
    now,
    rnd,
    format: FORMAT,
    perMessage: PER_MESSAGE,
  });
  log(
    `published ${published.toLocaleString()} events in ${messages.toLocaleString()} messages in ${((Date.now() - t) / 1000).toFixed(1)} s`,
  );

  const cellDict = new CellDictionary(() => 330100);
  const state = new PresenceState(cellDict, 120 * MIN, 1 << 16);
  const sink = new LocationSink({
    nc,
    ch,
    state,
    log: createLogger('insight-sink-bench', 'warn'),
    stream: STREAM,
    consumer: 'insight-sink-bench',
    filterSubject: `${PREFIX}.>`,
    population: new PopulationRing(),
  });
  const profileTo = process.env.SINK_BENCH_PROFILE;
  const session = profileTo ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
  }
  t = Date.now();
  const load0 = (await import('node:os')).loadavg()[0]!;
  await sink.start();
  log(`restored ${state.count.toLocaleString()} subscribers in ${(sink.restoreMs / 1000).toFixed(1)} s; consuming`);
  if (session) await session.post('Profiler.start');
  const cpu0 = process.cpuUsage();
  const servers0 = childCpu();
  const deadline = Date.now() + 300_000;
  while (sink.applied < published) {
    if (Date.now() > deadline) throw new Error(`sink applied only ${sink.applied} of ${published}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await sink.flush();
  const seconds = (performance.now() - sink.consumingSince) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const sinkCpuS = (cpu.user + cpu.system) / 1e6;
  const servers1 = childCpu();
  const serverCpu = Object.fromEntries(Object.entries(servers1).map(([k, v]) => [k, Math.round((v - (servers0[k] ?? 0)) * 10) / 10]));
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(profileTo!, JSON.stringify(profile));
    session.disconnect();
    log(`CPU profile written to ${profileTo}`);
  }
  const load1 = (await import('node:os')).loadavg()[0]!;
  const rate = published / seconds;
  const r = (x: number) => Math.round(x);
  log(
    `sink: ${published.toLocaleString()} events in ${seconds.toFixed(1)} s = ${r(rate).toLocaleString()}/s; ${sink.flushes} flushes taking ${(sink.flushMs / 1000).toFixed(1)} s, ` +
      `inserts ${JSON.stringify(Object.fromEntries(Object.entries(sink.insertMs).map(([k, v]) => [k, r(v)])))} ms, parse+apply ${(sink.handleMs / 1000).toFixed(1)} s; CPU: sink ${sinkCpuS.toFixed(1)} s (${((sinkCpuS * 1e6) / published).toFixed(2)} µs/event), servers ${JSON.stringify(serverCpu)} s; load ${load0.toFixed(1)} → ${load1.toFixed(1)}`,
  );

  await sink.stop();
  await (await jetstreamManager(nc)).streams.delete(STREAM).catch(() => undefined);
  await nc.drain();
  await root.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
  await ch.close();
  await root.close();
  console.log(
    JSON.stringify({
      bench: 'insight-sink',
      metric: 'sink_events_per_s',
      value: r(rate),
      unit: '1/s',
      format: FORMAT,
      per_message: PER_MESSAGE,
      events: published,
      subscribers: SUBS,
      sink_cpu_us_per_event: Math.round((sinkCpuS * 1e8) / published) / 100,
      server_cpu_s: serverCpu,
      flushes: sink.flushes,
      flush_ms: r(sink.flushMs),
      parse_apply_ms: r(sink.handleMs),
      restore_ms: r(sink.restoreMs),
      load: [Number(load0.toFixed(1)), Number(load1.toFixed(1))],
    }),
  );
} finally {
  await stack?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
