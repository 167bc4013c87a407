import { loadAdminAreas } from '@geo/ingest';
import { bbox as turfBbox } from '@turf/turf';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { addDistrict, browserPortal } from './browser-portal.ts';
import { addAccount, PNG_BYTES } from '../../../src/api/bigdata/console-harness.ts';
import { login } from '../../../src/test/harness.ts';
import { fittedTo } from './console-stack.ts';

/**
 * Maker-checker in the browser (#21, #23): with approval on, a task one account submits from the
 * send page waits as 待审批 — its maker sees no way to approve it — until another account approves
 * it in the task list through the app's own dialog (then it goes to the bucket alerting reads) or
 * rejects it with a reason (then it is stopped); the detail shows who decided, when and why. The
 * portal talks to a real nats-server; no alerting engine is needed to hold or release a task.
 */
describe('big-data task approval in a real browser', () => {
  const b = browserPortal('approval-ui');
  const { problems } = b;
  let makerName: string;
  let approverName: string;
  let maker: Page;
  let approver: Page;
  let approvedId = '';

  const row = (page: Page, id: string) => page.locator(`tr[data-task="${id}"]`);
  const shot = (page: Page, name: string) => b.shot(page, name);

  beforeAll(async () => {
    const on = await b.admin.req('PUT', '/api/bigdata/approval/settings', { required: true, fastPathTypes: ['earthquake'] });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    const m = await addAccount(b.portal, 'sub', ['bigdata.send', 'bigdata.tasks']);
    const a = await addAccount(b.portal, 'sub', ['bigdata.tasks', 'bigdata.approve']);
    makerName = m.name;
    approverName = a.name;
    maker = await b.pageAs(await login(b.portal, m.name, m.password));
    approver = await b.pageAs(await login(b.portal, a.name, a.password));
  });

  it("the maker's task from the send page waits as 待审批, with no approve button for its maker", async () => {
    await maker.goto(`${b.portal.url}/bigdata/send`);
    await addDistrict(maker);
    await maker.selectOption('select[name="alertType"]', 'typhoon');
    await maker.fill('input[name="subject"]', '台风 待审批');
    await maker.locator('.row:has(input[type="time"]) button.link').first().click();
    // China Mobile only: the other carriers' rows are switched off.
    for (const c of ['cucc', 'ctcc']) await maker.locator(`tr:has(input[name="quota.${c}.total"]) input[type="checkbox"]`).uncheck();
    await maker.fill('input[name="quota.cmcc.total"]', '100');
    await maker.fill('input[name="quota.cmcc.dailyCap"]', '100');
    await maker.setInputFiles('input[name="letter"]', { name: '授权函.png', mimeType: 'image/png', buffer: Buffer.from(PNG_BYTES) });
    await maker.waitForSelector('.bd-form small:has-text("授权函.png")');
    await maker.click('.bd-form button[type="submit"]');
    await maker.waitForURL(/\/bigdata\/tasks\?open=/, { timeout: 30_000 }).catch(b.failWithShot(maker, 'approval-submit-failed'));
    approvedId = new URL(maker.url()).searchParams.get('open')!;
    // Held paused in the bucket alerting reads, not sent.
    expect((await b.bus.get(approvedId))?.state).toBe('paused');
    await maker.click('.modal header button');
    await expect.poll(() => row(maker, approvedId).locator('.badge').first().textContent(), { timeout: 15_000 }).toBe('待审批');
    expect(await row(maker, approvedId).locator('[data-action="approve"], [data-action="reject"]').count()).toBe(0);
    // Nor can it be resumed past the approver from the list.
    expect(await row(maker, approvedId).locator('[data-action="resume"]').count()).toBe(0);
    await shot(maker, 'approval-maker-pending-1440x900');
  }, 120_000);

  it('another account finds it by 待审批, reads it in the detail and approves it there; the task goes to alerting, the detail names the approver', async () => {
    await approver.goto(`${b.portal.url}/bigdata/tasks`);
    await approver.selectOption('select[aria-label="任务状态"]', 'pending_approval');
    await expect
      .poll(
        () =>
          approver.locator('[data-testid="tasks"] tbody tr[data-task]').evaluateAll((trs) => trs.map((t) => t.getAttribute('data-task'))),
        { timeout: 15_000 },
      )
      .toEqual([approvedId]);
    expect(await row(approver, approvedId).textContent()).toContain(makerName);
    // The console's menu tells the checker that a task waits for them (#23 walk: nothing did).
    const waiting = approver.locator('.bd-menu [data-testid="pending-approvals"]');
    await expect.poll(() => waiting.textContent(), { timeout: 15_000 }).toBe('1');
    expect(await waiting.getAttribute('title')).toBe('1 个任务待您审批');
    await shot(approver, 'approval-pending-list-1440x900');
    // 审批 opens the task itself, not a bare "确定吗？" (#23 walk): the checker sees what they approve.
    await row(approver, approvedId).locator('[data-action="approve"]').click();
    const review = approver.locator('[data-testid="approval-review"]');
    await review.waitFor({ timeout: 15_000 });
    expect(await approver.locator('[data-testid="task-detail"] b').first().textContent()).toBe('台风 待审批');
    expect(await approver.locator('[data-testid="task-settings"] [data-field="region"]').textContent()).toBe('上城区');
    expect(await approver.locator('[data-testid="task-quota"] tr[data-carrier="cmcc"]').textContent()).toContain('100');
    // Not started: the progress says it waits for this approval, not "or the alert service is not connected".
    expect(await approver.locator('[data-testid="no-progress"]').textContent()).toBe('待审批：审批通过后开始执行');
    await shot(approver, 'approval-review-detail-1440x900');
    await review.locator('[data-action="review-approve"]').click();
    const dialog = approver.locator('[data-testid="app-dialog"]');
    await expect.poll(() => dialog.textContent()).toContain('审批通过“台风 待审批”后任务将开始执行');
    await dialog.locator('[data-action="ok"]').click();
    await expect.poll(async () => (await b.bus.get(approvedId))?.state, { timeout: 15_000 }).toBe('submitted');
    // Decided: the decision leaves the detail, and the menu's count goes.
    await expect.poll(() => review.count(), { timeout: 15_000 }).toBe(0);
    await expect.poll(() => waiting.count(), { timeout: 15_000 }).toBe(0);
    await approver.click('.modal header button');

    await approver.selectOption('select[aria-label="任务状态"]', '');
    await expect.poll(() => row(approver, approvedId).locator('.badge').first().textContent(), { timeout: 15_000 }).toBe('已提交');
    expect(await row(approver, approvedId).locator('[data-action="approve"]').count()).toBe(0);
    await row(approver, approvedId).locator('button:has-text("详情")').click();
    const record = approver.locator('[data-testid="task-approval"]');
    await expect.poll(() => record.textContent(), { timeout: 15_000 }).toContain('已审批');
    expect(await record.textContent()).toContain(approverName);
    // Nobody was sent yet (no reached cells): the detail's map still shows the task's region, 上城区, fitted (#23).
    const district = loadAdminAreas().find((a) => a.code === '330102')!;
    const box = turfBbox({ type: 'Feature', properties: {}, geometry: district.geometry! });
    await approver.waitForSelector('.bd-detail-map[data-map-ready="1"]', { timeout: 60_000 });
    await expect
      .poll(() => fittedTo(approver.getAttribute('.bd-detail-map', 'data-bbox'), box), { timeout: 15_000 })
      .toBe(true)
      .catch(async (e) => {
        await shot(approver, 'approval-detail-map-failed');
        throw new Error(
          `${(e as Error).message}: view ${await approver.getAttribute('.bd-detail-map', 'data-bbox')}, 上城区 ${box.join(',')}`,
        );
      });
    // When it was approved, China time, written as every time in the detail (查看明细's 2026-12-07 09:30:00), #23.
    expect(await record.textContent()).toMatch(/（\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}）$/);
    await shot(approver, 'approval-detail-approved-1440x900');
    await approver.click('.modal header button');
  }, 120_000);

  it('rejects another with a reason typed in the app dialog: stopped, its reason in the detail', async () => {
    const fd = new FormData();
    fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
    const letter = await b.admin.reqRaw('POST', '/api/bigdata/letters', fd);
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const r = await b.admin.req('POST', '/api/bigdata/tasks', {
      form: {
        alertType: 'rainstorm',
        region: { parts: [{ kind: 'circle', center: [120.16, 30.25], radiusM: 1000 }] },
        subject: '暴雨 将被驳回',
        content: '今日有暴雨，请注意安全。',
        signature: '翼讯通',
        startDate: today,
        endDate: today,
        windows: [],
        frequency: 'once',
        minDwellMin: 0,
        rules: [],
        quota: { cmcc: { total: 10, dailyCap: 10 } },
        authorizationLetter: letter.body.id,
      },
    });
    expect(r.body, JSON.stringify(r.body)).toMatchObject({ state: 'pending_approval' });
    const id = r.body.id as string;

    await approver.selectOption('select[aria-label="任务状态"]', 'pending_approval');
    await row(approver, id).locator('[data-action="reject"]').click();
    const dialog = approver.locator('[data-testid="app-dialog"]');
    // The reason is required: an empty one does not close the dialog or reject anything.
    await dialog.locator('[data-action="ok"]').click();
    expect(await dialog.isVisible()).toBe(true);
    expect((await b.bus.get(id))?.state).toBe('paused');
    await dialog.locator('textarea[name="reason"]').fill('区域过大，请缩小范围');
    await shot(approver, 'approval-reject-dialog-1440x900');
    await dialog.locator('[data-action="ok"]').click();
    await expect.poll(async () => (await b.bus.get(id))?.state, { timeout: 15_000 }).toBe('stopped');
    // Decided: it leaves the 待审批 list, and shows as 已驳回 among all.
    await expect.poll(() => row(approver, id).count(), { timeout: 15_000 }).toBe(0);
    await approver.selectOption('select[aria-label="任务状态"]', '');
    await expect.poll(() => row(approver, id).locator('.badge').first().textContent(), { timeout: 15_000 }).toBe('已驳回');
    await row(approver, id).locator('button:has-text("详情")').click();
    const record = approver.locator('[data-testid="task-approval"]');
    await expect.poll(() => record.textContent(), { timeout: 15_000 }).toContain('区域过大，请缩小范围');
    expect(await record.textContent()).toContain(approverName);
    await approver.click('.modal header button');
  }, 120_000);

  it('marks an emergency sent ahead as 先发后审 in the list, for approval afterwards', async () => {
    const fd = new FormData();
    fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
    const letter = await b.admin.reqRaw('POST', '/api/bigdata/letters', fd);
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const r = await b.admin.req('POST', '/api/bigdata/tasks', {
      fastPath: true,
      form: {
        alertType: 'earthquake',
        region: { parts: [{ kind: 'circle', center: [120.16, 30.25], radiusM: 1000 }] },
        subject: '地震速报 先发',
        content: '发生地震，请注意避险。',
        signature: '翼讯通',
        startDate: today,
        endDate: today,
        windows: [],
        frequency: 'once',
        minDwellMin: 0,
        rules: [],
        quota: { cmcc: { total: 10, dailyCap: 10 } },
        authorizationLetter: letter.body.id,
      },
    });
    expect(r.body, JSON.stringify(r.body)).toMatchObject({ approval: 'fast_path' });
    const id = r.body.id as string;
    expect((await b.bus.get(id))?.state).toBe('submitted');
    await approver.click('.toolbar button:has-text("搜索")');
    await expect.poll(() => row(approver, id).locator('.badge').allTextContents(), { timeout: 15_000 }).toContain('先发后审');
    expect(await row(approver, id).locator('[data-action="approve"]').count()).toBe(1);
    await shot(approver, 'approval-fast-path-1440x900');
    expect(problems).toEqual([]);
  }, 60_000);

  it("the enterprise admin sets approval from the task list's 审批设置: required, and which types may go ahead (先发后审)", async () => {
    const page = await b.pageAs(b.admin);
    await page.goto(`${b.portal.url}/bigdata/tasks`);
    await page.click('.toolbar [data-action="approval-settings"]');
    const form = page.locator('[data-testid="approval-settings"]');
    // The current settings: required, 地震 allowed to go ahead.
    await expect.poll(() => form.locator('input[name="required"]').isChecked(), { timeout: 15_000 }).toBe(true);
    expect(await form.locator('input[name="fastPathTypes"][value="earthquake"]').isChecked()).toBe(true);
    expect(await form.locator('input[name="fastPathTypes"][value="fire"]').isChecked()).toBe(false);
    await form.locator('input[name="fastPathTypes"][value="fire"]').check();
    await shot(page, 'approval-settings-1440x900');
    await form.locator('button[type="submit"]').click();
    await expect.poll(() => form.count(), { timeout: 15_000 }).toBe(0);
    const r = await b.admin.req('GET', '/api/bigdata/approval/settings');
    expect(r.body).toEqual({ required: true, fastPathTypes: ['earthquake', 'fire'] });
    // A sub-account is not offered the settings.
    await approver.goto(`${b.portal.url}/bigdata/tasks`);
    await approver.waitForSelector('[data-testid="tasks"]');
    expect(await approver.locator('.toolbar [data-action="approval-settings"]').count()).toBe(0);
    await page.context().close();
  }, 60_000);

  it('offers 紧急先发后审 on the send page only for an allowed type; ticked, the task goes to alerting at once, marked for approval afterwards', async () => {
    await maker.goto(`${b.portal.url}/bigdata/send`);
    await addDistrict(maker);
    await maker.selectOption('select[name="alertType"]', 'typhoon');
    expect(await maker.locator('[data-testid="fast-path"]').count()).toBe(0);
    await maker.selectOption('select[name="alertType"]', 'earthquake');
    await maker.waitForSelector('[data-testid="fast-path"] input[name="fastPath"]', { timeout: 15_000 });
    await maker.fill('input[name="subject"]', '地震速报 页面先发');
    await maker.locator('.row:has(input[type="time"]) button.link').first().click();
    for (const c of ['cucc', 'ctcc']) await maker.locator(`tr:has(input[name="quota.${c}.total"]) input[type="checkbox"]`).uncheck();
    await maker.fill('input[name="quota.cmcc.total"]', '100');
    await maker.fill('input[name="quota.cmcc.dailyCap"]', '100');
    await maker.setInputFiles('input[name="letter"]', { name: '授权函.png', mimeType: 'image/png', buffer: Buffer.from(PNG_BYTES) });
    await maker.waitForSelector('.bd-form small:has-text("授权函.png")');
    await maker.check('[data-testid="fast-path"] input[name="fastPath"]');
    await shot(maker, 'approval-send-fast-path-1440x900');
    await maker.click('.bd-form button[type="submit"]');
    await maker.waitForURL(/\/bigdata\/tasks\?open=/, { timeout: 30_000 }).catch(b.failWithShot(maker, 'approval-send-fast-path-failed'));
    const id = new URL(maker.url()).searchParams.get('open')!;
    // Sent ahead: in the bucket alerting reads as submitted, not held paused.
    expect((await b.bus.get(id))?.state).toBe('submitted');
    expect((await b.admin.req('GET', `/api/bigdata/tasks/${id}`)).body).toMatchObject({ approval: 'fast_path', fastPath: true });
    await maker.click('.modal header button');
    await expect.poll(() => row(maker, id).locator('.badge').allTextContents(), { timeout: 15_000 }).toContain('先发后审');
    expect(problems).toEqual([]);
  }, 120_000);
});
