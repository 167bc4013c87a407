import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRegion, regionIssues, type RegionPart } from '@geo/alerting';
import type { Portal } from '../../../src/portal.ts';
import { loginAdmin, testPortal } from '../../../src/test/harness.ts';
import { buildE2e } from '../../bigdata/e2e/build-e2e.ts';
import { ARTIFACTS, CHROMIUM_ARGS } from '../../bigdata/e2e/console-stack.ts';
import { e2eOutDir } from '../../e2e/build-entry.ts';

type Polygon = Extract<RegionPart, { kind: 'polygon' }>;

/**
 * 挖空 on the send page's map (#21, "the console cannot draw a polygon with a hole"): a polygon is
 * drawn, then the map's 挖空 tool draws a smaller one inside it; the region the page sends is one
 * Polygon whose second ring is the hole, and the region test leaves the hole out.
 */
describe('cutting a hole in a drawn region, in a browser', () => {
  let portal: Portal;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const sent: { region: { parts: RegionPart[] } }[] = [];
  const drafts: { form: { region: { parts: RegionPart[] } } }[] = [];

  beforeAll(async () => {
    const dist = await buildE2e(e2eOutDir(join(tmpdir(), 'geo-alert-bigdata-e2e')));
    [portal, browser] = await Promise.all([
      testPortal({ webDist: dist }),
      chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS }),
    ]);
    const [name, value] = (await loginAdmin(portal)).cookie.split('=') as [string, string];
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'zh-CN' });
    await context.addCookies([{ name, value, url: portal.url }]);
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(String(e.stack).slice(0, 600)));
    // What the page sends for the region: the live reach estimate posts the form's region as it changes.
    page.on('request', (r) => {
      if (r.url().endsWith('/api/bigdata/reach')) sent.push(JSON.parse(r.postData() ?? '{}'));
      if (r.url().endsWith('/api/bigdata/drafts') && r.method() === 'POST') drafts.push(JSON.parse(r.postData() ?? '{}'));
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
  });

  it('draws a polygon, cuts a smaller one out of it with 挖空, and sends one Polygon with a hole', async () => {
    await page.goto(`${portal.url}/bigdata/send`);
    await page.waitForSelector('[data-testid="send-map"][data-map-ready="1"]', { timeout: 120_000 });
    const box = (await page.locator('[data-testid="send-map"]').boundingBox())!;
    const cx = box.x + box.width / 2,
      cy = box.y + box.height / 2;
    const polygon = async (corners: [number, number][]) => {
      for (const [x, y] of [...corners, corners[0]!]) {
        await page.mouse.move(cx + x, cy + y, { steps: 4 });
        await page.mouse.click(cx + x, cy + y);
      }
    };
    await page.click('[data-tool="polygon"]');
    await polygon([
      [-200, -150],
      [200, -150],
      [200, 150],
      [-200, 150],
    ]);
    await expect
      .poll(
        () =>
          sent
            .at(-1)
            ?.region.parts.map((p) => p.kind)
            .join(','),
        { timeout: 15_000 },
      )
      .toBe('polygon');
    const outer = sent.at(-1)!.region.parts[0] as Polygon;

    await page.click('[data-tool="cut"]');
    await polygon([
      [-60, -50],
      [60, -50],
      [60, 50],
      [-60, 50],
    ]);
    await expect.poll(() => page.locator('[data-tool="cut"]').getAttribute('data-cut'), { timeout: 15_000 }).toBe('1');
    await page.screenshot({ path: join(ARTIFACTS, 'send-map-cut-hole.png') });
    // What the page submits: the form as 保存草稿 posts it (the same payload as 提交).
    await page.click('.form-actions button:has-text("保存草稿")');
    await expect.poll(() => drafts.length, { timeout: 15_000 }).toBe(1);

    const parts = drafts[0]!.form.region.parts;
    expect(parts).toHaveLength(1);
    const [ring, hole] = (parts[0] as Polygon).rings as [[number, number][], [number, number][]];
    expect(regionIssues({ parts })).toEqual([]);
    // The outer ring is the one drawn; the hole lies inside it.
    const xs = (r: [number, number][]) => r.map((p) => p[0]),
      ys = (r: [number, number][]) => r.map((p) => p[1]);
    expect(Math.min(...xs(ring))).toBeCloseTo(Math.min(...xs(outer.rings[0]!)), 6);
    expect(Math.min(...xs(hole))).toBeGreaterThan(Math.min(...xs(ring)));
    expect(Math.max(...ys(hole))).toBeLessThan(Math.max(...ys(ring)));
    // Inside the hole is outside the region; between the hole and the edge is inside.
    const region = compileRegion({ parts });
    const mid = (r: [number, number][]) => [(Math.min(...xs(r)) + Math.max(...xs(r))) / 2, (Math.min(...ys(r)) + Math.max(...ys(r))) / 2];
    const [hx, hy] = mid(hole);
    expect(region.contains(hx!, hy!)).toBe(false);
    expect(region.contains((Math.min(...xs(ring)) + Math.min(...xs(hole))) / 2, hy!)).toBe(true);
    await expect.poll(() => page.locator('.bd-form').textContent()).toContain('已圈选 1 个图形');
    expect(problems).toEqual([]);
  }, 300_000);
});
