import { createServer } from 'node:net';
import { freePort } from './free-port.ts';

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** The preferred port when it is free (so URLs stay the same across runs), else any free one. */
export async function pickPort(preferred: number, taken: Set<number> = new Set()): Promise<number> {
  if (!taken.has(preferred) && (await isFree(preferred))) {
    taken.add(preferred);
    return preferred;
  }
  for (;;) {
    const p = await freePort();
    if (!taken.has(p)) {
      taken.add(p);
      return p;
    }
  }
}
