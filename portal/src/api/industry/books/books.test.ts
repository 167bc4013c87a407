import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginAdmin, loginSub, START_TIMEOUT } from '../../../test/harness.ts';
import { importAndWait, industryTestApp, otherEnterpriseAdmin, subWith, type IndustryTestApp, type Requester } from '../test-app.ts';

describe('address books', () => {
  let t: IndustryTestApp;
  let admin: Requester;
  let sub: Requester;
  let other: Requester;
  beforeAll(async () => {
    t = await industryTestApp();
    admin = t.as(await loginAdmin(t.portal));
    sub = t.as(await loginSub(t.portal));
    other = t.as(await otherEnterpriseAdmin(t.portal));
  }, START_TIMEOUT);
  afterAll(async () => t?.stop());

  it('builds a group tree and refuses to delete a group with subgroups or contacts, saying why', async () => {
    const fam = await sub('POST', '/api/industry/books/personal/groups', { name: '家人' });
    expect(fam.status).toBe(200);
    const kid = await sub('POST', '/api/industry/books/personal/groups', { name: '表亲', parentId: fam.body.id });
    const dup = await sub('POST', '/api/industry/books/personal/groups', { name: '家人' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.message).toContain('已有名为“家人”的分组');
    const c = await sub('POST', '/api/industry/books/personal/contacts', { name: '张三', phone: '138-0013-8000', groupIds: [kid.body.id] });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ phone: '13800138000', groupNames: ['表亲'] });
    const d1 = await sub('DELETE', `/api/industry/books/personal/groups/${fam.body.id}`);
    expect(d1.status).toBe(409);
    expect(d1.body.error).toMatchObject({ code: 'GROUP_HAS_CHILDREN', message: '分组“家人”下还有 1 个子分组，请先删除子分组' });
    const d2 = await sub('DELETE', `/api/industry/books/personal/groups/${kid.body.id}`);
    expect(d2.body.error).toMatchObject({ code: 'GROUP_HAS_CONTACTS', message: '分组“表亲”下还有 1 个联系人，请先清空联系人' });
    expect((await sub('PUT', `/api/industry/books/personal/groups/${kid.body.id}`, { name: '亲戚' })).status).toBe(200);
    await sub('DELETE', `/api/industry/books/personal/contacts/${c.body.id}`);
    expect((await sub('DELETE', `/api/industry/books/personal/groups/${kid.body.id}`)).status).toBe(200);
    // Another tenant cannot touch it.
    expect((await other('DELETE', `/api/industry/books/personal/groups/${fam.body.id}`)).status).toBe(404);
  });

  it('files a contact without groups under 未分配组, and validates name and phone in Chinese', async () => {
    const r = await sub('POST', '/api/industry/books/personal/contacts', { name: '李四', phone: '13900139000' });
    expect(r.body.groupIds).toEqual([]);
    const tree = await sub('GET', '/api/industry/books/personal/groups');
    expect(tree.body.unassigned).toBeGreaterThanOrEqual(1);
    const list = await sub('GET', '/api/industry/books/personal/contacts?groupId=unassigned');
    expect(list.body.items.map((x: { name: string }) => x.name)).toContain('李四');
    const noName = await sub('POST', '/api/industry/books/personal/contacts', { name: ' ', phone: '13900139001' });
    expect(noName.status).toBe(400);
    expect(noName.body.error.message).toContain('请输入姓名');
    const badPhone = await sub('POST', '/api/industry/books/personal/contacts', { name: '王五', phone: '123' });
    expect(badPhone.body.error.message).toBe('手机号码“123”无效');
    const taken = await sub('POST', '/api/industry/books/personal/contacts', { name: '李四二', phone: '13900139000' });
    expect(taken.status).toBe(409);
    expect((await other('GET', `/api/industry/books/personal/contacts/${r.body.id}`)).status).toBe(404);
  });

  it('copies, moves, sorts and deletes selected contacts', async () => {
    const g1 = (await sub('POST', '/api/industry/books/personal/groups', { name: '同事' })).body.id;
    const g2 = (await sub('POST', '/api/industry/books/personal/groups', { name: '客户' })).body.id;
    const a = (await sub('POST', '/api/industry/books/personal/contacts', { name: '甲', phone: '13700000001', groupIds: [g1] })).body.id;
    const b = (await sub('POST', '/api/industry/books/personal/contacts', { name: '乙', phone: '13700000002', groupIds: [g1] })).body.id;
    await sub('POST', '/api/industry/books/personal/contacts/copy', { ids: [a], groupIds: [g2] });
    expect((await sub('GET', `/api/industry/books/personal/contacts/${a}`)).body.groupIds.sort()).toEqual([g1, g2].sort());
    await sub('POST', '/api/industry/books/personal/contacts/move', { ids: [b], groupIds: [g2] });
    expect((await sub('GET', `/api/industry/books/personal/contacts/${b}`)).body.groupIds).toEqual([g2]);
    await sub('POST', '/api/industry/books/personal/contacts/sort', { ids: [b], sort: -5 });
    const inG2 = await sub('GET', `/api/industry/books/personal/contacts?groupId=${g2}`);
    expect(inG2.body.items.map((x: { name: string }) => x.name)).toEqual(['乙', '甲']);
    const none = await sub('POST', '/api/industry/books/personal/contacts/move', { ids: [], groupIds: [g2] });
    expect(none.body.error.message).toContain('请先选择联系人');
    expect((await other('POST', '/api/industry/books/personal/contacts/delete', { ids: [a] })).status).toBe(404);
    expect((await sub('POST', '/api/industry/books/personal/contacts/delete', { ids: [a, b] })).body.deleted).toBe(2);
  });

  it('imports TXT with a row-level report and round-trips an Excel export with escaped cells', async () => {
    const g = (await admin('POST', '/api/industry/books/personal/groups', { name: '导入组' })).body.id;
    const txt = ['姓名,手机号码', '赵一,13600000001', '钱二,bad', ',13600000003', '孙三,13600000001', '=HYPERLINK("x"),13600000004'].join(
      '\n',
    );
    const f = new FormData();
    f.set('file', new Blob([txt]), 'c.txt');
    f.set('groupIds', g);
    const imp = await importAndWait(admin, 'personal', f);
    expect(imp.status).toBe(200);
    expect(imp.body).toMatchObject({ phase: 'done', percent: 100, rows: 6, imported: 2, rejectedTotal: 3 });
    expect(imp.body.rejected.map((r: { line: number; reason: string }) => `${r.line}:${r.reason}`)).toEqual([
      '3:invalid',
      '4:no_name',
      '5:duplicate',
    ]);
    const exp = await admin('GET', `/api/industry/books/personal/export?groupId=${g}`);
    expect(exp.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(exp.bytes.buffer as ArrayBuffer);
    const names = wb.worksheets[0]!.getColumn(1).values.slice(2);
    expect(names).toContain('\'=HYPERLINK("x")');
    // Re-import the export: every number is already there.
    const again = new FormData();
    again.set('file', new Blob([exp.bytes as unknown as BlobPart]), 'export.xlsx');
    const imp2 = await importAndWait(admin, 'personal', again);
    expect(imp2.body).toMatchObject({ phase: 'done', imported: 0, rejectedTotal: 2 });
    expect(imp2.body.rejected[0].reason).toBe('exists');
    const tpl = await admin('GET', '/api/industry/upload-templates/contacts');
    expect(tpl.headers.get('content-type')).toContain('spreadsheetml');
  });

  it('keeps the enterprise book on the department tree, editable only by those permitted', async () => {
    const depts = await sub('GET', '/api/industry/books/enterprise/groups');
    expect(depts.body.items.map((d: { name: string }) => d.name)).toEqual(expect.arrayContaining(['总部', '运营部', '市场部']));
    const denied = await sub('POST', '/api/industry/books/enterprise/contacts', {
      name: '企业人',
      phone: '13500000001',
      groupIds: ['demo-dept-ops'],
    });
    expect(denied.status).toBe(403);
    const ok = await admin('POST', '/api/industry/books/enterprise/contacts', {
      name: '企业人',
      phone: '13500000001',
      groupIds: ['demo-dept-ops'],
    });
    expect(ok.body.groupNames).toEqual(['运营部']);
    const list = await sub('GET', '/api/industry/books/enterprise/contacts?groupId=demo-dept-ops');
    expect(list.body.items.map((x: { phone: string }) => x.phone)).toEqual(['13500000001']);
    expect((await other('GET', '/api/industry/books/enterprise/contacts')).body.total).toBe(0);
    const foreignDept = await other('POST', '/api/industry/books/enterprise/contacts', {
      name: 'x',
      phone: '13500000002',
      groupIds: ['demo-dept-ops'],
    });
    expect(foreignDept.status).toBe(404);
    const nobook = t.as(await subWith(t.portal, 'no_book', ['sms.send']));
    expect((await nobook('GET', '/api/industry/books/personal/groups')).status).toBe(403);
  });

  it('sends to picked groups and departments, reporting numbers that appear twice', async () => {
    const g = (await admin('POST', '/api/industry/books/personal/groups', { name: '发送组' })).body.id;
    await admin('POST', '/api/industry/books/personal/contacts', { name: '收件人', phone: '13500000001', groupIds: [g] });
    const chk = await admin('POST', '/api/industry/sends/check', {
      groupIds: [g],
      departmentIds: ['demo-dept-ops'],
      recipients: '13600000009',
      content: '通知',
    });
    expect(chk.body.recipients).toBe(2);
    expect(chk.body.rejected).toEqual([expect.objectContaining({ reason: 'duplicate', source: '通讯录' })]);
    const foreign = await other('POST', '/api/industry/sends/check', { groupIds: [g], content: '通知' });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.code).toBe('NO_RECIPIENTS');
  });
});
