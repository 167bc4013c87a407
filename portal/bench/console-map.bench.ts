/**
 * The console's map in headless chromium (`npm run bench:portal -- console-map`):
 *
 * 1. `heatmap_50k_cells_ms`: the heat map's drawing (GeoMap's cell layer over the offline base map)
 *    handed insight's heat map answer for 50,000 res-8 H3 cells as text, until deck.gl's first frame
 *    with the cells (`onAfterRender`): JSON parse, binary attributes, upload and drawing. Median of
 *    5 draws, each of cells the previous draw did not have (the very first, with shader compiling,
 *    reported as `first`). Goal: < 1 s. `heatmap_50k_refresh_ms`: the same cells with new counts
 *    (a live refresh). `map_repaint_ms`: one repaint of the unchanged map, what a frame costs.
 *    Each also gives `chromium_cpu_ms`: CPU time all of chromium's processes (GPU process with
 *    SwiftShader included) spent meanwhile, which the load of other processes does not inflate.
 * 2. `big_screen_heap_growth_pct`: the big screen (可视化大屏) left running on live refresh (its
 *    Server-Sent Events every 5 s, the heat cells re-fetched each time), JS heap sampled after a
 *    forced GC every 30 s; growth of the last sample over the first one after warm-up. Goal: within
 *    10 % over 30 minutes.
 *
 * Duration: `CONSOLE_MAP_BENCH_MINUTES` (default 30; 0 runs the cell draws alone) or `--minutes=N`
 * when run directly. The
 * portal is the real one (PGlite, demo data); insight's answers come from a small HTTP server
 * speaking insight's contract (validated with its schemas) with figures and ~3,000 cells that change
 * on every call, so that each refresh redraws charts and cells the way a busy region does.
 */
import { RegionMetrics, Heatmap } from '@geo/insight';
import { cellToParent, gridDisk, latLngToCell } from 'h3-js';
import { createServer, type Server } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { CHROMIUM_ARGS } from '../web/bigdata/e2e/console-stack.ts';
import { e2eOutDir } from '../web/e2e/build-entry.ts';
import { buildE2e } from '../web/bigdata/e2e/build-e2e.ts';
import type { DrawTiming } from '../web/map/map-bench.tsx';
import { boundariesJson } from '../src/api/bigdata/geography.ts';
import { loginAdmin, testPortal } from '../src/test/harness.ts';

const argMinutes = process.argv.find((a) => a.startsWith('--minutes='))?.slice(10);
const MINUTES = Number(argMinutes ?? process.env.CONSOLE_MAP_BENCH_MINUTES ?? 30);
if (!(MINUTES >= 0)) throw new Error(`bad duration: ${argMinutes ?? process.env.CONSOLE_MAP_BENCH_MINUTES}`);
const SAMPLE_MS = 30_000;
const figures: string[] = [];
const figure = (metric: string, value: number, unit: string, extra: Record<string, unknown> = {}) =>
  figures.push(
    JSON.stringify({
      bench: 'portal',
      metric,
      value: Math.round(value * 10) / 10,
      unit,
      ...extra,
      load1: Math.round(loadavg()[0]! * 10) / 10,
    }),
  );

// ~50k res-8 cells around Hangzhou: a disk of radius 129 holds 50,311.
const CELLS_50K = gridDisk(latLngToCell(30.25, 120.17, 8), 129).slice(0, 50_000);
// Another 50k, east of the first (no cell in common).
const CELLS_50K_B = gridDisk(latLngToCell(30.25, 123.5, 8), 129).slice(0, 50_000);
const SCREEN_CELLS = [...new Set(CELLS_50K.slice(0, 20_000).map((c) => cellToParent(c, 7)))].slice(0, 3_000);

/** Insight's query API, answering with valid, changing figures. */
function fakeInsight(): Promise<Server> {
  let n = 0;
  const c = (v: number) => ({ value: Math.round(v), suppressed: false });
  const server = createServer((req, res) => {
    n++;
    const wave = (i: number) => 1000 + 500 * Math.sin((n + i) / 7);
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/heatmap')) {
      const body: Heatmap = {
        at: new Date().toISOString(),
        k: 10,
        resolution: 7,
        cells: SCREEN_CELLS.map((h3, i) => ({ h3, count: c(10 + ((i * 7919 + n * 31) % 500)) })),
      };
      return res.end(JSON.stringify(Heatmap.parse(body)));
    }
    req.resume();
    req.on('end', () => {
      const t = Date.now();
      const point = (i: number) => ({
        t: new Date(t - i * 300_000).toISOString(),
        population: c(wave(i) * 40),
        inflow: c(wave(i + 3)),
        outflow: c(wave(i + 5)),
      });
      const m: RegionMetrics = {
        at: new Date().toISOString(),
        k: 10,
        stalenessMinutes: 120,
        cells: SCREEN_CELLS.length,
        population: { total: c(wave(0) * 40), byCarrier: { cmcc: c(wave(0) * 25), cucc: c(wave(0) * 9), ctcc: c(wave(0) * 6) } },
        weeklyMax: { count: c(70_000), at: new Date(t - 86_400_000).toISOString() },
        flow: {
          lastHour: { inflow: c(wave(1)), outflow: c(wave(2)) },
          sinceMidnight: { since: new Date(t - 3_600_000).toISOString(), inflow: c(wave(3) * 9), outflow: c(wave(4) * 8) },
        },
        origin: {
          provinces: ['330000', '310000', '320000', '340000', '360000'].map((code, i) => ({ code, count: c(wave(i) * (10 - i)) })),
          otherProvinces: c(wave(6)),
          cities: ['330100', '330200', '330300', '310100', '320500'].map((code, i) => ({ code, count: c(wave(i) * (8 - i)) })),
          otherCities: c(wave(7)),
          unknownHome: c(30),
          local: c(wave(0) * 30),
          roaming: c(wave(0) * 10),
          unknownLocality: c(12),
        },
        dwell: (['<30m', '30-60m', '1-2h', '2-4h', '4-8h', '>8h'] as const).map((bucket, i) => ({ bucket, count: c(wave(i) * (6 - i)) })),
        portrait: {
          gender: (['m', 'f', 'unknown'] as const).map((gender, i) => ({ gender, count: c(wave(i) * (3 - i)) })),
          age: (['<18', '18-24', '25-34', '35-44', '45-54', '55-64', '65+', 'unknown'] as const).map((band, i) => ({
            band,
            count: c(wave(i) * 2),
          })),
          genderByAge: [],
        },
        series: {
          day: Array.from({ length: 288 }, (_, i) => point(i)).reverse(),
          week: Array.from({ length: 168 }, (_, i) => point(i * 12)).reverse(),
        },
      };
      res.end(JSON.stringify(RegionMetrics.parse(m)));
    });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

/**
 * CPU time (ms) used so far by this process's descendants (chromium's browser, renderer and GPU
 * processes, SwiftShader included), from /proc: unlike wall time, it does not grow with the load
 * other processes put on the machine. Linux only; NaN elsewhere.
 */
function childCpuMs(): number {
  try {
    const stats = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map((d) => {
        try {
          // pid (comm) state ppid … utime stime: fields 14 and 15, counted after the comm's ')'.
          const t = readFileSync(`/proc/${d}/stat`, 'utf8');
          const f = t.slice(t.lastIndexOf(')') + 2).split(' ');
          return { pid: Number(d), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
        } catch {
          return null;
        }
      })
      .filter((x) => !!x);
    const mine = new Set([process.pid]);
    let ms = 0;
    for (let grew = true; grew;) {
      grew = false;
      for (const p of stats)
        if (!mine.has(p.pid) && mine.has(p.ppid)) {
          mine.add(p.pid);
          ms += (p.ticks * 1000) / TICKS_PER_S;
          grew = true;
        }
    }
    return ms;
  } catch {
    return NaN;
  }
}
const TICKS_PER_S = 100;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const dist = await buildE2e(e2eOutDir(join(tmpdir(), 'geo-alert-bigdata-e2e')));
  for (const level of ['province', 'city', 'district'] as const) boundariesJson(level);
  const insight = await fakeInsight();
  const portal = await testPortal({ insightUrl: `http://127.0.0.1:${(insight.address() as { port: number }).port}`, webDist: dist });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  try {
    const client = await loginAdmin(portal);
    const [name, value] = client.cookie.split('=') as [string, string];
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    await context.addCookies([{ name, value, url: portal.url }]);

    // 1. 50,000 cells on the heat map's map.
    const page = await context.newPage();
    await page.goto(`${portal.url}/map-bench`);
    await page.waitForFunction(() => !!window.mapBench, undefined, { timeout: 180_000 });
    // Two sets of cells with no cell in common (the map keeps the previous set's centroids, so
    // alternating them makes every draw a cold one), then the same set again (a live refresh).
    const answer = (set: string[], i: number) =>
      JSON.stringify({
        at: new Date().toISOString(),
        k: 10,
        resolution: 8,
        cells: set.map((h3, j) => ({ h3, count: { value: ((j * 7919 + i * 104_729) % 1000) + 10, suppressed: false } })),
      });
    const draw = async (set: string[], i: number) => {
      // The answer goes into the page first, untimed: its trip over the devtools protocol is not the map's.
      await page.evaluate((j) => void (window.mapBenchAnswer = j), answer(set, i));
      const cpu0 = childCpuMs();
      const t = { ...(await page.evaluate(() => window.mapBench!.draw(window.mapBenchAnswer!))), cpuMs: 0 };
      t.cpuMs = childCpuMs() - cpu0;
      console.log(`draw ${i + 1}: ${JSON.stringify(t, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}`);
      return t;
    };
    const cold: (DrawTiming & { cpuMs: number })[] = [];
    for (let i = 0; i < 6; i++) cold.push(await draw(i % 2 ? CELLS_50K_B : CELLS_50K, i));
    const warm: (DrawTiming & { cpuMs: number })[] = [];
    for (let i = 6; i < 10; i++) warm.push(await draw(CELLS_50K, i));
    const repaints: number[] = [];
    for (let i = 0; i < 3; i++) repaints.push(await page.evaluate(() => window.mapBench!.repaint()));
    await page
      .screenshot({ path: join(process.env.ARTIFACTS_DIR ?? join(tmpdir(), 'geo-alert-artifacts'), 'heatmap-50k-cells.png') })
      .catch(() => undefined);
    await page.close();
    const rest = cold.slice(1);
    figure('heatmap_50k_cells_ms', median(rest.map((t) => t.firstFrame)), 'ms', {
      what: 'answer text in the page -> first frame with the cells, new cells each time',
      first: Math.round(cold[0]!.firstFrame),
      runs: rest.length,
      cells: CELLS_50K.length,
      parse_and_setup_ms: Math.round(median(rest.map((t) => t.setup))),
      idle_ms: Math.round(median(rest.map((t) => t.idle))),
      chromium_cpu_ms: Math.round(median(rest.map((t) => t.cpuMs))),
    });
    figure('heatmap_50k_refresh_ms', median(warm.map((t) => t.firstFrame)), 'ms', {
      what: 'same cells, new counts',
      runs: warm.length,
      idle_ms: Math.round(median(warm.map((t) => t.idle))),
      chromium_cpu_ms: Math.round(median(warm.map((t) => t.cpuMs))),
    });
    figure('map_repaint_ms', median(repaints), 'ms', { what: 'one repaint of the unchanged map with the cells, to idle' });

    // 2. The big screen on live refresh (0 minutes: skipped).
    if (MINUTES > 0) await bigScreen(context, portal.url);
  } finally {
    await browser.close();
    await portal.stop();
    insight.close();
  }
  for (const f of figures) console.log(f);
}

/** The big screen left on live refresh for MINUTES, its JS heap sampled after a forced GC. */
async function bigScreen(context: BrowserContext, url: string) {
  {
    const screen = await context.newPage();
    const cdp = await context.newCDPSession(screen);
    await screen.goto(`${url}/insight/screen`);
    await screen.waitForFunction(
      () => /\d/.test(document.querySelector('[data-testid="screen-population"]')?.textContent ?? ''),
      undefined,
      { timeout: 180_000 },
    );
    const heap = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      return (await cdp.send('Runtime.getHeapUsage')).usedSize / 1024 / 1024;
    };
    const totalMs = MINUTES * 60_000;
    // Warm-up: caches, fonts, worker tiles and chart instances settle in the first minutes.
    const warmMs = Math.min(5 * 60_000, Math.max(60_000, totalMs / 6));
    const started = Date.now();
    const samples: { s: number; mb: number }[] = [];
    let refreshes = 0;
    screen.on('response', (r) => r.url().includes('/api/insight/heatmap') && refreshes++);
    // CONSOLE_MAP_BENCH_SNAPSHOTS=<dir>: heap snapshots after warm-up and at the end, to compare in devtools.
    const snapDir = process.env.CONSOLE_MAP_BENCH_SNAPSHOTS;
    const snapshot = async (name: string) => {
      if (!snapDir) return;
      const chunks: string[] = [];
      const onChunk = (e: { chunk: string }) => void chunks.push(e.chunk);
      cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
      await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
      cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
      writeFileSync(join(snapDir, `${name}.heapsnapshot`), chunks.join(''));
    };
    let snapped = false;
    while (Date.now() - started < totalMs) {
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
      const mb = await heap();
      const s = Math.round((Date.now() - started) / 1000);
      samples.push({ s, mb });
      console.log(`t=${s}s heap=${mb.toFixed(1)} MB refreshes=${refreshes}`);
      if (!snapped && s * 1000 >= warmMs) await snapshot('big-screen-after-warm-up').then(() => (snapped = true));
    }
    await snapshot('big-screen-end');
    const after = samples.filter((x) => x.s * 1000 >= warmMs);
    const base = after[0] ?? samples[0]!;
    const last = samples.at(-1)!;
    figure('big_screen_heap_growth_pct', ((last.mb - base.mb) / base.mb) * 100, '%', {
      minutes: MINUTES,
      baseline_mb: Math.round(base.mb * 10) / 10,
      baseline_at_s: base.s,
      last_mb: Math.round(last.mb * 10) / 10,
      max_mb: Math.round(Math.max(...after.map((x) => x.mb)) * 10) / 10,
      refreshes,
    });
  }
}

await main();
