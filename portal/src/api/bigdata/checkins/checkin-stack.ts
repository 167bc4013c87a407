import { runEngine, type RunningEngine } from '@geo/alerting';
import { connectClickHouse, connectNats, createLogger, type NatsConnection } from '@geo/infra';
import { freePort, startNatsServer, type RunningNats } from '@geo/infra/testing';
import { encodeLocationBatch, DEFAULT_SHARDS, locationSubject, shardOf, type LocationEvent } from '@geo/ingest';
import { jetstream } from '@nats-io/jetstream';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Portal } from '../../../portal.ts';
import { testPortal } from '../../../test/harness.ts';
import { AlertBus, setAlertBus } from '../alert-bus.ts';
import { startCheckIns, type CheckInRuntime } from './runtime.ts';

/**
 * Test-only: everything behind a check-in (#21), for the API and browser tests. A nats-server of its
 * own (alerting's and messaging's default names, nobody else's jobs), the alerting engine, the
 * simulated SMSCs and messaging as their entry points run them (SMPP over TCP, messaging's send log
 * in a ClickHouse database of its own), and a portal with the console's bus and the check-in runtime.
 * Handsets answer through the simulator's inspection API (`POST /deliver`).
 */

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
/** The China Mobile access number of the stack's messaging. */
export const ACCESS = '106571';

interface Service {
  name: string;
  proc: ChildProcess;
  output: string[];
}

function startService(name: string, entry: string, env: Record<string, string>): Service {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (d: Buffer) => {
    output.push(d.toString());
    if (output.length > 200) output.shift();
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  return { name, proc, output };
}

/** Until /healthz answers 200 with every check in `checks` ok (messaging adds its smpp-* checks once ready). */
async function waitHealthy(s: Service, url: string, checks: string[] = [], ms = 180_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (s.proc.exitCode !== null) throw new Error(`${s.name} exited (${s.proc.exitCode}):\n${s.output.join('')}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const body = (await r.json()) as { checks?: Record<string, { ok: boolean }> };
      if (r.ok && checks.every((c) => body.checks?.[c]?.ok)) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`${s.name} not ready at ${url}:\n${s.output.join('')}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function stopService(s: Service): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode) return;
  const exited = new Promise<void>((r) => s.proc.once('exit', () => r()));
  s.proc.kill('SIGTERM');
  const t = setTimeout(() => s.proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

export interface CheckInStack {
  nats: RunningNats;
  nc: NatsConnection;
  portal: Portal;
  checkIns: CheckInRuntime;
  /** People of China Mobile appear at these positions (one cell each). */
  place(people: { msisdn: string; lng: number; lat: number }[]): Promise<void>;
  /** The sources of the SMS each number received. */
  sources(numbers: string[]): Promise<Record<string, string[]>>;
  /** A handset answers: an MO from `from` to `to` (access number + extension). */
  answer(from: string, to: string, text: string): Promise<void>;
  /** messaging's sms_replies_total for China Mobile, by reason. */
  replies(): Promise<Record<string, number>>;
  logs(): string;
  stop(): Promise<void>;
}

export async function startCheckInStack(clickhouseUrl: string, portalExtra: Parameters<typeof testPortal>[0] = {}): Promise<CheckInStack> {
  const tag = `${Date.now().toString(36)}${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'checkins-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  const services: Service[] = [];
  const stop = async () => {
    for (const f of cleanups.splice(0).reverse()) await f().catch((err) => console.error('cleanup failed:', err));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const nats = await startNatsServer({ dataDir: join(dir, 'nats') });
    cleanups.push(() => nats.stop());
    const nc = await connectNats(nats.url, 'portal-checkins');
    cleanups.push(() => nc.drain());
    const engine: RunningEngine = await runEngine({
      nc,
      log: createLogger('alerting-test', 'silent'),
      shards: Array.from({ length: DEFAULT_SHARDS }, (_, i) => i),
      tickMs: 200,
    });
    cleanups.push(() => engine.stop());
    await engine.ready;

    const db = `portal_checkins_${tag}`;
    const ch = connectClickHouse(clickhouseUrl);
    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    cleanups.push(async () => {
      await ch.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => undefined);
      await ch.close();
    });
    const [cmcc, cucc, ctcc, smscHealth, messagingHealth] = await Promise.all(Array.from({ length: 5 }, () => freePort()));
    const smscPorts = { SMSC_PORT_CMCC: String(cmcc), SMSC_PORT_CUCC: String(cucc), SMSC_PORT_CTCC: String(ctcc) };
    const smsc = startService('smsc-sim', 'messaging/src/smsc-sim/main.ts', {
      ...smscPorts,
      HEALTH_PORT: String(smscHealth),
      SMSC_SUCCESS_RATE: '1',
      SMSC_MO_RATE: '0',
      SMSC_RECEIPT_DELAY_MS: '100',
    });
    services.push(smsc);
    cleanups.push(() => stopService(smsc));
    const smscUrl = `http://127.0.0.1:${smscHealth}`;
    const messaging = startService('messaging', 'messaging/src/main.ts', {
      ...smscPorts,
      NATS_URL: nats.url,
      CLICKHOUSE_URL: `${clickhouseUrl.replace(/\/$/, '')}/${db}`,
      HEALTH_PORT: String(messagingHealth),
      ACCESS_NUMBER_CMCC: ACCESS,
      SMSC_BINDS: '1',
      ACK_WAIT_MS: '10000',
    });
    services.push(messaging);
    cleanups.push(() => stopService(messaging));
    const portalP = testPortal(portalExtra);
    portalP.then((p) => cleanups.push(() => p.stop())).catch(() => undefined);
    await Promise.all([
      waitHealthy(smsc, `${smscUrl}/healthz`),
      waitHealthy(messaging, `http://127.0.0.1:${messagingHealth}/healthz`, ['nats', 'smpp-cmcc', 'smpp-cucc', 'smpp-ctcc']),
    ]);
    const portal = await portalP;
    const bus = await AlertBus.open(nc);
    setAlertBus(portal.deps, bus);
    const checkIns = await startCheckIns(portal.deps, { nc, tickMs: 500 });
    cleanups.push(() => checkIns.stop());

    const js = jetstream(nc);
    return {
      nats,
      nc,
      portal,
      checkIns,
      async place(people) {
        const events: LocationEvent[] = people.map((p) => ({
          msisdn: p.msisdn,
          carrier: 'cmcc',
          ts: Date.now(),
          cell: `ci-${p.msisdn}`,
          lng: p.lng,
          lat: p.lat,
          kind: 'periodic',
        }));
        for (const e of events) await js.publish(locationSubject(e.carrier, shardOf(e.msisdn)), encodeLocationBatch([e]));
      },
      async sources(numbers) {
        const r = await fetch(`${smscUrl}/messages/by-destination?carrier=cmcc`, { method: 'POST', body: JSON.stringify(numbers) });
        const body = (await r.json()) as Record<string, { source: string }[]>;
        return Object.fromEntries(Object.entries(body).map(([n, l]) => [n, l.map((m) => m.source)]));
      },
      async answer(from, to, text) {
        const r = await fetch(`${smscUrl}/deliver?carrier=cmcc`, {
          method: 'POST',
          body: JSON.stringify({
            fields: { source_addr: from, destination_addr: to, esm_class: 0, data_coding: 8 },
            shortMessageHex: Buffer.from(text, 'utf16le').swap16().toString('hex'),
          }),
        });
        if (!r.ok) throw new Error(`deliver: ${r.status} ${await r.text()}`);
      },
      async replies() {
        const text = await (await fetch(`http://127.0.0.1:${messagingHealth}/metrics`)).text();
        const out: Record<string, number> = {};
        for (const l of text.split('\n')) {
          if (!l.startsWith('sms_replies_total{') || !l.includes('carrier="cmcc"')) continue;
          const reason = /reason="(\w+)"/.exec(l)?.[1];
          if (reason) out[reason] = Number(l.split(' ').pop());
        }
        return out;
      },
      logs: () => services.map((s) => `--- ${s.name}\n${s.output.join('')}`).join('\n'),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
