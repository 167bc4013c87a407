import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { SESSION_COOKIE, SESSION_MAX_MS } from '../auth/session.ts';
import type { Ctx } from './context.ts';

/**
 * The session cookie. Over TLS (directly or behind a trusted TLS proxy) it is `__Host-geo_sid`:
 * `Secure`, `Path=/`, no `Domain`, so neither a plain-HTTP page nor a sibling subdomain can set or
 * overwrite it (ASVS 3.4.1, 3.4.4). Over plain HTTP (local development, tests) browsers refuse
 * both, so it is `geo_sid`. A request reads only the name of its own kind.
 */
export function readSessionCookie(c: Ctx): string | undefined {
  return c.get('tls') ? getCookie(c, SESSION_COOKIE, 'host') : getCookie(c, SESSION_COOKIE);
}

export function writeSessionCookie(c: Ctx, id: string): void {
  const opts = { httpOnly: true, sameSite: 'Lax', path: '/', maxAge: SESSION_MAX_MS / 1000 } as const;
  if (c.get('tls')) setCookie(c, SESSION_COOKIE, id, { ...opts, secure: true, prefix: 'host' });
  else setCookie(c, SESSION_COOKIE, id, opts);
}

export function clearSessionCookie(c: Ctx): void {
  if (c.get('tls')) deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, prefix: 'host' });
  else deleteCookie(c, SESSION_COOKIE, { path: '/' });
}
