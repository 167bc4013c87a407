import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { loginAdmin, loginSub, otherEnterprise, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';

describe('departments', () => {
  let portal: Portal;
  let admin: Client;
  beforeAll(async () => {
    portal = await testPortal();
    admin = await loginAdmin(portal);
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  it('adds a child department under a parent and lists the tree with counts', async () => {
    const root = await admin.req('POST', '/api/departments', { name: '研发中心' });
    expect(root.status).toBe(200);
    const child = await admin.req('POST', '/api/departments', { name: '平台组', parentId: root.body.id, sort: 2 });
    expect(child.body).toMatchObject({ name: '平台组', parentId: root.body.id, childCount: 0, memberCount: 0 });
    const list = await admin.req('GET', '/api/departments');
    expect(list.body.items.find((d: { id: string }) => d.id === root.body.id).childCount).toBe(1);
  });

  it('explains a missing name and an unknown parent', async () => {
    const r = await admin.req('POST', '/api/departments', { name: '  ' });
    expect(r.status).toBe(400);
    expect(r.body.error.details[0]).toMatchObject({ path: 'name', message: '请输入部门名称' });
    const p = await admin.req('POST', '/api/departments', { name: '孤儿', parentId: 'nope' });
    expect(p.body.error.message).toContain('上级部门不存在');
  });

  it('refuses to delete a department with children or members, saying which', async () => {
    const a = await admin.req('POST', '/api/departments', { name: '上级' });
    const b = await admin.req('POST', '/api/departments', { name: '下级', parentId: a.body.id });
    const withKids = await admin.req('DELETE', `/api/departments/${a.body.id}`);
    expect(withKids.status).toBe(409);
    expect(withKids.body.error).toMatchObject({ code: 'DEPT_HAS_CHILDREN' });
    expect(withKids.body.error.message).toContain('1 个下级部门');
    await admin.req('POST', '/api/accounts', { name: 'member-1', password: 'Member-pass-1', departmentId: b.body.id });
    const withMembers = await admin.req('DELETE', `/api/departments/${b.body.id}`);
    expect(withMembers.body.error.code).toBe('DEPT_HAS_MEMBERS');
    const empty = await admin.req('POST', '/api/departments', { name: '空部门' });
    expect((await admin.req('DELETE', `/api/departments/${empty.body.id}`)).status).toBe(200);
  });

  it('deletes a department whose only members were deleted (their history stays, the department may go)', async () => {
    const d = await admin.req('POST', '/api/departments', { name: '撤销组' });
    const m = await admin.req('POST', '/api/accounts', { name: 'leaver-dept', password: 'Leaver-pass-2024', departmentId: d.body.id });
    expect(m.status).toBe(200);
    expect((await admin.req('DELETE', `/api/departments/${d.body.id}`)).body.error.code).toBe('DEPT_HAS_MEMBERS');
    expect((await admin.req('DELETE', `/api/accounts/${m.body.id}`)).status).toBe(200);
    expect((await admin.req('GET', '/api/departments')).body.items.find((x: { id: string }) => x.id === d.body.id).memberCount).toBe(0);
    expect((await admin.req('DELETE', `/api/departments/${d.body.id}`)).status).toBe(200);
  });

  it('refuses to move a department under its own child', async () => {
    const a = await admin.req('POST', '/api/departments', { name: '甲' });
    const b = await admin.req('POST', '/api/departments', { name: '乙', parentId: a.body.id });
    const r = await admin.req('PUT', `/api/departments/${a.body.id}`, { name: '甲', parentId: b.body.id });
    expect(r.body.error.code).toBe('DEPT_CYCLE');
    const ok = await admin.req('PUT', `/api/departments/${b.body.id}`, { name: '乙改', parentId: null });
    expect(ok.body).toMatchObject({ name: '乙改', parentId: null });
  });

  it("gives another enterprise's admin 404 for our departments and never lists them", async () => {
    const other = await otherEnterprise(portal, 'dept');
    const ours = await admin.req('POST', '/api/departments', { name: '机密部门' });
    expect((await other.admin.req('PUT', `/api/departments/${ours.body.id}`, { name: '改名' })).status).toBe(404);
    expect((await other.admin.req('DELETE', `/api/departments/${ours.body.id}`)).status).toBe(404);
    expect((await other.admin.req('POST', '/api/departments', { name: '挂靠', parentId: ours.body.id })).status).toBe(400);
    const list = await other.admin.req('GET', '/api/departments');
    expect(list.body.items.map((d: { name: string }) => d.name)).toEqual(['其他部门']);
  });

  it('forbids a sub-account without 部门管理 to change departments', async () => {
    const sub = await loginSub(portal);
    const r = await sub.req('POST', '/api/departments', { name: '越权' });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('FORBIDDEN');
  });

  it('records every change in the operation log', async () => {
    const { rows } = await portal.deps.db.query<{ action: string }>(`SELECT action FROM op_log WHERE enterprise_id = 'demo-enterprise'`);
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['添加部门', '编辑部门', '删除部门']));
  });
});
