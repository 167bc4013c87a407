/**
 * Alerting benchmark (bounded, < 3 min): `npm run bench:alerting` (NATS_URL to use a running server,
 * else one is started). One script of ~440 lines on purpose, read top to bottom as the run it is.
 * Prints figures last, one JSON object per line:
 * - events_per_s: LOCATION events consumed from JetStream and evaluated against 100 active tasks
 *   with mixed regions (circles, polygons, rectangles, buffered polylines), jobs published;
 * - event_to_job_p99_ms: from an event's publish to its SMS job's arrival, under a paced load near the
 *   sustained goal (BENCH_LOAD_RATE, default 150,000 events/s offered; the rate reached is printed as
 *   event_to_job_offered_events_per_s); event_to_job_p99_low_load_ms: the same at 20,000 events/s;
 * - task_start_all_queued_s: from a task's submit to the last of the jobs for the people already present
 *   (BENCH_PRESENT, default 100,000; 1,000,000 for a city-wide alert, #24) stored in SMS_JOBS, with
 *   one carrier's daily cap below its people: task_start_checks says whether the claims hold each
 *   person once, and the caps and the task total (≤ balance) held; BENCH_SUBSCRIBERS (default 0: only
 *   those of the earlier phases) fills presence up to that many subscribers before the task starts,
 *   the others outside its region (10,000,000 with BENCH_PRESENT=1000000: a city-wide alert at
 *   province scale, #24), and task_start_memory reports the process memory after the fill and the start;
 * - bytes_per_subscriber: presence memory per tracked subscriber (1,000,000 subscribers).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { pino } from 'pino';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connectNats, jetstreamManager } from '@geo/infra';
import { CARRIERS, LOCATION_STREAM, encodeLocationBatch, locationSubject, shardOf, type LocationEvent } from '@geo/ingest';
import { SMS_JOBS_STREAM } from '@geo/messaging';
import { circleTask, declareAll, jobsIn, sleep, until } from '../src/testing/engine-kit.ts';
import { runEngine } from '../src/engine/run-engine.ts';
import { Presence } from '../src/presence/presence.ts';
import { startStack } from '../../infra/src/servers/stack.ts';
import { CELLS, cells, mixedRegion, msisdn, rnd } from './population.ts';

const figures: { metric: string; value: number; unit: string; [k: string]: unknown }[] = [];
const note = (...a: unknown[]) => console.error('[bench:alerting]', ...a);
/** BENCH_FORMAT=json publishes JSON batches (as before the binary format); default binary, as ingest does. */
const JSON_FORMAT = process.env.BENCH_FORMAT === 'json';
/** BENCH_PHASES=latency,start (any of them; default all). The throughput phase always runs: it loads presence and starts the engine. `memory` alone: the presence memory figure only. */
const phases = new Set((process.env.BENCH_PHASES ?? 'latency,start').split(',').map((x) => x.trim()));

async function publishBatches(js: ReturnType<typeof jetstream>, events: LocationEvent[], perMessage: number): Promise<void> {
  const bySubject = new Map<string, LocationEvent[]>();
  for (const e of events) {
    const s = locationSubject(e.carrier, shardOf(e.msisdn));
    (bySubject.get(s) ?? bySubject.set(s, []).get(s)!).push(e);
  }
  let acks: Promise<unknown>[] = [];
  for (const [s, evs] of bySubject)
    for (let i = 0; i < evs.length; i += perMessage) {
      acks.push(
        js.publish(
          s,
          JSON_FORMAT ? JSON.stringify({ v: 1, events: evs.slice(i, i + perMessage) }) : encodeLocationBatch(evs.slice(i, i + perMessage)),
        ),
      );
      if (acks.length >= 256) {
        await Promise.all(acks);
        acks = [];
      }
    }
  await Promise.all(acks);
}

/** CPU seconds used so far by the nats-server this bench started (found by its data dir), or NaN. */
function natsCpuS(dir: string | undefined): number {
  if (!dir) return NaN;
  for (const pid of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) continue;
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 10 ms
    } catch {
      /* gone meanwhile */
    }
  }
  return NaN;
}

/**
 * BENCH_MEMORY_SUBSCRIBERS: subscribers in the presence memory figure (default 1,000,000; #24 asks
 * for 10,000,000). BENCH_PHASES=memory measures only that and stops (no servers).
 */
function memoryFigure(): void {
  const n = Number(process.env.BENCH_MEMORY_SUBSCRIBERS ?? 1_000_000);
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage();
  const p = new Presence({ capacity: n });
  const ev = {
    msisdn: '',
    carrier: 'cmcc' as const,
    ts: Date.now(),
    cell: '',
    lat: 30,
    lng: 120,
    kind: 'periodic',
    gender: 'f' as const,
    age: 30,
    home: '330106',
  };
  for (let i = 0; i < n; i++) {
    ev.msisdn = msisdn(i);
    ev.cell = cells[i % CELLS].id;
    p.apply(ev);
  }
  const after = process.memoryUsage();
  const measured = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / n;
  const mib = (b: number) => Math.round(b / 2 ** 20);
  note(
    `presence of ${n} subscribers: ${p.bytesPerSubscriber.toFixed(1)} B/subscriber by arrays, ${measured.toFixed(1)} B measured (heap + array buffers); ` +
      `process rss ${mib(after.rss)} MiB, heap used ${mib(after.heapUsed)} MiB, array buffers ${mib(after.arrayBuffers)} MiB`,
  );
  figures.push({
    metric: 'bytes_per_subscriber',
    value: Math.round(Math.max(p.bytesPerSubscriber, measured)),
    unit: 'B',
    subscribers: n,
    rss_mib: mib(after.rss),
    heap_used_mib: mib(after.heapUsed),
    array_buffers_mib: mib(after.arrayBuffers),
  });
}

async function main(): Promise<void> {
  const t0 = Date.now();
  memoryFigure();
  if (process.env.BENCH_PHASES === 'memory') {
    for (const f of figures) console.log(JSON.stringify({ bench: 'alerting', ...f }));
    return;
  }
  let dir: string | undefined;
  let stack: Awaited<ReturnType<typeof startStack>> | undefined;
  let url = process.env.NATS_URL;
  if (!url) {
    dir = mkdtempSync(join(tmpdir(), 'bench-alerting-'));
    stack = await startStack({ dataDir: dir, clickhouseUrl: 'http://127.0.0.1:1', log: () => undefined });
    url = stack.natsUrl;
  }
  const nc = await connectNats(url, 'bench-alerting');
  // nats.js builds an Error (stack capture) per request for async traces: ~17 % of CPU in the first
  // profile. infra's connectNats has no option for it yet; the flag is read per request.
  if (process.env.BENCH_ASYNC_TRACES !== '1')
    (nc as unknown as { protocol: { options: { noAsyncTraces?: boolean } } }).protocol.options.noAsyncTraces = true;
  const js = jetstream(nc);
  let eng: Awaited<ReturnType<typeof runEngine>> | undefined;
  try {
    await declareAll(nc);
    const jsm = await jetstreamManager(nc);
    // Only a server this bench started is emptied; never one given by NATS_URL.
    if (stack) {
      await jsm.streams.purge(LOCATION_STREAM);
      await jsm.streams.purge(SMS_JOBS_STREAM);
    }
    const run = `b${Date.now().toString(36)}`;

    // 1. Throughput: a backlog of events, consumed with 100 active tasks.
    const SUBS = 300_000,
      EVENTS = Number(process.env.BENCH_EVENTS ?? 600_000);
    const backlog: LocationEvent[] = new Array(EVENTS);
    const now = Date.now();
    for (let i = 0; i < EVENTS; i++) {
      const s = Math.floor(rnd() * SUBS),
        c = cells[Math.floor(rnd() * CELLS)];
      backlog[i] = {
        msisdn: msisdn(s),
        carrier: CARRIERS[s % 3],
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
    let tp = performance.now();
    await publishBatches(js, backlog, 1000);
    note(`published ${EVENTS} events in ${((performance.now() - tp) / 1000).toFixed(1)} s`);
    let consumed = 0,
      jobs = 0;
    const ALL_SUBS = Number(process.env.BENCH_SUBSCRIBERS ?? 0);
    const presence = new Presence({ capacity: Math.max(1 << 20, ALL_SUBS + (1 << 16)) });
    // The 100 tasks are written as running before the engine starts, so it consumes with all of them.
    const { Kvm } = await import('@nats-io/kv');
    const { AlertTask, AlertTaskSpec } = await import('../src/contract.ts');
    const tasksKv = await new Kvm(nc).open('alert_tasks');
    for (let k = 0; k < 100; k++) {
      const spec = AlertTaskSpec.parse(
        circleTask([120, 30], 1, { region: { parts: [mixedRegion(k)] }, frequency: 'daily', minDwellMin: 0 }),
      );
      await tasksKv.put(
        `${run}-t${k}`,
        JSON.stringify(
          AlertTask.parse({ id: `${run}-t${k}`, version: 1, spec, state: 'running', startedAt: Date.now(), updatedAt: Date.now() }),
        ),
      );
    }
    eng = await runEngine({
      nc,
      shards: [0, 1, 2, 3, 4, 5, 6, 7],
      instance: 'bench',
      replay: false,
      presence,
      inflight: process.env.BENCH_INFLIGHT ? Number(process.env.BENCH_INFLIGHT) : undefined,
      pullMessages: process.env.BENCH_PULL ? Number(process.env.BENCH_PULL) : undefined,
      log: pino({ level: 'error' }, pino.destination(2)),
      onBatch: (e, j) => ((consumed += e), (jobs += j)),
    });
    await eng.ready;
    const base = consumed;
    tp = performance.now();
    note(`phase events_per_s from t=${tp.toFixed(0)} ms`);
    const progress = setInterval(() => note(`consumed ${consumed} events, ${jobs} jobs`), 5_000);
    await until('backlog consumed', () => consumed >= EVENTS, 60_000)
      .catch(() => note(`backlog not drained within 60 s: figure from what was consumed`))
      .finally(() => clearInterval(progress));
    const secs = (performance.now() - tp) / 1000;
    note(`phase events_per_s until t=${performance.now().toFixed(0)} ms`);
    const eps = (consumed - base) / secs;
    note(`consumed ${consumed - base} events in ${secs.toFixed(1)} s with 100 tasks: ${Math.round(eps)} events/s, ${jobs} jobs published`);
    figures.push({ metric: 'events_per_s', value: Math.round(eps), unit: '1/s' });

    // 2. Latency under a steady, paced load: fresh people whose first event lands inside a task
    // region (1 event in 100), among events of known people elsewhere. Once at a low load, once near
    // the sustained goal (the figure the issue asks for).
    const target = eng.engine.task(`${run}-t0`)!.spec.region.parts[0];
    const inside = target.kind === 'circle' ? target.center : [120.2, 30.25];
    let fresh = 0;
    const latencyAt = async (rate: number, seconds: number): Promise<{ p50: number; p99: number; n: number; offered: number }> => {
      const sentAt = new Map<string, number>();
      const lat: number[] = [];
      const sub = nc.subscribe('sms.jobs.>', {
        callback: (_e, m) => {
          const now = Date.now();
          for (const j of jobsIn(m.data)) {
            const t = sentAt.get(j.msisdn);
            if (t !== undefined && j.sendId === `${run}-t0`) {
              lat.push(now - t);
              sentAt.delete(j.msisdn);
            }
          }
        },
      });
      // Encoded before the clock starts, so the pace is not bounded by this process encoding events.
      const TICK_MS = 50,
        ticks = Math.round((seconds * 1000) / TICK_MS),
        perTick = Math.round((rate * TICK_MS) / 1000);
      const plan: { subject: string; data: Uint8Array; tagged: string[] }[][] = [];
      const planned = Date.now();
      for (let k = 0; k < ticks; k++) {
        const ts = planned + k * TICK_MS; // (a few seconds early by the time they are sent: presence does not mind)
        const bySubject = new Map<string, { evs: LocationEvent[]; tagged: string[] }>();
        for (let i = 0; i < perTick; i++) {
          let e: LocationEvent;
          if (i % 100 === 0) {
            e = {
              msisdn: `17${String(fresh++).padStart(9, '0')}`,
              carrier: 'cmcc',
              ts,
              cell: `lat-${run}`,
              lat: inside[1],
              lng: inside[0],
              kind: 'attach',
            };
          } else {
            const sidx = Math.floor(rnd() * SUBS),
              c = cells[Math.floor(rnd() * CELLS)];
            e = { msisdn: msisdn(sidx), carrier: CARRIERS[sidx % 3], ts, cell: c.id, lat: c.lat, lng: c.lng, kind: 'periodic' };
          }
          const subj = locationSubject(e.carrier, shardOf(e.msisdn));
          const g = bySubject.get(subj) ?? bySubject.set(subj, { evs: [], tagged: [] }).get(subj)!;
          g.evs.push(e);
          if (i % 100 === 0) g.tagged.push(e.msisdn);
        }
        plan.push([...bySubject].map(([subject, g]) => ({ subject, data: encodeLocationBatch(g.evs), tagged: g.tagged })));
      }
      const acks: Promise<unknown>[] = [];
      const t0 = Date.now() + 200;
      await sleep(200);
      const began = Date.now();
      for (let k = 0; k < ticks; k++) {
        const due = t0 + k * TICK_MS - Date.now();
        if (due > 0) await sleep(due);
        const at = Date.now();
        for (const m of plan[k]) {
          for (const t of m.tagged) sentAt.set(t, at);
          acks.push(js.publish(m.subject, m.data));
        }
      }
      const offered = (ticks * perTick) / (Math.max(Date.now() - began, ticks * TICK_MS) / 1000);
      await Promise.all(acks);
      const want = ticks * Math.ceil(perTick / 100);
      await until('latency jobs', () => lat.length >= want * 0.99, 60_000).catch(() =>
        note(`only ${lat.length}/${want} latency jobs arrived; consumed ${consumed}, published ${eng!.engine.published}`),
      );
      sub.unsubscribe();
      lat.sort((a, b) => a - b);
      return { p50: lat[Math.floor(lat.length / 2)] ?? NaN, p99: lat[Math.floor(lat.length * 0.99)] ?? NaN, n: lat.length, offered };
    };
    if (phases.has('latency')) {
      const low = await latencyAt(20_000, 6);
      note(`latency over ${low.n} jobs at ${Math.round(low.offered)} events/s offered: p50 ${low.p50} ms, p99 ${low.p99} ms`);
      figures.push({ metric: 'event_to_job_p99_low_load_ms', value: low.p99, unit: 'ms' });
      const LOAD = Number(process.env.BENCH_LOAD_RATE ?? 150_000);
      const c0 = consumed,
        tl = performance.now();
      note(`phase event_to_job_p99 at load from t=${tl.toFixed(0)} ms`);
      const high = await latencyAt(LOAD, 8);
      note(
        `latency over ${high.n} jobs at ${Math.round(high.offered)} events/s offered (${Math.round((consumed - c0) / ((performance.now() - tl) / 1000))} events/s consumed over the phase, drain included): p50 ${high.p50} ms, p99 ${high.p99} ms`,
      );
      figures.push({ metric: 'event_to_job_p99_ms', value: high.p99, unit: 'ms' });
      figures.push({ metric: 'event_to_job_offered_events_per_s', value: Math.round(high.offered), unit: '1/s' });
    }

    // 3. Task start: BENCH_PRESENT people already present in a region no task covers yet.
    if (phases.has('start')) {
      const START_N = Number(process.env.BENCH_PRESENT ?? 100_000),
        centre: [number, number] = [120.5, 30.5];
      // Everyone fits the quotas but ctcc, whose daily cap holds back a tenth of its people.
      const perCarrier = Math.ceil(START_N / 3);
      const ctccCap = Math.floor((START_N / 3) * 0.9);
      const quota = {
        cmcc: { total: perCarrier, dailyCap: perCarrier },
        cucc: { total: perCarrier, dailyCap: perCarrier },
        ctcc: { total: perCarrier, dailyCap: ctccCap },
      };
      const wanted = { cmcc: Math.ceil(START_N / 3), cucc: Math.ceil((START_N - 1) / 3), ctcc: ctccCap };
      const wantedAll = wanted.cmcc + wanted.cucc + wanted.ctcc;
      const startEvents: LocationEvent[] = [];
      for (let i = 0; i < START_N; i++) {
        const m = `18${String(i).padStart(9, '0')}`;
        startEvents.push({
          msisdn: m,
          carrier: CARRIERS[i % 3],
          ts: Date.now(),
          cell: `s${i % 500}`,
          lat: centre[1] + ((i % 500) % 25) * 0.0002,
          lng: centre[0] + Math.floor((i % 500) / 25) * 0.0002,
          kind: 'periodic',
        });
      }
      // Everyone else the province tracks, in the bench's cells (outside the start region), applied
      // straight to the engine's presence: 10M events through NATS would take minutes and measure the
      // throughput phase again.
      const mib = (b: number) => Math.round(b / 2 ** 20);
      if (ALL_SUBS > 0) {
        const tf = performance.now();
        const others = ALL_SUBS - START_N;
        const now = Date.now();
        for (let i = 0; i < others; i++) {
          const c = cells[i % CELLS];
          presence.apply({
            msisdn: msisdn(i),
            carrier: CARRIERS[i % 3],
            ts: now - 60_000,
            cell: c.id,
            lat: c.lat,
            lng: c.lng,
            kind: 'periodic',
            gender: i % 2 ? 'm' : 'f',
            age: 18 + (i % 60),
            home: '330106',
          });
        }
        const m = process.memoryUsage();
        note(
          `presence filled to ${presence.size} subscribers in ${((performance.now() - tf) / 1000).toFixed(1)} s: rss ${mib(m.rss)} MiB, heap used ${mib(m.heapUsed)} MiB, array buffers ${mib(m.arrayBuffers)} MiB`,
        );
        figures.push({
          metric: 'task_start_memory',
          value: mib(m.rss),
          unit: 'MiB',
          when: 'before task start',
          subscribers: presence.size,
          heap_used_mib: mib(m.heapUsed),
          array_buffers_mib: mib(m.arrayBuffers),
        });
      }
      const before = consumed + START_N;
      await publishBatches(js, startEvents, 1000);
      await until('start population consumed', () => consumed >= before, 40_000).catch(() =>
        note('start population not fully consumed in 40 s'),
      );
      // Jobs stored in SMS_JOBS: the engine counts a job when the stream acked its message (a
      // subscriber here would parse 100,000 jobs on the same 2 cores and double the server's traffic).
      // Checked against the stream's own message count below.
      const jobsStored = () => eng!.engine.sentCount(`${run}-start`);
      const seq0 = jobsStored();
      const msgs0 = (await jsm.streams.info(SMS_JOBS_STREAM)).state.messages;
      let got = 0;
      let last = 0;
      const ts = performance.now();
      const cpu0 = process.cpuUsage(),
        nats0 = natsCpuS(dir);
      note(`phase task_start from t=${ts.toFixed(0)} ms`);
      await eng.store.submit(`${run}-start`, circleTask(centre, 1_000, { quota, balance: 3 * perCarrier }));
      await until(
        'all present queued',
        async () => {
          const n = jobsStored() - seq0;
          if (n > got) {
            got = n;
            last = performance.now();
          }
          return got >= wantedAll;
        },
        45_000,
      ).catch(() => note(`only ${got}/${wantedAll} start jobs arrived`));
      const startS = (last - ts) / 1000;
      const msgs = (await jsm.streams.info(SMS_JOBS_STREAM)).state.messages - msgs0;
      const cpu = process.cpuUsage(cpu0);
      note(
        `task start: ${got} jobs for ${START_N} present in ${startS.toFixed(2)} s, stored in ${msgs} SMS_JOBS messages; CPU over the phase: node ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s, nats-server ${(natsCpuS(dir) - nats0).toFixed(2)} s`,
      );
      figures.push({
        metric: 'task_start_all_queued_s',
        value: Number(startS.toFixed(2)),
        unit: 's',
        present: START_N,
        jobs: got,
        subscribers: presence.size,
        node_cpu_s: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
        nats_cpu_s: Number((natsCpuS(dir) - nats0).toFixed(2)),
      });
      if (ALL_SUBS > 0) {
        const m = process.memoryUsage();
        figures.push({
          metric: 'task_start_memory',
          value: mib(m.rss),
          unit: 'MiB',
          when: 'after task start',
          subscribers: presence.size,
          heap_used_mib: mib(m.heapUsed),
          array_buffers_mib: mib(m.arrayBuffers),
        });
      }
      // Held: each person claimed once, each carrier's use = its jobs within its cap, total ≤ balance.
      await sleep(1_500);
      const { SendClaims } = await import('../src/engine/claims.ts');
      const { JsPublisher } = await import('../src/engine/js-publisher.ts');
      const { KvBudget } = await import('../src/engine/budget.ts');
      const { shanghaiDay } = await import('../src/rules/shanghai-time.ts');
      const pub = new JsPublisher(nc, 15_000);
      const claimed = new Set<string>();
      let claims = 0;
      for await (const { chunk } of new SendClaims(jsm, pub).list(`${run}-start`))
        for (const m of chunk.msisdns) {
          claims++;
          claimed.add(m);
        }
      pub.close();
      const budget = new KvBudget(await new Kvm(nc).open('alert_caps'));
      const task = eng.engine.task(`${run}-start`)!;
      const used: Record<string, number> = {};
      let capsHeld = true;
      for (const carrier of CARRIERS) {
        const u = await budget.peek({
          taskId: task.id,
          accountId: task.spec.accountId,
          carrier,
          day: shanghaiDay(Date.now()),
          quota: quota[carrier],
          initialBalance: 0,
        });
        used[carrier] = u.dailyUsed;
        capsHeld &&= u.dailyUsed <= quota[carrier].dailyCap && u.totalUsed <= quota[carrier].total;
      }
      const checks = {
        claims,
        distinct: claimed.size,
        once: claims === claimed.size,
        used,
        wanted,
        capsHeld,
        totalWithinBalance: used.cmcc + used.cucc + used.ctcc <= 3 * perCarrier,
        allSent: got === wantedAll && claims === wantedAll,
      };
      note(`task start checks: ${JSON.stringify(checks)}`);
      figures.push({
        metric: 'task_start_checks',
        value: checks.once && checks.capsHeld && checks.totalWithinBalance && checks.allSent ? 1 : 0,
        unit: 'ok',
        ...checks,
      });
    }
  } finally {
    await eng?.stop().catch(() => undefined);
    await nc.drain();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  note(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  for (const f of figures) console.log(JSON.stringify({ bench: 'alerting', ...f }));
}

await main().catch((err) => {
  console.error(err);
  process.exit(1);
});
