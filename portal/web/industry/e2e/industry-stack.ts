import { connectClickHouse, freePort, startNatsServer, type RunningNats } from '@geo/infra';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import type { Portal } from '../../../src/portal.ts';
import { testPortal } from '../../../src/test/harness.ts';
import { buildIndustryE2e } from './build-e2e.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
/** Screenshots for a person to look at (not committed). */
export const ARTIFACTS = process.env.ARTIFACTS_DIR ?? join(tmpdir(), 'geo-alert-artifacts');

/** One service started from its workspace entry point, as `npm start` runs it. */
interface Service {
  name: string;
  proc: ChildProcess;
  output: string[];
}

function startService(name: string, entry: string, env: Record<string, string>): Service {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, entry)], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (d: Buffer) => {
    output.push(d.toString());
    if (output.length > 200) output.shift();
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  return { name, proc, output };
}

async function waitHealthy(s: Service, url: string, ms = 180_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (s.proc.exitCode !== null) throw new Error(`${s.name} exited (${s.proc.exitCode}):\n${s.output.join('')}`);
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(2000) })).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`${s.name} not healthy at ${url} after ${ms / 1000} s:\n${s.output.join('')}`);
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

export interface SmscMessage {
  carrier: string;
  destination: string;
  source: string;
  text: string;
  parts: number;
}

export interface IndustryStack {
  portal: Portal;
  browser: Browser;
  /** The simulated SMSCs' inspection API. */
  smsc: {
    messages(msisdn?: string): Promise<SmscMessage[]>;
    behaviour(patch: Record<string, unknown>): Promise<void>;
  };
  stop(): Promise<void>;
}

/**
 * Everything behind the industry pages, for browser tests: a nats-server of its own (the portal's
 * and messaging's stream, consumer and bucket names are the production ones, so a shared server
 * would let this file's sender take other files' jobs), a ClickHouse database of its own on the
 * test run's server (messaging's send log, which the sent list reads), the simulated carrier SMSCs
 * and messaging as their entry points run them (SMPP over TCP), and the portal serving the
 * industry module's pages with its dispatcher and reply consumer on that NATS.
 */
export async function startIndustryStack(clickhouseUrl: string): Promise<IndustryStack> {
  const tag = `${Date.now().toString(36)}${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'portal-industry-e2e-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const f of cleanups.splice(0).reverse()) await f().catch((err) => console.error('cleanup failed:', err));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const distP = buildIndustryE2e(join(tmpdir(), 'geo-alert-industry-e2e'));
    const nats: RunningNats = await startNatsServer({ dataDir: join(dir, 'nats'), log: () => undefined });
    cleanups.push(() => nats.stop());

    const db = `portal_industry_e2e_${tag}`;
    const ch = connectClickHouse(clickhouseUrl);
    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    cleanups.push(async () => {
      await ch.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => undefined);
      await ch.close();
    });
    const chDb = `${clickhouseUrl.replace(/\/$/, '')}/${db}`;

    const [cmcc, cucc, ctcc, smscHealth, messagingHealth] = await Promise.all(Array.from({ length: 5 }, () => freePort()));
    const smscPorts = { SMSC_PORT_CMCC: String(cmcc), SMSC_PORT_CUCC: String(cucc), SMSC_PORT_CTCC: String(ctcc) };
    const smsc = startService('smsc-sim', 'messaging/src/smsc-sim/main.ts', { ...smscPorts, HEALTH_PORT: String(smscHealth), SMSC_SUCCESS_RATE: '1', SMSC_MO_RATE: '0', SMSC_RECEIPT_DELAY_MS: '200' });
    cleanups.push(() => stopService(smsc));
    const smscUrl = `http://127.0.0.1:${smscHealth}`;
    const messaging = startService('messaging', 'messaging/src/main.ts', { ...smscPorts, NATS_URL: nats.url, CLICKHOUSE_URL: chDb, HEALTH_PORT: String(messagingHealth), SMSC_BINDS: '1', ACK_WAIT_MS: '10000' });
    cleanups.push(() => stopService(messaging));
    await waitHealthy(smsc, `${smscUrl}/healthz`);
    await waitHealthy(messaging, `http://127.0.0.1:${messagingHealth}/healthz`);

    const portal = await testPortal({ natsUrl: nats.url, clickhouseUrl: chDb, webDist: await distP });
    cleanups.push(() => portal.stop());
    // The portal connects NATS in the background (dispatcher and reply consumer): wait for it.
    for (const end = Date.now() + 60_000; ; ) {
      const h = (await (await portal.request('/healthz')).json()) as { checks: { nats?: { ok: boolean } } };
      if (h.checks.nats?.ok) break;
      if (Date.now() > end) throw new Error('the portal did not connect to NATS');
      await new Promise((r) => setTimeout(r, 200));
    }

    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    cleanups.push(() => browser.close());
    mkdirSync(ARTIFACTS, { recursive: true });

    return {
      portal,
      browser,
      smsc: {
        async messages(msisdn) {
          const r = await fetch(`${smscUrl}/messages?limit=1000${msisdn ? `&msisdn=${msisdn}` : ''}`);
          return (await r.json()) as SmscMessage[];
        },
        async behaviour(patch) {
          const r = await fetch(`${smscUrl}/behaviour`, { method: 'POST', body: JSON.stringify(patch) });
          if (!r.ok) throw new Error(`smsc behaviour: ${r.status} ${await r.text()}`);
        },
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
