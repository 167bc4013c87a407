import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../portal.ts';
import { loginAdmin, loginOperator, loginSub, otherEnterprise, START_TIMEOUT, testPortal, type Client } from '../../test/harness.ts';
import { usableSignature } from './usable.ts';

describe('signatures and their review', () => {
  let portal: Portal;
  let admin: Client;
  let operator: Client;
  beforeAll(async () => {
    portal = await testPortal();
    admin = await loginAdmin(portal);
    operator = await loginOperator(portal);
  }, START_TIMEOUT);
  afterAll(async () => portal?.stop());

  it('submits a signature as pending; only an approved one can be used to send', async () => {
    const s = await admin.req('POST', '/api/signatures', { text: '  测试签名 ' });
    expect(s.body).toMatchObject({ text: '测试签名', status: 'pending', isDefault: false, submittedBy: 'demo' });
    await expect(usableSignature(portal.deps.db, 'demo-enterprise', s.body.id)).rejects.toMatchObject({ code: 'SIGNATURE_NOT_APPROVED' });
    const usable = await admin.req('GET', '/api/signatures/usable');
    expect(usable.body.items.map((x: { text: string }) => x.text)).toEqual(['翼讯通']);
    expect((await admin.req('POST', `/api/signatures/${s.body.id}/default`)).body.error.code).toBe('SIGNATURE_NOT_APPROVED');
  });

  it('the operator approves: usable, settable as default, and the enterprise gets a message', async () => {
    const s = await admin.req('POST', '/api/signatures', { text: '审核通过' });
    const queue = await operator.req('GET', '/api/review/signatures');
    expect(queue.body.items.find((x: { id: string }) => x.id === s.body.id)).toMatchObject({
      enterpriseName: '演示集团',
      status: 'pending',
    });
    expect((await operator.req('POST', `/api/review/signatures/${s.body.id}/approve`)).status).toBe(200);
    expect(await usableSignature(portal.deps.db, 'demo-enterprise', s.body.id)).toBe('审核通过');
    const d = await admin.req('POST', `/api/signatures/${s.body.id}/default`);
    expect(d.body.isDefault).toBe(true);
    const all = await admin.req('GET', '/api/signatures?status=approved');
    expect(all.body.items.filter((x: { isDefault: boolean }) => x.isDefault).map((x: { text: string }) => x.text)).toEqual(['审核通过']);
    const msgs = await admin.req('GET', '/api/messages');
    expect(msgs.body.items[0].title).toBe('签名「审核通过」已通过审核');
    expect((await operator.req('POST', `/api/review/signatures/${s.body.id}/reject`, { reason: '晚了' })).body.error.code).toBe(
      'ALREADY_REVIEWED',
    );
  });

  it('the operator rejects with a reason, which the enterprise sees', async () => {
    const s = await admin.req('POST', '/api/signatures', { text: '违规签名' });
    const noReason = await operator.req('POST', `/api/review/signatures/${s.body.id}/reject`, { reason: '' });
    expect(noReason.body.error.details[0]).toMatchObject({ path: 'reason', message: '请输入驳回原因' });
    await operator.req('POST', `/api/review/signatures/${s.body.id}/reject`, { reason: '签名与企业名称不符' });
    const mine = await admin.req('GET', '/api/signatures?status=rejected');
    expect(mine.body.items[0]).toMatchObject({ text: '违规签名', reason: '签名与企业名称不符' });
    const msgs = await admin.req('GET', '/api/messages?unread=1');
    expect(msgs.body.items[0].body).toContain('签名与企业名称不符');
  });

  it('explains bad signature text', async () => {
    const r = await admin.req('POST', '/api/signatures', { text: '【带括号】' });
    expect(r.body.error.details[0].message).toContain('不要包含【】');
    expect((await admin.req('POST', '/api/signatures', { text: '一' })).body.error.details[0].message).toBe('签名至少 2 个字');
    expect((await admin.req('POST', '/api/signatures', { text: '翼讯通' })).body.error.code).toBe('NAME_TAKEN');
  });

  it('deletes a signature and clears it as an account default', async () => {
    const s = await admin.req('POST', '/api/signatures', { text: '待删签名' });
    await operator.req('POST', `/api/review/signatures/${s.body.id}/approve`);
    await admin.req('PUT', '/api/accounts/demo-sub/default-signature', { signatureId: s.body.id });
    expect((await admin.req('DELETE', `/api/signatures/${s.body.id}`)).status).toBe(200);
    expect((await admin.req('GET', '/api/accounts/demo-sub')).body.defaultSignatureId).toBeNull();
  });

  it('only operators review; enterprises cannot, and operators have no enterprise data', async () => {
    const s = await admin.req('POST', '/api/signatures', { text: '自己审核' });
    expect((await admin.req('POST', `/api/review/signatures/${s.body.id}/approve`)).status).toBe(403);
    expect((await admin.req('GET', '/api/review/signatures')).status).toBe(403);
    expect((await operator.req('GET', '/api/signatures')).status).toBe(403);
  });

  it('another enterprise cannot see, default or delete our signatures (404)', async () => {
    const other = await otherEnterprise(portal, 'sig');
    const s = await admin.req('POST', '/api/signatures', { text: '我们的签名' });
    expect((await other.admin.req('DELETE', `/api/signatures/${s.body.id}`)).status).toBe(404);
    expect((await other.admin.req('POST', `/api/signatures/${s.body.id}/default`)).status).toBe(404);
    expect((await other.admin.req('GET', '/api/signatures')).body.items).toEqual([]);
    await expect(usableSignature(portal.deps.db, other.enterpriseId, 'demo-signature')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a sub-account with 签名管理 submits; one without it is refused', async () => {
    const sub = await loginSub(portal);
    expect((await sub.req('POST', '/api/signatures', { text: '子账户签名' })).status).toBe(200);
    await admin.req('PUT', '/api/accounts/demo-sub/permissions', { permissions: ['home'] });
    const again = await loginSub(portal);
    expect((await again.req('POST', '/api/signatures', { text: '无权签名' })).status).toBe(403);
    expect((await again.req('GET', '/api/signatures/usable')).status).toBe(403);
  });
});
