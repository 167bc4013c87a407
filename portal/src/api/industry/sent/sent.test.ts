import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginAdmin, START_TIMEOUT } from '../../../test/harness.ts';
import { mailboxFixture, subWith, type IndustryTestApp, type Requester } from '../test-app.ts';

describe('sent list, scheduled sends, drafts', () => {
  let t: IndustryTestApp;
  let admin: Requester;
  let sub: Requester;
  let other: Requester;
  let firstId: string;
  beforeAll(async () => {
    ({ t, admin, sub, other, firstId } = await mailboxFixture());
  }, START_TIMEOUT);
  afterAll(async () => t?.stop());

  it('lists sends with search by subject, phone and user and a total row', async () => {
    const all = await admin('GET', '/api/industry/sends');
    expect(all.status).toBe(200);
    expect(all.body.totals).toEqual({ sends: 2, recipients: 3, billing: 3, delivered: null, failed: null });
    expect(all.body.items.map((s: { subject: string }) => s.subject)).toContain('管理员的通知内容比较长一些超过二十个字用');
    expect((await admin('GET', '/api/industry/sends?subject=季度')).body.total).toBe(1);
    expect((await admin('GET', '/api/industry/sends?phone=1390013')).body.items[0].id).toBe(firstId);
    expect((await admin('GET', '/api/industry/sends?accountId=demo-sub')).body.total).toBe(1);
    expect((await admin('GET', '/api/industry/sends?from=2000-01-01&to=2000-01-02')).body.total).toBe(0);
    // A sub-account sees only its own and its subordinates' sends.
    expect((await sub('GET', '/api/industry/sends')).body.total).toBe(1);
    expect((await other('GET', '/api/industry/sends')).body.total).toBe(0);
  });

  it('shows each number of a send with its state, and the original input for edit-and-resend', async () => {
    const d = await sub('GET', `/api/industry/sends/${firstId}`);
    expect(d.status).toBe(200);
    expect(d.body.recipientsPage.map((r: { msisdn: string; state: string }) => `${r.msisdn}:${r.state}`)).toEqual([
      '13800138000:submitted',
      '13900139000:submitted',
    ]);
    expect(d.body.statusSource).toBe('portal');
    expect(d.body.source).toMatchObject({ recipients: '13800138000 13900139000', subject: '季度会议', content: '周五开会' });
    expect((await other('GET', `/api/industry/sends/${firstId}`)).status).toBe(404);
    const nosent = t.as(await subWith(t.portal, 'no_sent', ['sms.send']));
    expect((await nosent('GET', `/api/industry/sends/${firstId}`)).status).toBe(403);
  });

  it('schedules a send, edits its time, refunds it when deleted, and fires it when due', async () => {
    const q = async () =>
      Number(
        (await t.portal.deps.db.query<{ quota: string }>(`SELECT quota FROM enterprises WHERE id = 'demo-enterprise'`)).rows[0]!.quota,
      );
    const past = await sub('POST', '/api/industry/sends', {
      recipients: '13800138000',
      content: 'x',
      action: 'schedule',
      scheduledAt: '2000-01-01T00:00:00Z',
    });
    expect(past.body.error.message).toBe('定时发送的时间必须晚于现在');
    const before = await q();
    const later = new Date(Date.now() + 3600_000).toISOString();
    const s = await sub('POST', '/api/industry/sends', {
      recipients: '13800138000',
      content: '定时',
      action: 'schedule',
      scheduledAt: later,
    });
    expect(s.body.state).toBe('scheduled');
    expect(await q()).toBe(before - 1);
    const list = await sub('GET', '/api/industry/schedules');
    expect(list.body.items.map((x: { id: string }) => x.id)).toContain(s.body.id);
    expect(
      (await sub('PUT', `/api/industry/schedules/${s.body.id}`, { scheduledAt: new Date(Date.now() + 7200_000).toISOString() })).status,
    ).toBe(200);
    expect((await other('PUT', `/api/industry/schedules/${s.body.id}`, { scheduledAt: later })).status).toBe(404);
    expect((await sub('POST', '/api/industry/schedules/delete', { ids: [s.body.id] })).body.deleted).toBe(1);
    expect(await q()).toBe(before);
    // One that comes due: the dispatcher fires it (also after a restart: it looks at the database).
    const due = await sub('POST', '/api/industry/sends', {
      recipients: '13800138001',
      content: '到点发送',
      action: 'schedule',
      scheduledAt: new Date(Date.now() + 1500).toISOString(),
    });
    await t.portal.deps.db.query(`UPDATE sms_sends SET scheduled_at = now() - interval '1 second' WHERE id = $1`, [due.body.id]);
    await t.industry.tick();
    expect(t.jobs.filter((j) => j.sendId === due.body.id).map((j) => j.msisdn)).toEqual(['13800138001']);
    const gone = await sub('POST', '/api/industry/schedules/delete', { ids: [due.body.id] });
    expect(gone.body.error.code).toBe('NOT_SCHEDULED');
  });

  it('saves, reopens, updates and sends a draft, which then leaves the drafts box', async () => {
    const d = await sub('POST', '/api/industry/sends', { recipients: '13800138000', content: '草稿内容', action: 'draft' });
    expect(d.body).toMatchObject({ state: 'draft' });
    const id = d.body.draftId;
    await sub('POST', '/api/industry/sends', { recipients: '13800138000', content: '改过的草稿', action: 'draft', draftId: id });
    const got = await sub('GET', `/api/industry/drafts/${id}`);
    expect(got.body.payload).toMatchObject({ content: '改过的草稿', recipients: '13800138000' });
    expect((await other('GET', `/api/industry/drafts/${id}`)).status).toBe(404);
    await sub('POST', '/api/industry/sends', { recipients: '13800138000', content: '改过的草稿', draftId: id });
    expect((await sub('GET', '/api/industry/drafts')).body.items.map((x: { id: string }) => x.id)).not.toContain(id);
    const d2 = (await sub('POST', '/api/industry/sends', { content: '另一个', action: 'draft' })).body.draftId;
    expect((await sub('POST', '/api/industry/drafts/delete', { ids: [d2] })).body.deleted).toBe(1);
  });

  it("keeps a deleted sub-account's sends in the sent list, statistics and ledger, under its name: accounts are deactivated, never erased", async () => {
    const leaver = await subWith(t.portal, 'leaver', ['sms.send', 'sms.sent']);
    const s = await t.as(leaver)('POST', '/api/industry/sends', { recipients: '13700137000', subject: '离职前的通知', content: '再见' });
    expect(s.status).toBe(200);
    const boss = await loginAdmin(t.portal);
    expect((await boss.req('DELETE', '/api/accounts/leaver')).status).toBe(200);
    const list = await admin('GET', '/api/industry/sends?subject=离职前');
    expect(list.body.items).toEqual([expect.objectContaining({ id: s.body.id, accountName: 'leaver（已删除）' })]);
    expect((await admin('GET', `/api/industry/sends/${s.body.id}`)).status).toBe(200);
    const stats = await admin('GET', '/api/industry/stats?scope=all&keyword=离职前');
    expect(stats.body.items).toEqual([expect.objectContaining({ id: s.body.id, accountName: 'leaver（已删除）', billing: 1 })]);
    const { rows } = await t.portal.deps.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM quota_ledger WHERE ref_id = $1 AND kind = 'charge'`,
      [s.body.id],
    );
    expect(rows[0]!.n).toBeGreaterThan(0);
    // The account itself is gone for every purpose but the records: no login, no session.
    expect((await t.as(leaver)('GET', '/api/industry/sends')).status).toBe(401);
    await expect(subWith(t.portal, 'leaver', ['sms.send'])).rejects.toThrow(/login leaver failed/);
    // Its department can still be deleted later: the deleted account is detached, its send stays.
    const db = t.portal.deps.db;
    await db.query(`INSERT INTO departments (id, enterprise_id, name) VALUES ('dept-gone', 'demo-enterprise', '撤销的部门')`);
    await db.query(`UPDATE accounts SET department_id = 'dept-gone' WHERE id = 'leaver'`);
    await db.query(`DELETE FROM departments WHERE id = 'dept-gone'`);
    expect((await db.query<{ department_id: string | null }>(`SELECT department_id FROM accounts WHERE id = 'leaver'`)).rows).toEqual([
      { department_id: null },
    ]);
    expect((await admin('GET', '/api/industry/sends?subject=离职前')).body.total).toBe(1);
  });
});
