import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { call, demo, login, loginAdmin, nextIp, solveCaptcha, START_TIMEOUT, testPortal } from '../../test/harness.ts';

describe('login, sessions and CSRF', () => {
  let portal: Portal;
  beforeAll(async () => {
    portal = await testPortal();
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  const attempt = async (name: string, password: string, ip = nextIp(), captchaOverride?: string) => {
    const cap = await solveCaptcha(portal, ip);
    return call(
      portal,
      'POST',
      '/api/auth/login',
      { name, password, captchaId: cap.captchaId, captcha: captchaOverride ?? cap.captcha },
      { 'x-forwarded-for': ip },
    );
  };

  it('gives an SVG captcha and keeps its answer on the server unless the test switch is on', async () => {
    const r = await call(portal, 'GET', '/api/auth/captcha');
    expect(r.body.svg).toMatch(/^<svg/);
    expect(r.body.testAnswer).toMatch(/^\w{4}$/);
    portal.deps.cfg.captchaTestMode = undefined; // the default
    try {
      const r2 = await call(portal, 'GET', '/api/auth/captcha');
      expect(r2.body.captchaId).toBeTruthy();
      expect(r2.body.testAnswer).toBeUndefined();
    } finally {
      portal.deps.cfg.captchaTestMode = true;
    }
  });

  it('logs in with name, password and captcha into an httpOnly SameSite session, with a login-log entry', async () => {
    const r = await attempt(demo.admin.name, demo.admin.password);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: 'demo', role: 'admin', enterpriseName: '演示集团' });
    const cookie = r.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    const { rows } = await portal.deps.db.query<{ success: boolean }>(
      `SELECT success FROM login_log WHERE account_name = 'demo' ORDER BY id DESC LIMIT 1`,
    );
    expect(rows[0]!.success).toBe(true);
  });

  it('issues a new session id at login, ending the one the browser presented', async () => {
    const a = await loginAdmin(portal);
    const ip = nextIp();
    const cap = await solveCaptcha(portal, ip);
    const r = await call(
      portal,
      'POST',
      '/api/auth/login',
      { name: demo.admin.name, password: demo.admin.password, ...cap },
      { cookie: a.cookie, 'x-csrf-token': a.csrf, 'x-forwarded-for': ip },
    );
    const fresh = r.headers.get('set-cookie')!.split(';')[0];
    expect(fresh).not.toBe(a.cookie);
    expect((await a.req('GET', '/api/auth/me')).status).toBe(401);
  });

  it('refuses a wrong captcha, a wrong password and an unknown name with clear codes, and logs each', async () => {
    expect((await attempt(demo.admin.name, demo.admin.password, nextIp(), 'zzzz')).body.error.code).toBe('CAPTCHA_INVALID');
    const bad = await attempt(demo.admin.name, 'wrong-password-1');
    expect(bad.status).toBe(401);
    expect(bad.body.error).toMatchObject({ code: 'LOGIN_FAILED', message: '账户名或密码错误' });
    expect((await attempt('no-such-user', 'whatever-1')).body.error.code).toBe('LOGIN_FAILED');
    const { rows } = await portal.deps.db.query<{ reason: string }>(`SELECT reason FROM login_log WHERE success = false ORDER BY id`);
    expect(rows.map((r) => r.reason)).toEqual(expect.arrayContaining(['captcha', 'bad_password', 'unknown_account']));
  });

  it('explains each missing login field', async () => {
    const r = await call(portal, 'POST', '/api/auth/login', { name: '' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('VALIDATION');
    expect(r.body.error.details.map((d: { path: string }) => d.path)).toEqual(['name', 'password', 'captchaId', 'captcha']);
    expect(r.body.error.message).toContain('请输入账户名');
  });

  it('slows an account down after 5 failures instead of locking it: the wait doubles and never passes 60 s', async () => {
    const hashOf = await import('../../auth/password.ts');
    await portal.deps.db.query(
      `INSERT INTO accounts (id, enterprise_id, name, role, password_hash) VALUES ('victim', 'demo-enterprise', 'victim', 'sub', $1)`,
      [await hashOf.hashPassword('Victim-pass-1234', 10)],
    );
    const waitS = async () =>
      (
        await portal.deps.db.query<{ s: number }>(
          `SELECT ceil(extract(epoch FROM locked_until - now()))::int AS s FROM login_throttle WHERE key = 'account:victim'`,
        )
      ).rows[0]?.s ?? 0;
    // Let the next try through, as the passing of the wait would.
    const pass = () =>
      portal.deps.db.query(`UPDATE login_throttle SET locked_until = now() - interval '1 second' WHERE key = 'account:victim'`);
    for (let i = 0; i < 5; i++) expect((await attempt('victim', 'bad-guess-' + i)).body.error.code).toBe('LOGIN_FAILED');
    const slowed = await attempt('victim', 'Victim-pass-1234');
    expect(slowed.status).toBe(429);
    expect(slowed.body.error.code).toBe('ACCOUNT_LOCKED');
    expect(slowed.body.error.message).toMatch(/请 \d+ 秒后再试/);
    expect(await waitS()).toBeLessThanOrEqual(2);
    await pass();
    expect((await attempt('victim', 'bad-guess-5')).body.error.code).toBe('LOGIN_FAILED');
    expect(await waitS()).toBe(4);
    // An attacker hammering the name for long keeps the wait at its ceiling, not a lock-out.
    for (let i = 0; i < 20; i++) {
      await pass();
      await attempt('victim', 'bad-guess-x' + i);
    }
    expect(await waitS()).toBeLessThanOrEqual(60);
    await pass();
    expect((await attempt('victim', 'Victim-pass-1234')).status).toBe(200);
    expect((await attempt(demo.admin.name, demo.admin.password)).status).toBe(200);
  });

  it('does not count wrong captchas against the client address', async () => {
    const ip = '203.0.113.7';
    for (let i = 0; i < 40; i++)
      expect((await attempt(demo.admin.name, demo.admin.password, ip, 'zzzz')).body.error.code).toBe('CAPTCHA_INVALID');
    expect((await attempt(demo.admin.name, demo.admin.password, ip)).status).toBe(200);
  });

  it('slows down one client address after 30 wrong passwords across accounts', async () => {
    const ip = '203.0.113.9';
    for (let i = 0; i < 30; i++) await attempt(`nobody-${i}`, 'x-wrong-1', ip);
    const r = await attempt(demo.admin.name, demo.admin.password, ip);
    expect(r.body.error.code).toBe('IP_THROTTLED');
    expect((await attempt(demo.admin.name, demo.admin.password)).status).toBe(200);
  });

  it('requires the session CSRF token on state-changing requests and refuses foreign origins', async () => {
    const a = await loginAdmin(portal);
    const noToken = await a.req('POST', '/api/feedback', { content: '没有令牌的请求' }, { 'x-csrf-token': '' });
    expect(noToken.status).toBe(403);
    expect(noToken.body.error.code).toBe('CSRF');
    const foreign = await a.req('POST', '/api/feedback', { content: '跨站请求的内容' }, { origin: 'https://evil.example' });
    expect(foreign.body.error.code).toBe('CSRF');
    expect((await a.req('POST', '/api/feedback', { content: '正常提交的反馈' })).status).toBe(200);
  });

  it('answers 401 without a session and ends the session at logout', async () => {
    expect((await call(portal, 'GET', '/api/accounts')).status).toBe(401);
    const a = await loginAdmin(portal);
    expect((await a.req('POST', '/api/auth/logout')).status).toBe(200);
    expect((await a.req('GET', '/api/auth/me')).body.error.code).toBe('SESSION_EXPIRED');
  });

  it('changes the password after checking the old one, and ends the other sessions', async () => {
    const hashOf = await import('../../auth/password.ts');
    await portal.deps.db.query(
      `INSERT INTO accounts (id, enterprise_id, name, role, password_hash, permissions) VALUES ('pw', 'demo-enterprise', 'pw-user', 'sub', $1, '["home"]')`,
      [await hashOf.hashPassword('First-pass-1', 10)],
    );
    const s1 = await login(portal, 'pw-user', 'First-pass-1');
    const s2 = await login(portal, 'pw-user', 'First-pass-1');
    expect((await s1.req('POST', '/api/auth/password', { oldPassword: 'nope-nope-1', newPassword: 'Second-pass-2' })).body.error.code).toBe(
      'WRONG_PASSWORD',
    );
    expect((await s1.req('POST', '/api/auth/password', { oldPassword: 'First-pass-1', newPassword: 'password1234' })).body.error.code).toBe(
      'WEAK_PASSWORD',
    );
    const short = await s1.req('POST', '/api/auth/password', { oldPassword: 'First-pass-1', newPassword: 'a1' });
    expect(short.body.error.details[0]).toMatchObject({ path: 'newPassword', message: '新密码至少 12 位' });
    expect((await s1.req('POST', '/api/auth/password', { oldPassword: 'First-pass-1', newPassword: 'Second-pass-2' })).status).toBe(200);
    expect((await s1.req('GET', '/api/auth/me')).status).toBe(200);
    expect((await s2.req('GET', '/api/auth/me')).status).toBe(401);
    await login(portal, 'pw-user', 'Second-pass-2');
  });
});
