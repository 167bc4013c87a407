import { runEngine, type RunningEngine } from '@geo/alerting';
import { connectNats, createLogger, type NatsConnection } from '@geo/infra';
import { shanghaiDate } from '@geo/infra/basics';
import { startNatsServer, type RunningNats } from '@geo/infra/testing';
import { DEFAULT_SHARDS } from '@geo/ingest';
import type { Hono } from 'hono';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../auth/password.ts';
import { toErrorResponse } from '../../http/error-response.ts';
import type { AppEnv } from '../../http/context.ts';
import { requestContext } from '../../http/middleware.ts';
import { router } from '../../http/openapi.ts';
import type { Portal } from '../../portal.ts';
import { tinyPng } from '../../http/document-fixtures.ts';
import { login, testPortal, type Client } from '../../test/harness.ts';
import { AlertBus, setAlertBus } from './alert-bus.ts';

/**
 * Test-only: the console's route groups behind the portal's own request context (sessions, CSRF,
 * error bodies) on a test portal's database, until the lead adds them to `API_ROUTES`. Logins go
 * through the portal itself; the cookie is valid here because the database is the same.
 */
export function consoleApp(portal: Portal, groups: Hono<AppEnv, any, any>[]) {
  const app = router();
  app.onError((err, c) => toErrorResponse(c, err));
  app.use('*', requestContext(portal.deps));
  for (const g of groups) app.route('/', g);
  return app;
}

/** A client whose requests go to `app` with the login's cookie and CSRF token. */
export function onApp(app: ReturnType<typeof consoleApp>, client: Client) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const isForm = body instanceof FormData;
    const res = await app.request(path, {
      method,
      headers: {
        cookie: client.cookie,
        ...(method === 'GET' ? {} : { 'x-csrf-token': client.csrf }),
        ...(body !== undefined && !isForm ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
    });
    const type = res.headers.get('content-type') ?? '';
    const parsed: any = type.includes('json')
      ? await res.json()
      : type.includes('sheet')
        ? new Uint8Array(await res.arrayBuffer())
        : await res.text();
    return { status: res.status, body: parsed, headers: res.headers };
  };
}

let seq = 0;
/** A second enterprise with its own admin (for cross-tenant checks), or a sub-account of the demo one. */
export async function addAccount(
  portal: Portal,
  kind: 'other-enterprise' | 'sub',
  permissions: string[] = [],
): Promise<{ name: string; password: string }> {
  const db = portal.deps.db;
  const n = `${kind}-${++seq}-${Date.now().toString(36)}`;
  const password = 'Passw0rd-test';
  const hash = await hashPassword(password, 10);
  if (kind === 'other-enterprise') {
    await db.query(`INSERT INTO enterprises (id, name, quota) VALUES ($1, $2, 1000)`, [`ent-${n}`, `集团 ${n}`]);
    await db.query(`INSERT INTO accounts (id, enterprise_id, name, role, password_hash) VALUES ($1, $2, $3, 'admin', $4)`, [
      `acct-${n}`,
      `ent-${n}`,
      n,
      hash,
    ]);
    await db.query(`INSERT INTO signatures (id, enterprise_id, text, status) VALUES ($1, $2, '其他集团', 'approved')`, [
      `sig-${n}`,
      `ent-${n}`,
    ]);
  } else {
    await db.query(
      `INSERT INTO accounts (id, enterprise_id, name, role, permissions, password_hash) VALUES ($1, 'demo-enterprise', $2, 'sub', $3, $4)`,
      [`acct-${n}`, n, JSON.stringify(permissions), hash],
    );
  }
  return { name: n, password };
}

export const loginAs = (portal: Portal, a: { name: string; password: string }) => login(portal, a.name, a.password);

/** A small valid PNG (a 2 × 2 grey image): letters are checked by their structure, not their first bytes. */
export const PNG_BYTES = tinyPng() as Uint8Array<ArrayBuffer>;

/** A closed ring of 10,000 positions at full double precision (about 0.4 MB of JSON). */
export function tenThousandVertexRing(): [number, number][] {
  const ring = Array.from({ length: 10_000 }, (_, i): [number, number] => {
    const a = (i / 9_999) * 2 * Math.PI;
    return [120.1234567890123 + 0.1 * Math.cos(a), 30.1234567890123 + 0.1 * Math.sin(a)];
  });
  ring[9_999] = ring[0]!;
  return ring;
}

/** Today in China, `YYYY-MM-DD`: a task form's start and end date. */
export const shanghaiToday = (): string => shanghaiDate(Date.now());

/** Uploads an authorization letter (授权函) as `client`; its id goes in a task form's `authorizationLetter`. */
export async function uploadLetter(client: Client): Promise<string> {
  const fd = new FormData();
  fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
  return (await client.reqRaw('POST', '/api/bigdata/letters', fd)).body.id as string;
}

/** The portal behind a real alerting engine on its own nats-server, with one enterprise whose admin is logged in. */
export interface EngineConsole {
  nats: RunningNats;
  nc: NatsConnection;
  engine: RunningEngine;
  portal: Portal;
  /** The enterprise's admin, logged in. */
  admin: Client;
  /** An uploaded authorization letter of the enterprise. */
  letter: string;
  stop(): Promise<void>;
}

/**
 * Starts an {@link EngineConsole}: its own nats-server (so that this engine takes no deliveries from
 * alerting's own tests on the shared one), the engine on every shard, a test portal whose alert bus
 * is that server, and the enterprise `id` (quota `quota`, an approved default signature 应急管理局)
 * with the admin `${id}-admin`.
 */
export async function startEngineConsole(opts: {
  id: string;
  name: string;
  quota: number;
  accessNumber: string;
  password: string;
  /** The admin's client address (for tests that count logins per address). */
  ip?: string;
}): Promise<EngineConsole> {
  const dir = mkdtempSync(join(tmpdir(), `${opts.id}-`));
  const nats = await startNatsServer({ dataDir: join(dir, 'nats') });
  const nc = await connectNats(nats.url, `portal-${opts.id}`);
  const engine = await runEngine({
    nc,
    log: createLogger('alerting-test', 'silent'),
    shards: Array.from({ length: DEFAULT_SHARDS }, (_, i) => i),
    tickMs: 200,
  });
  await engine.ready;
  const portal = await testPortal();
  setAlertBus(portal.deps, await AlertBus.open(nc));
  const db = portal.deps.db;
  const admin = `${opts.id}-admin`;
  await db.query(`INSERT INTO enterprises (id, name, quota, access_number) VALUES ($1, $2, $3, $4)`, [
    opts.id,
    opts.name,
    opts.quota,
    opts.accessNumber,
  ]);
  await db.query(`INSERT INTO accounts (id, enterprise_id, name, display_name, role, password_hash) VALUES ($1, $2, $1, $3, 'admin', $4)`, [
    admin,
    opts.id,
    `${opts.name}管理员`,
    await hashPassword(opts.password, 10),
  ]);
  await db.query(`INSERT INTO signatures (id, enterprise_id, text, status, is_default) VALUES ($1, $2, '应急管理局', 'approved', true)`, [
    `${opts.id}-sig`,
    opts.id,
  ]);
  const client = await login(portal, admin, opts.password, opts.ip);
  return {
    nats,
    nc,
    engine,
    portal,
    admin: client,
    letter: await uploadLetter(client),
    async stop() {
      await portal.stop();
      await engine.stop();
      await nc.drain();
      await nats.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
