import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CREDENTIALS as D } from '../../../src/demo/credentials.ts';
import type { Portal } from '../../../src/portal.ts';
import { testPortal } from '../../../src/test/harness.ts';
import { buildE2eEntry, e2eOutDir } from '../../e2e/build-entry.ts';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
/** Screenshots for a person to look at (not committed). */
const ARTIFACTS = process.env.ARTIFACTS_DIR ?? join(tmpdir(), 'geo-alert-artifacts');

/**
 * Issue 23 in a real browser: the enterprise admin opens 账户设置, is told under the field what is
 * wrong with a bad phone number (gone once the field changes), saves a good one, and the industry
 * send page then offers that number for "回复转发到手机".
 */
describe('账户设置 › 本人资料, in a browser', () => {
  let portal: Portal;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const webDist = await buildE2eEntry(
      fileURLToPath(new URL('../..', import.meta.url)),
      e2eOutDir(join(tmpdir(), 'geo-portal-profile-e2e')),
    );
    [portal, browser] = await Promise.all([
      testPortal({ webDist }),
      chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS }),
    ]);
    page = await (await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 } })).newPage();
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
  });

  it('the admin sets their own phone, and it becomes the forward-replies default', async () => {
    const captcha = page.waitForResponse((r) => r.url().endsWith('/api/auth/captcha'));
    await page.goto(`${portal.url}/login`);
    const answer = ((await (await captcha).json()) as { testAnswer: string }).testAnswer;
    await page.fill('input[name=name]', D.admin.name);
    await page.fill('input[name=password]', D.admin.password);
    await page.fill('input[name=captcha]', answer);
    await page.click('button[type=submit]');
    await page.waitForSelector('header.topbar');

    await page.goto(`${portal.url}/account-settings`);
    const form = page.locator('[data-testid=profile-form]');
    await form.waitFor();
    await form.locator('input[name=phone]').fill('12345');
    await form.locator('button[type=submit]').click();
    await expect(form.locator('[data-error=phone]').textContent()).resolves.toBe('手机号码格式不正确（应为 11 位大陆手机号）');
    await page.screenshot({ path: join(ARTIFACTS, 'account-profile-error.png') });
    await form.locator('input[name=phone]').fill('13800000009');
    await expect(form.locator('[data-error=phone]').count()).resolves.toBe(0);
    await form.locator('button[type=submit]').click();
    await page.waitForSelector('.toast:has-text("本人资料已保存")');
    await page.screenshot({ path: join(ARTIFACTS, 'account-profile-saved.png') });

    await page.goto(`${portal.url}/industry/send`);
    await page.locator('label:has-text("需要对方回复") input[type=checkbox]').check();
    await page.locator('label:has-text("回复转发到手机") input[type=checkbox]').check();
    await expect(page.locator('input[placeholder="转发手机号码"]').inputValue()).resolves.toBe('13800000009');
  });
});
