import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { call, loginAdmin, loginOperator, START_TIMEOUT, testPortal } from '../../test/harness.ts';

describe('system status', () => {
  let portal: Portal;
  let fake: Server;
  let fakeUrl: string;
  beforeAll(async () => {
    // A service that answers /healthz like every service here: 200 or 503 with its checks.
    fake = createServer((req, res) => {
      const ok = req.url === '/healthz';
      res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ service: 'ingest', ok: true, uptimeS: 42, checks: { nats: { ok: true, detail: 'x' } } }));
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
    fakeUrl = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
    portal = await testPortal({
      serviceUrls: { ingest: fakeUrl, alerting: 'http://127.0.0.1:9' },
      serverUrls: { nats: 'http://127.0.0.1:9' },
    });
  }, START_TIMEOUT);
  afterAll(async () => {
    await portal?.stop();
    fake?.close();
  });

  it('answers without a login, with each server and service up or down', async () => {
    const r = await call(portal, 'GET', '/api/status');
    expect(r.status).toBe(200);
    const byName = Object.fromEntries([...r.body.servers, ...r.body.services].map((p: any) => [p.name, p]));
    expect(byName.postgresql).toMatchObject({ ok: true, kind: 'server' });
    // Versions and internal addresses are for platform operators only (issue 17).
    expect(byName.postgresql.version).toBeUndefined();
    expect(byName.nats).toMatchObject({ ok: false });
    expect(byName.clickhouse).toMatchObject({ ok: false });
    expect(byName.ingest).toMatchObject({ ok: true, uptimeS: 42, kind: 'service' });
    expect(byName.alerting.ok).toBe(false);
    expect(r.body.ok).toBe(false);
    expect(byName.ingest.url).toBeUndefined();
  });

  it('shows versions and addresses to a platform operator only', async () => {
    const admin = await loginAdmin(portal);
    expect((await admin.req('GET', '/api/status')).body.services.find((s: { name: string }) => s.name === 'ingest').url).toBeUndefined();
    const op = await loginOperator(portal);
    const r = await op.req('GET', '/api/status');
    expect(r.body.services.find((s: { name: string }) => s.name === 'ingest').url).toBe(fakeUrl);
    expect(r.body.servers.find((s: { name: string }) => s.name === 'postgresql').version).toMatch(/PostgreSQL/);
  });

  it('answers /healthz and /metrics on its own port', async () => {
    const h = await fetch(`${portal.url}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ service: 'portal', ok: true, checks: { postgres: { ok: true } } });
    const m = await fetch(`${portal.url}/metrics`);
    expect(await m.text()).toContain('portal_http_requests_total');
  });

  it('serves the OpenAPI document and a zh-CN 404 for unknown API paths', async () => {
    const doc = await call(portal, 'GET', '/api/openapi.json');
    expect(doc.body.paths['/api/status']).toBeDefined();
    const nf = await call(portal, 'GET', '/api/nope', undefined, {});
    expect(nf.status).toBe(401);
  });
});
