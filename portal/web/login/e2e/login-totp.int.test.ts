import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpNow } from '../../../src/auth/totp.ts';
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

/**
 * Issue 17 in a real browser: an operator without a second factor is taken through enrolment at
 * login (QR code, secret, a code from the app, the recovery codes shown once), and then logs in
 * with a code; an enterprise account without TOTP still logs in with its password alone.
 */
describe('login with a TOTP second factor, in a browser', () => {
  let portal: Portal;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    // The whole SPA (portal/web/index.html), built into this test's own folder.
    const webDist = await buildE2eEntry(
      fileURLToPath(new URL('../..', import.meta.url)),
      e2eOutDir(join(tmpdir(), 'geo-portal-login-e2e')),
    );
    [portal, browser] = await Promise.all([
      testPortal({ webDist, operatorTotp: 'required' }),
      chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS }),
    ]);
    page = await (await browser.newContext({ locale: 'zh-CN' })).newPage();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
  });

  async function passwordStep(name: string, password: string) {
    await page.goto('about:blank');
    const captcha = page.waitForResponse((r) => r.url().endsWith('/api/auth/captcha'));
    await page.goto(`${portal.url}/login`);
    const answer = ((await (await captcha).json()) as { testAnswer: string }).testAnswer;
    // The captcha is a picture inside the SVG (no glyph outlines), and the page's CSP lets it show.
    const shown = page.locator('button.captcha svg image');
    await shown.waitFor();
    await page.fill('input[name=name]', name);
    await page.fill('input[name=password]', password);
    await page.fill('input[name=captcha]', answer);
    await page.click('button[type=submit]');
  }

  let secret = '';
  it('takes an operator without a second factor through enrolment, then into the review pages', async () => {
    await passwordStep(D.operator.name, D.operator.password);
    await page.waitForSelector('text=绑定动态口令');
    await expect(page.locator('.totp-enrol img').getAttribute('src')).resolves.toMatch(/^data:image\/svg\+xml;base64,/);
    secret = (await page.locator('.totp-enrol code.secret').textContent())!.trim();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await page.fill('input[name=code]', '000000' === totpNow(secret) ? '111111' : '000000');
    await page.click('button[type=submit]');
    await page.waitForSelector('p.error:has-text("动态口令错误")');
    await page.fill('input[name=code]', totpNow(secret));
    await page.click('button[type=submit]');
    const codes = (await page.locator('[data-testid=recovery-codes] pre').textContent())!.trim().split('\n');
    expect(codes).toHaveLength(10);
    await page.click('button:has-text("我已保存")');
    await page.waitForSelector('header.topbar');
    expect(new URL(page.url()).pathname).toBe('/review');
  }, 120_000);

  it('asks the enrolled operator for a code at the next login', async () => {
    await page.click('header.topbar button.link:has-text("退出")');
    await page.waitForSelector('form.login');
    await passwordStep(D.operator.name, D.operator.password);
    await page.waitForSelector('text=动态口令验证');
    // The enrolment's code is spent: the next step's code opens the session.
    await page.fill('input[name=code]', totpNow(secret, Date.now() + 30_000));
    await page.click('button[type=submit]');
    await page.waitForSelector('header.topbar');
  }, 120_000);

  it('lets an enterprise admin without a second factor in with the password alone', async () => {
    await page.click('header.topbar button.link:has-text("退出")');
    await page.waitForSelector('form.login');
    await passwordStep(D.admin.name, D.admin.password);
    await page.waitForSelector('header.topbar');
    await page.goto(`${portal.url}/account-settings`);
    await page.waitForSelector('[data-testid=totp-settings] >> text=未启用');
  }, 120_000);

  // A second step answered from another client (LOGIN_STEP_CLIENT, like LOGIN_STEP_EXPIRED) cannot
  // go on: the page says why and starts the login again (a new captcha, the password asked again).
  it('starts the login again, saying why, when the second step comes from another client', async () => {
    await page.click('header.topbar button.link:has-text("退出")');
    await page.waitForSelector('form.login');
    await passwordStep(D.operator.name, D.operator.password);
    await page.waitForSelector('text=动态口令验证');
    await page.route('**/api/auth/login/totp', (route) =>
      route.continue({ headers: { ...route.request().headers(), 'user-agent': 'another browser' } }),
    );
    await page.fill('input[name=code]', '000000');
    await page.click('button[type=submit]');
    await page.waitForSelector('form.login p.error:has-text("同一浏览器")');
    await expect(page.locator('input[name=password]').inputValue()).resolves.toBe('');
    await page.unroute('**/api/auth/login/totp');
  }, 120_000);
});
