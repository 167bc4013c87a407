import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../portal.ts';
import { call, login, loginAdmin, loginOperator, START_TIMEOUT, testPortal, type Client } from '../test/harness.ts';

/** Issue 17, Hardening: bad input of any kind is a clear 4xx in Chinese, never a 500; safe headers on every answer. */
describe('request hardening', () => {
  let portal: Portal;
  let admin: Client;
  beforeAll(async () => {
    portal = await testPortal();
    admin = await loginAdmin(portal);
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  /** A raw request over a real socket, with the admin's session. */
  const raw = (method: string, path: string, body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(`${portal.url}${path}`, { method, body, headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, ...headers } });

  it('refuses a login body over a few KB with 413, before parsing it', async () => {
    const big = JSON.stringify({ name: 'demo', password: 'x'.repeat(64 * 1024), captchaId: 'x', captcha: 'x' });
    const r = await fetch(`${portal.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(r.status).toBe(413);
    const body = await r.json();
    expect(body.error.code).toBe('UPLOAD_TOO_LARGE');
    expect(body.error.message).toMatch(/请求内容过大/);
  });

  it('refuses any JSON body over the common limit with 413, on every route, with or without a length', async () => {
    const big = JSON.stringify({ content: 'x'.repeat(3 * 1024 * 1024) });
    const r = await raw('POST', '/api/feedback', big, { 'content-type': 'application/json' });
    expect(r.status).toBe(413);
    const chunked = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const r2 = await fetch(`${portal.url}/api/industry/templates`, {
      method: 'POST',
      body: chunked,
      duplex: 'half',
      headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'application/json' },
    } as RequestInit);
    expect(r2.status).toBe(413);
  });

  it('answers a wrong Content-Type with 415 in Chinese, not 500', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const r = await raw('POST', '/api/feedback', '{"content":"正常的反馈内容"}', { 'content-type': type });
      expect(r.status, type).toBe(415);
      expect((await r.json()).error.message).toMatch(/JSON/);
    }
  });

  it('takes a CAP alert as XML on the CAP routes only, with a Chinese answer either way', async () => {
    const xml = '<?xml version="1.0"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>';
    // Past the guard: the CAP parser answers (an incomplete alert is a 400 naming what is missing, not a 415).
    const r = await raw('POST', '/api/bigdata/cap/preview', xml, { 'content-type': 'application/cap+xml' });
    expect(r.status).toBe(400);
    expect((await r.json()).error.message).toMatch(/[\u4e00-\u9fff]/);
    const big = `<alert>${'x'.repeat(3 * 1024 * 1024)}</alert>`;
    expect((await raw('POST', '/api/bigdata/cap/preview', big, { 'content-type': 'application/cap+xml' })).status).toBe(413);
    const elsewhere = await raw('POST', '/api/bigdata/drafts', xml, { 'content-type': 'application/cap+xml' });
    expect(elsewhere.status).toBe(415);
  });

  it('answers JSON nested 200,000 deep with 400', async () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    for (const path of ['/api/bigdata/drafts', '/api/feedback', '/api/industry/templates']) {
      const r = await raw('POST', path, deep, { 'content-type': 'application/json' });
      expect(r.status, path).toBe(400);
      expect((await r.json()).error.message, path).toMatch(/嵌套/);
    }
  });

  it('answers a NUL byte in a contact name, a remark or a template text with 400', async () => {
    const cases: [string, string, unknown][] = [
      ['POST', '/api/industry/books/personal/contacts', { name: '张\u0000三', phone: '13800138000' }],
      ['POST', '/api/industry/books/personal/contacts', { name: '张三', phone: '13800138000', remark: 'a\u0000b' }],
      ['POST', '/api/industry/templates', { title: '模版', content: '您好\u0000' }],
      ['POST', '/api/accounts', { name: 'nul-user', password: 'Start-pass-1234', remark: 'x\u0000' }],
    ];
    for (const [m, path, body] of cases) {
      const r = await admin.req(m, path, body);
      expect(r.status, path).toBe(400);
      expect(r.body.error.message, path).toMatch(/空字符|控制字符/);
    }
  });

  it('answers ?from=notadate on the sent list with 400', async () => {
    const r = await admin.req('GET', '/api/industry/sends?from=notadate');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('VALIDATION');
  });

  it('marks API answers no-store and sends a CSP with frame-ancestors, base-uri and form-action', async () => {
    const r = await admin.req('GET', '/api/auth/me');
    expect(r.headers.get('cache-control')).toMatch(/no-store/);
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).toMatch(/base-uri 'self'/);
    expect(csp).toMatch(/form-action 'self'/);
  });

  it('shows versions and internal addresses on /api/status to operators only', async () => {
    portal.deps.cfg.serverUrls = { nats: 'http://127.0.0.1:9/', clickhouse: 'http://127.0.0.1:9/' };
    const anon = await call(portal, 'GET', '/api/status');
    expect(anon.status).toBe(200);
    const text = JSON.stringify(anon.body);
    expect(text).not.toMatch(/127\.0\.0\.1|memory:|pglite|"version"/i);
    for (const c of [admin, await login(portal, 'demo-sub', 'DemoSub-2024')])
      expect(JSON.stringify((await c.req('GET', '/api/status')).body)).not.toMatch(/127\.0\.0\.1|"version"/);
    const op = await loginOperator(portal);
    const full = await op.req('GET', '/api/status');
    expect(JSON.stringify(full.body)).toMatch(/127\.0\.0\.1/);
    expect(full.body.servers.find((s: { name: string }) => s.name === 'postgresql')?.version).toBeTruthy();
  });
});
