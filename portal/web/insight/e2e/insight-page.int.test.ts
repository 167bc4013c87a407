import { bbox as turfBbox, booleanPointInPolygon, destination, point } from '@turf/turf';
import { loadAdminAreas, type LocationEvent } from '@geo/ingest';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Portal } from '../../../src/portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal, type Client } from '../../../src/test/harness.ts';
import { ARTIFACTS, CHROMIUM_ARGS, fittedTo } from '../../bigdata/e2e/console-stack.ts';
import { buildApp, e2eOutDir } from '../../e2e/build-entry.ts';
import { startInsightStack, type InsightStack } from '../../manual/e2e/insight-stack.ts';

/**
 * The insight page (大数据洞察 · 热力图) in a browser against real servers (NATS, insight, ClickHouse,
 * the portal): its 边缘防抖 control (#21). A crowd jitters across the edge of the page's default
 * region (杭州市): in from far away, then handovers between a cell inside and one 150 m outside
 * every 30 s. Without hysteresis every crossing counts (inflow 2 per person, outflow 1); with a
 * 500 m buffer and 5 minutes away set on the page, the request carries them, the caption says so
 * and the figures are one entry per person and no outflow; the big screen opened from the page
 * carries the setting too.
 */

const N = 20;
const CITY = '330100';
const VIEWPORT = { width: 1440, height: 900 };

/** A cell inside the city 150 m from its edge and one 150 m outside it, across a long straight stretch of the boundary. */
function edgeCells(): { inside: [number, number]; outside: [number, number] } {
  const area = loadAdminAreas().find((a) => a.code === CITY)!;
  const geometry = area.geometry!;
  const rings = geometry.type === 'Polygon' ? [geometry.coordinates[0]!] : geometry.coordinates.map((p) => p[0]!);
  for (const ring of rings)
    for (let i = 0; i + 1 < ring.length; i++) {
      const [a, b] = [ring[i]!, ring[i + 1]!];
      const km = Math.hypot((b[0]! - a[0]!) * 96, (b[1]! - a[1]!) * 111);
      if (km < 1.5) continue;
      const mid = point([(a[0]! + b[0]!) / 2, (a[1]! + b[1]!) / 2]);
      const bearing = (Math.atan2(b[0]! - a[0]!, b[1]! - a[1]!) * 180) / Math.PI;
      const left = destination(mid, 0.15, bearing - 90).geometry.coordinates as [number, number];
      const right = destination(mid, 0.15, bearing + 90).geometry.coordinates as [number, number];
      const inL = booleanPointInPolygon(left, geometry);
      const inR = booleanPointInPolygon(right, geometry);
      if (inL !== inR) return inL ? { inside: left, outside: right } : { inside: right, outside: left };
    }
  throw new Error(`no straight stretch of ${CITY}'s boundary found`);
}

function jitter(): LocationEvent[] {
  const { inside, outside } = edgeCells();
  const far: [number, number] = [121.55, 29.87]; // 宁波, outside 杭州市
  const path: [string, [number, number]][] = [['W3-FAR', far]];
  for (let k = 0; k < 5; k++) path.push(['W3-IN', inside], ['W3-OUT', outside]);
  path.push(['W3-IN', inside]);
  const t0 = Date.now() - (path.length + 1) * 30_000;
  const events: LocationEvent[] = [];
  for (let p = 0; p < N; p++)
    path.forEach(([cell, [lng, lat]], k) =>
      events.push({
        msisdn: `138${String(31_000_000 + p).padStart(8, '0')}`,
        carrier: 'cmcc',
        ts: t0 + k * 30_000,
        cell,
        lng,
        lat,
        kind: 'handover',
        gender: 'f',
        age: 30,
        home: CITY,
      } as LocationEvent),
    );
  return events;
}

describe('the insight page’s 边缘防抖 (#21, real servers, a browser)', () => {
  let portal: Portal;
  let stack: InsightStack;
  let browser: Browser;
  let page: Page;
  let admin: Client;
  const problems: string[] = [];

  beforeAll(async () => {
    const webDistP = buildApp(e2eOutDir(join(tmpdir(), 'geo-portal-insight-e2e')));
    const browserP = chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    browserP.catch(() => undefined);
    stack = await startInsightStack(inject('clickhouseUrl'));
    portal = await testPortal({ webDist: await webDistP, natsUrl: stack.natsUrl, insightUrl: stack.insightUrl });
    browser = await browserP;
    admin = await loginAdmin(portal);
    const [name, value] = admin.cookie.split('=') as [string, string];
    const context = await browser.newContext({ viewport: VIEWPORT, locale: 'zh-CN' });
    await context.addCookies([{ name, value, url: portal.url }]);
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(String(e.stack).slice(0, 600)));
    mkdirSync(ARTIFACTS, { recursive: true });
  }, START_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
    await stack?.stop();
  });

  it('sends the buffer and the time away with the region query, says so under the figures, and the jitter counts once', async () => {
    await stack.publish(jitter());
    const city = { parts: [{ kind: 'admin', code: CITY }] };
    // Every crossing without hysteresis: in from far away and back from outside (2 per person), out 1 per person.
    await expect
      .poll(async () => (await admin.req('POST', '/api/insight/metrics', { region: city })).body.flow?.lastHour.inflow.value, {
        timeout: 60_000,
        interval: 1000,
      })
      .toBe(2 * N);

    await page.goto(`${portal.url}/insight`);
    const kpi = (id: string) => page.locator(`[data-kpi=${id}] .v`);
    await expect.poll(() => kpi('inflow').textContent(), { timeout: 60_000 }).toBe(String(2 * N));
    expect(await kpi('outflow').textContent()).toBe(String(N));
    expect(await page.locator('[data-testid=hysteresis-caption]').count()).toBe(0);

    const asked: unknown[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/api/insight/metrics')) asked.push(r.postDataJSON());
    });
    const field = page.locator('[data-testid=hysteresis]');
    await field.locator('input[name=hysteresisBufferMeters]').fill('500');
    await field.locator('input[name=hysteresisMinOutsideMinutes]').fill('5');
    await expect
      .poll(
        () =>
          asked.some((b) => JSON.stringify((b as { hysteresis?: unknown }).hysteresis) === '{"bufferMeters":500,"minOutsideSeconds":300}'),
        {
          timeout: 15_000,
        },
      )
      .toBe(true);
    expect((asked.at(-1) as { region: unknown }).region).toMatchObject(city);

    // One entry per person, nobody left; the caption names what the figures were counted with.
    await expect.poll(() => kpi('inflow').textContent(), { timeout: 30_000 }).toBe(String(N));
    expect(await kpi('outflow').textContent()).toBe('<10');
    const caption = page.locator('[data-testid=hysteresis-caption]');
    await expect.poll(() => caption.textContent(), { timeout: 15_000 }).toContain('缓冲 500 米');
    expect(await caption.textContent()).toContain('离开满 5 分钟');
    await new Promise((r) => setTimeout(r, 800)); // the charts' entry animation
    await page.screenshot({ path: join(ARTIFACTS, 'insight-hysteresis-1440x900.png') });

    // Cleared: every crossing counts again, and the caption goes.
    await field.locator('input[name=hysteresisBufferMeters]').fill('0');
    await field.locator('input[name=hysteresisMinOutsideMinutes]').fill('0');
    await expect.poll(() => kpi('inflow').textContent(), { timeout: 30_000 }).toBe(String(2 * N));
    expect(await caption.count()).toBe(0);

    // Set again, then the big screen: its address and live stream carry the setting, its figures and caption follow it.
    await field.locator('input[name=hysteresisBufferMeters]').fill('500');
    await field.locator('input[name=hysteresisMinOutsideMinutes]').fill('5');
    await expect.poll(() => kpi('inflow').textContent(), { timeout: 30_000 }).toBe(String(N));
    await page.click('button:has-text("进入大屏模式")');
    await page.waitForSelector('[data-testid=big-screen]');
    expect(JSON.parse(new URL(page.url()).searchParams.get('hysteresis')!)).toEqual({ bufferMeters: 500, minOutsideSeconds: 300 });
    const screen = page.locator('[data-testid=big-screen]');
    await expect.poll(() => screen.locator('[data-kpi=inflow] .v').textContent(), { timeout: 30_000 }).toBe(String(N));
    expect(await screen.locator('[data-kpi=outflow] .v').textContent()).toBe('<10');
    expect(await screen.locator('[data-testid=hysteresis-caption]').textContent()).toContain('缓冲 500 米');
    await new Promise((r) => setTimeout(r, 800));
    await page.screenshot({ path: join(ARTIFACTS, 'insight-screen-hysteresis-1440x900.png') });
    expect(problems).toEqual([]);
  }, 240_000);

  it("the big screen follows the wall it is on: at 1920×1080 and 3840×2160 the charts' text is the screen's type size and the map is fitted to the city again", async () => {
    // (Opened by the test above.) At 3840 wide the charts drew 16 px text under 36 px headings, and
    // the map kept the zoom of the window it opened in: the city a small patch in the middle (#23 walk).
    await page.waitForSelector('[data-testid=big-screen]');
    // The age bars say how many of those present they hold (all 20 here: one cell, one age).
    await expect
      .poll(() => page.locator('[data-testid=screen-age-note]').textContent(), { timeout: 15_000 })
      .toBe('年龄段计入 20 人，共 20 人（各基站小区每个年龄段不足 10 人的不计）');
    const area = loadAdminAreas().find((a) => a.code === CITY)!;
    const cityBox = turfBbox({ type: 'Feature', properties: {}, geometry: area.geometry! });
    for (const [width, height] of [
      [1920, 1080],
      [3840, 2160],
    ] as const) {
      await page.setViewportSize({ width, height });
      await expect.poll(() => page.evaluate(() => window.innerWidth)).toBe(width);
      const typeSize = await page.evaluate(() => Math.round(parseFloat(getComputedStyle(document.querySelector('.screen')!).fontSize)));
      expect(typeSize).toBe(Math.round(width * 0.009375));
      await expect
        .poll(() => page.locator('.screen .echart').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-font-px')))), {
          timeout: 10_000,
        })
        .toEqual([typeSize, typeSize, typeSize, typeSize]);
      await expect
        .poll(() => fittedTo(page.getAttribute('.screen .bd-map', 'data-bbox'), cityBox), { timeout: 15_000 })
        .toBe(true)
        .catch(async (e) => {
          throw new Error(
            `${(e as Error).message} at ${width}x${height}: view ${await page.getAttribute('.screen .bd-map', 'data-bbox')}, city ${cityBox.join(',')}`,
          );
        });
      await new Promise((r) => setTimeout(r, 800)); // the charts' redraw
      await page.screenshot({ path: join(ARTIFACTS, `insight-screen-${width}x${height}.png`) });
    }
    await page.setViewportSize(VIEWPORT);
    expect(problems).toEqual([]);
  }, 120_000);
});
