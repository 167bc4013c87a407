import { connectClickHouse, type ClickHouseClient } from '@geo/infra';
import type { Carrier, LocationEvent } from '@geo/ingest';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PNG_BYTES } from '../../../src/api/bigdata/console-harness.ts';
import type { Portal } from '../../../src/portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal, type Client } from '../../../src/test/harness.ts';
import { ARTIFACTS, CHROMIUM_ARGS } from '../../bigdata/e2e/console-stack.ts';
import { buildApp, e2eOutDir } from '../../e2e/build-entry.ts';
import { seedSendLog } from '../../e2e/send-log-fixture.ts';
import { startInsightStack, type InsightStack } from './insight-stack.ts';

/**
 * The manual's screenshots, taken from the running product (the whole SPA on a demo portal), and
 * the manual page showing them. Each run writes the screenshots to the test output
 * (`$ARTIFACTS_DIR/manual/`); to refresh the committed ones in `portal/web/manual/img/` after a UI
 * change, run
 *
 *   MANUAL_SHOTS=refresh npx vitest run --project int portal/web/manual/e2e/manual-shots.int.test.ts
 *
 * and commit the images (the unit test `manual-blocks.test.ts` checks that each one the manual
 * names is there, is a PNG and is small).
 */
const REFRESH = process.env.MANUAL_SHOTS === 'refresh';
const OUT = REFRESH ? fileURLToPath(new URL('../img/', import.meta.url)) : join(ARTIFACTS, 'manual');
const TABLE = `sms_log_manual_e2e_${process.pid}`;
/** Small enough to ship inside the app, large enough to read. */
const VIEWPORT = { width: 1280, height: 760 };

const PREFIX: Record<Carrier, string> = { cmcc: '138', cucc: '186', ctcc: '189' };
const CARRIERS: Carrier[] = ['cmcc', 'cucc', 'ctcc'];
/** Where the visitors' numbers are registered: Hangzhou mostly, then other cities (the 来源地 panel). */
const HOMES = ['330100', '330100', '330100', '310100', '320100', '330200', '110100', '340100', '330300', '440100'];

/**
 * A crowd for the heat map and the big screen: `n` people over a grid of cells across Hangzhou's
 * urban districts, densest at West Lake and thinning outwards, mixed carriers, ages, sexes and home
 * cities; `moved` of them arrived later from Shaoxing (inflow).
 */
function crowd(n: number, moved: number): LocationEvent[][] {
  const lake = [120.15, 30.25] as const;
  const cells = Array.from({ length: 63 }, (_, i) => [119.98 + (i % 9) * 0.045, 30.1 + Math.floor(i / 9) * 0.045] as const).sort(
    (a, b) => Math.hypot(a[0] - lake[0], a[1] - lake[1]) - Math.hypot(b[0] - lake[0], b[1] - lake[1]),
  );
  const first: LocationEvent[] = [];
  const later: LocationEvent[] = [];
  for (let i = 0; i < n; i++) {
    const carrier = CARRIERS[i % 3]!;
    // Squared: more people in the first cells (nearer the lake), some in every one.
    const at = cells[Math.floor((((i * 7919) % n) / n) ** 2 * cells.length)]!;
    const person = {
      msisdn: `${PREFIX[carrier]}${String(20_000_000 + i).slice(-8)}`,
      carrier,
      kind: 'periodic' as const,
      gender: i % 5 < 2 ? ('f' as const) : ('m' as const),
      age: 18 + ((i * 37) % 55),
      home: HOMES[i % HOMES.length]!,
    };
    const event = (lng: number, lat: number): LocationEvent => ({
      ...person,
      ts: Date.now(),
      cell: `manual-${lng.toFixed(3)}-${lat.toFixed(3)}`,
      lng,
      lat,
    });
    if (i < moved) {
      first.push(event(120.58, 30.0));
      later.push(event(at[0], at[1]));
    } else first.push(event(at[0], at[1]));
  }
  return [first, later];
}

describe('the manual: screenshots from the product, shown on the help page', () => {
  let portal: Portal;
  let browser: Browser;
  let page: Page;
  let admin: Client;
  let ch: ClickHouseClient;
  let stack: InsightStack;
  let taskId = '';
  const problems: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(OUT, `${name}.png`) });

  beforeAll(async () => {
    const webDistP = buildApp(e2eOutDir(join(tmpdir(), 'geo-portal-manual-e2e')));
    const browserP = chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    browserP.catch(() => undefined);
    ch = connectClickHouse(inject('clickhouseUrl'));
    await seedSendLog(ch, TABLE);
    // Insight and alerting behind the portal, for the heat map, the big screen and running tasks.
    stack = await startInsightStack(inject('clickhouseUrl'));
    portal = await testPortal({
      webDist: await webDistP,
      clickhouseUrl: inject('clickhouseUrl'),
      smsLogTable: TABLE,
      natsUrl: stack.natsUrl,
      insightUrl: stack.insightUrl,
    });
    // The portal connects NATS in the background: the console needs it before the first page.
    for (const end = Date.now() + 60_000; ;) {
      const h = (await (await portal.request('/healthz')).json()) as { checks: { nats?: { ok: boolean } } };
      if (h.checks.nats?.ok) break;
      if (Date.now() > end) throw new Error('the portal did not connect to NATS');
      await new Promise((r) => setTimeout(r, 200));
    }
    browser = await browserP;
    mkdirSync(OUT, { recursive: true });
    admin = await loginAdmin(portal);
    const [name, value] = admin.cookie.split('=') as [string, string];
    const context = await browser.newContext({ viewport: VIEWPORT, locale: 'zh-CN' });
    await context.addCookies([{ name, value, url: portal.url }]);
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(String(e.stack).slice(0, 600)));
    page.on('dialog', (d) => void d.accept());
  }, START_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
    await stack?.stop();
    await ch?.command({ query: `DROP TABLE IF EXISTS ${TABLE}` }).catch(() => undefined);
    await ch?.close();
  });

  it('takes the login page and the home page with its trends', async () => {
    const fresh = await browser.newContext({ viewport: VIEWPORT, locale: 'zh-CN' });
    const login = await fresh.newPage();
    await login.goto(`${portal.url}/login`);
    await login.waitForSelector('form.login');
    await expect.poll(() => login.locator('form.login img, form.login svg').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    // The card and a margin of the background (the whole gradient would make a large PNG).
    const card = (await login.locator('form.login').boundingBox())!;
    const clip = { x: card.x - 60, y: card.y - 90, width: card.width + 120, height: card.height + 150 };
    await login.screenshot({ path: join(OUT, 'login.png'), clip });
    await fresh.close();

    await page.goto(portal.url);
    await page.waitForSelector('[data-testid=daily-trend][data-total="3"]', { timeout: 30_000 });
    await new Promise((r) => setTimeout(r, 800)); // the chart's entry animation
    await shot('home');
  }, 120_000);

  it('takes the SMS send page with the address-book picker, and the address book', async () => {
    const books = '/api/industry/books/personal';
    const group = async (name: string, parentId: string | null = null) =>
      (await admin.req('POST', `${books}/groups`, { name, parentId })).body.id as string;
    const office = await group('办公室');
    const duty = await group('值班组', office);
    await group('应急小组');
    for (const [n, phone, g] of [
      ['张伟', '13700000101', office],
      ['李娜', '13700000102', duty],
      ['王强', '13700000103', duty],
      ['赵敏', '13700000104', null],
    ] as const)
      expect((await admin.req('POST', `${books}/contacts`, { name: n, phone, groupIds: g ? [g] : [] })).status).toBe(200);

    await page.goto(`${portal.url}/industry/send`);
    const picker = page.locator('[data-testid=book-picker]');
    await picker.locator(`label[data-group="${duty}"]`).waitFor();
    await picker.locator(`label[data-group="${office}"] input`).check();
    await page.fill('[data-testid=content]', '今晚 20:00 起进行消防演练，请值班人员提前到岗。');
    await page.waitForSelector('[data-testid=counts]:has-text("计费条数 1")');
    await shot('sms-send');

    await page.goto(`${portal.url}/industry/contacts`);
    await page.locator('[data-testid=group-tree]').getByText('值班组').first().waitFor();
    await page.waitForSelector('[data-testid=contacts] tbody tr');
    await shot('books');
  }, 120_000);

  it('takes the big-data send page with a district on the offline map, and a task detail', async () => {
    await page.goto(`${portal.url}/bigdata/send`);
    await page.waitForSelector('[data-testid="send-map"][data-map-ready="1"]', { timeout: 60_000 });
    await page.selectOption('select[aria-label="省"]', '330000');
    await page.selectOption('select[aria-label="市"]', '330100');
    await page.selectOption('select[aria-label="区/县"]', '330102');
    await page.click('.area-picker button:has-text("添加区域")');
    await page.waitForSelector('.area-picker .chip[data-code="330102"]');
    await page.selectOption('select[name="alertType"]', 'typhoon');
    await page.fill('input[name="subject"]', '台风预警 上城区');
    // The view moves to the district; let it settle before the picture.
    await expect.poll(() => page.getAttribute('[data-testid="send-map"]', 'data-bbox'), { timeout: 15_000 }).toMatch(/^120\./);
    await new Promise((r) => setTimeout(r, 1500));
    await shot('bigdata-send');

    const fd = new FormData();
    fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
    const letter = await admin.reqRaw('POST', '/api/bigdata/letters', fd);
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const r = await admin.req('POST', '/api/bigdata/tasks', {
      form: {
        alertType: 'rainstorm',
        region: { parts: [{ kind: 'admin', code: '330102' }] },
        subject: '暴雨预警 上城区',
        content: '今日有暴雨，请减少外出，注意防范城市内涝。',
        signature: '翼讯通',
        startDate: today,
        endDate: today,
        windows: [{ start: '08:00', end: '20:00' }],
        frequency: 'daily',
        minDwellMin: 10,
        rules: [],
        quota: { cmcc: { total: 5000, dailyCap: 2000 }, cucc: { total: 3000, dailyCap: 1000 } },
        authorizationLetter: letter.body.id,
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    taskId = r.body.id as string;
    await page.goto(`${portal.url}/bigdata/tasks`);
    await page.waitForSelector(`tr[data-task="${taskId}"]`);
    await shot('bigdata-tasks');
    await page.goto(`${portal.url}/bigdata/tasks?open=${taskId}`);
    await page.waitForSelector('[data-testid="task-settings"]');
    await shot('bigdata-task-detail');
  }, 120_000);

  it('takes the heat map and the big screen with a crowd from insight and a running alert', async () => {
    const [first, later] = crowd(4000, 400);
    await stack.publish(first);
    await new Promise((r) => setTimeout(r, 1500));
    await stack.publish(later);
    // What insight releases for 杭州市 (the page's default region) once it has the crowd.
    const population = async () =>
      ((await admin.req('POST', '/api/insight/metrics', { region: { parts: [{ kind: 'admin', code: '330100' }] } })).body?.population?.total
        ?.value as number | undefined) ?? 0;
    await expect.poll(population, { timeout: 90_000 }).toBeGreaterThan(1000);

    // A running alert for the big screen's alert panel.
    const fd = new FormData();
    fd.set('file', new File([PNG_BYTES], '授权函.png', { type: 'image/png' }));
    const letter = await admin.reqRaw('POST', '/api/bigdata/letters', fd);
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
    const fire = await admin.req('POST', '/api/bigdata/tasks', {
      form: {
        alertType: 'fire',
        region: { parts: [{ kind: 'circle', center: [120.17, 30.244], radiusM: 1500 }] },
        subject: '火灾预警 湖滨',
        content: '湖滨一带发生火灾，请远离现场，听从现场指挥。',
        signature: '翼讯通',
        startDate: today,
        endDate: today,
        windows: [],
        frequency: 'once',
        minDwellMin: 0,
        rules: [],
        quota: { cmcc: { total: 2000, dailyCap: 2000 }, cucc: { total: 1000, dailyCap: 1000 }, ctcc: { total: 1000, dailyCap: 1000 } },
        authorizationLetter: letter.body.id,
      },
    });
    expect(fire.status, JSON.stringify(fire.body)).toBe(200);

    await page.goto(`${portal.url}/insight`);
    await page.waitForSelector('[data-testid="heat-map"][data-map-ready="1"]', { timeout: 120_000 });
    const fmt = (n: number) => n.toLocaleString('zh-CN');
    await expect
      .poll(async () => (await page.locator('[data-kpi="population"] .v').textContent()) === fmt(await population()), { timeout: 60_000 })
      .toBe(true);
    await new Promise((r) => setTimeout(r, 2500));
    await shot('insight-heatmap');

    await expect
      .poll(
        async () =>
          ((await admin.req('GET', '/api/bigdata/tasks')).body.items as { id: string; state: string }[]).find((t) => t.id === fire.body.id)
            ?.state,
        { timeout: 60_000 },
      )
      .toBe('running');
    // The wall's own size, drawn at two thirds and as JPEG so that the picture ships small.
    const wall = await browser.newContext({ viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 2 / 3, locale: 'zh-CN' });
    const [name, value] = admin.cookie.split('=') as [string, string];
    await wall.addCookies([{ name, value, url: portal.url }]);
    const screen = await wall.newPage();
    screen.on('pageerror', (e) => problems.push(String(e.stack).slice(0, 600)));
    await screen.goto(`${portal.url}/insight/screen`);
    await screen.waitForSelector('[data-testid="big-screen"]');
    await expect
      .poll(() => screen.locator('[data-testid="screen-population"]').textContent(), { timeout: 60_000 })
      .toBe(fmt(await population()));
    await screen.locator(`[data-testid="screen-tasks"] li[data-task="${fire.body.id}"]`).waitFor({ timeout: 60_000 });
    await new Promise((r) => setTimeout(r, 2500));
    await screen.screenshot({ path: join(OUT, 'insight-big-screen.jpg'), type: 'jpeg', quality: 80 });
    await wall.close();
  }, 300_000);

  it('shows the manual with its contents and every screenshot loaded', async () => {
    await page.goto(`${portal.url}/manual`);
    await page.waitForSelector('[data-testid=manual]');
    expect(await page.locator('.manual-toc li').count()).toBeGreaterThanOrEqual(7);
    const figures = page.locator('[data-testid=manual] figure');
    expect(await figures.count()).toBeGreaterThanOrEqual(9);
    for (const f of await figures.all()) {
      await f.scrollIntoViewIfNeeded();
      const img = f.locator('img');
      await expect
        .poll(() => img.evaluate((e: HTMLImageElement) => e.complete && e.naturalWidth), { timeout: 10_000 })
        .toBeGreaterThan(300);
      expect((await f.locator('figcaption').textContent())?.trim()).not.toBe('');
    }
    // The contents list takes the reader to a section.
    await page.locator('.manual-toc a', { hasText: '大数据短信' }).click();
    await expect
      .poll(() => page.locator('h3', { hasText: '大数据短信' }).evaluate((h) => Math.round(h.getBoundingClientRect().top)))
      .toBeLessThan(200);
    await page.screenshot({ path: join(ARTIFACTS, 'manual-page.png') });
    expect(problems).toEqual([]);
  }, 60_000);
});
