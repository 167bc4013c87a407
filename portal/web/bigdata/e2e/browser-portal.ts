import { connectNats, type NatsConnection } from '@geo/infra';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, inject } from 'vitest';
import { AlertBus, setAlertBus } from '../../../src/api/bigdata/alert-bus.ts';
import type { Portal } from '../../../src/portal.ts';
import { loginAdmin, START_TIMEOUT, testPortal, type Client } from '../../../src/test/harness.ts';
import { buildApp, e2eOutDir } from '../../e2e/build-entry.ts';
import { buildE2e } from './build-e2e.ts';
import { ARTIFACTS, CHROMIUM_ARGS } from './console-stack.ts';

/**
 * The one preamble of the portal's browser tests that need no pipeline behind them (#20): the pages
 * built, chromium launched, a test portal (PGlite) serving them whose alert bus is the run's
 * nats-server (a bucket and reach subject of the file's own), and the demo admin logged in. Pages
 * are opened logged in as any account; every page's uncaught errors are collected in `problems`.
 * For the whole pipeline (alerting, messaging, insight) see `startConsoleStack` in console-stack.ts.
 */
export interface BrowserPortal {
  readonly portal: Portal;
  readonly nc: NatsConnection;
  /** The file's own task bucket (`alert_tasks_<name>_<pid>`). */
  readonly bus: AlertBus;
  readonly browser: Browser;
  /** The demo enterprise's admin, logged in. */
  readonly admin: Client;
  /** Every page's uncaught errors (stack, first 600 characters): a test ends with `expect(problems).toEqual([])`. */
  readonly problems: string[];
  /** A new page at 1440×900, zh-CN, logged in as `client` (its session cookie); it accepts downloads (Playwright's default). */
  pageAs(client: Client): Promise<Page>;
  /** A screenshot of `page` for a person to look at: `<ARTIFACTS>/<name>.png`. */
  shot(page: Page, name: string): Promise<Buffer>;
  /**
   * A `.catch` for a step that failed: screenshots `page` as `name` and fails with the step's error
   * and the pages' uncaught errors.
   * @example await page.waitForURL(/\/bigdata\/tasks\?open=/).catch(b.failWithShot(page, 'submit-failed'));
   */
  failWithShot(page: Page, name: string): (e: unknown) => Promise<never>;
}

export interface BrowserPortalOptions {
  /**
   * `console`: the big-data console's pages alone (its e2e entry); `app`: the whole SPA (top bar, menus).
   * @default 'console'
   */
  pages?: 'console' | 'app';
}

/**
 * Registers a {@link BrowserPortal} in the file's (or describe's) `beforeAll` / `afterAll`: `name`
 * names its NATS connection, bucket and reach subject.
 * @example
 * const b = browserPortal('exercise-ui');
 * let page: Page;
 * beforeAll(async () => { page = await b.pageAs(b.admin); });
 */
export function browserPortal(name: string, opts: BrowserPortalOptions = {}): BrowserPortal {
  const problems: string[] = [];
  let s: { portal: Portal; nc: NatsConnection; bus: AlertBus; browser: Browser; admin: Client } | undefined;
  let browserP: Promise<Browser> | undefined;
  let nc: NatsConnection | undefined;
  let portal: Portal | undefined;
  const started = () => {
    if (!s) throw new Error(`browserPortal(${name}): used before its beforeAll ran`);
    return s;
  };
  beforeAll(async () => {
    const distP =
      opts.pages === 'app'
        ? buildApp(e2eOutDir(join(tmpdir(), 'geo-portal-top-bar-e2e')))
        : buildE2e(e2eOutDir(join(tmpdir(), 'geo-alert-bigdata-e2e')));
    browserP = chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    browserP.catch(() => undefined);
    portal = await testPortal({ webDist: await distP });
    nc = await connectNats(inject('natsUrl'), `portal-${name}-test`);
    const bus = await AlertBus.open(nc, {
      bucket: `alert_tasks_${name.replace(/-/g, '_')}_${process.pid}`,
      reachSubject: `alert.reach.${name}-${process.pid}`,
    });
    setAlertBus(portal.deps, bus);
    const browser = await browserP;
    mkdirSync(ARTIFACTS, { recursive: true });
    s = { portal, nc, bus, browser, admin: await loginAdmin(portal) };
  }, START_TIMEOUT);
  afterAll(async () => {
    await (await browserP?.catch(() => undefined))?.close();
    await nc?.drain();
    await portal?.stop();
  });
  const shot = (page: Page, file: string) => page.screenshot({ path: join(ARTIFACTS, `${file}.png`) });
  return {
    get portal() {
      return started().portal;
    },
    get nc() {
      return started().nc;
    },
    get bus() {
      return started().bus;
    },
    get browser() {
      return started().browser;
    },
    get admin() {
      return started().admin;
    },
    problems,
    async pageAs(client) {
      const { browser, portal } = started();
      const [cookie, value] = client.cookie.split('=') as [string, string];
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
      await context.addCookies([{ name: cookie, value, url: portal.url }]);
      const page = await context.newPage();
      page.on('pageerror', (e) => problems.push(String(e.stack).slice(0, 600)));
      return page;
    },
    shot,
    failWithShot(page, file) {
      return async (e) => {
        await shot(page, file);
        throw new Error(`${(e as Error).message}\n${problems.join('\n')}`);
      };
    },
  };
}

/**
 * On the send page: picks 浙江省 / 杭州市 / the district `code` (上城区 by default) in the area
 * picker and adds it, waiting for its chip.
 */
export async function addDistrict(page: Page, code = '330102'): Promise<void> {
  await page.selectOption('select[aria-label="省"]', code.slice(0, 2) + '0000');
  await page.selectOption('select[aria-label="市"]', code.slice(0, 4) + '00');
  await page.selectOption('select[aria-label="区/县"]', code);
  await page.click('.area-picker button:has-text("添加区域")');
  await page.waitForSelector(`.area-picker .chip[data-code="${code}"]`);
}
