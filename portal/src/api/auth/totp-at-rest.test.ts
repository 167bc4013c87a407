import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTotpSecret, totpNow } from '../../auth/totp.ts';
import type { Portal } from '../../portal.ts';
import { call, login, loginAdmin, nextIp, solveCaptcha, testPortal } from '../../test/harness.ts';

/**
 * Each test starts a portal on an on-disk PGlite (every migration, the demo seed): ~5 s alone, ~24 s
 * under CI's load — near the unit project's 30 s. Slack, not a figure: nothing here is timed.
 */
const START_SLACK = 120_000;

const later = (secret: string, steps: number) => totpNow(secret, Date.now() + steps * 30_000);

/** Both login steps from one client; the second answered with `code`. */
async function totpLogin(portal: Portal, name: string, password: string, code: string) {
  const ip = nextIp();
  const cap = await solveCaptcha(portal, ip);
  const first = await call(portal, 'POST', '/api/auth/login', { name, password, ...cap }, { 'x-forwarded-for': ip });
  expect(first.body).toEqual({ next: 'totp', challenge: expect.any(String) });
  return call(portal, 'POST', '/api/auth/login/totp', { challenge: first.body.challenge, code }, { 'x-forwarded-for': ip });
}

/** Issue 17: TOTP shared secrets are sealed with AES-256-GCM under a key kept outside the database. */
describe('TOTP secrets at rest', () => {
  let dir: string;
  let portal: Portal | undefined;
  const pgliteDir = () => join(dir, 'pglite');
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'totp-at-rest-'));
  });
  afterAll(async () => {
    await portal?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let secret = '';
  it(
    'the database row holds neither the pending nor the confirmed secret, and login with a code still works',
    async () => {
      portal = await testPortal({ pgliteDir: pgliteDir() });
      // No key configured: one was generated beside the database, readable by the portal's user only.
      expect(statSync(join(dir, 'secrets.key')).mode & 0o777).toBe(0o600);
      const admin = await loginAdmin(portal);
      await admin.req('POST', '/api/accounts', { name: 'sealed-user', password: 'Sealed-user-pass-1', permissions: ['home'] });
      const s = await login(portal, 'sealed-user', 'Sealed-user-pass-1');
      secret = (await s.req('POST', '/api/auth/totp/setup')).body.secret;
      const pending = await portal.deps.db.query<{ p: string }>(`SELECT totp_pending_secret AS p FROM accounts WHERE name = 'sealed-user'`);
      expect(pending.rows[0]!.p).not.toContain(secret);
      expect(pending.rows[0]!.p).toMatch(/^v1:/);
      expect((await s.req('POST', '/api/auth/totp/enable', { code: totpNow(secret) })).status).toBe(200);
      const row = await portal.deps.db.query<{ t: string }>(`SELECT totp_secret AS t FROM accounts WHERE name = 'sealed-user'`);
      expect(row.rows[0]!.t).toMatch(/^v1:/);
      expect(row.rows[0]!.t).not.toContain(secret);
      const ok = await totpLogin(portal, 'sealed-user', 'Sealed-user-pass-1', later(secret, 1));
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ name: 'sealed-user' });
    },
    START_SLACK,
  );

  const oldSecret = newTotpSecret();
  it(
    'a secret stored in clear before is sealed at the next start, and its codes keep working',
    async () => {
      // A row as the portal wrote it before sealing existed.
      await portal!.deps.db.query(`UPDATE accounts SET totp_secret = $1, totp_last_step = NULL WHERE name = 'sealed-user'`, [oldSecret]);
      await portal!.stop();
      portal = await testPortal({ pgliteDir: pgliteDir() });
      const row = await portal.deps.db.query<{ t: string }>(`SELECT totp_secret AS t FROM accounts WHERE name = 'sealed-user'`);
      expect(row.rows[0]!.t).toMatch(/^v1:/);
      expect(row.rows[0]!.t).not.toContain(oldSecret);
      const ok = await totpLogin(portal, 'sealed-user', 'Sealed-user-pass-1', totpNow(oldSecret));
      expect(ok.status).toBe(200);
    },
    START_SLACK,
  );

  it(
    'a start with another key stops with a clear error instead of failing each login',
    async () => {
      await portal!.stop();
      portal = undefined;
      const wrong = randomBytes(32).toString('base64');
      await expect(testPortal({ pgliteDir: pgliteDir(), secretsKey: wrong })).rejects.toThrow(/secrets key \(SECRETS_KEY\) does not open/);
      await expect(testPortal({ pgliteDir: pgliteDir(), secretsKey: 'too-short' })).rejects.toThrow(/SECRETS_KEY must be 32 bytes/);
    },
    START_SLACK,
  );
});
