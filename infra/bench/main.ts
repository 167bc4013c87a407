/**
 * JetStream write-rate bench (`npm run bench:infra`): what `jetstream { sync_interval: always }`
 * (fsync before every ack; nats-server ≥ 2.10) costs against the default (fsync every 2 minutes),
 * and Debian bookworm's 2.9.10 beside them. Each case starts its own nats-server (file store, a
 * temporary folder on this machine's disk) and publishes to one stream for BENCH_SECONDS, with
 * BENCH_IN_FLIGHT publishes awaiting their acks: small messages (one location event, ~60 B, as a
 * worst case) and batch messages (100 events, ~6 KB, as ingest and alerting publish). Figures are
 * printed last, one JSON line each.
 *
 * Env: BENCH_SECONDS (per case, default 10), BENCH_IN_FLIGHT (default 256).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connectNats, ensureStream, jetstreamManager, ms } from '../src/index.ts';
import { ensureBinary } from '../src/servers/ensure-binary.ts';
import { ensureNewerNats } from '../src/servers/nats-release.ts';
import { startNatsServer, type NatsSync } from '../src/servers/nats.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 256);
const say = (s: string) => console.error(s);
const figures: { bench: string; metric: string; value: number; unit: string; note?: string }[] = [];

async function run(label: string, bin: string, sync: NatsSync, size: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-nats-'));
  const server = await startNatsServer({ dataDir: dir, bin, sync, log: () => undefined });
  const nc = await connectNats(server.url, 'bench-infra');
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, { name: 'BENCH', subjects: ['bench.>'], max_age: ms(3600_000) });
    const js = jetstream(nc);
    const payload = new Uint8Array(size).fill(7);
    let acked = 0;
    const until = Date.now() + SECONDS * 1000;
    const t0 = performance.now();
    const worker = async () => {
      while (Date.now() < until) {
        await js.publish('bench.x', payload);
        acked++;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const rate = acked / ((performance.now() - t0) / 1000);
    say(`${label}: nats-server ${server.version}, sync ${server.sync}, ${size} B: ${Math.round(rate).toLocaleString()} acked publishes/s`);
    return rate;
  } finally {
    await nc.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const newer = await ensureNewerNats({ log: say });
  const system = ensureBinary('nats-server', 'nats-server', say);
  const cases: { key: string; bin: string; sync: NatsSync }[] = [{ key: 'nats_2_9_default', bin: system, sync: 'default' }];
  if (newer)
    cases.push(
      { key: 'nats_2_10_default', bin: newer, sync: 'default' },
      { key: 'nats_2_10_sync_1s', bin: newer, sync: '1s' },
      { key: 'nats_2_10_sync_always', bin: newer, sync: 'always' },
    );
  else say('no nats-server ≥ 2.10 could be had: only the 2.9.10 baseline is measured');
  for (const [size, name] of [
    [60, 'event'],
    [6_000, 'batch100'],
  ] as const) {
    for (const c of cases) {
      const rate = await run(c.key, c.bin, c.sync, size);
      figures.push({
        bench: 'infra',
        metric: `${c.key}_${name}_publishes_per_s`,
        value: Math.round(rate),
        unit: '1/s',
        note: `${size} B messages, ${IN_FLIGHT} in flight`,
      });
    }
  }
  for (const f of figures) console.log(JSON.stringify(f));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
