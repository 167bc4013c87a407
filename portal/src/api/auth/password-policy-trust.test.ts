import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { login, loginAdmin, loginOperator, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';

/**
 * Issue 17, ASVS 2.1 through the API, for every way a password is set: length counts, not character
 * classes ("correct horse battery staple" passes, "password1" does not), and common passwords are
 * refused. The function has its table in `auth/password.test.ts`; this walks the routes.
 */
describe('the password policy on every route that sets a password', () => {
  let portal: Portal;
  let admin: Client;
  let operator: Client;
  const PASSPHRASE = 'correct horse battery staple';
  const REFUSED = [
    ['password1', /至少 12 位/],
    ['password1234', /常见/],
    ['qwertyuiop123', /常见/],
  ] as const;

  beforeAll(async () => {
    portal = await testPortal();
    admin = await loginAdmin(portal);
    operator = await loginOperator(portal);
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  const refusedWeak = (r: { status: number; body: any }, why: RegExp) => {
    expect(r.status).toBe(400);
    // Under 12 characters the field's schema refuses it (VALIDATION); a long common one is WEAK_PASSWORD.
    expect(['VALIDATION', 'WEAK_PASSWORD']).toContain(r.body.error.code);
    expect(r.body.error.message).toMatch(why);
  };

  it('creating a sub-account: the passphrase of four words is taken and logs in; short and common ones are refused, saying why', async () => {
    for (const [pw, why] of REFUSED) refusedWeak(await admin.req('POST', '/api/accounts', { name: `weak${pw.length}`, password: pw }), why);
    expect((await admin.req('POST', '/api/accounts', { name: 'phrase-user', password: PASSPHRASE })).status).toBe(200);
    expect((await login(portal, 'phrase-user', PASSPHRASE)).me.id).toBeTruthy();
  });

  it('an administrator resetting a password, and an account changing its own', async () => {
    const id = (await admin.req('POST', '/api/accounts', { name: 'reset-user', password: 'Start-pass-1234' })).body.id;
    for (const [pw, why] of REFUSED) refusedWeak(await admin.req('POST', `/api/accounts/${id}/reset-password`, { password: pw }), why);
    expect((await admin.req('POST', `/api/accounts/${id}/reset-password`, { password: PASSPHRASE })).status).toBe(200);
    const self = await login(portal, 'reset-user', PASSPHRASE);
    for (const [pw, why] of REFUSED)
      refusedWeak(await self.req('POST', '/api/auth/password', { oldPassword: PASSPHRASE, newPassword: pw }), why);
    const next = 'tea kettle on the stove';
    expect((await self.req('POST', '/api/auth/password', { oldPassword: PASSPHRASE, newPassword: next })).status).toBe(200);
    expect((await login(portal, 'reset-user', next)).me.id).toBe(id);
  });

  it('the platform operator opening an enterprise: its admin password follows the same policy', async () => {
    const open = (adminName: string, adminPassword: string) =>
      operator.req('POST', '/api/operator/enterprises', { name: `口令测试${adminName}`, quota: 10, adminName, adminPassword });
    for (const [pw, why] of REFUSED) refusedWeak(await open(`ent-weak-${pw.length}`, pw), why);
    expect((await open('ent-phrase', PASSPHRASE)).status).toBe(200);
    expect((await login(portal, 'ent-phrase', PASSPHRASE)).me.role).toBe('admin');
  });
});
