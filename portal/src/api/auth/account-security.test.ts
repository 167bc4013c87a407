import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { call, login, loginAdmin, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';

/** Issue 17, Accounts: password changes and freezing end every way in; password changes are throttled. */
describe('ending an account’s access', () => {
  let portal: Portal;
  let admin: Client;
  let seq = 0;
  beforeAll(async () => {
    // Nothing listens on port 9: every live poll fails, and the stream keeps sending failure events.
    portal = await testPortal({ insightUrl: 'http://127.0.0.1:9' });
    admin = await loginAdmin(portal);
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  async function account(permissions: string[]) {
    const name = `sec-${++seq}`;
    const r = await admin.req('POST', '/api/accounts', { name, password: 'Start-pass-1234', departmentId: 'demo-dept-ops', permissions });
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    return { id: r.body.id as string, name, session: await login(portal, name, 'Start-pass-1234') };
  }
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  it('a password reset by the admin ends the account’s sessions and its API keys', async () => {
    const a = await account(['home', 'apikeys']);
    const key = (await a.session.req('POST', '/api/api-keys', { name: '对接系统' })).body.key as string;
    expect((await call(portal, 'GET', '/api/v1/whoami', undefined, bearer(key))).status).toBe(200);
    expect((await admin.req('POST', `/api/accounts/${a.id}/reset-password`, { password: 'Reset-pass-1234' })).status).toBe(200);
    expect((await a.session.req('GET', '/api/auth/me')).status).toBe(401);
    expect((await call(portal, 'GET', '/api/v1/whoami', undefined, bearer(key))).status).toBe(401);
  });

  it('changing one’s own password ends the other sessions and the API keys, and needs a session, not a key', async () => {
    const a = await account(['home', 'apikeys']);
    const other = await login(portal, a.name, 'Start-pass-1234');
    const key = (await a.session.req('POST', '/api/api-keys', { name: '对接系统' })).body.key as string;
    const byKey = await call(
      portal,
      'POST',
      '/api/auth/password',
      { oldPassword: 'Start-pass-1234', newPassword: 'By-key-pass-1234' },
      bearer(key),
    );
    expect(byKey.status).toBe(403);
    expect(byKey.body.error.message).toMatch(/登录/);
    expect(
      (await a.session.req('POST', '/api/auth/password', { oldPassword: 'Start-pass-1234', newPassword: 'Second-pass-1234' })).status,
    ).toBe(200);
    expect((await a.session.req('GET', '/api/auth/me')).status).toBe(200);
    expect((await other.req('GET', '/api/auth/me')).status).toBe(401);
    expect((await call(portal, 'GET', '/api/v1/whoami', undefined, bearer(key))).status).toBe(401);
  });

  it('throttles wrong old passwords like a login: after 5 the next try waits, even with the right one', async () => {
    const a = await account(['home']);
    for (let i = 0; i < 5; i++) {
      const r = await a.session.req('POST', '/api/auth/password', { oldPassword: `guess-${i}-abcdefgh`, newPassword: 'Guessed-pass-1234' });
      expect(r.body.error.code).toBe('WRONG_PASSWORD');
    }
    const r = await a.session.req('POST', '/api/auth/password', { oldPassword: 'Start-pass-1234', newPassword: 'Guessed-pass-1234' });
    expect(r.status).toBe(429);
    expect(r.body.error.message).toMatch(/秒后再试/);
  });

  it('freezing an account ends its open live stream (SSE) at once', async () => {
    const a = await account(['insight']);
    const region = encodeURIComponent(JSON.stringify({ parts: [{ kind: 'admin', code: '330106' }] }));
    const res = await portal.request(`/api/insight/live?region=${region}&intervalS=60`, { headers: { cookie: a.session.cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toMatch(/event: (failure|metrics)/);
    expect((await admin.req('POST', `/api/accounts/${a.id}/freeze`)).status).toBe(200);
    // With intervalS=60 the route writes nothing more for a minute: the stream ends only if the
    // freeze closes it (the test's own timeout is 30 s).
    let done = false;
    while (!done) done = (await reader.read()).done;
    expect(done).toBe(true);
  });

  it('an open stream whose session ends elsewhere (another portal instance, an enterprise frozen) closes at its next re-check', async () => {
    const a = await account(['insight']);
    portal.deps.cfg.streamRecheckMs = 200;
    try {
      const region = encodeURIComponent(JSON.stringify({ parts: [{ kind: 'admin', code: '330106' }] }));
      const res = await portal.request(`/api/insight/live?region=${region}&intervalS=60`, { headers: { cookie: a.session.cookie } });
      const reader = res.body!.getReader();
      await reader.read();
      // As another instance ending the session would: straight in the database, no in-process hook.
      await portal.deps.db.query('DELETE FROM sessions WHERE account_id = $1', [a.id]);
      let done = false;
      while (!done) done = (await reader.read()).done;
      expect(done).toBe(true);
    } finally {
      portal.deps.cfg.streamRecheckMs = undefined;
    }
  });
});
