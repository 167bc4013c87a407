import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEngine, type RunningEngine } from '@geo/alerting';
import { connectNats, type NatsConnection } from '@geo/infra';
import { startNatsServer, type RunningNats } from '@geo/infra/testing';
import { encodeLocationBatch, locationSubject, shardOf, type LocationEvent } from '@geo/ingest';
import { jetstream } from '@nats-io/jetstream';
import { pino } from 'pino';
import type { Hono } from 'hono';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { shanghaiDate } from '@geo/infra/basics';
import type { Portal } from '../portal.ts';
import { AlertBus, setAlertBus } from '../api/bigdata/alert-bus.ts';
import { addAccount, consoleApp, loginAs, onApp, PNG_BYTES } from '../api/bigdata/console-harness.ts';
import { BIGDATA_ROUTES } from '../api/bigdata/index.ts';
import type { AppEnv } from '../http/context.ts';
import { loginAdmin, START_TIMEOUT, testPortal, type Client } from './harness.ts';

/** A logged-in account's requests to the console app: `(method, path, body?, headers?)`. */
export type ConsoleCaller = ReturnType<typeof onApp>;

/**
 * The one preamble of the big-data console's integration tests (#20): a test portal (PGlite) whose
 * alert bus is the run's real nats-server, the console's route groups on it, the demo admin logged
 * in and an authorization letter uploaded. Started in the file's `beforeAll`, stopped in its `afterAll`.
 */
export interface ConsoleFixture {
  readonly portal: Portal;
  readonly nc: NatsConnection;
  /** The nats-server's URL: the run's shared one, or the file's own (`nats: 'own'`), e.g. for an alerting process. */
  readonly natsUrl: string;
  readonly bus: AlertBus;
  /** An alerting engine in this process on every shard (instance `name`, 200 ms tick), with `engine: true`. */
  readonly engine: RunningEngine;
  readonly app: ReturnType<typeof consoleApp>;
  /** The demo enterprise's admin: its login, and its requests to the console. */
  readonly adminClient: Client;
  readonly admin: ConsoleCaller;
  /** An authorization letter (授权函) of the demo enterprise, for a task form's `authorizationLetter`. */
  readonly letter: string;
  /**
   * A new account logged in, and its requests to the console: a sub-account of the demo enterprise
   * with `permissions`, or the admin of another enterprise.
   */
  account(kind: 'sub', permissions: string[]): Promise<{ name: string; call: ConsoleCaller }>;
  account(kind: 'other-enterprise'): Promise<{ name: string; call: ConsoleCaller }>;
  /** Uploads an authorization letter (授权函) as `uploader` (expecting 200): its id, for a task form. */
  letterFor(uploader: ConsoleCaller): Promise<string>;
  /**
   * Approves task `id` as `approver` (expecting 200) and moves it to running, as alerting does
   * once it starts it.
   */
  approveAndRun(id: string, approver: ConsoleCaller): Promise<void>;
}

/**
 * Registers a {@link ConsoleFixture}: `name` names the NATS connection; `bus` the tasks bucket and
 * reach subject (the default bucket, which alerting reads, when not given); `routes` the console's
 * route groups (big-data's by default); `nats` the run's shared nats-server (default) or one of the
 * file's own in a temporary directory, for a file that runs an alerting engine (its stream, consumer
 * and bucket names are fixed: on the shared server it would take other files' events and tasks).
 * `engine: true` (with `nats: 'own'`) runs an alerting engine on it, ready before the alert bus opens
 * and stopped after the file's tests, before the server.
 * @example
 * const c = consoleFixture('portal-cap-test', { routes: [...CAP_ROUTES, ...BIGDATA_ROUTES] });
 * it('…', async () => expect((await c.admin('GET', '/api/bigdata/options')).status).toBe(200));
 */
export function consoleFixture(
  name: string,
  opts: { bus?: Parameters<typeof AlertBus.open>[1]; routes?: Hono<AppEnv, any, any>[]; nats?: 'shared' | 'own'; engine?: boolean } = {},
): ConsoleFixture {
  let own: { server: RunningNats; dir: string } | undefined;
  let engine: RunningEngine | undefined;
  let s:
    | {
        portal: Portal;
        nc: NatsConnection;
        natsUrl: string;
        bus: AlertBus;
        app: ReturnType<typeof consoleApp>;
        client: Client;
        admin: ConsoleCaller;
        letter: string;
      }
    | undefined;
  const started = () => {
    if (!s) throw new Error(`consoleFixture(${name}): used before its beforeAll ran`);
    return s;
  };
  beforeAll(async () => {
    let natsUrl = inject('natsUrl');
    if (opts.nats === 'own') {
      const dir = mkdtempSync(join(tmpdir(), `${name}-`));
      own = { server: await startNatsServer({ dataDir: dir }), dir };
      natsUrl = own.server.url;
    }
    const portal = await testPortal();
    const nc = await connectNats(natsUrl, name);
    if (opts.engine) {
      engine = await runEngine({ nc, log: pino({ level: 'silent' }), shards: [0, 1, 2, 3, 4, 5, 6, 7], instance: name, tickMs: 200 });
      await engine.ready;
    }
    const bus = await AlertBus.open(nc, opts.bus);
    setAlertBus(portal.deps, bus);
    const app = consoleApp(portal, opts.routes ?? BIGDATA_ROUTES);
    const client = await loginAdmin(portal);
    const admin = onApp(app, client);
    const letter = await uploadLetter(admin);
    s = { portal, nc, natsUrl, bus, app, client, admin, letter };
  }, START_TIMEOUT);
  afterAll(async () => {
    await engine?.stop();
    await s?.nc.drain();
    await s?.portal.stop();
    if (own) {
      await own.server.stop();
      rmSync(own.dir, { recursive: true, force: true });
    }
  });
  return {
    get portal() {
      return started().portal;
    },
    get nc() {
      return started().nc;
    },
    get natsUrl() {
      return started().natsUrl;
    },
    get bus() {
      return started().bus;
    },
    get engine() {
      started();
      if (!engine) throw new Error(`consoleFixture(${name}): no engine (engine: true not given)`);
      return engine;
    },
    get app() {
      return started().app;
    },
    get adminClient() {
      return started().client;
    },
    get admin() {
      return started().admin;
    },
    get letter() {
      return started().letter;
    },
    async account(kind: 'sub' | 'other-enterprise', permissions: string[] = []) {
      const { portal, app } = started();
      const a = await addAccount(portal, kind, permissions);
      return { name: a.name, call: onApp(app, await loginAs(portal, a)) };
    },
    letterFor: uploadLetter,
    async approveAndRun(id, approver) {
      const ok = await approver('POST', `/api/bigdata/tasks/${id}/approve`);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      await started().bus.transition(id, 'scheduled', 'test');
      await started().bus.transition(id, 'running', 'test');
    },
  };
}

async function uploadLetter(uploader: ConsoleCaller): Promise<string> {
  const fd = new FormData();
  fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
  const r = await uploader('POST', '/api/bigdata/letters', fd);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.id as string;
}

/**
 * A big-data task form the console accepts: a typhoon warning over a 1 km circle in Hangzhou, once,
 * today only (China's date), 300 China Mobile messages; `over` replaces any field (a letter is needed:
 * `authorizationLetter`).
 * @example await maker('POST', '/api/bigdata/tasks', { form: taskForm({ authorizationLetter: c.letter, subject: '待审批任务' }) })
 */
export function taskForm(over: Record<string, unknown> = {}): Record<string, unknown> {
  const today = shanghaiDate(Date.now());
  return {
    alertType: 'typhoon',
    region: { parts: [{ kind: 'circle', center: [120.16, 30.25], radiusM: 1000 }] },
    subject: '测试任务',
    content: '台风即将登陆，请注意安全。',
    signature: '翼讯通',
    startDate: today,
    endDate: today,
    windows: [],
    frequency: 'once',
    minDwellMin: 0,
    rules: [],
    quota: { cmcc: { total: 300, dailyCap: 300 } },
    ...over,
  };
}

/** A periodic location of `msisdn` at `cell` (`at`: lng, lat), now, China Mobile; `over` replaces any field. */
export function locationEvent(msisdn: string, cell: string, at: [number, number], over: Partial<LocationEvent> = {}): LocationEvent {
  return { msisdn, carrier: 'cmcc', ts: Date.now(), cell, lng: at[0], lat: at[1], kind: 'periodic', ...over };
}

/** Publishes location events to LOCATION as ingest does: one batch per carrier and shard, in order within each. */
export async function publishLocations(nc: NatsConnection, events: LocationEvent[]): Promise<void> {
  const js = jetstream(nc);
  const bySubject = new Map<string, LocationEvent[]>();
  for (const e of events) {
    const subject = locationSubject(e.carrier, shardOf(e.msisdn));
    (bySubject.get(subject) ?? bySubject.set(subject, []).get(subject)!).push(e);
  }
  for (const [subject, batch] of bySubject) await js.publish(subject, encodeLocationBatch(batch));
}
