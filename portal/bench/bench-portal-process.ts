/**
 * The portal under test for the import bench, in its own process (`fork` with IPC): the bench's
 * client work (building files, sending them, timing requests) never runs on the portal's event
 * loop, so what the bench measures is the portal's own blocking.
 *
 * Messages from the parent: `{ t: 'reset' }` clears the event-loop delay histogram, `{ t: 'stats' }`
 * answers `{ t: 'stats', maxMs, p99Ms }` (the longest the portal's event loop was held since the
 * reset, from `monitorEventLoopDelay`), `{ t: 'stop' }` stops the portal and exits.
 *
 * PGlite keeps its data in a fresh directory on disk, as the portal does by default (PGLITE_DIR):
 * in memory (`memory://`, the tests' choice) every growth of a large table or WAL file copies the
 * whole file inside PGlite's in-memory file system (Emscripten MEMFS `expandFileStorage`), which
 * held the event loop for 0.4–0.9 s at a time after 100,000 imported contacts: a cost of the test
 * setup, not of the portal. `BENCH_PGLITE_MEMORY=1` measures that setup anyway; `BENCH_DATABASE_URL`
 * runs the portal on a PostgreSQL server instead.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { testPortal } from '../src/test/harness.ts';

// `BENCH_DATABASE_URL`: a PostgreSQL server instead (DATABASE_URL, as a deployment with its own server runs).
const databaseUrl = process.env.BENCH_DATABASE_URL || undefined;
const dataDir = databaseUrl || process.env.BENCH_PGLITE_MEMORY === '1' ? undefined : mkdtempSync(join(tmpdir(), 'portal-bench-pglite-'));
const portal = await testPortal(databaseUrl ? { databaseUrl } : dataDir ? { pgliteDir: dataDir } : {});
const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();

// With a CPU profile, also the stalls over 50 ms, on the profile's clock (µs), to find their work in it.
const profDir = process.env.BENCH_PORTAL_CPU_PROF;
const stalls: { endUs: number; ms: number }[] = [];
if (profDir) {
  let last = process.hrtime.bigint();
  setInterval(() => {
    const now = process.hrtime.bigint();
    const ms = Number(now - last) / 1e6;
    if (ms > 50) stalls.push({ endUs: Number(now / 1000n), ms });
    last = now;
  }, 5).unref();
  process.on('exit', () => writeFileSync(join(profDir, `stalls-${process.pid}.json`), JSON.stringify(stalls)));
}

process.on('message', (m: { t: string }) => {
  if (m.t === 'reset') eld.reset();
  else if (m.t === 'stats') process.send!({ t: 'stats', maxMs: eld.max / 1e6, p99Ms: eld.percentile(99) / 1e6 });
  else if (m.t === 'stop')
    void portal.stop().then(() => {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
});
process.send!({ t: 'ready', url: portal.url });
