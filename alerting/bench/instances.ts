/**
 * Two alerting instances against one (#19): `npx tsx alerting/bench/instances.ts`. For each count
 * in BENCH_INSTANCES (default `1,2`), a fresh nats-server, that many alerting processes
 * (`src/main.ts`, shards by lease, the same 100 running tasks of mixed regions as bench:alerting),
 * then a backlog of BENCH_EVENTS (default 600,000) location events published at once; the figure is
 * events evaluated per second from the first publish until every shard's consumer has acked the
 * stream's end. Prints one JSON line per count, with each process's CPU seconds. On this 2-core
 * machine the processes share the cores with nats-server and this publisher, so the figure says
 * whether the work splits, not what two machines would reach.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connectNats, jetstreamManager, type LeaseValue } from '@geo/infra';
import { startNatsServer } from '@geo/infra/testing';
import { CARRIERS, LOCATION_STREAM, encodeLocationBatch, locationSubject, shardOf, type LocationEvent } from '@geo/ingest';
import { AlertTask, AlertTaskSpec } from '../src/contract.ts';
import { LEASES_BUCKET, TASKS_BUCKET, presenceConsumer } from '../src/streams.ts';
import { circleTask, declareAll, sleep, until } from '../src/testing/engine-kit.ts';
import { CELLS, cells, mixedRegion, msisdn, rnd } from './population.ts';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const SHARDS = 8;
/** BENCH_WARMUP=<n>: the first n messages of each subject evaluated once before the clock starts. @default 0 */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 0);
/** BENCH_PROFILE_DIR=<dir>: each alerting process writes a .cpuprofile there when it exits. */
const PROFILE = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE_DIR] : [];
const note = (...a: unknown[]) => console.error('[bench:alerting-instances]', ...a);

/** utime + stime of a process so far, in seconds (clock ticks of 10 ms). */
function cpuS(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

async function runWith(instances: number, events: LocationEvent[], subjects: Map<string, Uint8Array[]>): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), `bench-alerting-x${instances}-`));
  const server = await startNatsServer({ dataDir: dir });
  const nc = await connectNats(server.url, 'bench-alerting-instances');
  const children: ChildProcess[] = [];
  try {
    await declareAll(nc);
    const tasksKv = await new Kvm(nc).open(TASKS_BUCKET);
    for (let k = 0; k < 100; k++) {
      const spec = AlertTaskSpec.parse(
        circleTask([120, 30], 1, { region: { parts: [mixedRegion(k)] }, frequency: 'daily', minDwellMin: 0 }),
      );
      await tasksKv.put(
        `x-t${k}`,
        JSON.stringify(AlertTask.parse({ id: `x-t${k}`, version: 1, spec, state: 'running', updatedAt: Date.now() })),
      );
    }
    for (let k = 0; k < instances; k++) {
      const log = openSync(join(dir, `alerting-${k}.log`), 'a');
      children.push(
        spawn(process.execPath, [...PROFILE, '--import', 'tsx', join(ROOT, 'alerting/src/main.ts')], {
          cwd: ROOT,
          env: {
            ...process.env,
            NATS_URL: server.url,
            ALERTING_LEASES: 'true',
            INSTANCE_ID: `x-${k}`,
            HEALTH_PORT: '0',
            LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
          },
          stdio: ['ignore', log, log],
        }),
      );
    }
    // Every shard owned, by every instance (the lease group settled), before the clock starts.
    const leases = await new Kvm(nc).open(LEASES_BUCKET).catch(() => undefined);
    await until(
      'shards shared out',
      async () => {
        const kv = leases ?? (await new Kvm(nc).open(LEASES_BUCKET));
        const owners = new Map<string, number>();
        for await (const key of await kv.keys('lease.alerting.*')) {
          const e = await kv.get(key);
          const v = e?.operation === 'PUT' ? e.json<LeaseValue>() : undefined;
          if (v?.owner && v.expiresAt > Date.now()) owners.set(v.owner, (owners.get(v.owner) ?? 0) + 1);
        }
        return owners.size === instances && [...owners.values()].reduce((a, b) => a + b, 0) === SHARDS;
      },
      90_000,
    );
    await sleep(3_000); // consumers started after each shard's (empty) replay
    const js = jetstream(nc, { timeout: 30_000 });
    const jsm = await jetstreamManager(nc);
    const evaluated = () =>
      until(
        'backlog evaluated',
        async () => {
          for (let s = 0; s < SHARDS; s++) {
            const i = await jsm.consumers.info(LOCATION_STREAM, presenceConsumer(s));
            if (i.num_pending > 0 || i.num_ack_pending > 0) return false;
          }
          return true;
        },
        300_000,
      );
    if (WARMUP > 0) {
      // The first messages once before the clock: each process compiles its hot paths and learns the
      // cells (their regions) before what is measured, so fixed costs per process can be told apart.
      const cpuW = children.map((c) => cpuS(c.pid));
      const warm: Promise<unknown>[] = [];
      for (const [subject, msgs] of subjects) for (const data of msgs.slice(0, WARMUP)) warm.push(js.publish(subject, data));
      await Promise.all(warm);
      await evaluated();
      note(`warm-up (${WARMUP} messages a subject): CPU ${children.map((c, k) => (cpuS(c.pid) - cpuW[k]!).toFixed(2)).join(' + ')} s`);
    }
    const cpu0 = children.map((c) => cpuS(c.pid));
    const t0 = performance.now();
    let acks: Promise<unknown>[] = [];
    for (const [subject, msgs] of subjects)
      for (const data of msgs) {
        acks.push(js.publish(subject, data));
        if (acks.length >= 256) {
          await Promise.all(acks);
          acks = [];
        }
      }
    await Promise.all(acks);
    const published = (performance.now() - t0) / 1000;
    await evaluated();
    const secs = (performance.now() - t0) / 1000;
    const cpu = children.map((c, k) => Number((cpuS(c.pid) - cpu0[k]!).toFixed(2)));
    note(
      `${instances} instance(s): ${events.length} events in ${secs.toFixed(2)} s (published in ${published.toFixed(2)} s), CPU ${cpu.join(' + ')} s`,
    );
    return {
      bench: 'alerting-instances',
      instances,
      events: events.length,
      seconds: Number(secs.toFixed(2)),
      events_per_s: Math.round(events.length / secs),
      cpu_s: cpu,
      ...(WARMUP ? { warmup_messages_per_subject: WARMUP } : {}),
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(0) : c.once('exit', r)))));
    await nc.drain();
    await server.stop();
    if (process.env.BENCH_KEEP_LOGS) {
      for (let k = 0; k < instances; k++) note(`log of alerting-${k}:\n${readFileSync(join(dir, `alerting-${k}.log`), 'utf8')}`);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const counts = (process.env.BENCH_INSTANCES ?? '1,2').split(',').map(Number);
  const n = Number(process.env.BENCH_EVENTS ?? 600_000);
  const subs = 300_000;
  const now = Date.now();
  const events: LocationEvent[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const s = Math.floor(rnd() * subs),
      c = cells[Math.floor(rnd() * CELLS)]!;
    events[i] = {
      msisdn: msisdn(s),
      carrier: CARRIERS[s % 3]!,
      ts: now - 60_000 + Math.floor(i / 100),
      cell: c.id,
      lat: c.lat,
      lng: c.lng,
      kind: 'periodic',
      gender: s % 2 ? 'm' : 'f',
      age: 18 + (s % 60),
      home: '330106',
    };
  }
  // Encoded once, before any clock: 1,000 events a message, as ingest batches.
  const bySubject = new Map<string, LocationEvent[]>();
  for (const e of events) {
    const s = locationSubject(e.carrier, shardOf(e.msisdn));
    (bySubject.get(s) ?? bySubject.set(s, []).get(s)!).push(e);
  }
  const subjects = new Map<string, Uint8Array[]>();
  for (const [s, evs] of bySubject) {
    const msgs: Uint8Array[] = [];
    for (let i = 0; i < evs.length; i += 1000) msgs.push(encodeLocationBatch(evs.slice(i, i + 1000)));
    subjects.set(s, msgs);
  }
  const out: Record<string, unknown>[] = [];
  for (const k of counts) out.push(await runWith(k, events, subjects));
  for (const o of out) console.log(JSON.stringify(o));
}

await main().catch((err) => {
  console.error(err);
  process.exit(1);
});
