import { connectClickHouse, connectNats, jetstreamManager, selectRows } from '@geo/infra';
import { checksOk, freePort, startService, type ServiceProcess } from '@geo/infra/testing';
import { messagingNames } from '@geo/messaging';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startIndustry } from '../../../src/api/industry/index.ts';
import type { Portal } from '../../../src/portal.ts';
import { testPortal } from '../../../src/test/harness.ts';
import { e2eOutDir } from '../../e2e/build-entry.ts';
import { buildIndustryE2e } from './build-e2e.ts';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
/** Screenshots for a person to look at (not committed). */
export const ARTIFACTS = process.env.ARTIFACTS_DIR ?? join(tmpdir(), 'geo-alert-artifacts');

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
  /** The services' recent output, for a failure message. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Everything behind the industry pages, for browser tests, on the test run's servers: messaging's
 * streams, consumer and bucket under a namespace of this run (`MESSAGING_NS`) on the shared
 * nats-server, so that this file's sender never takes another file's jobs (and no other file's
 * malformed jobs reach it); a ClickHouse database of its own on the shared clickhouse-server
 * (messaging's send log, which the sent list reads); the simulated carrier SMSCs and messaging as
 * their entry points run them (SMPP over TCP); and the portal serving the industry module's pages,
 * with its dispatcher and reply consumer on the same namespace.
 *
 * The last unreliable run found `sms_log` missing: the stack waited for messaging's /healthz, which
 * answers 200 before messaging has connected NATS or migrated its send log (no checks yet), and the
 * portal then declared the same streams at the same moment. Now it waits for messaging's `smpp-*`
 * checks (added after the migration), checks the table is there, and only then starts the portal.
 */
export async function startIndustryStack(natsUrl: string, clickhouseUrl: string): Promise<IndustryStack> {
  const tag = `${Date.now().toString(36)}${process.pid}`;
  const ns = `ind${tag}`.toLowerCase().replace(/[^a-z0-9]/g, '');
  const names = messagingNames(ns);
  const dir = mkdtempSync(join(tmpdir(), 'portal-industry-e2e-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  const services: ServiceProcess[] = [];
  const stop = async () => {
    for (const f of cleanups.splice(0).reverse()) await f().catch((err) => console.error('cleanup failed:', err));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The portal reads its pages at request time: it can start while the test entry is built.
    const webDist = e2eOutDir(join(tmpdir(), 'geo-alert-industry-e2e'));
    const distP = buildIndustryE2e(webDist);

    const db = `portal_industry_e2e_${tag}`;
    const ch = connectClickHouse(clickhouseUrl);
    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    cleanups.push(async () => {
      await ch.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => undefined);
      await ch.close();
    });
    const chDb = `${clickhouseUrl.replace(/\/$/, '')}/${db}`;

    const nc = await connectNats(natsUrl, 'portal-industry-e2e');
    cleanups.push(() => nc.drain());
    // Everything this run put on the shared nats-server goes with it (after the services stopped).
    cleanups.push(async () => {
      const jsm = await jetstreamManager(nc);
      for (const s of [names.jobsStream, names.eventsStream, names.claimsStream, `KV_${names.extensionsBucket}`])
        await jsm.streams.delete(s).catch(() => undefined);
    });

    const [cmcc, cucc, ctcc, smscHealth, messagingHealth] = await Promise.all(Array.from({ length: 5 }, () => freePort()));
    const smscPorts = { SMSC_PORT_CMCC: String(cmcc), SMSC_PORT_CUCC: String(cucc), SMSC_PORT_CTCC: String(ctcc) };
    const smscUrl = `http://127.0.0.1:${smscHealth}`;
    const smsc = startService('smsc-sim', 'messaging/src/smsc-sim/main.ts', {
      healthUrl: `${smscUrl}/healthz`,
      timeoutMs: 180_000,
      env: { ...smscPorts, HEALTH_PORT: String(smscHealth), SMSC_SUCCESS_RATE: '1', SMSC_MO_RATE: '0', SMSC_RECEIPT_DELAY_MS: '200' },
    });
    services.push(smsc);
    cleanups.push(() => smsc.stop(10_000));
    const messaging = startService('messaging', 'messaging/src/main.ts', {
      healthUrl: `http://127.0.0.1:${messagingHealth}/healthz`,
      // messaging adds its smpp-* checks after connecting NATS, declaring its streams and migrating its send log.
      ready: checksOk('nats', 'smpp-cmcc', 'smpp-cucc', 'smpp-ctcc'),
      timeoutMs: 180_000,
      env: {
        ...smscPorts,
        NATS_URL: natsUrl,
        MESSAGING_NS: ns,
        CLICKHOUSE_URL: chDb,
        HEALTH_PORT: String(messagingHealth),
        SMSC_BINDS: '1',
        ACK_WAIT_MS: '10000',
        // The flows send one number several texts within a minute (mail merge, batch); the per-number
        // anti-bombing limits are proven in messaging's own tests.
        RECIPIENT_LIMIT_PER_MINUTE: '0',
        RECIPIENT_LIMIT_PER_HOUR: '0',
        RECIPIENT_LIMIT_PER_DAY: '0',
      },
    });
    services.push(messaging);
    cleanups.push(() => messaging.stop(10_000));
    // While messaging and the SMSCs boot: the test build, the portal (PGlite, no NATS yet) and
    // chromium, each cleaned up even when another part fails.
    const t0 = Date.now();
    const timings: Record<string, number> = {};
    const timed = <T>(name: string, p: Promise<T>) => p.then((v) => ((timings[name] = Date.now() - t0), v));
    const portalP = timed('portal', testPortal({ clickhouseUrl: chDb, webDist }));
    const browserP = timed('chromium', chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS }));
    portalP.then((p) => cleanups.push(() => p.stop())).catch(() => undefined);
    browserP.then((b) => cleanups.push(() => b.close())).catch(() => undefined);
    const ready = Promise.all([timed('smsc', smsc.ready), timed('messaging', messaging.ready)]);
    const settled = await Promise.allSettled([ready, portalP, browserP, timed('build', distP)]);
    for (const r of settled) if (r.status === 'rejected') throw r.reason;
    const [exists] = await selectRows<{ n: number | string }>(
      ch,
      `SELECT count() AS n FROM system.tables WHERE database = '${db}' AND name = 'sms_log'`,
    );
    if (Number(exists?.n) !== 1) throw new Error(`messaging is ready but ${db}.sms_log is missing:\n${messaging.output()}`);

    const portal = await portalP;
    // The portal's own NATS attachment uses the production names: start the industry runtime on
    // this run's namespace instead (dispatcher, scheduler, reply consumer).
    const industry = await startIndustry(portal.deps, { nc, names, replyConsumer: `portal-replies-${ns}`, tickMs: 500 });
    cleanups.push(() => industry.stop());

    const browser = await browserP;
    mkdirSync(ARTIFACTS, { recursive: true });
    // Where a slow start went (ms since the services were spawned), for whoever reads the log.
    console.log(`industry e2e stack ready in ${Date.now() - t0} ms: ${JSON.stringify(timings)}`);

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
      logs: () =>
        services
          .map((s) => `--- ${s.name}${s.child.exitCode !== null ? ` (exited ${s.child.exitCode})` : ''}\n${s.output().slice(-4000)}`)
          .join('\n'),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
