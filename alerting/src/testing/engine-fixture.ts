import { fileURLToPath } from 'node:url';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, inject } from 'vitest';
import { connectNats, type NatsConnection } from '@geo/infra';
import { answers200, freePort, startTsxProcess, untilReady, type TsxProcess } from '@geo/infra/testing';
import type { Carrier } from '@geo/ingest';
import type { RunEngineOptions, RunningEngine } from '../engine/run-engine.ts';
import { TASKS_BUCKET } from '../streams.ts';
import { TaskStore } from '../tasks/task-store.ts';
import { declareAll, ownNats, startEngine, type OwnNats } from './engine-kit.ts';

/**
 * The one setup of alerting's integration tests (#20): a test file's own nats-server (or the run's
 * shared one) with every stream declared, the engines it runs there, and, for the end-to-end files, messaging and the
 * simulated SMSCs as their own processes. Each fixture registers its file's `beforeAll` and
 * `afterAll`; what it started is stopped after the file's tests, whatever they stopped themselves.
 */

/** A test file's nats-server (its own or the shared one) and the engines running on it. */
export interface EngineFixture {
  /** The file's own nats-server (url, data directory); none with `server: 'shared'`. */
  readonly nats: OwnNats;
  /** A connection to it (the tests' side; each engine is given the same one unless its `nc` says otherwise). */
  readonly nc: NatsConnection;
  /** The engine started before the tests (instance named after the file); none with `engine: false`. */
  readonly engine: RunningEngine;
  /**
   * Starts another engine on this server (all shards, 200 ms tick, ready). Its `stop()` may be
   * called by the test; the fixture stops it otherwise.
   */
  startEngine(instance: string, over?: Partial<RunEngineOptions>): Promise<RunningEngine>;
  /** Stops every engine started so far (a test that leaves none running for the next). */
  stopEngines(): Promise<void>;
  /** Whether the engine started before the tests has every one of these numbers in its presence. */
  seen(...msisdns: string[]): boolean;
  /** The task bucket as the portal writes it, for tasks submitted while no engine runs. */
  taskStore(): Promise<TaskStore>;
}

export interface EngineFixtureOptions {
  /**
   * `own`: a nats-server of the file's own (see {@link ownNats}); `shared`: the run's server (the
   * `natsUrl` the global setup provides), every stream declared, for files whose engines need not
   * see every event alone (distinct sites and task ids).
   * @default 'own'
   */
  server?: 'own' | 'shared';
  /**
   * The options of the engine started before the tests (instance `name`), or `false` for none: the
   * file's tests start their own with {@link EngineFixture.startEngine}.
   * @default {}
   */
  engine?: Partial<RunEngineOptions> | false;
}

/**
 * A nats-server of this test file's own (see {@link ownNats}: an engine that must see every event
 * it is sent needs one), or the run's shared one, and, unless `engine: false`, an engine on every
 * shard, started before the file's tests and stopped after them.
 * @example
 * const t = engineFixture('why');
 * it('…', async () => {
 *   await t.engine.store.submit('t-1', circleTask(centre, 500));
 *   await publishEvents(t.nc, [event(m, 'cmcc', centre)]);
 * });
 */
export function engineFixture(name: string, opts: EngineFixtureOptions = {}): EngineFixture {
  let nats: OwnNats | undefined;
  let nc: NatsConnection | undefined;
  let first: RunningEngine | undefined;
  const running: RunningEngine[] = [];
  const started = <T>(what: string, v: T | undefined): T => {
    if (v === undefined)
      throw new Error(`engineFixture(${name}): no ${what} (used outside a test, or not asked for: engine: false, server: 'shared')`);
    return v;
  };
  const fixture: EngineFixture = {
    get nats() {
      return started('nats-server', nats);
    },
    get nc() {
      return started('NATS connection', nc);
    },
    get engine() {
      return started('engine', first);
    },
    async startEngine(instance, over = {}) {
      const r = await startEngine(fixture.nc, instance, over);
      // Stopped once, whether the test stops it first or the fixture does after the tests.
      let stopping: Promise<void> | undefined;
      const engine: RunningEngine = { ...r, stop: () => (stopping ??= r.stop()) };
      running.push(engine);
      return engine;
    },
    async stopEngines() {
      for (const e of running.splice(0)) await e.stop();
    },
    seen(...msisdns) {
      const presence = fixture.engine.engine.presence;
      return msisdns.every((m) => presence.indexOf(m) >= 0);
    },
    async taskStore() {
      return new TaskStore(await new Kvm(fixture.nc).open(TASKS_BUCKET));
    },
  };
  beforeAll(async () => {
    if (opts.server === 'shared') {
      nc = await connectNats(inject('natsUrl'), `alerting-${name}`);
      await declareAll(nc);
    } else {
      nats = await ownNats(name);
      nc = nats.nc;
    }
    if (opts.engine !== false) first = await fixture.startEngine(name, opts.engine);
  });
  afterAll(async () => {
    await fixture.stopEngines();
    if (nats) await nats.close();
    else await nc?.drain();
  });
  return fixture;
}

/**
 * Every instance's answer to a NATS request that all instances answer (`alert.why`, `alert.reached`):
 * replies are collected until none comes for 300 ms, or `maxWaitMs`.
 * @example const replies = await requestAll(nc, WHY_SUBJECT, { v: 1, taskId, msisdn }, (m) => WhyReply.parse(m));
 */
export async function requestAll<T>(
  nc: NatsConnection,
  subject: string,
  request: unknown,
  parse: (json: unknown) => T,
  maxWaitMs = 2_000,
): Promise<T[]> {
  const out: T[] = [];
  for await (const m of await nc.requestMany(subject, JSON.stringify(request), { strategy: 'stall', stall: 300, maxWait: maxWaitMs }))
    out.push(parse(m.json()));
  return out;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** A number block of each carrier (messaging routes by the block, 号段). */
const BLOCK: Record<Carrier, string> = { cmcc: '138', cucc: '186', ctcc: '189' };

/** A fresh number in `carrier`'s block, for tests whose jobs messaging routes to that carrier's SMSC. */
export const carrierNumber = (carrier: Carrier): string => BLOCK[carrier] + String(Math.floor(Math.random() * 1e8)).padStart(8, '0');

/** What a simulated SMSC received for a number (its `/messages/by-destination` answer). */
export interface SmscMessage {
  destination: string;
  text: string;
  parts: number;
  dataCoding: number;
}

/** Messaging and the simulated SMSCs, each its own process, on a test file's nats-server. */
export interface Gateways {
  /** What the SMSCs received for these numbers, by number. */
  received(msisdns: string[]): Promise<Record<string, SmscMessage[]>>;
}

/**
 * Starts the simulated SMSCs (every message accepted, receipts after 10 ms) and messaging (send log
 * in `sendLogTable` of the shared ClickHouse) before the file's tests, on the nats-server
 * `natsUrl()` names when they start, and stops both after the tests.
 */
export function gatewaysFixture(opts: { natsUrl: () => string; clickhouseUrl: string; sendLogTable: string }): Gateways {
  let smsc: TsxProcess | undefined;
  let messaging: TsxProcess | undefined;
  let smscHttp = '';
  beforeAll(async () => {
    const natsUrl = opts.natsUrl();
    const ports = { cmcc: await freePort(), cucc: await freePort(), ctcc: await freePort() };
    const gateways = { SMSC_PORT_CMCC: String(ports.cmcc), SMSC_PORT_CUCC: String(ports.cucc), SMSC_PORT_CTCC: String(ports.ctcc) };
    const smscHealth = await freePort();
    smscHttp = `http://127.0.0.1:${smscHealth}`;
    smsc = startTsxProcess('smsc-sim', 'messaging/src/smsc-sim/main.ts', {
      cwd: ROOT,
      env: { NATS_URL: natsUrl, HEALTH_PORT: String(smscHealth), SMSC_SUCCESS_RATE: '1', SMSC_RECEIPT_DELAY_MS: '10', ...gateways },
    });
    await untilReady(smsc, 'healthy', answers200(`${smscHttp}/healthz`), 120_000);
    const health = await freePort();
    messaging = startTsxProcess('messaging', 'messaging/src/main.ts', {
      cwd: ROOT,
      env: {
        NATS_URL: natsUrl,
        CLICKHOUSE_URL: opts.clickhouseUrl,
        HEALTH_PORT: String(health),
        SEND_LOG_TABLE: opts.sendLogTable,
        ...gateways,
      },
    });
    await untilReady(messaging, 'healthy', answers200(`http://127.0.0.1:${health}/healthz`), 120_000);
  }, 240_000);
  afterAll(async () => {
    await messaging?.stop(5_000);
    await smsc?.stop(5_000);
  }, 60_000);
  return {
    async received(msisdns) {
      const r = await fetch(`${smscHttp}/messages/by-destination`, { method: 'POST', body: JSON.stringify(msisdns) });
      return (await r.json()) as Record<string, SmscMessage[]>;
    },
  };
}
