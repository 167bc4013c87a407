/**
 * Messaging benchmark: jobs from SMS_JOBS through the SMPP connectors to the simulated SMSCs
 * (a separate process, over TCP), receipts back, send log in ClickHouse. One script of ~400 lines
 * on purpose, read top to bottom as the run it is (shared parts: proc-cpu.ts, one-smsc.ts).
 *
 *   sms_per_s                 sustained jobs/s with per-carrier limits off: a backlog of BENCH_JOBS jobs
 *                             (default 30,000) drained from the first job taken to the last final
 *                             status (receipt processed) written to the send log; all carriers on SMPP.
 *   sms_per_s_cmpp, _smgp,    the same with every carrier on CMPP 3.0 / SMGP 3.0 / SGIP 1.2 (simulated
 *   _sgip                     gateways of that protocol; BENCH_PROTOCOLS=smpp,cmpp,smgp,sgip chooses).
 *   alert_100k_vs_limits_pct  a real 100,000-recipient alert split 50/30/20 over cmcc/cucc/ctcc at
 *                             realistic per-carrier limits of 750/450/300 segments/s (1,500/s in all;
 *                             BENCH_ALERT_RATE sets the total): (time until every recipient's receipt
 *                             is in the send log − the time the limits allow) / the time the limits
 *                             allow × 100. The limits allow 50,000 / 750 = 66.7 s.
 *
 * BENCH_STATUS_BATCH_MS=N sends status events batched per N ms (STATUS_EVENT_BATCH_MS; the service's default when unset).
 *
 * BENCH_JOB_BATCH=N publishes the jobs as SmsJobBatch messages of N (as alerting sends an alert's
 * people) instead of one SmsJob per message.
 *
 * NATS_URL / CLICKHOUSE_URL from the environment, or servers started here. Figures last, as JSON lines.
 * A run not drained within BENCH_DEADLINE_S (120) fails the bench: everything it started is closed
 * and it exits 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { jetstream } from '@nats-io/jetstream';
import { connectClickHouse, connectNats, selectRows, type NatsConnection } from '@geo/infra';
import { freePort } from '@geo/infra/testing';
import { startStack, type RunningStack } from '../../infra/src/servers/stack.ts';
import { cpuSeconds } from './proc-cpu.ts';
import { MessagingEnv, type CarrierProtocol } from '../src/config.ts';
import { createMessaging, type MessagingService } from '../src/service.ts';
import { messagingNames } from '../src/names.ts';
import type { SmsCarrier, SmsJob, SmsJobBatch } from '../src/contract.ts';

const SUSTAINED_JOBS = Number(process.env.BENCH_JOBS ?? 30_000);
const ALERT_JOBS = Number(process.env.BENCH_ALERT_JOBS ?? 100_000);
/** Jobs per SMS_JOBS message (SmsJobBatch when > 1). */
const JOB_BATCH = Math.min(1000, Number(process.env.BENCH_JOB_BATCH ?? 1));
/** A run not drained within this fails the bench. */
const RUN_DEADLINE_S = Number(process.env.BENCH_DEADLINE_S ?? 120);
const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const say = (s: string) => process.stderr.write(`${s}\n`);

let stack: RunningStack | undefined;
let dir: string | undefined;
let natsUrl = process.env.NATS_URL;
let chUrl = process.env.CLICKHOUSE_URL;
if (!natsUrl || !chUrl) {
  dir = mkdtempSync(join(tmpdir(), 'messaging-bench-'));
  stack = await startStack({ dataDir: dir, natsUrl, clickhouseUrl: chUrl, log: () => undefined });
  natsUrl = stack.natsUrl;
  chUrl = stack.clickhouseUrl;
}

const PROTOCOLS = (process.env.BENCH_PROTOCOLS ?? 'smpp,cmpp,smgp,sgip').split(',').map((p) => p.trim()) as CarrierProtocol[];

// The simulated SMSCs (gateways) run in their own process, as under `npm start`, all three carriers on `protocol`.
const ports = { cmcc: await freePort(), cucc: await freePort(), ctcc: await freePort() };
/** SGIP: where messaging listens for the simulated SMG's reverse connection. */
const sgipListen = { cmcc: await freePort(), cucc: await freePort(), ctcc: await freePort() };
/** Where the gateways listen and which protocol they speak: the same for the simulator and messaging. */
const gatewayEnv = (protocol: CarrierProtocol): Record<string, string> =>
  Object.fromEntries(
    (['cmcc', 'cucc', 'ctcc'] as const).flatMap((c) => {
      const C = c.toUpperCase();
      return [
        [`SMSC_PORT_${C}`, String(ports[c])],
        [`SMSC_PROTOCOL_${C}`, protocol],
        [`SGIP_LISTEN_PORT_${C}`, String(sgipListen[c])],
      ];
    }),
  );
let sim: ChildProcess | undefined;
let simProtocol: CarrierProtocol | undefined;
/** The messaging service of the run under way, stopped by the cleanup when a run fails. */
let running: MessagingService | undefined;

async function stopSim(): Promise<void> {
  const old = sim;
  sim = undefined;
  simProtocol = undefined;
  if (!old || old.exitCode !== null || old.signalCode !== null) return;
  const exited = new Promise((r) => old.once('exit', r));
  old.kill('SIGTERM');
  const t = setTimeout(() => old.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

async function startSim(protocol: CarrierProtocol): Promise<void> {
  if (simProtocol === protocol) return;
  await stopSim();
  const simHttp = await freePort();
  sim = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_SIM_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_SIM_PROF] : []),
      '--import',
      'tsx',
      fileURLToPath(new URL('../src/smsc-sim/main.ts', import.meta.url)),
    ],
    {
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        HEALTH_PORT: String(simHttp),
        ...gatewayEnv(protocol),
        SMSC_LATENCY_MS: '0',
        SMSC_RECEIPT_DELAY_MS: '0',
        SMSC_SUCCESS_RATE: '1',
        SMSC_MO_RATE: '0',
        SMSC_KEEP: '1000',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  simProtocol = protocol;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${simHttp}/healthz`)).ok) break;
    } catch {
      if (i > 200) throw new Error('simulated SMSC did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const nc: NatsConnection = await connectNats(natsUrl, 'messaging-bench');
const ch = connectClickHouse(chUrl);
const carriers: SmsCarrier[] = ['cmcc', 'cucc', 'ctcc'];
const prefixes: Record<SmsCarrier, string> = { cmcc: '138', cucc: '186', ctcc: '189' };

async function publishJobs(ns: string, n: number, share: Record<SmsCarrier, number>): Promise<Record<SmsCarrier, number>> {
  const names = messagingNames(ns);
  const { declareMessagingStreams } = await import('../src/streams.ts');
  await declareMessagingStreams(nc, 1, names);
  const js = jetstream(nc);
  const counts: Record<SmsCarrier, number> = { cmcc: 0, cucc: 0, ctcc: 0 };
  const now = Date.now();
  const content = '【市应急管理局】台风红色预警：请立即停止户外活动，远离危险区域。'.slice(9);
  const pending: Record<SmsCarrier, SmsJob[]> = { cmcc: [], cucc: [], ctcc: [] };
  let batches = 0;
  // BENCH_JOB_BATCH > 1: jobs go as SmsJobBatch messages of that many (as alerting sends an alert's
  // people), with the shared fields in `common`; 1 (default): one SmsJob per message.
  const flushBatch = (carrier: SmsCarrier) => {
    const jobs = pending[carrier].splice(0);
    const { content: c, signature, source, enterpriseId, accountId, sendId, createdAt } = jobs[0]!;
    const batch: SmsJobBatch = {
      v: 1,
      common: { content: c, signature, source, enterpriseId, accountId, sendId, createdAt, carrier },
      jobs: jobs.map((j) => ({ jobId: j.jobId, msisdn: j.msisdn })),
    };
    return js.publish(names.jobSubject(carrier), JSON.stringify(batch), { msgID: `${ns}:${carrier}:${batches++}` });
  };
  for (let i = 0; i < n; i += 1000) {
    const batch: Promise<unknown>[] = [];
    for (let k = i; k < Math.min(n, i + 1000); k++) {
      const f = (k % 100) / 100;
      const carrier: SmsCarrier = f < share.cmcc ? 'cmcc' : f < share.cmcc + share.cucc ? 'cucc' : 'ctcc';
      counts[carrier]++;
      const job: SmsJob = {
        jobId: `${ns}-${k}`,
        source: 'alert',
        enterpriseId: 'bench',
        accountId: 'bench',
        sendId: ns,
        msisdn: `${prefixes[carrier]}${String(k).padStart(8, '0')}`,
        carrier,
        content,
        signature: '市应急管理局',
        createdAt: now,
      };
      if (JOB_BATCH <= 1) batch.push(js.publish(names.jobSubject(carrier), JSON.stringify(job), { msgID: job.jobId }));
      else if (pending[carrier].push(job) >= JOB_BATCH) batch.push(flushBatch(carrier));
    }
    await Promise.all(batch);
  }
  await Promise.all(carriers.filter((c) => pending[c].length > 0).map((c) => flushBatch(c)));
  return counts;
}

/** The servers this bench started (their command lines name its data dir). */
function serverPids(): { name: string; pid: number }[] {
  if (!dir) return [];
  const out: { name: string; pid: number }[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (!cmd.some((a) => a.includes(dir!))) continue;
      const name = cmd[0]!.includes('nats') ? 'nats-server' : cmd[0]!.includes('clickhouse') ? 'clickhouse' : '';
      if (name) out.push({ name, pid: Number(p) });
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU time per SMS of each process taking part, so figures on a shared machine can be read. */
function cpuMeter() {
  const procs = [{ name: 'messaging', pid: process.pid }, { name: 'smsc-sim', pid: sim!.pid! }, ...serverPids()];
  const t0 = procs.map((p) => cpuSeconds(p.pid));
  const w0 = procs.map((p) => writeCalls(p.pid));
  return (n: number) =>
    procs
      .map(
        (p, i) =>
          `${p.name} ${Math.round(((cpuSeconds(p.pid) - t0[i]!) * 1e6) / n)} µs (${((writeCalls(p.pid) - w0[i]!) / n).toFixed(2)} writes)`,
      )
      .join(', ');
}

/** Write system calls a process made (a socket write each, mostly), from /proc (Linux). */
function writeCalls(pid: number): number {
  try {
    return Number(/syscw: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function run(ns: string, n: number, rates: Record<SmsCarrier, number>, protocol: CarrierProtocol = 'smpp') {
  await startSim(protocol);
  const table = `sms_log_${ns}`;
  const cfg = MessagingEnv.parse({
    NATS_URL: natsUrl,
    CLICKHOUSE_URL: chUrl,
    HEALTH_PORT: '0',
    SEND_LOG_TABLE: table,
    MESSAGING_NS: ns,
    LOG_LEVEL: 'warn',
    ...gatewayEnv(protocol),
    SMSC_RATE_CMCC: String(rates.cmcc),
    SMSC_RATE_CUCC: String(rates.cucc),
    SMSC_RATE_CTCC: String(rates.ctcc),
    SMSC_BINDS: process.env.BENCH_BINDS ?? '1',
    SMSC_WINDOW: process.env.BENCH_WINDOW ?? '64',
    MAX_IN_FLIGHT: '20000',
    // BENCH_STATUS_BATCH_MS: status events batched per window (the service's STATUS_EVENT_BATCH_MS; its default when unset).
    ...(process.env.BENCH_STATUS_BATCH_MS ? { STATUS_EVENT_BATCH_MS: process.env.BENCH_STATUS_BATCH_MS } : {}),
  });
  const svc = await createMessaging(cfg, log);
  running = svc;
  try {
    const profile = await startProfile();
    const cpu = cpuMeter();
    const t0 = performance.now();
    let submittedAt = 0;
    let lastReport = t0;
    const s = svc.sender.counts;
    while (s.final + s.failed + s.rejected < n) {
      await new Promise((r) => setTimeout(r, 20));
      if (!submittedAt && s.submitted + s.failed + s.rejected >= n) submittedAt = performance.now();
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        say(`  ${ns}: ${s.submitted} submitted, ${s.final} final after ${((lastReport - t0) / 1000).toFixed(1)} s`);
      }
      if (performance.now() - t0 > RUN_DEADLINE_S * 1000) {
        say(`  ${ns}: sender ${JSON.stringify(svc.sender.stats())}`);
        for (const c of svc.connectors.values()) say(`  ${ns}: ${JSON.stringify(c.status())}`);
        throw new Error(`${ns}: only ${s.final} of ${n} final after ${RUN_DEADLINE_S} s`);
      }
    }
    const t1 = performance.now();
    await profile?.(ns);
    const stats = svc.sender.stats();
    const links = [...svc.connectors.values()].map((c) => {
      const st = c.status();
      return `${st.carrier} ${st.submitted} parts, ${st.throttled} throttled, ${st.retried} retried, ${st.reconnects} reconnects`;
    });
    say(`  ${ns}: claims ${JSON.stringify(stats.claims)}, ${stats.sendLogRows} send-log rows; ${links.join('; ')}`);
    say(
      `  ${ns}: CPU per SMS: ${cpu(n)}; load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
    return { seconds: (t1 - t0) / 1000, submitSeconds: ((submittedAt || t1) - t0) / 1000, table };
  } finally {
    running = undefined;
    await svc.stop();
  }
}

/**
 * BENCH_PROF=<dir>: profiles this process (messaging) from a run's start to its last final status
 * only (not the publishing nor the start), written as <dir>/<run>.cpuprofile; the returned
 * function stops it. BENCH_SIM_PROF=<dir> profiles the simulated SMSC's whole life.
 */
async function startProfile(): Promise<((ns: string) => Promise<void>) | undefined> {
  const out = process.env.BENCH_PROF;
  if (!out) return undefined;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async (ns) => {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `${ns}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

/** The delivered rows of a run's send log (then dropped). */
async function deliveredRows(table: string): Promise<number> {
  const rows = await selectRows<{ n: string }>(ch, `SELECT count() AS n FROM ${table} FINAL WHERE status = 'delivered'`);
  await ch.command({ query: `DROP TABLE IF EXISTS ${table}` });
  return Number(rows[0]!.n);
}

const figures: { bench: string; metric: string; value: number; unit: string }[] = [];
try {
  for (const protocol of PROTOCOLS) {
    const ns1 = `bench${Date.now().toString(36)}${protocol}`;
    say(`${protocol}: publishing ${SUSTAINED_JOBS} jobs (limits off)…`);
    await publishJobs(ns1, SUSTAINED_JOBS, { cmcc: 0.5, cucc: 0.3, ctcc: 0.2 });
    const r1 = await run(ns1, SUSTAINED_JOBS, { cmcc: 0, cucc: 0, ctcc: 0 }, protocol);
    const perS = SUSTAINED_JOBS / r1.seconds;
    const delivered = await deliveredRows(r1.table);
    say(
      `${protocol} sustained: ${SUSTAINED_JOBS} jobs final in ${r1.seconds.toFixed(1)} s (${Math.round(perS)}/s), ${delivered} delivered rows in ClickHouse`,
    );
    if (delivered !== SUSTAINED_JOBS) throw new Error(`send log has ${delivered} delivered rows, expected ${SUSTAINED_JOBS}`);
    figures.push({
      bench: 'messaging',
      metric: protocol === 'smpp' ? 'sms_per_s' : `sms_per_s_${protocol}`,
      value: Math.round(perS),
      unit: '1/s',
    });
  }

  if (process.env.BENCH_ALERT !== '0') await alertRun();
} catch (err) {
  say(`messaging bench failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  // A failed run still holds its service (SMPP links that reconnect for ever): everything is
  // closed here, and a close that hangs does not keep the process alive past the deadline.
  const deadline = setTimeout(() => {
    say('messaging bench: cleanup did not finish within 30 s; exiting');
    process.exit(process.exitCode || 1);
  }, 30_000);
  deadline.unref();
  await cleanup();
  clearTimeout(deadline);
}
for (const f of figures) console.log(JSON.stringify(f));
// Nothing the bench started may keep the process up (a stray timer or socket): it is done.
process.exit(process.exitCode ?? 0);

async function cleanup(): Promise<void> {
  const steps: [string, () => Promise<unknown> | unknown][] = [
    ['messaging service', () => running?.stop()],
    ['simulated SMSC', () => stopSim()],
    ['NATS connection', () => nc.drain()],
    ['ClickHouse client', () => ch.close()],
    ['servers', () => stack?.stop()],
    ['data dir', () => dir && rmSync(dir, { recursive: true, force: true })],
  ];
  for (const [what, step] of steps) {
    const t = performance.now();
    try {
      await step();
      if (process.env.BENCH_DEBUG) say(`  closed the ${what} in ${Math.round(performance.now() - t)} ms`);
    } catch (err) {
      say(`messaging bench: closing the ${what} failed: ${(err as Error).message}`);
      process.exitCode = 1;
    }
  }
}

async function alertRun(): Promise<void> {
  // Realistic limits for an SMPP account per carrier (hundreds of segments/s), well inside what
  // the machine sustains, so the carriers' limits govern.
  const total = Number(process.env.BENCH_ALERT_RATE ?? 1500);
  const rates: Record<SmsCarrier, number> = { cmcc: total * 0.5, cucc: total * 0.3, ctcc: total * 0.2 };
  const ns2 = `bench${Date.now().toString(36)}b`;
  say(`publishing ${ALERT_JOBS} alert jobs; limits ${JSON.stringify(rates)} segments/s…`);
  const counts = await publishJobs(ns2, ALERT_JOBS, { cmcc: 0.5, cucc: 0.3, ctcc: 0.2 });
  const expected = Math.max(...carriers.map((c) => counts[c] / rates[c]));
  const r2 = await run(ns2, ALERT_JOBS, rates);
  const pct = ((r2.seconds - expected) / expected) * 100;
  const delivered = await deliveredRows(r2.table);
  say(
    `alert: ${ALERT_JOBS} submitted in ${r2.submitSeconds.toFixed(1)} s, all final (receipts in the send log) in ${r2.seconds.toFixed(1)} s vs ${expected.toFixed(1)} s allowed by the limits (${pct.toFixed(1)} %); ${delivered} delivered rows`,
  );
  if (delivered !== ALERT_JOBS) throw new Error(`send log has ${delivered} delivered rows, expected ${ALERT_JOBS}`);
  figures.push({ bench: 'messaging', metric: 'alert_100k_vs_limits_pct', value: Number(pct.toFixed(2)), unit: '%' });
}
