import { connectNats, type NatsConnection } from '@geo/infra';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AlertBus, setAlertBus } from '../../../src/api/bigdata/alert-bus.ts';
import { PNG_BYTES } from '../../../src/api/bigdata/console-harness.ts';
import type { Portal } from '../../../src/portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal, type Client } from '../../../src/test/harness.ts';
import { e2eOutDir } from '../../e2e/build-entry.ts';
import { buildE2e } from './build-e2e.ts';
import { ARTIFACTS, CHROMIUM_ARGS } from './console-stack.ts';

/**
 * Exercise mode in the browser (#21): the send page's 演练任务 box counts 【演练】 in the characters
 * and segments under the text (and under the English text), the task it submits is an exercise in
 * the bucket alerting reads, with its English text, and reserves nothing, and the task list and the
 * detail show it with the 演练 badge and the prefixed texts. The portal talks to a real nats-server; no alerting engine is needed to see the task.
 */
const BUCKET = `alert_tasks_exercise_ui_${process.pid}`;

describe('an exercise task in a real browser', () => {
  let portal: Portal;
  let nc: NatsConnection;
  let bus: AlertBus;
  let browser: Browser;
  let admin: Client;
  let page: Page;
  const problems: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

  beforeAll(async () => {
    const distP = buildE2e(e2eOutDir(join(tmpdir(), 'geo-alert-bigdata-e2e')));
    const browserP = chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    browserP.catch(() => undefined);
    portal = await testPortal({ webDist: await distP });
    nc = await connectNats(inject('natsUrl'), 'portal-exercise-ui-test');
    bus = await AlertBus.open(nc, { bucket: BUCKET, reachSubject: `alert.reach.exercise-ui-${process.pid}` });
    setAlertBus(portal.deps, bus);
    browser = await browserP;
    mkdirSync(ARTIFACTS, { recursive: true });
    admin = await loginAdmin(portal);
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

  it('the 演练任务 box counts 【演练】, and the exercise it submits shows its badge in the list and the detail, reserving nothing', async () => {
    const before = (await admin.req('GET', '/api/home/quota')).body;
    await page.goto(`${portal.url}/bigdata/send`);
    await page.selectOption('select[aria-label="省"]', '330000');
    await page.selectOption('select[aria-label="市"]', '330100');
    await page.selectOption('select[aria-label="区/县"]', '330102');
    await page.click('.area-picker button:has-text("添加区域")');
    await page.waitForSelector('.area-picker .chip[data-code="330102"]');
    await page.selectOption('select[name="alertType"]', 'typhoon');
    await page.fill('input[name="subject"]', '台风 演练');
    // 64 characters: with the signature 【翼讯通】 one SMS (69 characters); 【演练】 makes it 73, two segments.
    await page.fill('textarea[name="content"]', '演'.repeat(64));
    const counts = page.locator('[data-testid="counts"]');
    await expect.poll(() => counts.textContent(), { timeout: 10_000 }).toMatch(/69\D.*1\s*条/);
    const plain = await counts.textContent();
    await page.locator('[data-testid="exercise"] input[type="checkbox"]').check();
    await expect.poll(() => counts.textContent(), { timeout: 10_000 }).not.toBe(plain);
    expect(await counts.textContent()).toMatch(/73\D.*2\s*条/);
    // The English text, counted on its own with its own prefix: 【翼讯通】 5 + "[EXERCISE] " 11 + 41 = 57
    // (it was 50 behind 【演练】, which alerting no longer puts before an English text).
    await page.fill('textarea[name="english"]', 'Typhoon drill: go to the nearest shelter.');
    await expect.poll(() => page.locator('[data-testid="english-counts"]').textContent(), { timeout: 10_000 }).toMatch(/57\D.*1\s*条/);
    await page.locator('.row:has(input[type="time"]) button.link').first().click();
    for (const c of ['cucc', 'ctcc']) await page.locator(`tr:has(input[name="quota.${c}.total"]) input[type="checkbox"]`).uncheck();
    await page.fill('input[name="quota.cmcc.total"]', '100');
    await page.fill('input[name="quota.cmcc.dailyCap"]', '100');
    await page.setInputFiles('input[name="letter"]', { name: '授权函.png', mimeType: 'image/png', buffer: Buffer.from(PNG_BYTES) });
    await page.waitForSelector('.bd-form small:has-text("授权函.png")');
    await shot('exercise-send-1440x900');
    await page.click('.bd-form button[type="submit"]');
    await page.waitForURL(/\/bigdata\/tasks\?open=/, { timeout: 30_000 }).catch(async (e) => {
      await shot('exercise-submit-failed');
      throw new Error(`${(e as Error).message}\n${problems.join('\n')}`);
    });
    const id = new URL(page.url()).searchParams.get('open')!;
    expect((await bus.get(id))?.spec).toMatchObject({ exercise: true, contents: { en: 'Typhoon drill: go to the nearest shelter.' } });
    expect((await admin.req('GET', '/api/home/quota')).body).toEqual(before);

    // The detail opens by itself: the badge and the text as it is sent.
    await page.waitForSelector('[data-testid="detail-exercise-badge"]', { timeout: 15_000 });
    expect(await page.locator('[data-testid="task-content"]').textContent()).toContain(`【演练】${'演'.repeat(64)}`);
    expect(await page.locator('[data-testid="task-content-en"]').textContent()).toContain(
      '【翼讯通】[EXERCISE] Typhoon drill: go to the nearest shelter.',
    );
    await shot('exercise-detail-1440x900');
    await page.click('.modal header button');
    const row = page.locator(`tr[data-task="${id}"]`);
    await expect.poll(() => row.locator('[data-testid="exercise-badge"]').textContent(), { timeout: 15_000 }).toBe('演练');
    await shot('exercise-list-1440x900');
    // The list's 演练 filter: real alerts only hides it, exercises only shows it.
    await page.selectOption('select[aria-label="演练"]', 'false');
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(0);
    await page.selectOption('select[aria-label="演练"]', 'true');
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1);
    expect(problems).toEqual([]);
  }, 120_000);
});
