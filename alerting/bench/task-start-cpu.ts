/**
 * The CPU of a task start in this process alone (#24): `npx tsx alerting/bench/task-start-cpu.ts`.
 * BENCH_PRESENT people (default 1,000,000) present in 500 cells, one task over all of them, and the
 * engine's activation with stub ports: budget always granted, claim appends stored at once (their
 * JSON built as SendClaims would), jobs encoded as run-engine publishes them, nothing on a wire. It
 * isolates the engine's own work from nats-server's, so it can be measured and profiled on a busy
 * machine: CPU seconds hardly depend on the load, wall seconds do. BENCH_PROFILE=<file> writes a
 * .cpuprofile of the activation; BENCH_REPEAT=<n> starts n tasks one after the other and reports the
 * lowest CPU (the least disturbed by other processes). Prints one JSON line.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { CARRIERS, type LocationEvent } from '@geo/ingest';
import { AlertTask, AlertTaskSpec } from '../src/contract.ts';
import { Engine } from '../src/engine/engine.ts';
import { Presence } from '../src/presence/presence.ts';
import { circleTask } from '../src/testing/engine-kit.ts';

const N = Number(process.env.BENCH_PRESENT ?? 1_000_000);
const centre: [number, number] = [120.5, 30.5];
const presence = new Presence({ capacity: N + 1024 });
let jobs = 0,
  bytes = 0,
  appends = 0;
const engine = new Engine(
  {
    budget: {
      reserve: async (_s, want) => ({ granted: want, skipped: {} }),
      release: async () => undefined,
      peek: async () => ({ dailyUsed: 0, totalUsed: 0, balance: Number.MAX_SAFE_INTEGER }),
    },
    claims: {
      append: async (_s, c) => {
        appends++;
        bytes += JSON.stringify(c).length;
        return { ok: true, others: [] };
      },
      list: async function* () {},
    },
    publish: async (b) => {
      jobs += b.msisdns.length;
      bytes += b.data.length;
    },
    now: Date.now,
    instance: 'cpu',
  },
  presence,
);
const events: LocationEvent[] = [];
for (let i = 0; i < N; i++)
  events.push({
    msisdn: `18${String(i).padStart(9, '0')}`,
    carrier: CARRIERS[i % 3]!,
    ts: Date.now(),
    cell: `s${i % 500}`,
    lat: centre[1] + ((i % 500) % 25) * 0.0002,
    lng: centre[0] + Math.floor((i % 500) / 25) * 0.0002,
    kind: 'periodic',
  });
engine.applyEvents(events, false);
const q = { total: N, dailyCap: N };
const spec = AlertTaskSpec.parse(circleTask(centre, 1_000, { quota: { cmcc: q, cucc: q, ctcc: q }, balance: 3 * N }));
/** BENCH_REPEAT activations of fresh tasks over the same people: the figure is the lowest (a busy machine only adds). */
const REPEAT = Number(process.env.BENCH_REPEAT ?? 1);

const session = process.env.BENCH_PROFILE ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const runs: { cpu: number; wall: number; sent: number }[] = [];
for (let r = 0; r < REPEAT; r++) {
  const id = `t-cpu-${r}`;
  engine.upsertTask(AlertTask.parse({ id, version: 1, spec, state: 'running', updatedAt: Date.now() }));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const sent = await engine.activate(id);
  const cpu = process.cpuUsage(cpu0);
  runs.push({ cpu: (cpu.user + cpu.system) / 1e6, wall: (performance.now() - t0) / 1000, sent });
  engine.removeTask(id);
}
if (session) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(process.env.BENCH_PROFILE!, JSON.stringify(profile));
}
const best = runs.reduce((a, b) => (b.cpu < a.cpu ? b : a));
console.log(
  JSON.stringify({
    bench: 'alerting',
    metric: 'task_start_cpu_s',
    value: Number(best.cpu.toFixed(2)),
    unit: 's',
    present: N,
    sent: best.sent,
    jobs: jobs / REPEAT,
    claim_appends: appends / REPEAT,
    wire_mb: Number((bytes / REPEAT / 1e6).toFixed(1)),
    wall_s: Number(best.wall.toFixed(2)),
    ...(REPEAT > 1 ? { cpu_s_each: runs.map((x) => Number(x.cpu.toFixed(2))) } : {}),
  }),
);
