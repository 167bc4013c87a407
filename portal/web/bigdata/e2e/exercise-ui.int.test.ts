import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { addDistrict, browserPortal } from './browser-portal.ts';
import { PNG_BYTES } from '../../../src/api/bigdata/console-harness.ts';

/**
 * Exercise mode in the browser (#21): the send page's 演练任务 box counts 【演练】 in the characters
 * and segments under the text (and under the English text), the task it submits is an exercise in
 * the bucket alerting reads, with its English text, and reserves nothing, and the task list and the
 * detail show it with the 演练 badge and the prefixed texts. The portal talks to a real nats-server; no alerting engine is needed to see the task.
 */
describe('an exercise task in a real browser', () => {
  const b = browserPortal('exercise-ui');
  const { problems } = b;
  let page: Page;
  const shot = (name: string) => b.shot(page, name);

  beforeAll(async () => {
    page = await b.pageAs(b.admin);
  });

  it('the 演练任务 box counts 【演练】, and the exercise it submits shows its badge in the list and the detail, reserving nothing', async () => {
    const before = (await b.admin.req('GET', '/api/home/quota')).body;
    await page.goto(`${b.portal.url}/bigdata/send`);
    await addDistrict(page);
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
    await page.waitForURL(/\/bigdata\/tasks\?open=/, { timeout: 30_000 }).catch(b.failWithShot(page, 'exercise-submit-failed'));
    const id = new URL(page.url()).searchParams.get('open')!;
    expect((await b.bus.get(id))?.spec).toMatchObject({ exercise: true, contents: { en: 'Typhoon drill: go to the nearest shelter.' } });
    expect((await b.admin.req('GET', '/api/home/quota')).body).toEqual(before);

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
