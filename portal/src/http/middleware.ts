import { getConnInfo } from '@hono/node-server/conninfo';
import { createMiddleware } from 'hono/factory';
import { timingSafeEqual } from 'node:crypto';
import { loadApiKey, loadSession } from '../auth/session.ts';
import { AppError } from '../errors.ts';
import type { AppEnv, Deps } from './context.ts';
import { clientAddress, isInternalAddress, overTls, trustedProxies } from './client-address.ts';
import { guardEventStream } from './event-streams.ts';
import { readSessionCookie } from './session-cookie.ts';
import { opLog } from './op-log.ts';

/** Paths under /api that answer without a login. */
const PUBLIC = [
  /^\/api\/status$/,
  /^\/api\/auth\/(captcha|login|login\/totp|login\/enrol|login\/enrol\/confirm)$/,
  /^\/api\/openapi\.json$/,
  /^\/api\/branding(\/logo)?$/,
];

export const CSRF_HEADER = 'x-csrf-token';
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The socket peer, or 'local' for in-process requests (app.request in tests), which have none. */
function peerAddress(c: Parameters<Parameters<typeof createMiddleware<AppEnv>>[0]>[0]): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'local';
  }
}

const trustAll = () => true;
let trustCache: { key: readonly string[]; fn: (ip: string) => boolean } | undefined;
/** `cfg.trustProxy` trusts every hop (tests); otherwise `cfg.trustedProxies` lists our proxies. */
function trustedOf(deps: Deps): (ip: string) => boolean {
  if (deps.cfg.trustProxy) return trustAll;
  const key = deps.cfg.trustedProxies ?? [];
  if (trustCache?.key !== key) trustCache = { key, fn: trustedProxies(key) };
  return trustCache.fn;
}

/**
 * `/metrics` and the details of `/healthz` (the NATS server's address, the database kind, failure
 * messages; Node's version in the metrics) are for this machine and private networks, where the
 * load balancer and Prometheus are; from anywhere else `/metrics` is 404 and `/healthz` says only
 * whether the portal is up, as `/api/status` does (ASVS 14.3.2).
 */
async function internalOnly(c: Parameters<Parameters<typeof createMiddleware<AppEnv>>[0]>[0], next: () => Promise<void>) {
  if (isInternalAddress(c.get('ip'))) return next();
  if (c.req.path === '/metrics') throw new AppError('NOT_FOUND', `没有这个地址：${c.req.path}`);
  await next();
  const { service, ok } = (await c.res.clone().json()) as { service: string; ok: boolean };
  c.res = c.json({ service, ok }, c.res.status as 200 | 503);
}

const sameToken = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Per request: who is calling (session cookie or `Authorization: Bearer gk_…`), the client address,
 * login required outside the public paths, and CSRF: a state-changing request from a browser must
 * come from our own origin and, with a session, carry the session's token in `X-CSRF-Token`
 * (Hono's csrf() checks only form posts; JSON endpoints need this).
 */
export function requestContext(deps: Deps) {
  return createMiddleware<AppEnv>(async (c, next) => {
    c.set('deps', deps);
    const trusted = trustedOf(deps);
    const peer = peerAddress(c);
    c.set('ip', clientAddress(peer, c.req.header('x-forwarded-for'), trusted).slice(0, 64));
    c.set('tls', overTls(c.req.url, trusted(peer), c.req.header('x-forwarded-proto')));
    c.set('opLogged', false);
    c.set('principal', undefined);
    const path = c.req.path;
    if (path === '/metrics' || path === '/healthz') return internalOnly(c, next);
    if (!path.startsWith('/api/')) return next();

    const unsafe = !SAFE.has(c.req.method);
    if (unsafe) {
      const origin = c.req.header('origin');
      // `Origin: null` (sandboxed frames, file: pages, cross-origin redirects) or anything else that
      // is not a URL is a foreign origin, not a server error.
      if (origin && (!URL.canParse(origin) || new URL(origin).host !== new URL(c.req.url).host)) throw new AppError('CSRF');
    }
    const auth = c.req.header('authorization');
    if (auth?.startsWith('Bearer ')) {
      const p = await loadApiKey(deps.db, auth.slice(7).trim());
      if (!p) throw new AppError('UNAUTHENTICATED', '接口密钥无效、已撤销或其账户已冻结');
      c.set('principal', p);
    } else {
      const sid = readSessionCookie(c);
      const p = sid ? await loadSession(deps.db, sid) : undefined;
      if (p) {
        if (unsafe && !sameToken(c.req.header(CSRF_HEADER) ?? '', p.csrfToken!)) throw new AppError('CSRF');
        c.set('principal', p);
      } else if (!PUBLIC.some((r) => r.test(path))) {
        throw new AppError(sid ? 'SESSION_EXPIRED' : 'UNAUTHENTICATED');
      } else if (unsafe && !c.req.header('content-type')?.startsWith('application/json')) {
        // Without a session, only JSON posts (which a cross-site form cannot send) are accepted.
        throw new AppError('CSRF');
      }
    }
    await next();
    const who = c.get('principal');
    if (who) guardEventStream(c, deps.db, who, deps.cfg.streamRecheckMs);
    // Every state-changing action is in the operation log, even where a handler wrote no entry.
    if (unsafe && c.res.status < 400 && !c.get('opLogged') && c.get('principal')) {
      await opLog(c, `${c.req.method} ${c.req.routePath}`, path);
    }
  });
}
