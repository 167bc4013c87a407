import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { onePagePdf, tinyPng } from '../../http/document-fixtures.ts';
import { call, loginAdmin, loginOperator, loginSub, otherEnterprise, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';

const PNG = tinyPng();
const PDF = onePagePdf();

async function upload(c: Client, path: string, bytes: Uint8Array, name: string, fields: Record<string, string> = {}) {
  const form = new FormData();
  form.set('file', new File([bytes as Uint8Array<ArrayBuffer>], name, { type: 'application/octet-stream' }));
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  return c.reqRaw('POST', path, form);
}

describe('platform settings, messages, feedback and API keys', () => {
  let portal: Portal;
  let admin: Client;
  beforeAll(async () => {
    portal = await testPortal();
    admin = await loginAdmin(portal);
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  it('searches and pages the operation log, newest first', async () => {
    for (let i = 0; i < 3; i++) await admin.req('POST', '/api/departments', { name: `日志部门${i}` });
    const r = await admin.req('GET', '/api/settings/op-log?keyword=添加部门&pageSize=2');
    expect(r.body).toMatchObject({ total: 3, page: 1, pageSize: 2 });
    expect(r.body.items[0]).toMatchObject({ accountName: 'demo', action: '添加部门', target: '日志部门2' });
    const p2 = await admin.req('GET', '/api/settings/op-log?keyword=添加部门&pageSize=2&page=2');
    expect(p2.body.items.map((x: { target: string }) => x.target)).toEqual(['日志部门0']);
    const today = new Date().toISOString().slice(0, 10);
    expect((await admin.req('GET', `/api/settings/op-log?from=2000-01-01&to=${today}&keyword=日志部门`)).body.total).toBeGreaterThanOrEqual(
      3,
    );
    expect((await admin.req('GET', '/api/settings/op-log?from=2999-01-01')).body.total).toBe(0);
    expect((await admin.req('GET', '/api/settings/op-log?page=0')).body.error.details[0].path).toBe('page');
    expect((await admin.req('GET', '/api/settings/op-log?from=yesterday')).body.error.details[0].path).toBe('from');
  });

  it('lists login attempts of the enterprise only; the operator sees all', async () => {
    const r = await admin.req('GET', '/api/settings/login-log?keyword=demo');
    expect(r.body.items[0]).toMatchObject({ accountName: 'demo', success: true });
    const other = await otherEnterprise(portal, 'set');
    const theirs = await other.admin.req('GET', '/api/settings/login-log');
    expect(theirs.body.items.every((x: { accountName: string }) => x.accountName === 'admin-set')).toBe(true);
    const op = await loginOperator(portal);
    const all = await op.req('GET', '/api/settings/login-log?pageSize=200');
    expect(new Set(all.body.items.map((x: { accountName: string }) => x.accountName))).toEqual(new Set(['demo', 'admin-set', 'operator']));
  });

  it('forbids the logs to a sub-account without the permission', async () => {
    const sub = await loginSub(portal);
    expect((await sub.req('GET', '/api/settings/op-log')).status).toBe(403);
    expect((await sub.req('POST', '/api/settings/logo')).status).toBe(403);
  });

  it('uploads a logo checked by content and size, served back only to its enterprise', async () => {
    const bad = await upload(admin, '/api/settings/logo', new TextEncoder().encode('<svg onload=alert(1)>'), 'logo.png');
    expect(bad.status).toBe(415);
    expect(bad.body.error.message).toContain('PNG');
    const big = await upload(admin, '/api/settings/logo', new Uint8Array(600 * 1024).fill(0x89), 'big.png');
    expect(big.status).toBe(413);
    const ok = await upload(admin, '/api/settings/logo', PNG, '../../etc/passwd.png');
    expect(ok.status).toBe(200);
    const b = await admin.req('GET', '/api/branding');
    expect(b.body.logoUrl).toBe(ok.body.logoUrl);
    const img = await portal.request(b.body.logoUrl, { headers: { cookie: admin.cookie } });
    expect(img.headers.get('content-type')).toBe('image/png');
    expect(img.headers.get('x-content-type-options')).toBe('nosniff');
    expect(new Uint8Array(await img.arrayBuffer())).toEqual(PNG);
    const other = await otherEnterprise(portal, 'logo');
    expect((await other.admin.req('GET', b.body.logoUrl)).status).toBe(404);
    expect((await call(portal, 'GET', '/api/branding')).body.logoUrl).toBeNull();
    const { rows } = await portal.deps.db.query<{ file_name: string }>('SELECT file_name FROM uploads WHERE kind = $1', ['logo']);
    expect(rows[0]!.file_name).not.toContain('/');
    expect((await admin.req('DELETE', '/api/settings/logo')).status).toBe(200);
    expect((await admin.req('GET', '/api/branding')).body.logoUrl).toBeNull();
  });

  it('uploads a qualification document for review; the operator approves it; another enterprise cannot fetch it', async () => {
    const noTitle = await upload(admin, '/api/settings/qualifications', PDF, 'licence.pdf');
    expect(noTitle.body.error.details[0].path).toBe('title');
    const q = await upload(admin, '/api/settings/qualifications', PDF, 'licence.pdf', { title: '营业执照' });
    expect(q.status).toBe(200);
    const list = await admin.req('GET', '/api/settings/qualifications');
    expect(list.body.items[0]).toMatchObject({ title: '营业执照', fileName: 'licence.pdf', status: 'pending' });
    const file = await portal.request(`/api/settings/qualifications/${q.body.id}/file`, { headers: { cookie: admin.cookie } });
    expect(file.headers.get('content-disposition')).toMatch(/^attachment/);
    const other = await otherEnterprise(portal, 'qual');
    expect((await other.admin.req('GET', `/api/settings/qualifications/${q.body.id}/file`)).status).toBe(404);
    expect((await other.admin.req('DELETE', `/api/settings/qualifications/${q.body.id}`)).status).toBe(404);
    const op = await loginOperator(portal);
    expect((await op.req('GET', '/api/review/qualifications')).body.items[0]).toMatchObject({
      title: '营业执照',
      enterpriseName: '演示集团',
    });
    expect((await op.req('POST', `/api/review/qualifications/${q.body.id}/approve`)).status).toBe(200);
    expect((await admin.req('GET', '/api/settings/qualifications')).body.items[0].status).toBe('approved');
  });

  it('refuses a document that only starts like a PDF or PNG: it must open, with at least one page (issue 17)', async () => {
    for (const [bytes, name] of [
      [new TextEncoder().encode('%PDF-1.4\n' + 'x'.repeat(141)), 'fake.pdf'],
      [Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82]), 'fake.png'],
    ] as const) {
      const r = await upload(admin, '/api/settings/qualifications', bytes, name, { title: '伪造的证明' });
      expect(r.status, name).toBe(415);
      expect(r.body.error.message, name).toMatch(/无法打开|没有任何页面|不完整|图像头/);
    }
    const logo = await upload(
      admin,
      '/api/settings/logo',
      Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82]),
      'fake.png',
    );
    expect(logo.status).toBe(415);
  });

  it('marks in-app messages read, one or all, only its own', async () => {
    const m = await admin.req('GET', '/api/messages');
    expect(m.body.unread).toBeGreaterThan(0);
    const other = await otherEnterprise(portal, 'msg');
    expect((await other.admin.req('POST', `/api/messages/${m.body.items[0].id}/read`)).status).toBe(404);
    expect((await admin.req('POST', `/api/messages/${m.body.items[0].id}/read`)).status).toBe(200);
    await admin.req('POST', '/api/messages/read-all');
    expect((await admin.req('GET', '/api/messages')).body.unread).toBe(0);
  });

  it('takes feedback, and the operator replies', async () => {
    expect((await admin.req('POST', '/api/feedback', { content: '短' })).body.error.details[0].message).toBe('反馈内容至少 5 个字');
    const f = await admin.req('POST', '/api/feedback', { content: '希望增加夜间模式', contact: '13800138000' });
    const op = await loginOperator(portal);
    expect((await op.req('POST', `/api/review/feedback/${f.body.id}/reply`, { reply: '已记录，谢谢' })).status).toBe(200);
    const mine = await admin.req('GET', '/api/feedback');
    expect(mine.body.items[0]).toMatchObject({ content: '希望增加夜间模式', reply: '已记录，谢谢' });
    const other = await otherEnterprise(portal, 'fb');
    expect((await other.admin.req('GET', '/api/feedback')).body.items).toEqual([]);
    expect((await admin.req('POST', `/api/review/feedback/${f.body.id}/reply`, { reply: 'x' })).status).toBe(403);
  });

  it('creates an API key shown once, used as a bearer without CSRF, and revocable', async () => {
    const k = await admin.req('POST', '/api/api-keys', { name: 'ERP 对接' });
    expect(k.body.key).toMatch(/^gk_/);
    const list = await admin.req('GET', '/api/api-keys');
    expect(JSON.stringify(list.body)).not.toContain(k.body.key);
    const who = await call(portal, 'GET', '/api/v1/whoami', undefined, { authorization: `Bearer ${k.body.key}` });
    expect(who.body).toMatchObject({ name: 'demo', via: 'apikey' });
    // A key cannot mint more keys.
    expect((await call(portal, 'POST', '/api/api-keys', { name: 'x' }, { authorization: `Bearer ${k.body.key}` })).status).toBe(403);
    const other = await otherEnterprise(portal, 'key');
    expect((await other.admin.req('DELETE', `/api/api-keys/${k.body.id}`)).status).toBe(404);
    expect((await admin.req('DELETE', `/api/api-keys/${k.body.id}`)).status).toBe(200);
    expect((await call(portal, 'GET', '/api/v1/whoami', undefined, { authorization: `Bearer ${k.body.key}` })).status).toBe(401);
    expect((await call(portal, 'GET', '/api/v1/whoami', undefined, { authorization: 'Bearer gk_forged' })).body.error.code).toBe(
      'UNAUTHENTICATED',
    );
  });
});
