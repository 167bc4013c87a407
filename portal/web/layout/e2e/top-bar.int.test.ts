import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { browserPortal } from '../../bigdata/e2e/browser-portal.ts';
import { addAccount, shanghaiToday, uploadLetter } from '../../../src/api/bigdata/console-harness.ts';
import { login, type Client } from '../../../src/test/harness.ts';

/**
 * The portal's top bar tells a checker, on whichever page, that a big-data task waits for their
 * approval (#21 maker-checker; #23 walk: nothing did, and the checker logs in to 首页). The whole
 * SPA against a portal whose alert bus is the run's nats-server (a bucket of its own).
 */
describe('the top bar’s count of tasks waiting for approval', () => {
  const b = browserPortal('top-bar', { pages: 'app' });
  const { problems } = b;
  let maker: Client;
  let page: Page;

  beforeAll(async () => {
    const on = await b.admin.req('PUT', '/api/bigdata/approval/settings', { required: true, fastPathTypes: [] });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    const m = await addAccount(b.portal, 'sub', ['bigdata.send', 'bigdata.tasks']);
    maker = await login(b.portal, m.name, m.password);
    // The checker is the enterprise admin (审批大数据任务 with every other permission).
    page = await b.pageAs(b.admin);
  });

  it('shows on 首页 how many tasks wait for this account, and nothing once they are decided', async () => {
    await page.goto(`${b.portal.url}/`);
    const bigdata = page.locator('.topbar .menu a[href="/bigdata"]');
    await bigdata.waitFor({ timeout: 30_000 });
    const count = bigdata.locator('[data-testid="top-pending-approvals"]');
    expect(await count.count()).toBe(0);

    const r = await maker.req('POST', '/api/bigdata/tasks', {
      form: {
        alertType: 'rainstorm',
        region: { parts: [{ kind: 'circle', center: [120.16, 30.25], radiusM: 1000 }] },
        subject: '暴雨 待审批',
        content: '今日有暴雨，请注意安全。',
        signature: '翼讯通',
        startDate: shanghaiToday(),
        endDate: shanghaiToday(),
        windows: [],
        frequency: 'once',
        minDwellMin: 0,
        rules: [],
        quota: { cmcc: { total: 10, dailyCap: 10 } },
        authorizationLetter: await uploadLetter(maker),
      },
    });
    expect(r.body, JSON.stringify(r.body)).toMatchObject({ state: 'pending_approval' });
    // Seen on the next look (every 30 s; a reload looks at once).
    await page.reload();
    await expect.poll(() => count.textContent(), { timeout: 15_000 }).toBe('1');
    expect(await count.getAttribute('title')).toBe('1 个任务待您审批');
    await b.shot(page, 'top-bar-pending-approval-1440x900');

    const ok = await b.admin.req('POST', `/api/bigdata/tasks/${r.body.id}/approve`);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    await page.reload();
    await bigdata.waitFor();
    await expect.poll(() => count.count(), { timeout: 15_000 }).toBe(0);
    expect(problems).toEqual([]);
  }, 120_000);
});
