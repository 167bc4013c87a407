/**
 * Ours against Kannel on the same run (issue 22): the three carriers' simulated SMPP SMSCs each in
 * their own process (`one-smsc.ts`), BENCH_BINDS binds per carrier (default 2) with a window of 64
 * on both sides, and the same BENCH_MESSAGES (default 100,000) split 50/30/20 over China Mobile,
 * Unicom and Telecom by number.
 *
 *   ours:   the jobs are published to SMS_JOBS first (as SmsJobBatch messages of 500, as alerting
 *           sends an alert's people), then messaging starts in this process and drains them: claims,
 *           submit_sm, receipts, send log in ClickHouse, status events.
 *   Kannel: Debian's bearerbox + smsbox with one smsc group per bind (routed by prefix), driven over
 *           smsbox's HTTP sendsms by this process (32 requests at a time, BENCH_KANNEL_TO receivers
 *           per request, default 1); Kannel takes the receipts but asks for no delivery reports.
 *
 * Each side's time runs from its first message until the SMSCs have accepted all N; CPU per SMS is
 * read from /proc per process over the same span. Figures last, as JSON lines.
 *
 *   npx tsx messaging/bench/vs-kannel.ts     (BENCH_MESSAGES, BENCH_BINDS, BENCH_KANNEL_TO, BENCH_STATUS_BATCH_MS)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { jetstream } from '@nats-io/jetstream';
import { connectNats } from '@geo/infra';
import { KANNEL_USER, freePort, startKannel } from '@geo/infra/testing';
import { startStack } from '../../infra/src/servers/stack.ts';
import { cpuSeconds } from './proc-cpu.ts';
import { MessagingEnv } from '../src/config.ts';
import { createMessaging } from '../src/service.ts';
import { messagingNames } from '../src/names.ts';
import { declareMessagingStreams } from '../src/streams.ts';
import { DEFAULT_PASSWORD, DEFAULT_SYSTEM_ID } from '../src/smpp/protocol.ts';
import type { SmsCarrier, SmsJobBatch } from '../src/contract.ts';
import type { SmscStats } from '../src/smsc-sim/simulated-smsc.ts';

const N = Number(process.env.BENCH_MESSAGES ?? 100_000);
const BINDS = Number(process.env.BENCH_BINDS ?? 2);
const KANNEL_TO = Math.max(1, Number(process.env.BENCH_KANNEL_TO ?? 1));
const DEADLINE_S = Number(process.env.BENCH_DEADLINE_S ?? 900);
const say = (s: string) => process.stderr.write(`${s}\n`);
const carriers: SmsCarrier[] = ['cmcc', 'cucc', 'ctcc'];
const prefixes: Record<SmsCarrier, string> = { cmcc: '138', cucc: '186', ctcc: '189' };
const carrierOf = (k: number): SmsCarrier => (k % 10 < 5 ? 'cmcc' : k % 10 < 8 ? 'cucc' : 'ctcc');
const number = (k: number, side: number) => `${prefixes[carrierOf(k)]}${side}${String(k).padStart(7, '0')}`;
const figures: { bench: string; metric: string; value: number | null; unit: string; detail?: unknown }[] = [];

// ---- processes and their CPU ------------------------------------------------------------------

/** Processes whose command line contains `needle` (the servers of this run's data dir, Kannel's config). */
function pidsWith(needle: string): { name: string; pid: number }[] {
  const out: { name: string; pid: number }[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (!cmd.some((a) => a.includes(needle))) continue;
      const bin = cmd[0]!.split('/').pop()!;
      out.push({ name: bin.includes('clickhouse') ? 'clickhouse' : bin, pid: Number(p) });
    } catch {
      // gone
    }
  }
  return out;
}

function cpuMeter(procs: { name: string; pid: number }[]) {
  const t0 = procs.map((p) => cpuSeconds(p.pid));
  return (n: number) => {
    const by: Record<string, number> = {};
    procs.forEach((p, i) => (by[p.name] = (by[p.name] ?? 0) + ((cpuSeconds(p.pid) - t0[i]!) * 1e6) / n));
    for (const k of Object.keys(by)) by[k] = Math.round(by[k]!);
    return by;
  };
}

// ---- the simulated SMSCs, one process per carrier ----------------------------------------------

const sims = new Map<SmsCarrier, { child: ChildProcess; port: number }>();
async function startSims(): Promise<void> {
  for (const carrier of carriers) {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./one-smsc.ts', import.meta.url))], {
      env: { ...process.env, CARRIER: carrier, SMSC_PORT: String(port) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', () => reject(new Error(`simulated SMSC ${carrier} exited`)));
    });
    sims.set(carrier, { child, port });
  }
}

function simStats(carrier: SmsCarrier): Promise<SmscStats> {
  const { child } = sims.get(carrier)!;
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      if (typeof m === 'object' && m && 'stats' in m) {
        child.off('message', on);
        resolve((m as { stats: SmscStats }).stats);
      }
    };
    child.on('message', on);
    child.send('stats');
  });
}

async function accepted(): Promise<number> {
  return (await Promise.all(carriers.map(simStats))).reduce((n, s) => n + s.accepted, 0);
}

async function untilAccepted(target: number, what: string): Promise<void> {
  const t = performance.now();
  let last = t;
  for (;;) {
    const got = await accepted();
    if (got >= target) return;
    if (performance.now() - last > 10_000) {
      last = performance.now();
      say(`  ${what}: ${got - (target - N)} of ${N} accepted after ${((last - t) / 1000).toFixed(0)} s`);
    }
    if (performance.now() - t > DEADLINE_S * 1000)
      throw new Error(`${what}: only ${got - (target - N)} of ${N} accepted in ${DEADLINE_S} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const simProcs = () => carriers.map((c) => ({ name: 'smsc-sims', pid: sims.get(c)!.child.pid! }));
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

// ---- ours ---------------------------------------------------------------------------------------

async function ours(natsUrl: string, chUrl: string, dataDir: string): Promise<number> {
  const ns = `vk${Date.now().toString(36)}`;
  const names = messagingNames(ns);
  const nc = await connectNats(natsUrl, 'vs-kannel');
  await declareMessagingStreams(nc, 1, names);
  const js = jetstream(nc);
  say(`ours: publishing ${N} jobs…`);
  const pending: Record<SmsCarrier, { jobId: string; msisdn: string }[]> = { cmcc: [], cucc: [], ctcc: [] };
  let batches = 0;
  const flush = (c: SmsCarrier) => {
    const batch: SmsJobBatch = {
      v: 1,
      common: {
        source: 'alert',
        enterpriseId: 'bench',
        accountId: 'bench',
        sendId: ns,
        carrier: c,
        content: '台风红色预警：请立即停止户外活动，远离危险区域。',
        signature: '市应急管理局',
        createdAt: Date.now(),
      },
      jobs: pending[c].splice(0),
    };
    return js.publish(names.jobSubject(c), JSON.stringify(batch), { msgID: `${ns}:${batches++}` });
  };
  const out: Promise<unknown>[] = [];
  for (let k = 0; k < N; k++) {
    const c = carrierOf(k);
    if (pending[c].push({ jobId: `${ns}-${k}`, msisdn: number(k, 0) }) >= 500) out.push(flush(c));
    if (out.length >= 50) await Promise.all(out.splice(0));
  }
  for (const c of carriers) if (pending[c].length) out.push(flush(c));
  await Promise.all(out);

  const base = await accepted();
  const cpu = cpuMeter([{ name: 'messaging', pid: process.pid }, ...simProcs(), ...pidsWith(dataDir)]);
  const t0 = performance.now();
  const cfg = MessagingEnv.parse({
    NATS_URL: natsUrl,
    CLICKHOUSE_URL: chUrl,
    HEALTH_PORT: '0',
    SEND_LOG_TABLE: `sms_log_${ns}`,
    MESSAGING_NS: ns,
    LOG_LEVEL: 'warn',
    SMSC_PORT_CMCC: String(sims.get('cmcc')!.port),
    SMSC_PORT_CUCC: String(sims.get('cucc')!.port),
    SMSC_PORT_CTCC: String(sims.get('ctcc')!.port),
    SMSC_BINDS: String(BINDS),
    SMSC_WINDOW: '64',
    MAX_IN_FLIGHT: '20000',
    ...(process.env.BENCH_STATUS_BATCH_MS ? { STATUS_EVENT_BATCH_MS: process.env.BENCH_STATUS_BATCH_MS } : {}),
  });
  const svc = await createMessaging(cfg, pino({ level: 'warn' }));
  try {
    await untilAccepted(base + N, 'ours');
    const s = (performance.now() - t0) / 1000;
    const perSms = cpu(N);
    const perS = N / s;
    say(
      `ours: ${N} accepted by the SMSCs in ${s.toFixed(1)} s (${Math.round(perS)}/s); CPU µs per SMS ${JSON.stringify(perSms)}; load ${load()}`,
    );
    figures.push({
      bench: 'vs_kannel',
      metric: 'ours_sms_per_s',
      value: Math.round(perS),
      unit: '1/s',
      detail: { messages: N, binds: BINDS },
    });
    figures.push({ bench: 'vs_kannel', metric: 'ours_cpu_us_per_sms', value: sum(perSms), unit: 'µs', detail: perSms });
    return perS;
  } finally {
    await svc.stop();
    await nc.drain();
  }
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

// ---- Kannel -----------------------------------------------------------------------------------

async function kannel(): Promise<number | undefined> {
  if (!existsSync('/usr/sbin/bearerbox')) {
    say('Kannel is not installed (/usr/sbin/bearerbox): apt-get install kannel');
    figures.push({ bench: 'vs_kannel', metric: 'kannel_sms_per_s', value: null, unit: '1/s', detail: { error: 'not installed' } });
    return undefined;
  }
  const running = await startKannel({
    smscs: carriers.map((c) => ({
      id: c,
      host: '127.0.0.1',
      port: sims.get(c)!.port,
      systemId: DEFAULT_SYSTEM_ID,
      password: DEFAULT_PASSWORD,
      binds: BINDS,
      window: 64,
      allowedPrefix: prefixes[c],
    })),
    logLevel: 3,
  });
  try {
    const sendUrl = running.sendUrl;
    await new Promise((r) => setTimeout(r, 3000)); // its binds
    const base = await accepted();
    const cpu = cpuMeter([{ name: 'http-driver', pid: process.pid }, ...simProcs(), ...pidsWith(running.confFile)]);
    const t0 = performance.now();
    let next = 0;
    let refused = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < N) {
          const first = next;
          const c = carrierOf(first);
          const to: string[] = [];
          // Receivers of one request share a carrier (k, k+10, …: the same last digit).
          for (let k = first; to.length < KANNEL_TO && k < N; k += 10) if (carrierOf(k) === c) to.push(number(k, 1));
          next += to.length;
          const q = new URLSearchParams({
            ...KANNEL_USER,
            from: '106571',
            to: to.join(' '),
            text: '【市应急管理局】台风红色预警：请立即停止户外活动，远离危险区域。',
            charset: 'UTF-8',
            coding: '2',
          });
          const r = await fetch(`${sendUrl}?${q}`).catch(() => undefined);
          if (!r || r.status >= 300) refused += to.length;
          await r?.text();
        }
      }),
    );
    await untilAccepted(base + N - refused, 'Kannel');
    const s = (performance.now() - t0) / 1000;
    const perSms = cpu(N);
    const perS = (N - refused) / s;
    say(
      `Kannel: ${N - refused} accepted by the SMSCs in ${s.toFixed(1)} s (${Math.round(perS)}/s), ${refused} refused by smsbox; CPU µs per SMS ${JSON.stringify(perSms)}; load ${load()}`,
    );
    figures.push({
      bench: 'vs_kannel',
      metric: 'kannel_sms_per_s',
      value: Math.round(perS),
      unit: '1/s',
      detail: { messages: N - refused, refused, binds: BINDS, toPerRequest: KANNEL_TO },
    });
    const { ['http-driver']: driver, ...kannelSide } = perSms;
    figures.push({
      bench: 'vs_kannel',
      metric: 'kannel_cpu_us_per_sms',
      value: sum(kannelSide),
      unit: 'µs',
      detail: { ...kannelSide, driver },
    });
    return perS;
  } finally {
    await running.stop();
  }
}

// ---- the run ----------------------------------------------------------------------------------

const dataDir = mkdtempSync(join(tmpdir(), 'vs-kannel-data-'));
const stack = await startStack({ dataDir, log: () => undefined });
try {
  say(`load ${load()}; ${N} messages, ${BINDS} binds per carrier, SMSCs in their own processes`);
  await startSims();
  const o = await ours(stack.natsUrl, stack.clickhouseUrl, dataDir);
  const k = process.env.BENCH_KANNEL === '0' ? undefined : await kannel();
  if (k) figures.push({ bench: 'vs_kannel', metric: 'ratio_ours_over_kannel', value: Number((o / k).toFixed(2)), unit: 'x' });
} catch (err) {
  say(`vs-kannel failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  for (const { child } of sims.values()) child.kill('SIGTERM');
  await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
for (const f of figures) console.log(JSON.stringify(f));
process.exit(process.exitCode ?? 0);
