import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { addDistrict, browserPortal } from './browser-portal.ts';
import { AlertBus, setAlertBus } from '../../../src/api/bigdata/alert-bus.ts';
import { capFixture } from '../../../src/api/bigdata/cap/fixtures.ts';
import { shanghaiToday, uploadLetter } from '../../../src/api/bigdata/console-harness.ts';

/**
 * What a campaign operator met walking the console with a check-in alert in two languages and a
 * CAP file (#23 walk of #21's features), each place a person was left guessing:
 * - 回放预演 beside the reach estimate answered a draft without quotas with
 *   "请求参数有误：quota.cmcc.total: 须大于 0；…" and marked nothing in the form;
 * - the check-in's reply prompt went into the Chinese text only: foreigners, who get the English
 *   text, were asked nothing;
 * - CAP 1.2 import and export existed only in the API: no page to upload a file, see what is wrong
 *   with it, or take a task out as CAP.
 * The portal talks to a real nats-server (the tasks' bucket); no alerting engine is needed for any
 * of these (the what-if's draft is refused before it is replayed).
 */
const PROMPT_EN = 'Reply 1 if safe, 2 if you need help.';

describe('the console as an operator walks it: what-if, a bilingual check-in, CAP in and out', () => {
  const b = browserPortal('console-walk');
  const { problems } = b;
  let page: Page;
  const shot = (name: string) => b.shot(page, name);

  beforeAll(async () => {
    page = await b.pageAs(b.admin);
  });

  it('回放预演 of a draft without quotas marks the quota fields in the form and says so in words, not as field paths', async () => {
    await page.goto(`${b.portal.url}/bigdata/send`);
    await addDistrict(page);
    await page.click('[data-testid="what-if"] button.primary');
    const error = page.locator('[data-testid="what-if-error"]');
    await expect.poll(() => error.textContent(), { timeout: 30_000 }).toContain('请先补全左侧表单中标出的');
    expect(await error.textContent()).not.toMatch(/quota\.|请求参数有误/);
    // Marked where the operator fills them in, as a submit's errors are.
    for (const c of ['cmcc', 'cucc', 'ctcc'])
      expect(await page.locator(`.field-error[data-field="quota.${c}.total"]`).isVisible(), c).toBe(true);
    await shot('walk-what-if-needs-quota-1440x900');
    // Filled in, the mark goes.
    await page.fill('input[name="quota.cmcc.total"]', '100');
    await expect.poll(() => page.locator('.field-error[data-field="quota.cmcc.total"]').count()).toBe(0);
    expect(problems).toEqual([]);
  }, 90_000);

  it('a check-in alert with an English text asks foreigners how to answer too', async () => {
    await page.fill('textarea[name="content"]', '今夜特大暴雨，请勿外出。');
    await page.fill('textarea[name="english"]', 'Heavy rainstorm tonight, stay indoors.');
    await page.check('[data-field="checkIn"]');
    // The text has no prompt yet: the page says under the English text which one will be added.
    await page.waitForSelector('[data-testid="english-checkin-missing"]');
    expect(await page.locator('[data-testid="english-checkin-missing"]').textContent()).toContain(`“${PROMPT_EN}”`);
    await page.click('[data-action="checkin-prompt"]');
    expect(await page.inputValue('textarea[name="content"]')).toBe('今夜特大暴雨，请勿外出。回复1表示安全，回复2表示需要帮助');
    expect(await page.inputValue('textarea[name="english"]')).toBe(`Heavy rainstorm tonight, stay indoors. ${PROMPT_EN}`);
    await expect.poll(() => page.locator('[data-testid="english-checkin-missing"]').count()).toBe(0);
    // An English text written afterwards: the warning again, and its button adds the prompt once.
    await page.fill('textarea[name="english"]', "Flooding on Yan'an Road.");
    await page.waitForSelector('[data-testid="english-checkin-missing"]');
    await page.locator('[data-testid="english-checkin-missing"]').scrollIntoViewIfNeeded();
    await shot('walk-checkin-english-missing-1440x900');
    await page.click('[data-action="english-checkin-prompt"]');
    expect(await page.inputValue('textarea[name="english"]')).toBe(`Flooding on Yan'an Road. ${PROMPT_EN}`);
    // Its segments are counted with the prompt (GSM-7, one SMS).
    await expect.poll(() => page.locator('[data-testid="english-counts"]').textContent(), { timeout: 15_000 }).toContain('计费 1 条/人');
  }, 60_000);

  it('imports a CAP file: each bad element named where it is in the file, nothing saved; a good one previewed and saved as a draft', async () => {
    await page.click('.bd-menu a:has-text("导入 CAP 预警")');
    await page.waitForSelector('input[name="cap"]');
    const good = capFixture('typhoon-alert');
    const bad = good
      .replace('30.30,120.10 30.20,120.10</polygon>', '30.30,120.10 30.21,120.10</polygon>')
      .replace('<urgency>Immediate</urgency>', '<urgency>Now</urgency>');
    expect(bad).not.toBe(good);
    await page.setInputFiles('input[name="cap"]', { name: 'typhoon-bad.xml', mimeType: 'application/xml', buffer: Buffer.from(bad) });
    const errors = page.locator('[data-testid="cap-errors"]');
    await expect.poll(() => errors.textContent(), { timeout: 15_000 }).toContain('首尾闭合');
    expect(await errors.locator('tr[data-path="alert.info[0].area[1].polygon[0]"]').textContent()).toContain(
      '<info> 第 1 个 › <area> 第 2 个 › <polygon> 第 1 个',
    );
    expect(await errors.locator('tr[data-path="alert.info[0].urgency"]').textContent()).toContain('<info> 第 1 个 › <urgency>');
    await shot('walk-cap-import-errors-1440x900');
    expect((await b.admin.req('GET', '/api/bigdata/drafts')).body.total).toBe(0);

    await page.setInputFiles('input[name="cap"]', { name: 'typhoon.xml', mimeType: 'application/xml', buffer: Buffer.from(good) });
    const preview = page.locator('[data-testid="cap-preview"]');
    await expect.poll(() => preview.locator('[data-field="subject"]').textContent(), { timeout: 15_000 }).toBe('台风“海葵”红色预警');
    expect(await errors.count()).toBe(0);
    expect(await preview.locator('[data-field="msgType"]').textContent()).toContain('Alert');
    expect(await preview.locator('[data-field="alertType"]').textContent()).toBe('台风');
    expect(await preview.locator('[data-field="region"]').textContent()).toBe('西湖区、圆形（半径 5 公里）、多边形');
    expect(await preview.locator('[data-field="text-en-US"]').textContent()).toContain('Typhoon Haikui');
    await shot('walk-cap-import-preview-1440x900');
    await page.click('[data-action="cap-draft"]');
    await page.waitForURL(/\/bigdata\/send\?draft=/, { timeout: 15_000 });
    await expect.poll(() => page.inputValue('input[name="subject"]'), { timeout: 15_000 }).toBe('台风“海葵”红色预警');
    expect(await page.inputValue('textarea[name="english"]')).toContain('Typhoon Haikui');
    await page.waitForSelector('.area-picker .chip[data-code="330106"]');
    await shot('walk-cap-draft-on-send-page-1440x900');
    expect((await b.admin.req('GET', '/api/bigdata/drafts')).body.total).toBe(1);
    expect(problems).toEqual([]);
  }, 90_000);

  it('exports a task as CAP from its detail, and the file imports again as the same alert', async () => {
    const r = await b.admin.req('POST', '/api/bigdata/tasks', {
      form: {
        alertType: 'rainstorm',
        region: { parts: [{ kind: 'admin', code: '330102', name: '上城区' }] },
        subject: '上城区暴雨 导出',
        content: '今夜特大暴雨，请勿外出。',
        texts: [{ language: 'en-US', content: 'Heavy rainstorm tonight, stay indoors.' }],
        signature: '翼讯通',
        startDate: shanghaiToday(),
        endDate: shanghaiToday(),
        windows: [],
        frequency: 'once',
        minDwellMin: 0,
        rules: [],
        quota: { cmcc: { total: 10, dailyCap: 10 } },
        authorizationLetter: await uploadLetter(b.admin),
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await page.goto(`${b.portal.url}/bigdata/tasks?open=${r.body.id}`);
    const link = page.locator('[data-testid="task-detail"] [data-action="export-cap"]');
    await link.waitFor({ timeout: 15_000 });
    await shot('walk-task-detail-export-cap-1440x900');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const xml = readFileSync((await download.path())!, 'utf8');
    expect(xml).toContain('urn:oasis:names:tc:emergency:cap:1.2');
    expect(xml).toContain('上城区暴雨 导出');
    expect(download.suggestedFilename()).toMatch(/\.cap\.xml$/);

    await page.click('.modal header button');
    await page.click('.bd-menu a:has-text("导入 CAP 预警")');
    await page.setInputFiles('input[name="cap"]', {
      name: download.suggestedFilename(),
      mimeType: 'application/xml',
      buffer: Buffer.from(xml),
    });
    const preview = page.locator('[data-testid="cap-preview"]');
    await expect.poll(() => preview.locator('[data-field="subject"]').textContent(), { timeout: 15_000 }).toBe('上城区暴雨 导出');
    expect(await preview.locator('[data-field="region"]').textContent()).toBe('上城区');
    expect(await preview.locator('[data-field="text-en-US"]').textContent()).toContain('Heavy rainstorm tonight');
    expect(problems).toEqual([]);
  }, 90_000);

  it("修改任务 changes a live bilingual task's English text with its Chinese one, in the portal and in the bucket alerting reads", async () => {
    // A task's change is written to the bucket alerting reads (the default one, as the CLI's `update`):
    // this test's task starts tomorrow, so no engine on the shared server sends it today; stopped at the end.
    const live = await AlertBus.open(b.nc, { reachSubject: `alert.reach.console-walk-live-${process.pid}` });
    setAlertBus(b.portal.deps, live);
    const tomorrow = new Date(Date.now() + 8 * 3600_000 + 86_400_000).toISOString().slice(0, 10);
    const r = await b.admin.req('POST', '/api/bigdata/tasks', {
      form: {
        alertType: 'rainstorm',
        region: { parts: [{ kind: 'admin', code: '330102', name: '上城区' }] },
        subject: '上城区暴雨 修改英文',
        content: '明日特大暴雨，请勿外出。',
        texts: [{ language: 'en-US', content: 'Heavy rainstorm tomorrow, stay indoors.' }],
        signature: '翼讯通',
        startDate: tomorrow,
        endDate: tomorrow,
        windows: [],
        frequency: 'once',
        minDwellMin: 0,
        rules: [],
        quota: { cmcc: { total: 10, dailyCap: 10 } },
        authorizationLetter: await uploadLetter(b.admin),
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const id = r.body.id as string;
    try {
      await page.goto(`${b.portal.url}/bigdata/tasks?open=${id}`);
      await page.locator('[data-testid="task-detail"] [data-action="update"]').click();
      const dialog = page.locator('[data-testid="app-dialog"]');
      expect(await dialog.locator('textarea[name="english"]').inputValue()).toBe('Heavy rainstorm tomorrow, stay indoors.');
      await dialog.locator('textarea[name="content"]').fill('明日特大暴雨，地铁停运，请勿外出。');
      await dialog.locator('textarea[name="english"]').fill('Heavy rainstorm tomorrow, the metro is closed: stay indoors.');
      await shot('walk-update-english-1440x900');
      await dialog.locator('[data-action="ok"]').click();
      const en = page.locator('[data-testid="task-content-en"]');
      await expect.poll(() => en.textContent(), { timeout: 15_000 }).toContain('the metro is closed');
      expect(await page.locator('[data-testid="task-content"]').textContent()).toContain('地铁停运');
      // As alerting will send it to a foreigner from now on.
      expect((await live.get(id))?.spec.contents?.en).toContain('the metro is closed');
      expect((await b.admin.req('GET', `/api/bigdata/tasks/${id}`)).body.form.texts).toEqual([
        { language: 'en-US', content: 'Heavy rainstorm tomorrow, the metro is closed: stay indoors.' },
      ]);
      expect(problems).toEqual([]);
    } finally {
      await b.admin.req('POST', `/api/bigdata/tasks/${id}/stop`);
    }
  }, 90_000);

  it('applies a CAP Update and then a Cancel from the import page to the task their references name', async () => {
    // The fixtures moved a day on (the alert starts tomorrow: no engine sends it today), into the
    // bucket alerting reads, as the test above.
    const day = (n: number) => new Date(Date.now() + 8 * 3600_000 + n * 86_400_000).toISOString().slice(0, 10);
    const fixture = (name: string) =>
      readFileSync(new URL(`../../../src/api/bigdata/cap/fixtures/${name}.xml`, import.meta.url), 'utf8')
        .replaceAll('2026-12-09', day(3))
        .replaceAll('2026-12-08', day(2))
        .replaceAll('2026-12-07', day(1));
    const alert = await b.admin.req('POST', '/api/bigdata/cap', {
      xml: fixture('typhoon-alert'),
      form: { quota: { cmcc: { total: 10, dailyCap: 10 } }, authorizationLetter: await uploadLetter(b.admin) },
    });
    expect(alert.status, JSON.stringify(alert.body)).toBe(200);
    const id = alert.body.id as string;
    try {
      await page.goto(`${b.portal.url}/bigdata/cap`);
      await page.setInputFiles('input[name="cap"]', {
        name: 'typhoon-update.xml',
        mimeType: 'application/xml',
        buffer: Buffer.from(fixture('typhoon-update')),
      });
      const preview = page.locator('[data-testid="cap-preview"]');
      await expect.poll(() => preview.locator('[data-field="msgType"]').textContent(), { timeout: 15_000 }).toContain('Update');
      expect(await preview.locator('[data-field="references"]').textContent()).toContain('33000041600000_20261207080000');
      await shot('walk-cap-update-preview-1440x900');
      await preview.locator('[data-action="cap-apply"]').click();
      await page.waitForURL(new RegExp(`/bigdata/tasks\\?open=${id}`), { timeout: 15_000 });
      await expect
        .poll(() => page.locator('[data-testid="task-content"]').textContent(), { timeout: 15_000 })
        .toContain('影响范围扩大到上城区');
      expect(await page.locator('[data-testid="task-content-en"]').textContent()).toContain('Shangcheng District is now affected');
      await page.click('.modal header button');

      await page.click('.bd-menu a:has-text("导入 CAP 预警")');
      await page.setInputFiles('input[name="cap"]', {
        name: 'typhoon-cancel.xml',
        mimeType: 'application/xml',
        buffer: Buffer.from(fixture('typhoon-cancel')),
      });
      await expect.poll(() => preview.locator('[data-field="msgType"]').textContent(), { timeout: 15_000 }).toContain('Cancel');
      await preview.locator('[data-action="cap-apply"]').click();
      // An emergency stop asks first, in the app's own dialog.
      const dialog = page.locator('[data-testid="app-dialog"]');
      await expect.poll(() => dialog.textContent()).toContain('紧急停止');
      await dialog.locator('[data-action="ok"]').click();
      await page.waitForURL(new RegExp(`/bigdata/tasks\\?open=${id}`), { timeout: 15_000 });
      await expect.poll(() => page.locator('[data-testid="task-detail"] .badge').first().textContent(), { timeout: 15_000 }).toBe('已停止');
      expect(problems).toEqual([]);
    } finally {
      await b.admin.req('POST', `/api/bigdata/tasks/${id}/stop`);
    }
  }, 90_000);
});
