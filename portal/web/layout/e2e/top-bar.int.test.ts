import { connectNats, type NatsConnection } from '@geo/infra';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AlertBus, setAlertBus } from '../../../src/api/bigdata/alert-bus.ts';
import { addAccount, shanghaiToday, uploadLetter } from '../../../src/api/bigdata/console-harness.ts';
import type { Portal } from '../../../src/portal.ts';
import { login, loginAdmin, START_TIMEOUT, testPortal, type Client } from '../../../src/test/harness.ts';
import { ARTIFACTS, CHROMIUM_ARGS } from '../../bigdata/e2e/console-stack.ts';
import { buildApp, e2eOutDir } from '../../e2e/build-entry.ts';

/**
 * The portal's top bar tells a checker, on whichever page, that a big-data task waits for their
 * approval (#21 maker-checker; #23 walk: nothing did, and the checker logs in to 首页). The whole
 * SPA against a portal whose alert bus is the run's nats-server (a bucket of its own).
 */
const BUCKET = `alert_tasks_top_bar_${process.pid}`;

describe('the top bar’s count of tasks waiting for approval', () => {
  let portal: Portal;
  let nc: NatsConnection;
  let browser: Browser;
  let admin: Client;
  let maker: Client;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    const distP = buildApp(e2eOutDir(join(tmpdir(), 'geo-portal-top-bar-e2e')));
    const browserP = chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    browserP.catch(() => undefined);
    portal = await testPortal({ webDist: await distP });
    nc = await connectNats(inject('natsUrl'), 'portal-top-bar-test');
    setAlertBus(portal.deps, await AlertBus.open(nc, { bucket: BUCKET, reachSubject: `alert.reach.top-bar-${process.pid}` }));
    browser = await browserP;
    mkdirSync(ARTIFACTS, { recursive: true });
    admin = await loginAdmin(portal);
    const on = await admin.req('PUT', '/api/bigdata/approval/settings', { required: true, fastPathTypes: [] });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    const m = await addAccount(portal, 'sub', ['bigdata.send', 'bigdata.tasks']);
    maker = await login(portal, m.name, m.password);
    // The checker is the enterprise admin (审批大数据任务 with every other permission).
    const [name, value] = admin.cookie.split('=') as [string, string];
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    await context.addCookies([{ name, value, url: portal.url }]);
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(String(e.stack).slice(0, 600)));
  }, START_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await nc?.drain();
    await portal?.stop();
  });

  it('shows on 首页 how many tasks wait for this account, and nothing once they are decided', async () => {
    await page.goto(`${portal.url}/`);
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
    await page.screenshot({ path: join(ARTIFACTS, 'top-bar-pending-approval-1440x900.png') });

    const ok = await admin.req('POST', `/api/bigdata/tasks/${r.body.id}/approve`);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    await page.reload();
    await bigdata.waitFor();
    await expect.poll(() => count.count(), { timeout: 15_000 }).toBe(0);
    expect(problems).toEqual([]);
  }, 120_000);
});
