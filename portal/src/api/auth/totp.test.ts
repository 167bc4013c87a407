import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpNow } from '../../auth/totp.ts';
import type { Portal } from '../../portal.ts';
import { call, demo, login, loginAdmin, nextIp, solveCaptcha, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';

/** Issue 17: an optional TOTP second factor for every account, required for operators, with one-time recovery codes. */
describe('TOTP second factor', () => {
  let portal: Portal;
  let admin: Client;
  beforeAll(async () => {
    portal = await testPortal({ operatorTotp: 'required' });
    admin = await loginAdmin(portal);
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  /** The first login step: name, password, captcha. */
  async function passwordStep(name: string, password: string, ip = nextIp()) {
    const cap = await solveCaptcha(portal, ip);
    return { ...(await call(portal, 'POST', '/api/auth/login', { name, password, ...cap }, { 'x-forwarded-for': ip })), ip };
  }
  /** The second step, from the client that passed the first. */
  const second = (first: { ip: string }, path: string, body: unknown, headers: Record<string, string> = {}) =>
    call(portal, 'POST', path, body, { 'x-forwarded-for': first.ip, ...headers });
  const later = (secret: string, steps: number) => totpNow(secret, Date.now() + steps * 30_000);

  let subSecret = '';
  let user2Secret = '';
  let recovery: string[] = [];

  it('any account enables it in its settings: a secret and an offline QR code, confirmed by a code from the app', async () => {
    await admin.req('POST', '/api/accounts', { name: 'totp-user', password: 'Totp-user-pass-1', permissions: ['home', 'apikeys'] });
    const s = await login(portal, 'totp-user', 'Totp-user-pass-1');
    expect((await s.req('GET', '/api/auth/totp')).body).toEqual({ enabled: false, required: false, recoveryCodesLeft: 0 });
    const setup = await s.req('POST', '/api/auth/totp/setup');
    expect(setup.status).toBe(200);
    expect(setup.body.otpauthUrl).toMatch(/^otpauth:\/\/totp\/.*secret=/);
    expect(setup.body.qrDataUrl).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(Buffer.from(setup.body.qrDataUrl.split(',')[1], 'base64').toString()).toMatch(/<svg/);
    subSecret = setup.body.secret;
    await admin.req('POST', '/api/accounts', { name: 'totp-user2', password: 'Totp-user-pass-2', permissions: ['home'] });
    const s2 = await login(portal, 'totp-user2', 'Totp-user-pass-2');
    user2Secret = (await s2.req('POST', '/api/auth/totp/setup')).body.secret;
    expect((await s2.req('POST', '/api/auth/totp/enable', { code: totpNow(user2Secret) })).status).toBe(200);
    const wrong = await s.req('POST', '/api/auth/totp/enable', { code: '000000' === totpNow(subSecret) ? '111111' : '000000' });
    expect(wrong.body.error.code).toBe('SECOND_FACTOR_INVALID');
    const on = await s.req('POST', '/api/auth/totp/enable', { code: totpNow(subSecret) });
    expect(on.status).toBe(200);
    recovery = on.body.recoveryCodes;
    expect(recovery).toHaveLength(10);
    expect(new Set(recovery).size).toBe(10);
    // Only hashes are kept.
    const { rows } = await portal.deps.db.query<{ code_hash: string }>(`SELECT code_hash FROM recovery_codes WHERE account_id = $1`, [
      s.me.id,
    ]);
    expect(rows.map((r) => r.code_hash)).not.toContain(recovery[0]);
    // Settings need a session: an API key cannot switch the factor.
    const key = (await s.req('POST', '/api/api-keys', { name: 'k' })).body.key;
    expect((await call(portal, 'POST', '/api/auth/totp/setup', undefined, { authorization: `Bearer ${key}` })).status).toBe(403);
  });

  it('then the password alone opens no session: the login asks for a code, and accepts each code only once', async () => {
    const first = await passwordStep('totp-user', 'Totp-user-pass-1');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ next: 'totp', challenge: expect.any(String) });
    expect(first.headers.get('set-cookie')).toBeNull();
    const bad = await second(first, '/api/auth/login/totp', { challenge: first.body.challenge, code: '12345' });
    expect(bad.body.error.code).toBe('SECOND_FACTOR_INVALID');
    const code = later(subSecret, 1);
    const ok = await second(first, '/api/auth/login/totp', { challenge: first.body.challenge, code });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ name: 'totp-user', csrfToken: expect.any(String) });
    expect(ok.headers.get('set-cookie')).toMatch(/^geo_sid=/);
    // The challenge is spent, and the same code does not work twice.
    expect((await second(first, '/api/auth/login/totp', { challenge: first.body.challenge, code })).body.error.code).toBe(
      'LOGIN_STEP_EXPIRED',
    );
    const again = await passwordStep('totp-user', 'Totp-user-pass-1');
    expect((await second(again, '/api/auth/login/totp', { challenge: again.body.challenge, code })).body.error.code).toBe(
      'SECOND_FACTOR_INVALID',
    );
  });

  it('a recovery code stands in for the app once', async () => {
    const a = await passwordStep('totp-user', 'Totp-user-pass-1');
    expect((await second(a, '/api/auth/login/totp', { challenge: a.body.challenge, code: recovery[0]!.toUpperCase() })).status).toBe(200);
    const b = await passwordStep('totp-user', 'Totp-user-pass-1');
    expect((await second(b, '/api/auth/login/totp', { challenge: b.body.challenge, code: recovery[0] })).body.error.code).toBe(
      'SECOND_FACTOR_INVALID',
    );
  });

  it('a challenge allows 5 wrong codes, then the login starts over', async () => {
    await portal.deps.db.query(`DELETE FROM login_throttle`);
    const a = await passwordStep('totp-user', 'Totp-user-pass-1');
    for (let i = 0; i < 5; i++) await second(a, '/api/auth/login/totp', { challenge: a.body.challenge, code: `00000${i}` });
    await portal.deps.db.query(`DELETE FROM login_throttle`);
    const r = await second(a, '/api/auth/login/totp', { challenge: a.body.challenge, code: later(subSecret, 2) });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('LOGIN_STEP_EXPIRED');
  });

  let opSecret = '';
  it('an operator without a second factor is taken through enrolment at its first login, and cannot switch it off', async () => {
    const first = await passwordStep(demo.operator.name, demo.operator.password);
    expect(first.body).toEqual({ next: 'enrol', challenge: expect.any(String) });
    const e = await second(first, '/api/auth/login/enrol', { challenge: first.body.challenge });
    expect(e.body.qrDataUrl).toMatch(/^data:image\/svg\+xml;base64,/);
    opSecret = e.body.secret;
    const done = await second(first, '/api/auth/login/enrol/confirm', { challenge: first.body.challenge, code: totpNow(opSecret) });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ role: 'operator', recoveryCodes: expect.any(Array) });
    const cookie = done.headers.get('set-cookie')!.split(';')[0]!;
    const status = await call(portal, 'GET', '/api/auth/totp', undefined, { cookie });
    expect(status.body).toEqual({ enabled: true, required: true, recoveryCodesLeft: 10 });
    const off = await call(
      portal,
      'POST',
      '/api/auth/totp/disable',
      { password: demo.operator.password, code: later(opSecret, 1) },
      { cookie, 'x-csrf-token': done.body.csrfToken },
    );
    expect(off.body.error.code).toBe('TOTP_REQUIRED');
    const next = await passwordStep(demo.operator.name, demo.operator.password);
    expect(next.body.next).toBe('totp');
  });

  it('switching it off needs the password and a code', async () => {
    const a = await passwordStep('totp-user', 'Totp-user-pass-1');
    const ok = await second(a, '/api/auth/login/totp', { challenge: a.body.challenge, code: recovery[1] });
    const h = { cookie: ok.headers.get('set-cookie')!.split(';')[0]!, 'x-csrf-token': ok.body.csrfToken };
    expect(
      (await call(portal, 'POST', '/api/auth/totp/disable', { password: 'wrong-password-1', code: recovery[2] }, h)).body.error.code,
    ).toBe('SECOND_FACTOR_INVALID');
    expect((await call(portal, 'POST', '/api/auth/totp/disable', { password: 'Totp-user-pass-1', code: recovery[3] }, h)).status).toBe(200);
    expect((await passwordStep('totp-user', 'Totp-user-pass-1')).body).toMatchObject({ name: 'totp-user', csrfToken: expect.any(String) });
  });
  it('the second step is answered only by the client that passed the first (same address and browser), else 401', async () => {
    await portal.deps.db.query(`DELETE FROM login_throttle`);
    const ua = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' };
    const ip = nextIp();
    const cap = await solveCaptcha(portal, ip);
    const first = {
      ...(await call(
        portal,
        'POST',
        '/api/auth/login',
        { name: 'totp-user2', password: 'Totp-user-pass-2', ...cap },
        { 'x-forwarded-for': ip, ...ua },
      )),
      ip,
    };
    expect(first.body.next).toBe('totp');
    const code = later(user2Secret, 1);
    const elsewhere = await call(
      portal,
      'POST',
      '/api/auth/login/totp',
      { challenge: first.body.challenge, code },
      { 'x-forwarded-for': nextIp(), ...ua },
    );
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.body.error).toMatchObject({ code: 'LOGIN_STEP_CLIENT', message: expect.stringMatching(/[\u4e00-\u9fff]/) });
    const otherBrowser = await second(
      first,
      '/api/auth/login/totp',
      { challenge: first.body.challenge, code },
      { 'user-agent': 'curl/8.5.0' },
    );
    expect(otherBrowser.status).toBe(401);
    expect(otherBrowser.body.error.code).toBe('LOGIN_STEP_CLIENT');
    // Neither spent the challenge nor the code: the client itself still logs in with them.
    const ok = await second(first, '/api/auth/login/totp', { challenge: first.body.challenge, code }, ua);
    expect(ok.status).toBe(200);
  });
});
