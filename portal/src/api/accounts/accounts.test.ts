import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { call, login, loginAdmin, otherEnterprise, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';

describe('account management', () => {
  let portal: Portal;
  let admin: Client;
  beforeAll(async () => {
    portal = await testPortal();
    admin = await loginAdmin(portal);
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  const create = (name: string, extra: Record<string, unknown> = {}) =>
    admin.req('POST', '/api/accounts', {
      name,
      password: 'Start-pass-1',
      departmentId: 'demo-dept-ops',
      permissions: ['home', 'signatures'],
      ...extra,
    });

  it('adds a sub-account in a department with permissions, and shows it', async () => {
    const r = await create('zhangsan', { displayName: '张三', phone: '138-0013-8000', quota: 500 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      name: 'zhangsan',
      role: 'sub',
      departmentName: '运营部',
      phone: '13800138000',
      permissions: ['home', 'signatures'],
      quota: 500,
      status: 'active',
    });
    const view = await admin.req('GET', `/api/accounts/${r.body.id}`);
    expect(view.body.displayName).toBe('张三');
    const list = await admin.req('GET', '/api/accounts?keyword=zhang');
    expect(list.body.items.map((a: { name: string }) => a.name)).toEqual(['zhangsan']);
  });

  it('explains bad fields: name characters, phone, weak password, unknown permission, taken name', async () => {
    const r = await admin.req('POST', '/api/accounts', { name: 'bad name!', password: 'x', phone: '12345', permissions: ['root'] });
    expect(r.status).toBe(400);
    const paths = r.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'password', 'phone', 'permissions.0']));
    expect(r.body.error.message).toContain('手机号码格式不正确');
    expect((await create('weakling', { password: 'password1234' })).body.error.code).toBe('WEAK_PASSWORD');
    expect((await create('DEMO')).body.error.code).toBe('NAME_TAKEN');
    expect((await create('nodept', { departmentId: 'dept-x' })).body.error.message).toContain('部门不存在');
  });

  it('edits, assigns permissions, and the new permissions apply at once', async () => {
    const a = await create('lisi');
    const s = await login(portal, 'lisi', 'Start-pass-1');
    expect((await s.req('GET', '/api/departments')).status).toBe(403);
    const e = await admin.req('PUT', `/api/accounts/${a.body.id}`, { displayName: '李四', quota: null });
    expect(e.body).toMatchObject({ displayName: '李四', quota: null });
    const p = await admin.req('PUT', `/api/accounts/${a.body.id}/permissions`, { permissions: ['departments'] });
    expect(p.body.permissions).toEqual(['departments']);
    expect((await s.req('GET', '/api/departments')).status).toBe(200);
    expect((await s.req('GET', '/api/signatures')).status).toBe(403);
  });

  it('freezing ends live sessions and API keys, and blocks login until unfrozen', async () => {
    const a = await create('wangwu', { permissions: ['home', 'apikeys'] });
    const s = await login(portal, 'wangwu', 'Start-pass-1');
    const key = await s.req('POST', '/api/api-keys', { name: '对接系统' });
    const bearer = { authorization: `Bearer ${key.body.key}` };
    expect((await call(portal, 'GET', '/api/v1/whoami', undefined, bearer)).body).toMatchObject({ name: 'wangwu', via: 'apikey' });
    expect((await admin.req('POST', `/api/accounts/${a.body.id}/freeze`)).body.status).toBe('frozen');
    expect((await s.req('GET', '/api/auth/me')).status).toBe(401);
    expect((await call(portal, 'GET', '/api/v1/whoami', undefined, bearer)).status).toBe(401);
    await expect(login(portal, 'wangwu', 'Start-pass-1')).rejects.toThrow(/ACCOUNT_FROZEN/);
    await admin.req('POST', `/api/accounts/${a.body.id}/unfreeze`);
    await login(portal, 'wangwu', 'Start-pass-1');
    // The keys stay ended: unfreezing does not bring a leaked key back.
    expect((await call(portal, 'GET', '/api/v1/whoami', undefined, bearer)).status).toBe(401);
  });

  it('resets a password, ending that account’s sessions', async () => {
    const a = await create('zhaoliu');
    const s = await login(portal, 'zhaoliu', 'Start-pass-1');
    expect(
      (await admin.req('POST', `/api/accounts/${a.body.id}/reset-password`, { password: 'short' })).body.error.details[0].message,
    ).toBe('新密码至少 12 位');
    expect((await admin.req('POST', `/api/accounts/${a.body.id}/reset-password`, { password: 'Reset-pass-2' })).status).toBe(200);
    expect((await s.req('GET', '/api/auth/me')).status).toBe(401);
    await login(portal, 'zhaoliu', 'Reset-pass-2');
  });

  it('sets an approved default signature only', async () => {
    const a = await create('qianqi');
    const ok = await admin.req('PUT', `/api/accounts/${a.body.id}/default-signature`, { signatureId: 'demo-signature' });
    expect(ok.body).toMatchObject({ defaultSignatureId: 'demo-signature', defaultSignature: '翼讯通' });
    const pending = await admin.req('POST', '/api/signatures', { text: '待审签名' });
    expect((await admin.req('PUT', `/api/accounts/${a.body.id}/default-signature`, { signatureId: pending.body.id })).body.error.code).toBe(
      'SIGNATURE_NOT_APPROVED',
    );
  });

  it('deletes a sub-account, but never the admin itself', async () => {
    const a = await create('sunba');
    expect((await admin.req('DELETE', `/api/accounts/${a.body.id}`)).status).toBe(200);
    expect((await admin.req('GET', `/api/accounts/${a.body.id}`)).status).toBe(404);
    expect((await admin.req('DELETE', `/api/accounts/${admin.me.id}`)).body.error.code).toBe('CANNOT_MODIFY_SELF');
  });

  it('a sub-account with 账户管理 cannot touch the admin nor grant what it lacks', async () => {
    await create('manager', { permissions: ['accounts', 'home'] });
    const m = await login(portal, 'manager', 'Start-pass-1');
    expect((await m.req('POST', `/api/accounts/demo-admin/freeze`)).status).toBe(403);
    const grant = await m.req('POST', '/api/accounts', { name: 'helper', password: 'Start-pass-1', permissions: ['settings.logs'] });
    expect(grant.status).toBe(403);
    expect(grant.body.error.message).toContain('settings.logs');
    expect((await m.req('POST', '/api/accounts', { name: 'helper', password: 'Start-pass-1', permissions: ['home'] })).status).toBe(200);
  });

  it('a sub-account without 账户管理 is refused every account action', async () => {
    const s = await login(portal, 'demo-sub', 'DemoSub-2024');
    for (const [m, path] of [
      ['GET', '/api/accounts'],
      ['POST', '/api/accounts'],
      ['POST', '/api/accounts/demo-admin/freeze'],
    ] as const) {
      const r = await s.req(m, path, m === 'POST' ? { name: 'x1', password: 'Start-pass-1' } : undefined);
      expect(r.status, `${m} ${path}`).toBe(403);
    }
  });

  it('another enterprise gets 404 for our accounts and lists only its own', async () => {
    const other = await otherEnterprise(portal, 'acct');
    const ours = await create('secret-user');
    for (const [m, path] of [
      ['GET', `/api/accounts/${ours.body.id}`],
      ['PUT', `/api/accounts/${ours.body.id}`],
      ['POST', `/api/accounts/${ours.body.id}/freeze`],
      ['POST', `/api/accounts/${ours.body.id}/reset-password`],
      ['DELETE', `/api/accounts/${ours.body.id}`],
    ] as const) {
      const r = await other.admin.req(m, path, m === 'GET' || m === 'DELETE' ? undefined : { password: 'Other-pass-9' });
      expect(r.status, `${m} ${path}`).toBe(404);
    }
    // Nor can it put its account into our department.
    const r = await other.admin.req('POST', '/api/accounts', { name: 'intruder', password: 'Start-pass-1', departmentId: 'demo-dept-ops' });
    expect(r.status).toBe(400);
    const list = await other.admin.req('GET', '/api/accounts');
    expect(list.body.items.map((a: { name: string }) => a.name)).toEqual(['admin-acct']);
  });

  it('logs who did each change', async () => {
    const { rows } = await portal.deps.db.query<{ action: string; account_name: string }>(
      `SELECT action, account_name FROM op_log WHERE target = 'wangwu' AND action <> '登录' ORDER BY id`,
    );
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['添加子账户', '冻结账户', '解冻账户']));
    expect(rows.every((r) => r.account_name === 'demo')).toBe(true);
  });
});
