import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { login, loginAdmin, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';

/**
 * Issue 17 asked that ending an account's access ends its open event streams. Taking away the
 * permission a stream needs is ending that access too: the live heat map (where people are, by the
 * minute) must not keep streaming to an account that may no longer see it. The stream re-checks
 * its session and the permissions its route declared (`requires(…)`), so it closes at the next
 * re-check, on any instance.
 */
describe('an open event stream ends with the permission it needs', () => {
  let portal: Portal;
  let admin: Client;
  beforeAll(async () => {
    // Nothing listens on port 9: every live poll fails, and the stream keeps sending failure events.
    portal = await testPortal({ insightUrl: 'http://127.0.0.1:9', streamRecheckMs: 200 });
    admin = await loginAdmin(portal);
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  const region = encodeURIComponent(JSON.stringify({ parts: [{ kind: 'admin', code: '330106' }] }));
  async function openLive(name: string, permissions: string[]) {
    const r = await admin.req('POST', '/api/accounts', { name, password: 'Start-pass-1234', departmentId: 'demo-dept-ops', permissions });
    expect(r.status).toBe(200);
    const s = await login(portal, name, 'Start-pass-1234');
    // intervalS=60: the route itself writes nothing more for a minute; only the guard can end it sooner.
    const res = await portal.request(`/api/insight/live?region=${region}&intervalS=60`, { headers: { cookie: s.cookie } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/event: (failure|metrics)/);
    return { id: r.body.id as string, reader };
  }
  const ends = async (reader: ReadableStreamDefaultReader<Uint8Array>) => {
    let done = false;
    while (!done) done = (await reader.read()).done;
    return done;
  };

  it('closes the live heat map of an account whose 大数据洞察 permission is taken away', async () => {
    const a = await openLive('live-perm-1', ['insight', 'sms.send']);
    const r = await admin.req('PUT', `/api/accounts/${a.id}/permissions`, { permissions: ['sms.send'] });
    expect(r.status).toBe(200);
    expect(await ends(a.reader)).toBe(true);
  });

  it('keeps it open while the account still holds the permission (another one changed)', async () => {
    const a = await openLive('live-perm-2', ['insight', 'sms.send']);
    expect((await admin.req('PUT', `/api/accounts/${a.id}/permissions`, { permissions: ['insight'] })).status).toBe(200);
    let closed = false;
    void a.reader.closed.then(() => (closed = true));
    // Several re-checks pass (200 ms each) and leave it open.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(closed).toBe(false);
    await a.reader.cancel();
    await a.reader.closed;
    expect(closed).toBe(true);
  });
});

describe('taking a permission away on this instance', () => {
  let portal: Portal;
  let admin: Client;
  beforeAll(async () => {
    // A minute between re-checks: only the permission route itself can end the stream in time.
    portal = await testPortal({ insightUrl: 'http://127.0.0.1:9', streamRecheckMs: 60_000 });
    admin = await loginAdmin(portal);
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  it('ends the streams that need it at once, not at the next re-check, and keeps the others', async () => {
    const region = encodeURIComponent(JSON.stringify({ parts: [{ kind: 'admin', code: '330106' }] }));
    const r = await admin.req('POST', '/api/accounts', {
      name: 'live-perm-3',
      password: 'Start-pass-1234',
      departmentId: 'demo-dept-ops',
      permissions: ['insight', 'sms.send'],
    });
    expect(r.status).toBe(200);
    const s = await login(portal, 'live-perm-3', 'Start-pass-1234');
    const res = await portal.request(`/api/insight/live?region=${region}&intervalS=60`, { headers: { cookie: s.cookie } });
    const reader = res.body!.getReader();
    await reader.read();
    let closed = false;
    void reader.closed.then(() => (closed = true));
    // Taking another permission away leaves it open.
    expect((await admin.req('PUT', `/api/accounts/${r.body.id}/permissions`, { permissions: ['insight'] })).status).toBe(200);
    await new Promise((done) => setTimeout(done, 300));
    expect(closed).toBe(false);
    // Taking 大数据洞察 away ends it well before the minute's re-check.
    const t0 = Date.now();
    expect((await admin.req('PUT', `/api/accounts/${r.body.id}/permissions`, { permissions: [] })).status).toBe(200);
    let done = false;
    while (!done) done = (await reader.read()).done;
    expect(Date.now() - t0).toBeLessThan(30_000);
  }, 60_000);
});
