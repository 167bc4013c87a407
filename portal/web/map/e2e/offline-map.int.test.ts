import { mkdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PortalConfig } from '../../../src/config.ts';
import type { Portal } from '../../../src/portal.ts';
import type { MapConfig } from '../../../src/api/map/map-dir.ts';
import { importExtract } from '../../../src/map-import/import-extract.ts';
import { TEST_ISLAND_POINT, TEST_LAKE_POINT, TEST_STATION, writeTestExtract } from '../../../src/map-import/test-extract.ts';
import { loginAdmin, testPortal } from '../../../src/test/harness.ts';
import { TEST_TOWERS, writeTestTowers } from '../../../src/api/map/test-towers.ts';
import { buildE2e } from '../../bigdata/e2e/build-e2e.ts';
import { CHROMIUM_ARGS } from '../../bigdata/e2e/console-stack.ts';
import { e2eOutDir } from '../../e2e/build-entry.ts';

/** Screenshots for a person to look at (not committed). */
const ARTIFACTS = process.env.ARTIFACTS_DIR ?? join(tmpdir(), 'geo-alert-artifacts');

/**
 * Issue 23, "the base map is only outlines: no West Lake, roads, railway stations or place names":
 * with an OpenStreetMap extract imported (a small one the test writes: West Lake, two streets, a
 * railway and 杭州站), the map shows the lake, the roads and the station's name, from tiles the
 * portal serves. Without an import the map keeps its outlines. West Lake is named once (the lake's
 * own name, not the platform's place beside it too), and the towers the platform knows (insight's
 * serving cells) show as dots from zoom 13.
 */
describe('the map with an imported OpenStreetMap extract, in a browser', () => {
  let portal: Portal;
  let bare: Portal;
  let browser: Browser;
  let dist: string;
  const tileAnswers: number[] = [];
  /** What the page logged as errors (a style maplibre refused shows here). */
  const pageErrors: string[] = [];

  async function openMap(p: Portal, center: [number, number], zoom: number, theme: 'dark' | 'light' = 'dark'): Promise<Page> {
    const [name, value] = (await loginAdmin(p)).cookie.split('=') as [string, string];
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    await context.addCookies([{ name, value, url: p.url }]);
    await context.addInitScript((t) => localStorage.setItem('geo.map.settings', JSON.stringify({ theme: t, styleUrl: '' })), theme);
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('response', (r) => {
      if (r.url().includes('/api/map/tiles/')) tileAnswers.push(r.status());
    });
    await page.goto(`${p.url}/map-bench`);
    await page.waitForFunction(() => !!window.mapBench && !!document.querySelector('[data-map-detail]'), undefined, { timeout: 180_000 });
    await page.evaluate(([c, z]) => window.mapBench!.view(c, z), [center, zoom] as const);
    return page;
  }

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'geo-map-e2e-'));
    const mapDir = join(dir, 'map');
    await importExtract({ input: await writeTestExtract(dir), mapDir });
    dist = await buildE2e(e2eOutDir(join(tmpdir(), 'geo-alert-bigdata-e2e')));
    const clickhouseUrl = await writeTestTowers(inject('clickhouseUrl'));
    [portal, bare, browser] = await Promise.all([
      testPortal({ webDist: dist, mapDir, clickhouseUrl } as MapConfig & Partial<PortalConfig>),
      testPortal({ webDist: dist, mapDir: join(dir, 'none') } as MapConfig & Partial<PortalConfig>),
      chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS }),
    ]);
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
    await bare?.stop();
  });

  it('draws West Lake, the roads and the station with its name from the served tiles', async () => {
    const page = await openMap(portal, [(TEST_LAKE_POINT.lng + TEST_STATION.lng) / 2, TEST_LAKE_POINT.lat], 14);
    await page.screenshot({ path: join(ARTIFACTS, 'offline-map-west-lake.png') });
    expect(await page.getAttribute('[data-map-detail]', 'data-map-detail')).toBe('osm');
    expect(pageErrors).toEqual([]);
    // The lake is a multipolygon with an island, as West Lake is in OpenStreetMap: water around it, land on it.
    const waterAt = (at: { lng: number; lat: number }) =>
      page.evaluate((p) => window.mapBench!.renderedAt('water', p), [at.lng, at.lat] as [number, number]);
    expect(await waterAt(TEST_LAKE_POINT)).toEqual(['lake']);
    expect(await waterAt(TEST_ISLAND_POINT)).toEqual([]);
    expect(await waterAt(TEST_STATION)).toEqual([]);
    expect(await page.evaluate(() => window.mapBench!.rendered('road'))).toEqual(expect.arrayContaining(['清泰街']));
    expect(await page.evaluate(() => window.mapBench!.rendered('railway')).then((r) => r.length)).toBeGreaterThan(0);
    // The labels need glyphs: drawn in the browser from local fonts (the style has no glyph server).
    expect(await page.evaluate(() => window.mapBench!.rendered('station-name'))).toContain(TEST_STATION.name);
    // West Lake is labelled once: the lake's name; the platform's 西湖 beside it gives way.
    const labels = await page.evaluate(() =>
      ['water-name', 'place-name', 'station-name', 'platform-place-name'].flatMap((l) => window.mapBench!.rendered(l)),
    );
    expect(labels.filter((n) => n === '西湖')).toEqual(['西湖']);
    expect(await page.evaluate(() => window.mapBench!.rendered('water-name'))).toContain('西湖');
    // Every tile the map asked for was served (or was empty), none failed.
    expect(tileAnswers.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(tileAnswers.filter((s) => ![200, 204, 304].includes(s))).toEqual([]);
  });

  it('shows the towers the platform knows at high zoom, with their carriers, and none when zoomed out', async () => {
    const page = await openMap(portal, [TEST_TOWERS[0].lng, TEST_TOWERS[0].lat], 16);
    await page.screenshot({ path: join(ARTIFACTS, 'offline-map-towers.png') });
    const [mast, single] = TEST_TOWERS;
    const dotAt = (t: { lng: number; lat: number }) =>
      page.evaluate((p) => window.mapBench!.renderedAt('tower-dot', p), [t.lng, t.lat] as [number, number]);
    expect(await dotAt(mast)).toEqual(['移动·联通·电信']);
    expect(await dotAt(single)).toEqual(['移动']);
    expect(await page.evaluate(() => window.mapBench!.rendered('tower-name'))).toEqual(expect.arrayContaining(['移动·联通·电信', '移动']));
    await page.evaluate(([c, z]) => window.mapBench!.view(c, z), [[mast.lng, mast.lat] as [number, number], 11] as const);
    expect(await page.evaluate(() => window.mapBench!.rendered('tower-dot'))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('draws the same detail in the light theme', async () => {
    const page = await openMap(portal, [(TEST_LAKE_POINT.lng + TEST_STATION.lng) / 2, TEST_LAKE_POINT.lat], 14, 'light');
    await page.screenshot({ path: join(ARTIFACTS, 'offline-map-west-lake-light.png') });
    expect(
      await page.evaluate((p) => window.mapBench!.renderedAt('water', p), [TEST_LAKE_POINT.lng, TEST_LAKE_POINT.lat] as [number, number]),
    ).toEqual(['lake']);
    expect(await page.evaluate(() => window.mapBench!.rendered('station-name'))).toContain(TEST_STATION.name);
  });

  it('keeps the outline map, with the platform places, when no extract was imported', async () => {
    const before = tileAnswers.length;
    const page = await openMap(bare, [TEST_LAKE_POINT.lng, TEST_LAKE_POINT.lat], 13);
    await page.screenshot({ path: join(ARTIFACTS, 'offline-map-no-import.png') });
    expect(await page.getAttribute('[data-map-detail]', 'data-map-detail')).toBe('outlines');
    expect(await page.evaluate(() => window.mapBench!.rendered('water'))).toEqual([]);
    expect(await page.evaluate(() => window.mapBench!.rendered('platform-place-name'))).toContain('西湖');
    expect(tileAnswers.length).toBe(before);
  });
});
