import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PortalConfig } from '../../../src/config.ts';
import type { Portal } from '../../../src/portal.ts';
import { loginAdmin, testPortal } from '../../../src/test/harness.ts';
import { buildE2e } from '../../bigdata/e2e/build-e2e.ts';
import { ARTIFACTS, CHROMIUM_ARGS } from '../../bigdata/e2e/console-stack.ts';
import { e2eOutDir } from '../../e2e/build-entry.ts';
import { startOwnTileServer, TILE_RGB, type OwnTileServer } from './own-tile-server.ts';

type Rgb = [number, number, number];
const MAP = '[data-testid="send-map"]';
/** The offline base map's land (dark theme): what the map falls back to. */
const LAND: Rgb = [0x13, 0x23, 0x3d];
/** The province outline (dark theme). */
const PROVINCE_LINE: Rgb = [0x7f, 0xb2, 0xff];

/** Share of the map canvas's pixels (every 3rd in both directions) within `tol` of `rgb` on each channel. */
function share(page: Page, rgb: Rgb, tol = 12): Promise<number> {
  return page.evaluate(
    ([sel, [r, g, b], tol]) => {
      const c = document.querySelector(`${sel} canvas.maplibregl-canvas`) as HTMLCanvasElement | null;
      if (!c || !c.width) return 0;
      const t = document.createElement('canvas');
      [t.width, t.height] = [c.width, c.height];
      const g2 = t.getContext('2d')!;
      g2.drawImage(c, 0, 0);
      const d = g2.getImageData(0, 0, c.width, c.height).data;
      let n = 0,
        hit = 0;
      for (let y = 0; y < c.height; y += 3)
        for (let x = 0; x < c.width; x += 3) {
          const i = (y * c.width + x) * 4;
          n++;
          if (Math.abs(d[i]! - r) <= tol && Math.abs(d[i + 1]! - g) <= tol && Math.abs(d[i + 2]! - b) <= tol) hit++;
        }
      return hit / n;
    },
    [MAP, rgb, tol] as const,
  );
}

/** The canvas pixel at (x, y) CSS pixels from the map's top left. */
function pixel(page: Page, x: number, y: number): Promise<Rgb> {
  return page.evaluate(
    ([sel, x, y]) => {
      const c = document.querySelector(`${sel} canvas.maplibregl-canvas`) as HTMLCanvasElement;
      const k = c.width / c.clientWidth;
      const t = document.createElement('canvas');
      [t.width, t.height] = [1, 1];
      const g = t.getContext('2d')!;
      g.drawImage(c, Math.round(x * k), Math.round(y * k), 1, 1, 0, 0, 1, 1);
      const d = g.getImageData(0, 0, 1, 1).data;
      return [d[0]!, d[1]!, d[2]!] as Rgb;
    },
    [MAP, x, y] as const,
  );
}

/**
 * Issue 23, "the pluggable tile URL stays for deployments with their own tile server": a user sets
 * their deployment's style URL in 地图设置 on the send page, as a user would; the map then draws that
 * server's tiles (a small server the test starts on loopback: a raster style, magenta tiles), with
 * the administrative outlines and the drawn region still on top. A URL that does not answer a style
 * says so in Chinese over the offline base map instead of leaving the map blank.
 */
describe("a deployment's own tile server, set in the map settings, in a browser", () => {
  let portal: Portal;
  let browser: Browser;
  let tiles: OwnTileServer;
  let page: Page;
  const problems: string[] = [];
  const reach: { region: { parts: { kind: string }[] } }[] = [];

  /** Whether the portal's security policy lets the page connect to the tile server (`MAP_ORIGINS`). */
  async function originAllowed(): Promise<boolean> {
    const csp = (await fetch(`${portal.url}/bigdata/send`)).headers.get('content-security-policy') ?? '';
    return /connect-src[^;]*/.exec(csp)?.[0].includes(tiles.url) ?? false;
  }

  /** Opens 地图设置, types `url` into the style address and saves (the page reloads when it changed). */
  async function setStyleUrl(url: string): Promise<void> {
    await page.click('.map-settings > button');
    await page.fill('.map-settings-panel input[type=url]', url);
    await Promise.all([page.waitForEvent('load'), page.click('.map-settings-panel button.primary')]);
    await page.waitForSelector(`${MAP}[data-map-ready="1"]`, { timeout: 120_000 });
  }

  beforeAll(async () => {
    const dist = await buildE2e(e2eOutDir(join(tmpdir(), 'geo-alert-bigdata-e2e')));
    [portal, browser] = await Promise.all([
      // The deployment allows its map server's origin (connect-src of the portal's security policy).
      startOwnTileServer().then(async (t) => ((tiles = t), testPortal({ webDist: dist, mapOrigins: [t.url] } as Partial<PortalConfig>))),
      chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS }),
    ]);
    const [name, value] = (await loginAdmin(portal)).cookie.split('=') as [string, string];
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN' });
    await context.addCookies([{ name, value, url: portal.url }]);
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(String(e.stack).slice(0, 600)));
    page.on('request', (r) => {
      if (r.url().endsWith('/api/bigdata/reach')) reach.push(JSON.parse(r.postData() ?? '{}'));
    });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.goto(`${portal.url}/bigdata/send`);
    await page.waitForSelector(`${MAP}[data-map-ready="1"]`, { timeout: 120_000 });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
    await tiles?.close();
  });

  it('refuses a style address that is not an absolute http(s) URL, in Chinese, and keeps the map', async () => {
    await page.click('.map-settings > button');
    await page.fill('.map-settings-panel input[type=url]', 'map.example.gov.cn/style.json');
    await page.click('.map-settings-panel button.primary');
    expect(await page.textContent('[data-testid="map-style-url-error"]')).toContain('http://');
    expect(await page.evaluate(() => localStorage.getItem('geo.map.settings') ?? '')).not.toContain('map.example');
    await page.click('.map-settings-panel button:not(.primary)');
  });

  it("says the portal's security policy refuses a map server whose origin the deployment did not allow", async () => {
    // The same server by another name is another origin, one the portal was not told about.
    const other = tiles.url.replace('127.0.0.1', 'localhost');
    await setStyleUrl(`${other}/style.json`);
    const notice = page.locator(`${MAP} [data-testid="map-notice"]`);
    await expect.poll(() => notice.textContent(), { timeout: 60_000 }).toContain('内容安全策略');
    expect(await notice.textContent()).toContain(`${other}/style.json`);
    await expect.poll(() => share(page, LAND), { timeout: 60_000 }).toBeGreaterThan(0.05);
    await page.screenshot({ path: join(ARTIFACTS, 'own-tile-server-refused-origin.png') });
    expect(problems).toEqual([]);
  }, 300_000);

  it("draws the server's tiles, with the administrative outlines and a drawn region on top", async () => {
    expect(await originAllowed(), 'MAP_ORIGINS puts the tile server in connect-src').toBe(true);
    await setStyleUrl(`${tiles.url}/style.json`);
    // Most of the map is the tiles' magenta: the browser fetched the style and its tiles, and drew them.
    await expect.poll(() => share(page, TILE_RGB), { timeout: 60_000 }).toBeGreaterThan(0.5);
    expect(tiles.requests).toContain('/style.json');
    expect(tiles.requests.filter((p) => p.startsWith('/tiles/')).length).toBeGreaterThan(0);
    // The province outline is drawn over them.
    await expect.poll(() => share(page, PROVINCE_LINE, 30), { timeout: 30_000 }).toBeGreaterThan(0.0005);

    const box = (await page.locator(MAP).boundingBox())!;
    const [cx, cy] = [box.width / 2, box.height / 2];
    await page.click('[data-tool="rectangle"]');
    await page.mouse.click(box.x + cx - 120, box.y + cy - 90);
    await page.mouse.move(box.x + cx + 120, box.y + cy + 90, { steps: 5 });
    await page.mouse.click(box.x + cx + 120, box.y + cy + 90);
    await expect.poll(() => reach.at(-1)?.region.parts.length ?? 0, { timeout: 15_000 }).toBe(1);
    // Inside the rectangle its blue fill tints the tiles; outside, they stay magenta.
    await expect.poll(() => pixel(page, cx + 40, cy + 30).then(([, g]) => g), { timeout: 15_000 }).toBeGreaterThan(12);
    expect(await pixel(page, cx + 200, cy + 160)).toEqual(TILE_RGB);
    await page.screenshot({ path: join(ARTIFACTS, 'own-tile-server.png') });
    expect(await page.locator('[data-testid="map-notice"]').count()).toBe(0);
    expect(problems).toEqual([]);
  }, 300_000);

  for (const [what, path, reason] of [
    ['answers 404', '/missing/style.json', 'HTTP 404'],
    ['answers a web page instead of a style', '/not-a-style.json', '不是 MapLibre 地图样式'],
  ] as const)
    it(`says in Chinese that the style URL ${what}, over the offline base map, instead of a blank map`, async () => {
      expect(await originAllowed(), 'MAP_ORIGINS puts the tile server in connect-src').toBe(true);
      await setStyleUrl(`${tiles.url}${path}`);
      const notice = page.locator(`${MAP} [data-testid="map-notice"]`);
      await expect.poll(() => notice.textContent(), { timeout: 60_000 }).toContain(reason);
      expect(await notice.textContent()).toContain('无法加载');
      expect(await notice.textContent()).toContain(`${tiles.url}${path}`);
      expect(await notice.textContent()).toContain('地图设置');
      // Not blank: the offline base map's land and outlines are drawn.
      await expect.poll(() => share(page, LAND), { timeout: 60_000 }).toBeGreaterThan(0.05);
      await page.screenshot({ path: join(ARTIFACTS, `own-tile-server-bad-url-${path.replace(/\W+/g, '-')}.png`) });
      expect(problems).toEqual([]);
    }, 300_000);
});
