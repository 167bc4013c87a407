import { serve, type ServerType } from '@hono/node-server';
import { ReachRequest, type ReachReply } from '@geo/alerting';
import { connectNats, type NatsConnection } from '@geo/infra';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { authRoutes } from '../../../src/api/auth/routes.ts';
import { AlertBus, BIGDATA_ROUTES, setAlertBus } from '../../../src/api/bigdata/index.ts';
import { consoleApp } from '../../../src/api/bigdata/console-harness.ts';
import { serveSpa } from '../../../src/http/static.ts';
import type { Portal } from '../../../src/portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal } from '../../../src/test/harness.ts';
import { buildE2e } from './build-e2e.ts';
import { boundariesJson } from '../../../src/api/bigdata/geography.ts';

const REACH = 'alert.reach.portal-e2e';
/** Screenshots for a person to look at (not committed). */
const ARTIFACTS = process.env.ARTIFACTS_DIR ?? join(tmpdir(), 'geo-alert-artifacts');

describe('send page in a real browser (chromium, offline map)', () => {
  let portal: Portal;
  let server: ServerType;
  let base: string;
  let nc: NatsConnection;
  let browser: Browser;
  const asked: ReachRequest[] = [];

  beforeAll(async () => {
    const dist = await buildE2e(join(tmpdir(), 'geo-alert-bigdata-e2e'));
    // The outlines are simplified once per process: do it before the clock of the test starts.
    for (const level of ['province', 'city', 'district'] as const) boundariesJson(level);
    portal = await testPortal();
    nc = await connectNats(inject('natsUrl'), 'portal-e2e');
    setAlertBus(portal.deps, await AlertBus.open(nc, { bucket: 'alert_tasks_portal_e2e', reachSubject: REACH }));
    // One alerting instance's answer: people present in the drawn region, per carrier.
    nc.subscribe(REACH, {
      callback: (_e, m) => {
        asked.push(ReachRequest.parse(m.json()));
        const reply: ReachReply = { v: 1, instance: 'e2e', shards: [0], present: { cmcc: 1234, cucc: 456, ctcc: 78 }, passing: { cmcc: 1000, cucc: 400, ctcc: 70 }, allowedToday: { cmcc: 500, cucc: 400, ctcc: 70 }, tookMs: 2 };
        m.respond(JSON.stringify(reply));
      },
    });
    const app = consoleApp(portal, [authRoutes, ...BIGDATA_ROUTES]);
    app.get('*', serveSpa(dist));
    const port = await new Promise<number>((r) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => r(info.port));
    });
    base = `http://127.0.0.1:${port}`;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-swiftshader'],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    server?.close();
    await nc?.drain();
    await portal?.stop();
  });

  it('renders the map offline, draws a rectangle and shows the reach estimate', async () => {
    const client = await loginAdmin(portal);
    const [name, value] = client.cookie.split('=') as [string, string];
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    await context.addCookies([{ name, value, url: base }]);
    const page = await context.newPage();
    const outside: string[] = [];
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(base) && !u.startsWith('data:') && !u.startsWith('blob:')) outside.push(u);
    });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(String(e.stack).slice(0, 600)));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    await page.goto(`${base}/bigdata/send`);
    await page.waitForSelector('[data-testid="send-map"][data-map-ready="1"]', { timeout: 45_000 }).catch(async (e) => {
      await page.screenshot({ path: join(ARTIFACTS, 'send-page-failed.png') });
      throw new Error(`${(e as Error).message}\n${problems.join('\n')}`);
    });
    // The offline base map has drawn our own boundaries (the canvas is not blank).
    const painted = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('[data-testid="send-map"] canvas')!;
      const gl = (c.getContext('webgl2') ?? c.getContext('webgl')) as WebGLRenderingContext;
      const px = new Uint8Array(4 * c.width);
      gl.readPixels(0, Math.floor(c.height / 2), c.width, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
      return new Set(Array.from({ length: c.width }, (_, i) => px.slice(i * 4, i * 4 + 3).join(','))).size;
    });
    expect(painted).toBeGreaterThan(1);

    await page.click('[data-tool="rectangle"]');
    const box = (await page.locator('[data-testid="send-map"]').boundingBox())!;
    const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
    await page.mouse.click(cx - 80, cy - 60);
    await page.mouse.move(cx + 20, cy + 10, { steps: 5 });
    await page.mouse.move(cx + 80, cy + 60, { steps: 5 });
    await page.mouse.click(cx + 80, cy + 60);

    await page.waitForSelector('[data-testid="reach"] [data-row="present"]', { timeout: 20_000 }).catch(async (e) => {
      await page.screenshot({ path: join(ARTIFACTS, 'send-page-failed.png') });
      throw new Error(`${(e as Error).message}\n${problems.join('\n')}`);
    });
    expect(await page.locator('[data-row="present"] b').textContent()).toBe(String(1234 + 456 + 78));
    const rect = asked.at(-1)!.region.parts[0]!;
    expect(rect.kind).toBe('rectangle');
    if (rect.kind === 'rectangle') expect(rect.west).toBeLessThan(rect.east);
    expect(await page.locator('.bd-form').textContent()).toContain('已圈选 1 个图形');
    await page.screenshot({ path: join(ARTIFACTS, 'send-page-1920x1080.png') });
    expect(outside).toEqual([]);
    await context.close();
  }, 120_000);
});
