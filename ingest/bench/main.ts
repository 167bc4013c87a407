/**
 * Ingest benchmark (`npm run bench:ingest`): simulator → JetStream events/s, HTTP NDJSON feed
 * events/s, and simulator memory per subscriber. Uses NATS_URL when set, else starts its own
 * nats-server (file store) in a temporary folder. Publishes into a stream of its own
 * (`BENCH_LOCATION`), never into a live LOCATION stream. Figures are printed last, one JSON line each.
 *
 * Env: BENCH_SECONDS (per phase, default 20), BENCH_SUBSCRIBERS (simulator, default 200000),
 * BENCH_MEMORY_SUBSCRIBERS (default 1000000), BENCH_PHASES (default memory,sim,http).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { connectNats, ensureDeadLetterStream, ensureStream, jetstreamManager, ms, type NatsConnection } from '@geo/infra';
// Bench-only: the launcher is not exported from @geo/infra yet.
import { startNatsServer } from '../../infra/src/servers/nats.ts';
import { FeedPipeline } from '../src/feeds/feed-pipeline.ts';
import { startHttpFeed } from '../src/feeds/http-feed.ts';
import { loadAdminAreas } from '../src/geography/admin-areas.ts';
import { ingestMetrics } from '../src/metrics.ts';
import { BatchPublisher } from '../src/publish/batch-publisher.ts';
import { buildCells } from '../src/simulator/cells.ts';
import { SimulatorRunner } from '../src/simulator/run-simulator.ts';
import { Simulator } from '../src/simulator/simulator.ts';
import type { Carrier } from '../src/contract.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 200_000);
const MEMORY_SUBSCRIBERS = Number(process.env.BENCH_MEMORY_SUBSCRIBERS ?? 1_000_000);
const PHASES = new Set((process.env.BENCH_PHASES ?? 'memory,sim,http').split(','));
const log = pino({ level: 'warn' });
const figures: { bench: string; metric: string; value: number; unit: string; note?: string }[] = [];
const say = (s: string) => console.error(s);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const areas = loadAdminAreas();
const cells = buildCells(areas, { seed: 1 });
const subjectOf = (carrier: Carrier, shard: number) => `benchloc.${carrier}.${shard}`;

async function benchStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.delete('BENCH_LOCATION');
  } catch {
    // absent
  }
  await ensureStream(jsm, { name: 'BENCH_LOCATION', subjects: ['benchloc.>'], max_age: ms(3600_000), duplicate_window: ms(120_000) });
}

async function simulatorPhase(nc: NatsConnection): Promise<void> {
  await benchStream(nc);
  say(`simulator: building ${SUBSCRIBERS.toLocaleString()} subscribers`);
  const startMs = Date.parse('2026-07-01T07:00:00+08:00');
  const sim = new Simulator({ areas, cells, subscribers: SUBSCRIBERS, seed: 1, startMs });
  // Skip the start-up burst (everyone's first report) so the figure is the sustained rate.
  sim.advanceTo(sim.nowSec + 120, { push() {} });
  const publisher = new BatchPublisher({ nc, runId: `bench-${Date.now()}`, batchSize: 500, maxInFlight: 64, subjectOf });
  const runner = new SimulatorRunner(sim, publisher, { speed: 0 });
  const t0 = performance.now();
  const e0 = publisher.eventsPublished;
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  await runner.stop();
  const secs = (performance.now() - t0) / 1000;
  const rate = (publisher.eventsPublished - e0) / secs;
  say(
    `simulator: ${publisher.eventsPublished.toLocaleString()} events acked in ${secs.toFixed(1)} s, simulated ${new Date(sim.nowMs).toISOString()}`,
  );
  figures.push({
    bench: 'ingest',
    metric: 'events_per_s',
    value: Math.round(rate),
    unit: '1/s',
    note: `simulator → JetStream (file store), ${SUBSCRIBERS} subscribers, 500 events/message, acked`,
  });
}

async function httpPhase(nc: NatsConnection): Promise<void> {
  await benchStream(nc);
  await ensureDeadLetterStream(nc);
  const registry = new Registry();
  const metrics = ingestMetrics(registry);
  const publisher = new BatchPublisher({ nc, runId: `bench-http-${Date.now()}`, batchSize: 500, subjectOf });
  const pipeline = new FeedPipeline({ nc, publisher, shards: 8, metrics, log, service: 'ingest-bench' });
  const key = 'bench-key-0123456789abcdef';
  const feed = await startHttpFeed({ port: 0, keys: { cmcc: key }, pipeline, log });
  // Bodies of simulated China Mobile events, timestamped now.
  const sim = new Simulator({ areas, cells, subscribers: 20_000, seed: 2, startMs: Date.now() - 30 * 60_000 });
  const lines: string[] = [];
  sim.advanceTo(sim.nowSec + 25 * 60, { push: (c, _s, json) => void (c === 0 && lines.push(json)) });
  const PER_REQUEST = 5000;
  const bodies: string[] = [];
  for (let k = 0; k + PER_REQUEST <= lines.length && bodies.length < 8; k += PER_REQUEST)
    bodies.push(lines.slice(k, k + PER_REQUEST).join('\n'));
  say(`http: ${bodies.length} bodies of ${PER_REQUEST} events, 4 concurrent clients`);
  let accepted = 0;
  let rejected = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async (_, w) => {
      for (let k = w; performance.now() < deadline; k++) {
        const res = await fetch(feed.url, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' },
          body: bodies[k % bodies.length],
        });
        const r = (await res.json()) as { accepted: number; rejected: number };
        accepted += r.accepted;
        rejected += r.rejected;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  await feed.close();
  say(`http: ${accepted.toLocaleString()} accepted, ${rejected} rejected in ${secs.toFixed(1)} s`);
  figures.push({
    bench: 'ingest',
    metric: 'http_events_per_s',
    value: Math.round(accepted / secs),
    unit: '1/s',
    note: 'NDJSON POST, 5000 events/request, 4 clients, zod-validated, acked by JetStream',
  });
}

function memoryPhase(): void {
  gc();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const sim = new Simulator({ areas, cells, subscribers: MEMORY_SUBSCRIBERS, seed: 3, startMs: Date.parse('2026-07-01T07:00:00+08:00') });
  const buildS = (performance.now() - t0) / 1000;
  sim.advanceTo(sim.nowSec + 600, { push() {} }); // let the timing wheel grow to its working size
  gc();
  const after = process.memoryUsage();
  // `external` already includes array buffers.
  const bytes = after.heapUsed + after.external - (before.heapUsed + before.external);
  say(
    `memory: ${MEMORY_SUBSCRIBERS.toLocaleString()} subscribers → ${(bytes / 2 ** 20).toFixed(0)} MiB (built in ${buildS.toFixed(1)} s); rss ${(after.rss / 2 ** 20).toFixed(0)} MiB`,
  );
  figures.push({
    bench: 'ingest',
    metric: 'bytes_per_subscriber',
    value: Math.round(bytes / MEMORY_SUBSCRIBERS),
    unit: 'B',
    note: `${MEMORY_SUBSCRIBERS} subscribers, heap + array buffers after 10 simulated minutes`,
  });
  void sim;
}

let dir: string | undefined;
let stopServer: (() => Promise<void>) | undefined;
let natsUrl = process.env.NATS_URL;
if (!natsUrl) {
  dir = mkdtempSync(join(tmpdir(), 'ingest-bench-'));
  const nats = await startNatsServer({ dataDir: dir, log: () => undefined });
  natsUrl = nats.url;
  stopServer = () => nats.stop();
}
const nc = await connectNats(natsUrl, 'ingest-bench');
try {
  if (PHASES.has('memory')) memoryPhase();
  if (PHASES.has('sim')) await simulatorPhase(nc);
  if (PHASES.has('http')) await httpPhase(nc);
  try {
    await (await jetstreamManager(nc)).streams.delete('BENCH_LOCATION');
  } catch {
    // already gone
  }
} finally {
  await nc.drain();
  await stopServer?.();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
for (const f of figures) console.log(JSON.stringify(f));
