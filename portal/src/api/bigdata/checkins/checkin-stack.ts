import { runEngine, type RunningEngine } from '@geo/alerting';
import { connectClickHouse, connectNats, createLogger, type NatsConnection } from '@geo/infra';
import { checksOk, freePort, readMetrics, startNatsServer, startService, type RunningNats, type ServiceProcess } from '@geo/infra/testing';
import { encodeLocationBatch, DEFAULT_SHARDS, locationSubject, shardOf, type LocationEvent } from '@geo/ingest';
import { jetstream } from '@nats-io/jetstream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Portal } from '../../../portal.ts';
import { testPortal } from '../../../test/harness.ts';
import { AlertBus, setAlertBus } from '../alert-bus.ts';
import { startCheckIns, type CheckInRuntime } from './runtime.ts';

/**
 * Test-only: everything behind a check-in (#21), for the API and browser tests. A nats-server of its
 * own (alerting's and messaging's default names, nobody else's jobs), the alerting engine, the
 * simulated SMSCs and messaging as their entry points run them (SMPP over TCP, messaging's send log
 * in a ClickHouse database of its own, which the portal reads too), and a portal with the console's
 * bus and the check-in runtime.
 * Handsets answer through the simulator's inspection API (`POST /deliver`).
 */

/** The China Mobile access number of the stack's messaging. */
export const ACCESS = '106571';

export interface CheckInStack {
  nats: RunningNats;
  nc: NatsConnection;
  portal: Portal;
  checkIns: CheckInRuntime;
  /** People of China Mobile appear at these positions (one cell each), with their profile's language when given. */
  place(people: { msisdn: string; lng: number; lat: number; lang?: LocationEvent['lang'] }[]): Promise<void>;
  /** The sources of the SMS each number received. */
  sources(numbers: string[]): Promise<Record<string, string[]>>;
  /** The SMS each number received, as the handset shows them (whole text, parts reassembled). */
  received(numbers: string[]): Promise<Record<string, { source: string; text: string; parts: number }[]>>;
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
  const services: ServiceProcess[] = [];
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
    const smscUrl = `http://127.0.0.1:${smscHealth}`;
    const smsc = startService('smsc-sim', 'messaging/src/smsc-sim/main.ts', {
      healthUrl: `${smscUrl}/healthz`,
      timeoutMs: 180_000,
      env: { ...smscPorts, HEALTH_PORT: String(smscHealth), SMSC_SUCCESS_RATE: '1', SMSC_MO_RATE: '0', SMSC_RECEIPT_DELAY_MS: '100' },
    });
    services.push(smsc);
    cleanups.push(() => smsc.stop(10_000));
    const messaging = startService('messaging', 'messaging/src/main.ts', {
      healthUrl: `http://127.0.0.1:${messagingHealth}/healthz`,
      // messaging adds its smpp-* checks once it has bound: ready means able to send.
      ready: checksOk('nats', 'smpp-cmcc', 'smpp-cucc', 'smpp-ctcc'),
      timeoutMs: 180_000,
      env: {
        ...smscPorts,
        NATS_URL: nats.url,
        CLICKHOUSE_URL: `${clickhouseUrl.replace(/\/$/, '')}/${db}`,
        HEALTH_PORT: String(messagingHealth),
        ACCESS_NUMBER_CMCC: ACCESS,
        SMSC_BINDS: '1',
        ACK_WAIT_MS: '10000',
      },
    });
    services.push(messaging);
    cleanups.push(() => messaging.stop(10_000));
    // The portal reads messaging's send log (the ledger settles a task by its segments).
    const portalP = testPortal({ clickhouseUrl: `${clickhouseUrl.replace(/\/$/, '')}/${db}`, ...portalExtra });
    portalP.then((p) => cleanups.push(() => p.stop())).catch(() => undefined);
    await Promise.all([smsc.ready, messaging.ready]);
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
          ...(p.lang ? { lang: p.lang } : {}),
        }));
        for (const e of events) await js.publish(locationSubject(e.carrier, shardOf(e.msisdn)), encodeLocationBatch([e]));
      },
      async sources(numbers) {
        const r = await fetch(`${smscUrl}/messages/by-destination?carrier=cmcc`, { method: 'POST', body: JSON.stringify(numbers) });
        const body = (await r.json()) as Record<string, { source: string }[]>;
        return Object.fromEntries(Object.entries(body).map(([n, l]) => [n, l.map((m) => m.source)]));
      },
      async received(numbers) {
        const r = await fetch(`${smscUrl}/messages/by-destination?carrier=cmcc`, { method: 'POST', body: JSON.stringify(numbers) });
        return (await r.json()) as Record<string, { source: string; text: string; parts: number }[]>;
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
        return (await readMetrics(`http://127.0.0.1:${messagingHealth}/metrics`)).by('sms_replies_total', 'reason', { carrier: 'cmcc' });
      },
      logs: () => services.map((s) => `--- ${s.name}\n${s.output()}`).join('\n'),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
