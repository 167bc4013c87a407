import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { START_TIMEOUT, testPortal } from '../../test/harness.ts';

/**
 * Issue 17: the client address comes from X-Forwarded-For only when the hop is a configured proxy,
 * and the session cookie is `__Host-`, `Secure` over TLS, also behind a trusted TLS proxy. Over a
 * real socket, so that the peer address is real.
 */
describe('trusted proxies and the session cookie', () => {
  let portal: Portal;
  beforeAll(async () => {
    portal = await testPortal({ trustProxy: false, trustedProxies: ['127.0.0.1'] });
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  async function login(headers: Record<string, string>) {
    const cap = await (await fetch(`${portal.url}/api/auth/captcha`, { headers })).json();
    const res = await fetch(`${portal.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ name: 'demo', password: 'Demo2024pass', captchaId: cap.captchaId, captcha: cap.testAnswer }),
    });
    expect(res.status).toBe(200);
    const { rows } = await portal.deps.db.query<{ ip: string }>(`SELECT ip FROM login_log WHERE success ORDER BY id DESC LIMIT 1`);
    return { cookie: res.headers.get('set-cookie')!, ip: rows[0]!.ip, csrf: (await res.json()).csrfToken as string };
  }

  it('takes the client from X-Forwarded-For when the peer is a trusted proxy, and the cookie is __Host- and Secure behind TLS', async () => {
    const r = await login({ 'x-forwarded-for': '6.6.6.6, 198.51.100.7', 'x-forwarded-proto': 'https' });
    expect(r.ip).toBe('198.51.100.7');
    expect(r.cookie).toMatch(/^__Host-geo_sid=/);
    expect(r.cookie).toMatch(/; Secure/);
    expect(r.cookie).toMatch(/; Path=\//);
    expect(r.cookie).toMatch(/HttpOnly/);
    const me = await fetch(`${portal.url}/api/auth/me`, { headers: { cookie: r.cookie.split(';')[0]!, 'x-forwarded-proto': 'https' } });
    expect(me.status).toBe(200);
  });

  it('ignores X-Forwarded-For and X-Forwarded-Proto from a peer that is not a trusted proxy', async () => {
    portal.deps.cfg.trustedProxies = ['10.0.0.0/8'];
    try {
      const r = await login({ 'x-forwarded-for': '198.51.100.8', 'x-forwarded-proto': 'https' });
      expect(r.ip).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
      expect(r.cookie).toMatch(/^geo_sid=/);
      expect(r.cookie).not.toMatch(/Secure/);
    } finally {
      portal.deps.cfg.trustedProxies = ['127.0.0.1'];
    }
  });
});
