import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { call, login, loginAdmin, loginOperator, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';

describe('enterprises opened by the platform operator', () => {
  let portal: Portal;
  let operator: Client;
  beforeAll(async () => {
    portal = await testPortal();
    operator = await loginOperator(portal);
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  it('opens an enterprise with its admin, who can log in and sees only it', async () => {
    const r = await operator.req('POST', '/api/operator/enterprises', {
      name: '新集团',
      quota: 2000,
      accessNumber: '10690001',
      adminName: 'new-admin',
      adminPassword: 'Fresh-start-2024',
    });
    expect(r.body).toMatchObject({ name: '新集团', quota: 2000, adminName: 'new-admin', accountCount: 1, status: 'active' });
    const admin = await login(portal, 'new-admin', 'Fresh-start-2024');
    expect((await admin.req('GET', '/api/home/quota')).body).toMatchObject({ enterpriseQuota: 2000, myQuota: null });
    expect((await admin.req('GET', '/api/departments')).body.items.map((d: { name: string }) => d.name)).toEqual(['新集团']);
    const edit = await operator.req('PUT', `/api/operator/enterprises/${r.body.id}`, { quota: 5000 });
    expect(edit.body.quota).toBe(5000);
  });

  it('explains bad input and refuses a taken admin name', async () => {
    const r = await operator.req('POST', '/api/operator/enterprises', {
      name: '',
      quota: -1,
      accessNumber: 'abc',
      adminName: 'x y',
      adminPassword: '1',
    });
    expect(r.body.error.details.map((d: { path: string }) => d.path)).toEqual(
      expect.arrayContaining(['name', 'quota', 'accessNumber', 'adminName', 'adminPassword']),
    );
    const taken = await operator.req('POST', '/api/operator/enterprises', {
      name: '重名',
      adminName: 'demo',
      adminPassword: 'Some-pass-1234',
    });
    expect(taken.body.error.code).toBe('NAME_TAKEN');
  });

  it('freezing an enterprise logs all its accounts out and ends their API keys', async () => {
    const admin = await loginAdmin(portal);
    const key = await admin.req('POST', '/api/api-keys', { name: 'k' });
    expect((await operator.req('POST', '/api/operator/enterprises/demo-enterprise/freeze')).body.status).toBe('frozen');
    expect((await admin.req('GET', '/api/auth/me')).status).toBe(401);
    expect((await call(portal, 'GET', '/api/v1/whoami', undefined, { authorization: `Bearer ${key.body.key}` })).status).toBe(401);
    await expect(loginAdmin(portal)).rejects.toThrow(/ACCOUNT_FROZEN/);
    await operator.req('POST', '/api/operator/enterprises/demo-enterprise/unfreeze');
    await loginAdmin(portal);
  });

  it('is for operators only', async () => {
    const admin = await loginAdmin(portal);
    expect((await admin.req('GET', '/api/operator/enterprises')).status).toBe(403);
    expect((await admin.req('POST', '/api/operator/enterprises/demo-enterprise/freeze')).status).toBe(403);
    expect((await operator.req('PUT', '/api/operator/enterprises/nope', { quota: 1 })).status).toBe(404);
  });
});
