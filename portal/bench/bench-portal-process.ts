/**
 * The portal under test for the import bench, in its own process (`fork` with IPC): the bench's
 * client work (building files, sending them, timing requests) never runs on the portal's event
 * loop, so what the bench measures is the portal's own blocking.
 *
 * Messages from the parent: `{ t: 'reset' }` clears the event-loop delay histogram, `{ t: 'stats' }`
 * answers `{ t: 'stats', maxMs, p99Ms }` (the longest the portal's event loop was held since the
 * reset, from `monitorEventLoopDelay`), `{ t: 'stop' }` stops the portal and exits.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { testPortal } from '../src/test/harness.ts';

const portal = await testPortal();
const eld = monitorEventLoopDelay({ resolution: 10 });
eld.enable();

process.on('message', (m: { t: string }) => {
  if (m.t === 'reset') eld.reset();
  else if (m.t === 'stats') process.send!({ t: 'stats', maxMs: eld.max / 1e6, p99Ms: eld.percentile(99) / 1e6 });
  else if (m.t === 'stop') void portal.stop().then(() => process.exit(0));
});
process.send!({ t: 'ready', url: portal.url });
