import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckIn, recordCheckInReply, setArea } from '../../../../src/api/bigdata/checkins/store.ts';
import type { Portal } from '../../../../src/portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal } from '../../../../src/test/harness.ts';
import { buildE2eEntry, e2eOutDir } from '../../../e2e/build-entry.ts';
import { ARTIFACTS, CHROMIUM_ARGS } from '../../e2e/console-stack.ts';
import { ct } from '../zh-CN.ts';

/**
 * 回复报平安 in a real browser (#21): the task detail's panel shows the answers per option, the
 * per-area table (10 / 10 on the grid of k, the single unrecognised answer withheld), the help list
 * with masked numbers, the export link, and closing it; the send form's field offers the two default
 * answers and writes the prompt into the message. The check-in's answers are recorded through the
 * store the reply consumer uses (the API and consumer are proven end to end by checkins.int).
 */
const TASK = `bd-checkin-ui-${process.pid}`;
/** A task with a check-in still waiting for its approval: nothing is sent, so no answer can come yet. */
const WAITING = `bd-checkin-wait-${process.pid}`;
const CENTRE = { lat: 30.27, lng: 120.16 };

describe('the check-in panel in a real browser', () => {
  let portal: Portal;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    const distP = buildE2eEntry(fileURLToPath(new URL('.', import.meta.url)), e2eOutDir(join(tmpdir(), 'geo-alert-checkin-e2e')));
    const browserP = chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    browserP.catch(() => undefined);
    portal = await testPortal({ webDist: await distP });
    const db = portal.deps.db;
    await db.query(
      `INSERT INTO bigdata_tasks (id, enterprise_id, state, alert_type, subject) VALUES ($1, 'demo-enterprise', 'running', 'flood', $2)`,
      [TASK, 'flood check-in'],
    );
    await db.query(
      `INSERT INTO bigdata_tasks (id, enterprise_id, state, alert_type, subject) VALUES ($1, 'demo-enterprise', 'pending_approval', 'flood', $2)`,
      [WAITING, 'flood check-in waiting'],
    );
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    for (const taskId of [TASK, WAITING])
      await db.transaction((tx) =>
        createCheckIn(tx, {
          taskId,
          enterpriseId: 'demo-enterprise',
          endDate: today,
          options: ct.defaults,
        }),
      );
    // 12 safe, 11 asking for help, 1 unrecognised, all sent in one hexagon.
    const texts = [...Array(12).fill('1'), ...Array(11).fill('2'), 'ok'];
    for (const [i, text] of texts.entries()) {
      const msisdn = `1390003${String(i).padStart(4, '0')}`;
      await recordCheckInReply(db, {
        replyId: `ui-${i}`,
        enterpriseId: 'demo-enterprise',
        accountId: 'demo-admin',
        sendId: TASK,
        from: msisdn,
        to: '10657190001',
        text,
        carrier: 'cmcc',
        extension: '90001',
        at: Date.now() - (texts.length - i) * 1000,
      });
      await setArea(db, TASK, msisdn, { lat: CENTRE.lat, lng: CENTRE.lng + i * 1e-4 });
    }
    browser = await browserP;
    mkdirSync(ARTIFACTS, { recursive: true });
    const admin = await loginAdmin(portal);
    const [name, value] = admin.cookie.split('=') as [string, string];
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
    await context.addCookies([{ name, value, url: portal.url }]);
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(String(e.stack).slice(0, 600)));
  }, START_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
  });

  it('shows the answers, the areas by k, the masked help list, and closes', async () => {
    await page.goto(`${portal.url}/checkin/${TASK}`);
    const panel = page.getByTestId('checkin-panel');
    await panel.waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('[data-testid="checkin-counts"] tr[data-answer="1"] td').nth(1).textContent()).toBe('12');
    expect(await page.locator('[data-testid="checkin-counts"] tr[data-answer="2"] td').nth(1).textContent()).toBe('11');
    expect(await page.locator('[data-testid="checkin-counts"] tr[data-answer="unrecognised"] td').nth(1).textContent()).toBe('1');
    const area = page.locator('[data-testid="checkin-areas"] tbody tr');
    await expect.poll(() => area.count()).toBe(1);
    // Named for a person: a number (drawn on the map too) and the district its centre lies in, not an H3 id.
    expect(await area.first().locator('td').allTextContents()).toEqual([ct.area(1, '拱墅区'), '10', '10', ct.underK(10)]);
    const help = page.locator('[data-testid="checkin-help"] tbody tr');
    await expect.poll(() => help.count()).toBe(11);
    for (const m of await help.locator('td:first-child').allTextContents()) expect(m).toMatch(/^139\*{4}\d{4}$/);
    // Where each was sent: the district, then the coordinates to go to.
    for (const w of await help.locator('td:last-child').allTextContents()) expect(w).toMatch(/^拱墅区 30\.27\d\d, 120\.16\d\d$/);
    expect(await page.getByTestId('checkin-export').getAttribute('href')).toBe(`/api/bigdata/tasks/${TASK}/checkin/help/export`);
    // The map draws the hexagon once it has loaded.
    await page.waitForFunction(() => !!document.querySelector('[data-testid="checkin-map"] canvas'), undefined, { timeout: 30_000 });
    await page.waitForTimeout(1500);
    await shot('checkin-panel');

    await page.click('[data-action="close-checkin"]');
    await page.locator('[data-testid="app-dialog"] button', { hasText: ct.close }).click();
    await expect.poll(() => panel.textContent(), { timeout: 15_000 }).toContain(ct.closed);
    expect(await page.locator('[data-action="close-checkin"]').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('a task still waiting for approval does not say it takes answers, nor offers to stop them', async () => {
    await page.goto(`${portal.url}/checkin/${WAITING}`);
    const panel = page.getByTestId('checkin-panel');
    await panel.waitFor({ timeout: 30_000 });
    await expect.poll(() => panel.locator('h3').textContent()).toContain(ct.notStarted);
    expect(await panel.locator('h3').textContent()).not.toContain(ct.open);
    expect(await page.locator('[data-action="close-checkin"]').count()).toBe(0);
    await shot('checkin-panel-waiting');
    expect(problems).toEqual([]);
  });

  it('the send form’s field offers the default answers and writes the prompt into the message', async () => {
    await page.goto(`${portal.url}/checkin-field`);
    await page.getByTestId('checkin-field').waitFor({ timeout: 30_000 });
    await page.check('[data-field="checkIn"]');
    expect(JSON.parse((await page.getByTestId('field-value').textContent()) ?? 'null')).toEqual({ options: ct.defaults });
    await page.click('[data-action="checkin-prompt"]');
    expect(await page.getByTestId('field-content').textContent()).toBe(ct.prompt(ct.defaults));
    // An answer's English meaning for the English SMS's prompt; cleared, it is left out (not sent empty).
    await page.fill('[data-field="checkIn.options.1.labelEn"]', 'if trapped');
    expect(JSON.parse((await page.getByTestId('field-value').textContent()) ?? 'null').options[1]).toEqual({
      ...ct.defaults[1],
      labelEn: 'if trapped',
    });
    await shot('checkin-field');
    await page.fill('[data-field="checkIn.options.1.labelEn"]', '');
    expect(JSON.parse((await page.getByTestId('field-value').textContent()) ?? 'null')).toEqual({ options: ct.defaults });
    expect(problems).toEqual([]);
  });
});
