/**
 * `npm run bench`: the whole pipeline end to end on this machine — simulator → JetStream → alerting
 * → SMS jobs → messaging → simulated SMSCs → receipts → ClickHouse, insight beside it — and the
 * peers side by side: PostGIS and a plain turf loop deciding the same events against the same
 * regions, Kannel sending the same messages through the same simulated SMSC. Bounded (~10 min);
 * figures last as JSON lines. One script of ~440 lines on purpose: it is read top to bottom as the
 * one run it is; the systems it starts come from proof/src/system.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connectClickHouse, connectNats, selectRows } from '@geo/infra';
import { KANNEL_USER, startKannel, type RunningKannel } from '@geo/infra/testing';
import { LOCATION_STREAM, decodeLocationMessage, locationSubject, shardOf, type LocationEvent } from '@geo/ingest';
import { smsJobSubject, smsJobsIn, type SmsJob } from '@geo/messaging';
import { startSystem, type RunningSystem, type ServiceName } from '../src/system/system.ts';
import { submitAndRun, taskDates } from '../src/system/alert-task.ts';
import { backlogs } from '../src/system/quiesce.ts';
import { benchRegions, oursIndex, oursPerCell, postgis, turfLoop, type GeoEvent, type GeofenceResult } from './peers/geofence.ts';

const say = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const figures: Record<string, unknown>[] = [];
const figure = (bench: string, metric: string, value: number, unit: string, extra: Record<string, unknown> = {}) =>
  figures.push({ bench, metric, value: Math.round(value * 100) / 100, unit, ...extra });
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 100_000);
const REGION = { west: 120.0, south: 30.15, east: 120.35, north: 30.4 };
const SMSC_ID = { systemId: 'geoalert', password: 'sim-pass' };

function procUsage(pid: number): { cpuS: number; rssMb: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const ticks = Number(stat[11]) + Number(stat[12]);
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return { cpuS: ticks / 100, rssMb: Number(rss ?? 0) / 1024 };
  } catch {
    return { cpuS: NaN, rssMb: NaN };
  }
}

async function usageAll(sys: RunningSystem, names: ServiceName[]): Promise<Record<string, { cpuS: number; rssMb: number }>> {
  const out: Record<string, { cpuS: number; rssMb: number }> = {};
  for (const n of names) {
    const u = await sys.services[n].usage();
    out[n] = { cpuS: u?.cpuSeconds ?? NaN, rssMb: (u?.rssBytes ?? NaN) / 1024 / 1024 };
  }
  const p = sys.serverPids();
  out['nats-server'] = procUsage(p.nats);
  out['clickhouse-server'] = procUsage(p.clickhouse);
  return out;
}

async function counter(sys: RunningSystem, name: ServiceName, metric: string): Promise<number> {
  return (await sys.services[name].metrics()).get(metric) ?? NaN;
}

async function e2e(sys: RunningSystem): Promise<GeoEvent[]> {
  const nc = await connectNats(sys.natsUrl, 'proof-bench');
  const js = jetstream(nc, { timeout: 30_000 });
  // Every job alerting publishes, with when it arrived here.
  const jobsSeen = new Map<string, number>();
  let lastJobAt = 0;
  const sub = nc.subscribe('sms.jobs.>', {
    callback: (_e, m) => {
      try {
        // A single job or a batch of jobs (alerting publishes batches of JOB_BATCH_SIZE).
        const jobs = smsJobsIn(JSON.parse(new TextDecoder().decode(m.data))) ?? [];
        const at = Date.now();
        for (const j of jobs) jobsSeen.set(j.msisdn, at);
        if (jobs.length) lastJobAt = at;
      } catch {
        /* not a job */
      }
    },
  });

  // 1. The province reports in: the simulator starts 2 min in the past at 5× and is stopped when it nears now.
  say(`simulating ${SUBSCRIBERS} subscribers until everyone has reported`);
  await sys.startService('ingest');
  await sleep(26_000);
  await sys.stopService('ingest');
  for (let i = 0; i < 60; i++) {
    const b = (await backlogs(sys.natsUrl, ['LOCATION'])).filter((x) => x.consumer.startsWith('alerting'));
    if (b.every((x) => x.pending === 0 && x.ackPending === 0)) break;
    await sleep(1000);
  }

  // 2. Task start to last job for the people present; SMS/s at the SMSCs.
  const accepted0 = (await sys.smsc.stats()).reduce((n, s) => n + s.accepted, 0);
  const t0 = Date.now();
  await submitAndRun(sys.natsUrl, 'bench-task', {
    alertType: 'typhoon',
    region: { parts: [{ kind: 'rectangle', ...REGION }] },
    subject: 'bench',
    content: '台风预警：请注意防范。',
    signature: '应急管理',
    ...taskDates(),
    frequency: 'once',
    quota: {
      cmcc: { total: 1_000_000, dailyCap: 1_000_000 },
      cucc: { total: 1_000_000, dailyCap: 1_000_000 },
      ctcc: { total: 1_000_000, dailyCap: 1_000_000 },
    },
    balance: 3_000_000,
    accountId: 'bench',
    enterpriseId: 'bench',
  });
  const acc: { t: number; n: number }[] = [];
  for (let quiet = 0; quiet < 8 && Date.now() - t0 < 120_000;) {
    await sleep(500);
    const n = (await sys.smsc.stats()).reduce((k, s) => k + s.accepted, 0) - accepted0;
    if (acc.length && acc[acc.length - 1]!.n === n && Date.now() - lastJobAt > 3000) quiet++;
    else quiet = 0;
    acc.push({ t: Date.now(), n });
  }
  const jobs = jobsSeen.size;
  const taskToLastJob = lastJobAt - t0;
  const sent = acc[acc.length - 1]?.n ?? 0;
  const first = acc.find((a) => a.n > 0);
  const last = acc.find((a) => a.n === sent);
  const smsPerS = first && last && last.t > first.t ? (sent * 1000) / (last.t - first.t + 500) : NaN;
  say(`task start → last job: ${jobs} jobs in ${taskToLastJob} ms; SMSC accepted ${sent} at ${Math.round(smsPerS)}/s`);
  figure('e2e', 'task_start_to_last_job', taskToLastJob, 'ms', { people: jobs });
  figure('e2e', 'sms_per_s', smsPerS, '1/s', { messages: sent });

  // 3. Event → job latency and ClickHouse lag: probe people walk into the region, 50 per second.
  const probes: { msisdn: string; at: number }[] = [];
  const PROBES = 500;
  for (let i = 0; i < PROBES; i++) {
    const msisdn = `1390${String(100000 + i).padStart(7, '0')}`;
    const e: LocationEvent = {
      msisdn,
      carrier: 'cmcc',
      ts: Date.now(),
      cell: `probe-${i}`,
      lat: 30.27,
      lng: 120.16,
      kind: 'handover',
      age: 30,
      gender: 'f',
      home: '330106',
    };
    const at = Date.now();
    await js.publish(locationSubject('cmcc', shardOf(msisdn)), JSON.stringify({ v: 1, events: [e] }));
    probes.push({ msisdn, at });
    if (i % 10 === 9) await sleep(200);
  }
  await sleep(5000);
  const lat = probes.map((p) => (jobsSeen.get(p.msisdn) ?? NaN) - p.at).filter(Number.isFinite);
  say(`event → job: ${lat.length}/${PROBES} probes, p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms`);
  figure('e2e', 'event_to_job_p50', pct(lat, 50), 'ms', { probes: lat.length });
  figure('e2e', 'event_to_job_p99', pct(lat, 99), 'ms', { probes: lat.length });
  const ch = connectClickHouse(sys.clickhouseUrl);
  const lags: number[] = [];
  const checkpointLags: number[] = [];
  // ClickHouse lag: a fresh probe each time (a first sighting, so a move row), polled in insight's
  // history (`insight_moves_to`, written about every second) and in its presence checkpoint
  // (written every 5 s; read only at start-up).
  for (let i = 0; i < 10; i++) {
    const msisdn = `1391${String(100000 + i).padStart(7, '0')}`;
    const at = Date.now();
    await js.publish(
      locationSubject('cmcc', shardOf(msisdn)),
      JSON.stringify({ v: 1, events: [{ msisdn, carrier: 'cmcc', ts: at, cell: `lag-${i}`, lat: 29.5, lng: 119.5, kind: 'attach' }] }),
    );
    let moved = 0;
    for (;;) {
      const [r] = await selectRows<{ m: string; p: string }>(
        ch,
        `SELECT
        (SELECT count() FROM insight_moves_to WHERE sub = ${Number(msisdn)}) AS m, (SELECT count() FROM insight_presence WHERE sub = ${Number(msisdn)}) AS p`,
      );
      if (!moved && Number(r!.m) > 0) moved = Date.now();
      if ((moved && Number(r!.p) > 0) || Date.now() - at > 30_000) break;
      await sleep(100);
    }
    lags.push((moved || Date.now()) - at);
    checkpointLags.push(Date.now() - at);
  }
  say(
    `ClickHouse lag (event → its move in insight_moves_to): p50 ${pct(lags, 50)} ms, max ${Math.max(...lags)} ms; → insight_presence checkpoint row: p50 ${pct(checkpointLags, 50)} ms`,
  );
  figure('e2e', 'clickhouse_lag_p50', pct(lags, 50), 'ms', { table: 'insight_moves_to' });
  figure('e2e', 'clickhouse_lag_max', Math.max(...lags), 'ms', { table: 'insight_moves_to' });
  figure('e2e', 'clickhouse_checkpoint_lag_p50', pct(checkpointLags, 50), 'ms', { table: 'insight_presence' });

  // 4. Sustained events/s: the simulator as fast as JetStream takes it; each stage's rate and backlog.
  say('throughput: simulator as fast as it goes, 10 s warm-up, 30 s window');
  sys.services.ingest.spec.env.SIM_SPEED = '0';
  sys.services.ingest.spec.env.SIM_SEED = '11';
  sys.services.ingest.spec.env.SIM_START = new Date(Date.now() + 3 * 86_400_000).toISOString();
  await sys.startService('ingest');
  await sleep(10_000);
  const names: ServiceName[] = ['ingest', 'alerting', 'messaging', 'insight', 'smsc-sim'];
  const w0 = {
    t: Date.now(),
    ingest: await counter(sys, 'ingest', 'ingest_events_published_total'),
    alerting: await counter(sys, 'alerting', 'alerting_events_total'),
    insight: await counter(sys, 'insight', 'insight_sink_events_total'),
    backlog: await backlogs(sys.natsUrl, ['LOCATION']),
    use: await usageAll(sys, names),
  };
  await sleep(30_000);
  const w1 = {
    t: Date.now(),
    ingest: await counter(sys, 'ingest', 'ingest_events_published_total'),
    alerting: await counter(sys, 'alerting', 'alerting_events_total'),
    insight: await counter(sys, 'insight', 'insight_sink_events_total'),
    backlog: await backlogs(sys.natsUrl, ['LOCATION']),
    use: await usageAll(sys, names),
  };
  await sys.stopService('ingest');
  const secs = (w1.t - w0.t) / 1000;
  const behind = (b: typeof w0.backlog, who: string) => b.filter((x) => x.consumer.startsWith(who)).reduce((n, x) => n + x.pending, 0);
  const rate = {
    ingest: (w1.ingest - w0.ingest) / secs,
    alerting: (w1.alerting - w0.alerting) / secs,
    insight: (w1.insight - w0.insight) / secs,
  };
  const growth = {
    alerting: (behind(w1.backlog, 'alerting') - behind(w0.backlog, 'alerting')) / secs,
    insight: (behind(w1.backlog, 'insight') - behind(w0.backlog, 'insight')) / secs,
  };
  // Backlog is counted in LOCATION messages (batches of SIM_BATCH = 500 events).
  const sustained = Math.min(rate.ingest, rate.alerting, rate.insight);
  say(
    `events/s: ingest ${Math.round(rate.ingest)}, alerting ${Math.round(rate.alerting)}, insight ${Math.round(rate.insight)}; backlog growth (messages/s): alerting ${growth.alerting.toFixed(1)}, insight ${growth.insight.toFixed(1)}`,
  );
  figure('e2e', 'sustained_events_per_s', sustained, '1/s', {
    ingest: Math.round(rate.ingest),
    alerting: Math.round(rate.alerting),
    insight: Math.round(rate.insight),
    backlogGrowthMsgsPerS: growth,
  });
  for (const [n, u] of Object.entries(w1.use)) {
    const cpu = ((u.cpuS - (w0.use[n]?.cpuS ?? NaN)) / secs) * 100;
    figure('e2e', `cpu_${n}`, cpu, '%');
    figure('e2e', `rss_${n}`, u.rssMb, 'MB');
  }

  // 5. Events for the geofencing peers: the first 200k the simulator published.
  const events: GeoEvent[] = [];
  const c = await js.consumers.get(LOCATION_STREAM, { deliver_policy: DeliverPolicy.All });
  const msgs = await c.consume({ max_messages: 1000 });
  for await (const m of msgs) {
    for (const e of decodeLocationMessage(m.data)) events.push({ lng: e.lng, lat: e.lat, cell: e.cell });
    if (events.length >= 200_000 || m.info.pending === 0) break;
  }
  await msgs.close();
  sub.unsubscribe();
  await ch.close();
  await nc.close();
  return events;
}

/** The same N messages through the same simulated SMSC (cmcc): ours (SMS_JOBS → messaging) and Kannel (HTTP sendsms → bearerbox). */
async function gateways(sys: RunningSystem): Promise<void> {
  const N = 2000;
  const acceptedCmcc = async () => (await sys.smsc.stats()).find((s) => s.carrier === 'cmcc')!.accepted;
  const until = async (target: number, timeoutMs: number) => {
    const t = Date.now();
    while ((await acceptedCmcc()) < target && Date.now() - t < timeoutMs) await sleep(100);
    return acceptedCmcc();
  };
  const nc = await connectNats(sys.natsUrl, 'proof-bench-gw');
  const js = jetstream(nc, { timeout: 30_000 });
  let base = await acceptedCmcc();
  let t = Date.now();
  await Promise.all(
    Array.from({ length: N }, (_, i) => {
      const job: SmsJob = {
        jobId: `gw-ours-${i}`,
        source: 'industry',
        enterpriseId: 'bench',
        accountId: 'bench',
        sendId: 'gw-ours',
        msisdn: `1350${String(i).padStart(7, '0')}`,
        carrier: 'cmcc',
        content: '网关对比测试短信',
        signature: '测试',
        createdAt: Date.now(),
      };
      return js.publish(smsJobSubject('cmcc'), JSON.stringify(job), { msgID: job.jobId });
    }),
  );
  let got = (await until(base + N, 90_000)) - base;
  const oursMs = Date.now() - t;
  await nc.close();
  const ours = (got * 1000) / oursMs;
  say(`ours: ${got}/${N} SMS accepted by the SMSC in ${oursMs} ms (${Math.round(ours)}/s)`);
  figure('sms_gateway', 'ours_sms_per_s', ours, '1/s', { messages: got });
  let kannel: RunningKannel | undefined;
  try {
    const port = Number(sys.services.messaging.spec.env.SMSC_PORT_CMCC);
    kannel = await startKannel({ smscs: [{ id: 'sim', host: '127.0.0.1', port, ...SMSC_ID, binds: 2 }] });
    await sleep(2000);
    base = await acceptedCmcc();
    t = Date.now();
    let next = 0;
    let refused = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < N) {
          const i = next++;
          const q = new URLSearchParams({
            ...KANNEL_USER,
            from: '106571',
            to: `1351${String(i).padStart(7, '0')}`,
            text: '【测试】网关对比测试短信',
            charset: 'UTF-8',
            coding: '2',
          });
          const r = await fetch(`${kannel!.sendUrl}?${q}`).catch(() => undefined);
          if (!r || r.status >= 300) refused++;
          await r?.text();
        }
      }),
    );
    got = (await until(base + N - refused, 90_000)) - base;
    const kMs = Date.now() - t;
    const k = (got * 1000) / kMs;
    say(`Kannel: ${got}/${N} SMS accepted by the SMSC in ${kMs} ms (${Math.round(k)}/s), ${refused} refused by smsbox`);
    figure('sms_gateway', 'kannel_sms_per_s', k, '1/s', { messages: got, refused });
    figure('sms_gateway', 'ratio_ours_over_kannel', ours / k, 'x');
  } catch (err) {
    say(`Kannel peer failed: ${(err as Error).message}`);
    figures.push({ bench: 'sms_gateway', metric: 'kannel_sms_per_s', value: null, error: (err as Error).message });
  } finally {
    await kannel?.stop();
  }
}

async function geofencing(events: GeoEvent[]): Promise<void> {
  const regions = benchRegions();
  say(
    `geofencing: ${events.length} events × ${regions.length} regions (${regions.filter((r) => r.polygon).length} district outlines, ${regions.filter((r) => r.circle).length} circles)`,
  );
  const results: GeofenceResult[] = [oursIndex(events, regions), oursPerCell(events, regions), turfLoop(events, regions)];
  try {
    results.push(...(await postgis(events, regions)));
  } catch (err) {
    say(`PostGIS peer failed: ${(err as Error).message}`);
    figures.push({ bench: 'geofence', metric: 'postgis', value: null, error: (err as Error).message });
  }
  const ours = results[0]!;
  for (const r of results) {
    say(
      `  ${r.name.padEnd(48)} ${String(Math.round(r.eventsPerS)).padStart(10)} events/s  (${r.events} events, ${r.matches} matches, ${Math.round(r.ms)} ms)${r.note ? ` — ${r.note}` : ''}`,
    );
    figure('geofence', r.name, r.eventsPerS, 'events/s', {
      events: r.events,
      matches: r.matches,
      ratioOursOverThis: Math.round((ours.eventsPerS / r.eventsPerS) * 100) / 100,
      note: r.note,
    });
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const load0 = loadavg();
  say(`load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')} (2 shared cores: figures are pessimistic)`);
  const sys = await startSystem({
    subscribers: SUBSCRIBERS,
    simSpeed: 5,
    env: { ingest: { SIM_START: new Date(Date.now() - 120_000).toISOString() } },
    smscEnv: {
      SMSC_SUCCESS_RATE: '1',
      SMSC_MO_RATE: '0',
      SMSC_LATENCY_MS: '2',
      SMSC_RECEIPT_DELAY_MS: '100',
      SMSC_SYSTEM_ID: SMSC_ID.systemId,
      SMSC_PASSWORD: SMSC_ID.password,
    },
    logLevel: 'info',
    // A benchmark measures; it does not restart a service that is slow to answer its /healthz.
    liveness: false,
    say,
  });
  let events: GeoEvent[];
  try {
    events = await e2e(sys);
    await gateways(sys);
  } finally {
    await sys.stop();
  }
  await geofencing(events);
  const load1 = loadavg();
  figure('e2e', 'load_average_1m_start', load0[0]!, '');
  figure('e2e', 'load_average_1m_end', load1[0]!, '');
  figure('e2e', 'bench_duration', (Date.now() - started) / 1000, 's');
  const table = ['| bench | metric | value | unit | detail |', '| --- | --- | --- | --- | --- |'];
  for (const f of figures) {
    const { bench, metric, value, unit, ...rest } = f as { bench: string; metric: string; value: unknown; unit?: string };
    table.push(
      `| ${bench} | ${metric} | ${value ?? '—'} | ${unit ?? ''} | ${Object.keys(rest).length ? JSON.stringify(rest).replace(/\|/g, '\\|') : ''} |`,
    );
  }
  console.log(`\n${table.join('\n')}\n`);
  if (process.env.BENCH_NO_WRITE !== '1') {
    const file = recordInBenchmarks(table, load0[0]!, load1[0]!);
    say(`table written to ${file} (BENCH_NO_WRITE=1 leaves it alone)`);
  }
  for (const f of figures) console.log(JSON.stringify(f));
}

/**
 * Puts this run's table into BENCHMARKS.md at the repository root, as the newest section (above the
 * others), with the date, the machine and the load, so each run is recorded where the figures live.
 */
function recordInBenchmarks(table: string[], loadStart: number, loadEnd: number): string {
  const file = fileURLToPath(new URL('../../BENCHMARKS.md', import.meta.url));
  const now = new Date().toISOString().replace('T', ' ').slice(0, 16);
  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`;
  const section = [
    `## \`npm run bench\` (end to end, written by the run), ${now} UTC`,
    '',
    `Machine: ${machine}. Load average ${loadStart.toFixed(2)} at the start, ${loadEnd.toFixed(2)} at the end.`,
    '',
    ...table,
    '',
    '',
  ].join('\n');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\n';
  const at = old.indexOf('\n## ');
  writeFileSync(file, at < 0 ? `${old.trimEnd()}\n\n${section}` : `${old.slice(0, at + 1)}${section}${old.slice(at + 1)}`);
  return file;
}

await main();
