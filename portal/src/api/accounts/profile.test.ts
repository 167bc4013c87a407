import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { call, login, loginAdmin, otherEnterprise, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';

/** Issue 23: the admin edits their own phone in 账户设置, and it becomes the "forward replies to" default. */
describe('账户设置 › 本人资料 (PUT /api/account/profile)', () => {
  let portal: Portal;
  let admin: Client;
  beforeAll(async () => {
    portal = await testPortal();
    admin = await loginAdmin(portal);
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  it('the admin sets their own phone, which the send page then offers for forwarded replies', async () => {
    expect((await admin.req('PUT', `/api/accounts/${admin.me.id}`, { phone: '13800000001' })).body.error.code).toBe('CANNOT_MODIFY_SELF');
    const r = await admin.req('PUT', '/api/account/profile', { phone: '138-0000-0001', displayName: '王管理', email: 'wang@example.cn' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: 'demo', phone: '13800000001', displayName: '王管理', email: 'wang@example.cn' });
    expect((await admin.req('GET', '/api/account/profile')).body.phone).toBe('13800000001');
    expect((await admin.req('GET', '/api/industry/send-options')).body.forwardTo).toBe('13800000001');
  });

  it('refuses bad input with Chinese messages and changes nothing', async () => {
    const before = (await admin.req('GET', '/api/account/profile')).body;
    const bad = await admin.req('PUT', '/api/account/profile', { phone: '12345', email: 'not-an-email' });
    expect(bad.status).toBe(400);
    const messages = (bad.body.error.details as { message: string }[]).map((d) => d.message);
    expect(messages).toEqual(expect.arrayContaining(['手机号码格式不正确（应为 11 位大陆手机号）', '邮箱格式不正确']));
    expect((await admin.req('PUT', '/api/account/profile', { displayName: '长'.repeat(33) })).body.error.details[0].message).toBe(
      '姓名最多 32 个字',
    );
    expect((await admin.req('GET', '/api/account/profile')).body).toEqual(before);
  });

  it('changes only the caller’s contact details: no permissions, quota or role ride along', async () => {
    const sub = await login(portal, 'demo-sub', 'DemoSub-2024');
    const {
      rows: [b],
    } = await portal.deps.db.query<{ permissions: string[]; quota: string | null; role: string }>(
      `SELECT permissions, quota, role FROM accounts WHERE name = 'demo-sub'`,
    );
    const r = await sub.req('PUT', '/api/account/profile', { phone: '13900000002', permissions: ['accounts'], quota: null, role: 'admin' });
    expect(r.status).toBe(200);
    const {
      rows: [a],
    } = await portal.deps.db.query<{ permissions: string[]; quota: string | null; role: string; phone: string }>(
      `SELECT permissions, quota, role, phone FROM accounts WHERE name = 'demo-sub'`,
    );
    expect(a).toEqual({ ...b, phone: '13900000002' });
    // The admin's phone is untouched by the sub-account's edit, and another enterprise sees only itself.
    expect((await admin.req('GET', '/api/account/profile')).body.phone).toBe('13800000001');
    const other = await otherEnterprise(portal, 'prof');
    expect((await other.admin.req('GET', '/api/account/profile')).body).toMatchObject({ name: 'admin-prof', phone: '' });
  });

  it('needs a login session: an API key is refused, no credentials get 401', async () => {
    const key = (await admin.req('POST', '/api/api-keys', { name: '资料' })).body.key as string;
    const bearer = { authorization: `Bearer ${key}` };
    const byKey = await call(portal, 'PUT', '/api/account/profile', { phone: '13700000003' }, bearer);
    expect(byKey.status).toBe(403);
    expect(byKey.body.error.message).toMatch(/登录/);
    expect((await call(portal, 'PUT', '/api/account/profile', { phone: '13700000003' })).status).toBe(401);
    expect((await admin.req('GET', '/api/account/profile')).body.phone).toBe('13800000001');
  });

  it('writes 修改本人资料 to the operation log', async () => {
    const { rows } = await portal.deps.db.query<{ action: string; target: string }>(
      `SELECT action, target FROM op_log WHERE action = '修改本人资料' ORDER BY id`,
    );
    expect(rows.map((r) => r.target)).toEqual(['demo', 'demo-sub']);
  });
});
