import { installIngestAdminAreas, runEngine, type RunningEngine } from '@geo/alerting';
import { connectClickHouse, connectNats, createLogger, ensureDeadLetterStream, type NatsConnection } from '@geo/infra';
import { checksOk, freePort, startNatsServer, startService, type RunningNats, type ServiceProcess } from '@geo/infra/testing';
import { declareLocationStream, locationSubject, shardOf, type LocationEvent } from '@geo/ingest';
import { jetstream } from '@nats-io/jetstream';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { boundariesJson } from '../../../src/api/bigdata/geography.ts';
import type { Portal } from '../../../src/portal.ts';
import { testPortal } from '../../../src/test/harness.ts';
import { e2eOutDir } from '../../e2e/build-entry.ts';
import { buildE2e } from './build-e2e.ts';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--enable-unsafe-swiftshader',
];
/** Screenshots for a person to look at (not committed). */
export const ARTIFACTS = process.env.ARTIFACTS_DIR ?? join(tmpdir(), 'geo-alert-artifacts');

export interface ConsoleStack {
  /** The portal (real app, test entry of the console's pages as its SPA). */
  portal: Portal;
  nc: NatsConnection;
  alerting: RunningEngine;
  /** The simulated SMSCs' inspection API (`/messages`, `/stats`). */
  smscUrl: string;
  insightUrl: string;
  browser: Browser;
  /** Publishes location events to LOCATION as ingest does (batched per carrier and shard). */
  publish(events: LocationEvent[]): Promise<void>;
  /** The last output of the services run as processes (for failure messages). */
  serviceLogs(): string;
  stop(): Promise<void>;
}

export interface ConsoleStackOptions {
  /** Messaging's throughput limit per carrier in SMS a second (its SMSC_RATE_*), e.g. `{ ctcc: 1 }`; none by default. */
  carrierRates?: Partial<Record<'cmcc' | 'cucc' | 'ctcc', number>>;
}

/**
 * The whole pipeline behind the console, for browser tests: a nats-server of its own (alerting's
 * and messaging's stream, consumer and bucket names are fixed, so a shared server would let this
 * file's engine and sender take other files' events and jobs), ClickHouse from the test run (a
 * database of its own), the simulated carrier SMSCs, messaging and insight as their entry points
 * run them, an alerting engine in this process, and the portal serving the console's pages.
 */
export async function startConsoleStack(clickhouseUrl: string, opts: ConsoleStackOptions = {}): Promise<ConsoleStack> {
  const tag = `${Date.now().toString(36)}${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'portal-console-e2e-'));
  const services: ServiceProcess[] = [];
  let browserP: Promise<Browser> | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const f of cleanups.splice(0).reverse()) {
      const t = Date.now();
      await f().catch((err) => console.error('cleanup failed:', err));
      if (Date.now() - t > 15_000)
        console.warn(`console stack: a cleanup took ${Math.round((Date.now() - t) / 1000)} s: ${f.toString().slice(0, 120)}`);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const distP = buildE2e(e2eOutDir(join(tmpdir(), 'geo-alert-bigdata-e2e')));
    const nats: RunningNats = await startNatsServer({ dataDir: join(dir, 'nats'), log: () => undefined });
    cleanups.push(() => nats.stop());
    const nc = await connectNats(nats.url, 'portal-console-e2e');
    cleanups.push(() => nc.drain());
    await ensureDeadLetterStream(nc);
    await declareLocationStream(nc);

    const db = `portal_e2e_${tag}`;
    const ch = connectClickHouse(clickhouseUrl);
    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    cleanups.push(async () => {
      await ch.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => undefined);
      await ch.close();
    });
    const chDb = `${clickhouseUrl.replace(/\/$/, '')}/${db}`;

    const [cmcc, cucc, ctcc, smscHealth, messagingHealth, insightHealth, insightApi] = await Promise.all(
      Array.from({ length: 7 }, () => freePort()),
    );
    const smscPorts = { SMSC_PORT_CMCC: String(cmcc), SMSC_PORT_CUCC: String(cucc), SMSC_PORT_CTCC: String(ctcc) };
    // Everything that does not depend on something else starts at once (each service's start is
    // tens of seconds on a loaded 2-core box): insight, the SMSC (then messaging, which binds to
    // it), the alerting engine, the portal and chromium.
    const insight = startService('insight', 'insight/src/main.ts', {
      healthUrl: `http://127.0.0.1:${insightHealth}/healthz`,
      timeoutMs: 180_000,
      env: { NATS_URL: nats.url, CLICKHOUSE_URL: chDb, HEALTH_PORT: String(insightHealth), API_PORT: String(insightApi) },
    });
    cleanups.push(() => insight.stop(10_000));
    services.push(insight);
    const insightUrl = `http://127.0.0.1:${insightApi}`;
    const smscUrl = `http://127.0.0.1:${smscHealth}`;
    const smsc = startService('smsc-sim', 'messaging/src/smsc-sim/main.ts', {
      healthUrl: `${smscUrl}/healthz`,
      env: { ...smscPorts, HEALTH_PORT: String(smscHealth), SMSC_SUCCESS_RATE: '1', SMSC_MO_RATE: '0', SMSC_RECEIPT_DELAY_MS: '300' },
    });
    cleanups.push(() => smsc.stop(10_000));
    services.push(smsc);
    // Cleanups run in reverse: browser, portal, alerting, messaging, SMSC, insight, as before.
    let messaging: ServiceProcess | undefined;
    cleanups.push(() => messaging?.stop(10_000) ?? Promise.resolve());
    const messagingUp = (async () => {
      await smsc.ready;
      messaging = startService('messaging', 'messaging/src/main.ts', {
        healthUrl: `http://127.0.0.1:${messagingHealth}/healthz`,
        // Bound to all three SMSCs, not just its health server up.
        ready: checksOk('nats', 'smpp-cmcc', 'smpp-cucc', 'smpp-ctcc'),
        env: {
          ...smscPorts,
          NATS_URL: nats.url,
          CLICKHOUSE_URL: chDb,
          HEALTH_PORT: String(messagingHealth),
          SMSC_BINDS: '1',
          ACK_WAIT_MS: '10000',
          ...Object.fromEntries(Object.entries(opts.carrierRates ?? {}).map(([c, n]) => [`SMSC_RATE_${c.toUpperCase()}`, String(n)])),
        },
      });
      services.push(messaging);
      await messaging.ready;
    })();
    // Awaited below; until then a failure must not count as an unhandled rejection.
    messagingUp.catch(() => undefined);
    browserP = chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    browserP.catch(() => undefined);

    // As alerting's service does: administrative areas resolve from ingest's geography.
    installIngestAdminAreas();
    const alerting = await runEngine({
      nc,
      log: createLogger('alerting-e2e', 'warn'),
      shards: [0, 1, 2, 3, 4, 5, 6, 7],
      instance: 'portal-e2e',
      tickMs: 500,
    });
    cleanups.push(() => alerting.stop());

    // The outlines are simplified once per process: before any page asks for them.
    for (const level of ['province', 'city', 'district'] as const) boundariesJson(level);
    // ClickHouse for the send log messaging writes (the task's 查看明细 and the list's sent count).
    const portal = await testPortal({ natsUrl: nats.url, insightUrl, clickhouseUrl: chDb, webDist: await distP });
    cleanups.push(() => portal.stop());
    // The portal connects NATS in the background: the console needs it before the first page.
    for (const end = Date.now() + 60_000; ;) {
      const h = (await (await portal.request('/healthz')).json()) as { checks: { nats?: { ok: boolean } } };
      if (h.checks.nats?.ok) break;
      if (Date.now() > end) throw new Error('the portal did not connect to NATS');
      await new Promise((r) => setTimeout(r, 200));
    }
    await Promise.all([alerting.ready, messagingUp, insight.ready]);
    const browser = await browserP;
    // Closed first on stop: its open pages (the big screen's event stream) would hold the portal's close.
    cleanups.push(() => browser.close());
    browserP = undefined;
    mkdirSync(ARTIFACTS, { recursive: true });

    const js = jetstream(nc, { timeout: 15_000 });
    const publish = async (events: LocationEvent[]) => {
      const by = new Map<string, LocationEvent[]>();
      for (const e of events) {
        const s = locationSubject(e.carrier, shardOf(e.msisdn));
        (by.get(s) ?? by.set(s, []).get(s)!).push(e);
      }
      await Promise.all([...by].map(([s, evs]) => js.publish(s, JSON.stringify({ v: 1, events: evs }))));
    };
    const serviceLogs = () => services.map((x) => `--- ${x.name}\n${x.output().slice(-4000)}`).join('\n');
    return { portal, nc, alerting, smscUrl, insightUrl, browser, publish, serviceLogs, stop };
  } catch (err) {
    await browserP?.then((b) => b.close()).catch(() => undefined);
    await stop();
    throw err;
  }
}

/**
 * Whether a map's `data-bbox` ("west,south,east,north", set on each move) shows all of `region`
 * (same order) and is fitted to it, not just near it: the region fills most of the view's width or height.
 */
export async function fittedTo(bbox: Promise<string | null>, region: number[]): Promise<boolean> {
  const [w, s, e, n] = ((await bbox) ?? '').split(',').map(Number);
  const contains = w! <= region[0]! && s! <= region[1]! && e! >= region[2]! && n! >= region[3]!;
  const fills = (region[2]! - region[0]!) / (e! - w!) > 0.6 || (region[3]! - region[1]!) / (n! - s!) > 0.6;
  return contains && fills;
}

/** Whether a map's `data-bbox` contains `at`. */
export async function inView(bbox: Promise<string | null>, at: [number, number]): Promise<boolean> {
  const [w, s, e, n] = ((await bbox) ?? '').split(',').map(Number);
  return at[0] > w! && at[0] < e! && at[1] > s! && at[1] < n!;
}
