import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { Portal } from '@geo/portal';
import { API_ROUTES } from '../../../portal/src/app.ts';
import { CaseTally } from './report.ts';
import {
  call,
  expectReadableError,
  login,
  loginDemoAdmin,
  loginOperator,
  PORTAL_START_TIMEOUT,
  startTestPortal,
  type Client,
} from './portal-client.ts';

/**
 * Every route of the portal's API, taken from the application itself (so a route added tomorrow is in
 * this test without anyone writing it down), called four ways:
 * - with no session: 401, unless the route is listed below as public, with the reason;
 * - as a sub-account of the same enterprise holding no permission: 403 (or 404 where the route first
 *   looks up an id the account may not see), unless listed as open to every logged-in account;
 * - as an enterprise's administrator on the platform operator's routes: 403;
 * - with a malformed, mistyped or absurdly nested JSON body on every route that takes one, as an account
 *   allowed to call it: a 4xx with a message a person can read.
 * Never a 5xx, and never a 2xx where the caller has no right.
 */

type Route = { method: string; path: string };
const key = (r: Route) => `${r.method} ${r.path}`;

/** Routes anyone may call without a session, and why. */
const PUBLIC: Record<string, string> = {
  'GET /api/status': 'health of the platform for load balancers and the status page, no tenant data',
  'GET /api/auth/captcha': 'the login form needs a captcha before anyone is logged in',
  'POST /api/auth/login': 'logging in',
  'POST /api/auth/login/totp': 'the second login step, bound to the first step’s short-lived token',
  'POST /api/auth/login/enrol': 'enrolling a second factor during a login that requires one, bound to the first step’s token',
  'POST /api/auth/login/enrol/confirm': 'the same, confirming the code',
  'GET /api/auth/features': 'what the login page offers (no tenant data)',
  'GET /api/branding': 'the login page shows the platform’s name and logo',
  'GET /api/branding/logo': 'the same logo image',
  'GET /api/v1/whoami': 'the API-key entry: it answers 401 itself without a valid key (checked below)',
};

/** Routes every logged-in account may call whatever its permissions, and why. */
const SELF_SERVICE: Record<string, string> = {
  'POST /api/auth/logout': 'ending one’s own session',
  'GET /api/auth/me': 'who am I',
  'POST /api/auth/password': 'changing one’s own password',
  'GET /api/auth/totp': 'one’s own second factor',
  'POST /api/auth/totp/setup': 'one’s own second factor',
  'POST /api/auth/totp/enable': 'one’s own second factor',
  'POST /api/auth/totp/disable': 'one’s own second factor',
  'POST /api/auth/totp/recovery-codes': 'one’s own second factor',
  'GET /api/account/profile': 'one’s own profile',
  'PUT /api/account/profile': 'one’s own profile',
  'GET /api/messages': 'one’s own notifications',
  'POST /api/messages/:id/read': 'one’s own notifications',
  'POST /api/messages/read-all': 'one’s own notifications',
  'GET /api/map/meta': 'the base map is not tenant data',
  'GET /api/map/tiles/:z/:x/:tile': 'the base map is not tenant data',
  'GET /api/map/places': 'the base map’s place names are not tenant data',
  'GET /api/feedback': '意见反馈: every account of an enterprise may write to the platform and read its own',
  'POST /api/feedback': 'the same',
};

const ID = '00000000-0000-4000-8000-000000000000';
const PARAMS: Record<string, string> = {
  id: ID,
  accountId: ID,
  book: 'personal',
  level: 'district',
  kind: 'contacts',
  op: 'move',
  z: '0',
  x: '0',
  tile: '0.pbf',
};
const fill = (path: string) => path.replace(/:(\w+)/g, (_, name: string) => PARAMS[name] ?? ID);

const routes: Route[] = [];
{
  const seen = new Set<string>();
  for (const app of API_ROUTES)
    for (const r of app.routes) {
      // Middleware entries (method ALL) are not routes of their own.
      if (r.method === 'ALL' || !r.path.startsWith('/api/') || seen.has(key(r))) continue;
      seen.add(key(r));
      routes.push({ method: r.method, path: r.path });
    }
}
const isOperatorRoute = (r: Route) => r.path.startsWith('/api/operator/') || r.path.startsWith('/api/review/');
/** Server-sent events: the tests check the refusal, never hold a stream open. */
const isStream = (r: Route) => r.path === '/api/insight/live';

let portal: Portal;
let admin: Client;
let operator: Client;
let weak: Client;
/** Routes whose OpenAPI operation declares a request body (`METHOD /api/x/:id`). */
const takesBody = new Set<string>();
/** The query parameters each route's OpenAPI operation declares (`GET /api/x` → names). */
const queryParams = new Map<string, string[]>();

beforeAll(async () => {
  portal = await startTestPortal();
  admin = await loginDemoAdmin(portal);
  operator = await loginOperator(portal);
  const name = `weak-${randomBytes(3).toString('hex')}`;
  const password = 'Weak-pass-2024!';
  const made = await admin.req('POST', '/api/accounts', { name, password, displayName: '无权限子账户', permissions: [] });
  if (made.status !== 200) throw new Error(`could not add the weak account: ${made.status} ${made.text}`);
  weak = await login(portal, name, password);
  const doc = await admin.req('GET', '/api/openapi.json');
  type Op = { requestBody?: unknown; parameters?: { in: string; name: string }[] };
  for (const [path, ops] of Object.entries(doc.body.paths as Record<string, Record<string, Op>>))
    for (const [method, op] of Object.entries(ops)) {
      const k = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;
      if (op.requestBody) takesBody.add(k);
      const names = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      if (names.length) queryParams.set(k, names);
    }
}, PORTAL_START_TIMEOUT);

const tally = new CaseTally('route-matrix');

afterAll(async () => {
  await portal?.stop();
  tally.write();
});

describe(`every API route (${routes.length}), as nobody, as a weaker account and with broken bodies`, () => {
  it('has found the routes from the application itself', () => {
    expect(routes.length).toBeGreaterThan(100);
    for (const k of [...Object.keys(PUBLIC), ...Object.keys(SELF_SERVICE)])
      expect(
        routes.some((r) => key(r) === k),
        `${k} is listed but is no longer a route`,
      ).toBe(true);
  });

  it('answers 401 without a session on every route that is not public, never a 5xx', async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      const res = await call(portal, r.method, fill(r.path), r.method === 'GET' || r.method === 'DELETE' ? undefined : {});
      if (res.status >= 500) wrong.push(`${key(r)} → ${res.status} ${res.text.slice(0, 120)}`);
      else if (!(key(r) in PUBLIC) && res.status !== 401) wrong.push(`${key(r)} → ${res.status} (expected 401)`);
      else if (res.status === 401) expectReadableError(res);
    }
    expect(wrong).toEqual([]);
  });

  it('refuses the API-key entry without a key and with a made-up one', async () => {
    expect((await call(portal, 'GET', '/api/v1/whoami')).status).toBe(401);
    expect((await call(portal, 'GET', '/api/v1/whoami', undefined, { authorization: 'Bearer gk_madeup' })).status).toBe(401);
  });

  it('answers 403 (or 404 for an id it may not see) to a sub-account without permissions, except on its own things', async () => {
    const wrong: string[] = [];
    for (const r of routes) {
      if (key(r) in PUBLIC || key(r) in SELF_SERVICE || key(r) === 'POST /api/auth/logout') continue;
      const res = await weak.req(r.method, fill(r.path), r.method === 'GET' || r.method === 'DELETE' ? undefined : {});
      const ok = res.status === 403 || (r.path.includes(':') && res.status === 404);
      if (!ok) wrong.push(`${key(r)} → ${res.status} ${res.text.slice(0, 120)}`);
      else expectReadableError(res);
    }
    expect(wrong).toEqual([]);
  });

  it('lets the sub-account without permissions read what is listed as its own (the list says the truth)', async () => {
    const refused: string[] = [];
    for (const k of Object.keys(SELF_SERVICE).filter((k) => k.startsWith('GET '))) {
      const path = k.slice(4);
      const res = await weak.req('GET', fill(path));
      if (res.status === 401 || res.status === 403) refused.push(`${k} → ${res.status}`);
    }
    expect(refused).toEqual([]);
  });

  it('answers 403 to an enterprise administrator on every route of the platform operator', async () => {
    const wrong: string[] = [];
    for (const r of routes.filter(isOperatorRoute)) {
      const res = await admin.req(r.method, fill(r.path), r.method === 'GET' || r.method === 'DELETE' ? undefined : {});
      if (res.status !== 403) wrong.push(`${key(r)} → ${res.status} ${res.text.slice(0, 120)}`);
    }
    expect(wrong).toEqual([]);
  });

  // Issue 17 found `?from=notadate` answering 500 on one list; this asks every declared query
  // parameter of every route the same kind of question (the route list comes from the document).
  it('answers every declared query parameter given nonsense with a 2xx or a readable 4xx, never a 5xx', async () => {
    expect(queryParams.size).toBeGreaterThan(20);
    const values = ['notadate', '2026-02-31', '-1', '1e309', 'NaN', '[object Object]', `x' OR '1'='1`, '\u202e\u200b', 'x'.repeat(3000)];
    const wrong: string[] = [];
    for (const r of routes) {
      const names = queryParams.get(key(r));
      if (!names || isStream(r) || r.method !== 'GET') continue;
      const who = isOperatorRoute(r) ? operator : admin;
      for (const name of names)
        for (const v of values) {
          tally.one('portal query parameters (every route)', `${key(r)} ?${name}`);
          const res = await who.req('GET', `${fill(r.path)}?${name}=${encodeURIComponent(v)}`);
          if (res.status >= 500) wrong.push(`${key(r)} ?${name}=${v.slice(0, 20)} → ${res.status} ${res.text.slice(0, 120)}`);
          else if (res.status >= 400 && !res.body?.error?.message?.trim())
            wrong.push(`${key(r)} ?${name}=${v.slice(0, 20)} → ${res.status} unreadable`);
        }
    }
    expect(wrong).toEqual([]);
  }, 300_000);

  it('answers a readable 4xx to malformed, mistyped and deeply nested JSON on every route that takes a body', async () => {
    // Routes without a declared body ignore one (logout, mark all read): only the others are asked.
    expect(takesBody.size).toBeGreaterThan(40);
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const bodies: [string, string][] = [
      ['cut off', '{"name": "x", "password":'],
      ['not JSON', 'name=x&password=y'],
      ['an array', '[1, 2, 3]'],
      ['a string', '"hello"'],
      ['null', 'null'],
      ['5,000 levels deep', deep],
    ];
    const wrong: string[] = [];
    for (const r of routes) {
      if (!takesBody.has(key(r)) || isStream(r)) continue;
      if (key(r).startsWith('POST /api/auth/login')) continue; // public, checked with its own cases in portal-auth-tenancy
      const who = isOperatorRoute(r) ? operator : admin;
      for (const [what, body] of bodies) {
        tally.one('portal broken bodies (every route)', `${key(r)} ${what}`);
        const res = await who.req(r.method, fill(r.path), body, { 'content-type': 'application/json' });
        if (res.status < 400 || res.status >= 500) wrong.push(`${key(r)} with ${what} → ${res.status} ${res.text.slice(0, 120)}`);
        else {
          const e = res.body?.error;
          if (!e || typeof e.message !== 'string' || !e.message.trim())
            wrong.push(`${key(r)} with ${what} → ${res.status} without a readable message`);
        }
      }
    }
    expect(wrong).toEqual([]);
  }, 300_000);
});
