import type { Hono } from 'hono';
import { hashPassword } from '../../auth/password.ts';
import { toErrorResponse } from '../../http/error-response.ts';
import type { AppEnv } from '../../http/context.ts';
import { requestContext } from '../../http/middleware.ts';
import { router } from '../../http/openapi.ts';
import type { Portal } from '../../portal.ts';
import { tinyPng } from '../../http/document-fixtures.ts';
import { login, type Client } from '../../test/harness.ts';

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
