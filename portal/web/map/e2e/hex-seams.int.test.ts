import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gridDisk, latLngToCell } from 'h3-js';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Portal } from '../../../src/portal.ts';
import { loginAdmin, testPortal } from '../../../src/test/harness.ts';
import { buildE2e } from '../../bigdata/e2e/build-e2e.ts';
import { CHROMIUM_ARGS } from '../../bigdata/e2e/console-stack.ts';
import { e2eOutDir } from '../../e2e/build-entry.ts';
import { POLYGON_CELL_LIMIT } from '../hex-polygons.ts';

/** Screenshots for a person to look at (not committed). */
const ARTIFACTS = process.env.ARTIFACTS_DIR ?? join(tmpdir(), 'geo-alert-artifacts');
/** Open sea east of Zhejiang: the offline base map draws nothing there but its background. */
const AT: [number, number] = [123.5, 30.25];
const ZOOM = 12;
const CLIP = { x: 300, y: 200, width: 200, height: 200 };

/**
 * Issue 23, "the hexagons show slanted seams between cells on the big screen": cells of one count
 * (one colour) drawn side by side must fill the area evenly. Measured on the pixels of the middle of
 * a block of res-7 cells (about 70 px wide at zoom 12): every pixel not of the block's most common
 * colour is a seam (a gap shows the background, an overlap of two translucent fills is darker).
 * The same block drawn the cheap way (one shared hexagon at every centre, used above
 * POLYGON_CELL_LIMIT cells) shows the seams, so the measurement sees them.
 */
describe('heat map hexagons, in a browser', () => {
  let portal: Portal;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const dist = await buildE2e(e2eOutDir(join(tmpdir(), 'geo-alert-bigdata-e2e')));
    [portal, browser] = await Promise.all([
      testPortal({ webDist: dist }),
      chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS }),
    ]);
    const [name, value] = (await loginAdmin(portal)).cookie.split('=') as [string, string];
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    await context.addCookies([{ name, value, url: portal.url }]);
    page = await context.newPage();
    await page.goto(`${portal.url}/map-bench`);
    await page.waitForFunction(() => !!window.mapBench, undefined, { timeout: 180_000 });
    await page.evaluate(([c, z]) => window.mapBench!.view(c, z), [AT, ZOOM] as const);
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await portal?.stop();
  });

  /** Draws `cells` all with one count; the share of pixels in CLIP that differ from the commonest colour. */
  async function seamPixels(cells: string[], shot: string): Promise<{ odd: number; total: number; colour: string }> {
    const answer = JSON.stringify({
      at: new Date().toISOString(),
      k: 10,
      resolution: 7,
      cells: cells.map((h3) => ({ h3, count: { value: 100, suppressed: false } })),
    });
    await page.evaluate((j) => window.mapBench!.draw(j), answer);
    await page.screenshot({ path: join(ARTIFACTS, `hex-seams-${shot}.png`) });
    const png = (await page.screenshot({ clip: CLIP })).toString('base64');
    return page.evaluate(async (b64) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, img.width, img.height).data;
      const counts = new Map<number, number>();
      for (let i = 0; i < px.length; i += 4) {
        const k = (px[i]! << 16) | (px[i + 1]! << 8) | px[i + 2]!;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      const [common] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]!;
      const [r, g, b] = [common >> 16, (common >> 8) & 255, common & 255];
      let odd = 0;
      for (let i = 0; i < px.length; i += 4)
        if (Math.abs(px[i]! - r) > 4 || Math.abs(px[i + 1]! - g) > 4 || Math.abs(px[i + 2]! - b) > 4) odd++;
      return { odd, total: px.length / 4, colour: `rgb(${r},${g},${b})` };
    }, png);
  }

  it('cells drawn with their own outlines meet without seams; one shared hexagon per centre leaves them', async () => {
    const centre = latLngToCell(AT[1], AT[0], 7);
    const exact = await seamPixels(gridDisk(centre, 5), 'exact');
    // More cells than the limit: the shared-hexagon drawing, same block in the middle.
    const many = gridDisk(centre, 90);
    expect(many.length).toBeGreaterThan(POLYGON_CELL_LIMIT);
    const shared = await seamPixels(many, 'shared');
    console.log(
      `seam pixels in ${exact.total}: exact outlines ${exact.odd} (${exact.colour}), shared hexagon ${shared.odd} (${shared.colour})`,
    );
    // The block is filled (the heat colour, not the pale sea), evenly.
    expect(exact.colour).toBe(shared.colour);
    expect(shared.odd).toBeGreaterThan(50);
    expect(exact.odd).toBe(0);
  });
});
