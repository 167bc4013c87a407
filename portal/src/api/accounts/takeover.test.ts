import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { login, loginAdmin, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';

/** Issue 17: an account manager may act only on accounts whose permissions are a subset of its own. */
describe('account management stays within the manager’s own permissions', () => {
  let portal: Portal;
  let admin: Client;
  let manager: Client;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    portal = await testPortal();
    admin = await loginAdmin(portal);
    const create = async (name: string, permissions: string[]) => {
      const r = await admin.req('POST', '/api/accounts', { name, password: 'Start-pass-1234', departmentId: 'demo-dept-ops', permissions });
      if (r.status !== 200) throw new Error(JSON.stringify(r.body));
      ids[name] = r.body.id;
    };
    await create('acct-manager', ['accounts', 'home']);
    await create('rich-sub', ['home', 'sms.send', 'sms.sent', 'contacts', 'apikeys']);
    await create('poor-sub', ['home']);
    manager = await login(portal, 'acct-manager', 'Start-pass-1234');
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  it('refuses to reset the password of an account holding more permissions, so it cannot be taken over', async () => {
    const r = await manager.req('POST', `/api/accounts/${ids['rich-sub']}/reset-password`, { password: 'Taken-over-1234' });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('FORBIDDEN');
    expect(r.body.error.message).toMatch(/权限/);
    await expect(login(portal, 'rich-sub', 'Taken-over-1234')).rejects.toThrow(/LOGIN_FAILED/);
  });

  it('refuses edit, freeze, unfreeze, delete, default signature and permission changes on such an account', async () => {
    const id = ids['rich-sub'];
    for (const [m, path, body] of [
      ['PUT', `/api/accounts/${id}`, { remark: '被改了' }],
      ['POST', `/api/accounts/${id}/freeze`, undefined],
      ['POST', `/api/accounts/${id}/unfreeze`, undefined],
      ['PUT', `/api/accounts/${id}/default-signature`, { signatureId: null }],
      ['PUT', `/api/accounts/${id}/permissions`, { permissions: ['home'] }],
      ['DELETE', `/api/accounts/${id}`, undefined],
    ] as const) {
      const r = await manager.req(m, path, body);
      expect(r.status, `${m} ${path}`).toBe(403);
    }
    const still = await admin.req('GET', `/api/accounts/${id}`);
    expect(still.body).toMatchObject({
      status: 'active',
      remark: '',
      permissions: ['home', 'sms.send', 'sms.sent', 'contacts', 'apikeys'],
    });
  });

  it('still manages an account whose permissions are within its own, and never grants more than it holds', async () => {
    const id = ids['poor-sub'];
    expect((await manager.req('POST', `/api/accounts/${id}/reset-password`, { password: 'Reset-pass-1234' })).status).toBe(200);
    await login(portal, 'poor-sub', 'Reset-pass-1234');
    const grant = await manager.req('PUT', `/api/accounts/${id}/permissions`, { permissions: ['home', 'sms.send'] });
    expect(grant.status).toBe(403);
    expect(grant.body.error.message).toContain('sms.send');
    expect((await manager.req('PUT', `/api/accounts/${id}/permissions`, { permissions: ['home', 'accounts'] })).status).toBe(200);
  });

  it('the enterprise admin still manages every sub-account', async () => {
    expect((await admin.req('PUT', `/api/accounts/${ids['rich-sub']}`, { remark: '管理员可改' })).status).toBe(200);
  });
});
