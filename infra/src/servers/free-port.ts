import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * The kernel's ephemeral port range (Linux: `ip_local_port_range`), from which it picks the local port
 * of every outgoing connection. @default [32768, 60999]
 */
export function ephemeralRange(
  read: () => string = () => readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'),
): [number, number] {
  try {
    const [lo, hi] = read().trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi) && lo! > 1024 && hi! >= lo!) return [lo!, hi!];
  } catch {
    /* not Linux: the usual range */
  }
  return [32768, 60999];
}

/** Ports handed out here: below the ephemeral range, above the well-known and registered hot spots. */
const LOW = 20_000;
/** Ports already handed out by this process: a random pick must not repeat one whose server has not bound it yet. */
const handedOut = new Set<number>();

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : undefined;
      srv.close(() => resolve(got));
    });
  });
}

/**
 * A free TCP port on loopback for a server the caller starts next, chosen at random BELOW the
 * kernel's ephemeral range. A port from `listen(0)` lies inside that range, so between our check
 * and the server's bind the kernel could give it to an outgoing connection (a NATS client's local
 * port): the server then failed with EADDRINUSE for as long as that connection lived (seen in the
 * whole-system chaos drill, insight's API port held by a client socket).
 */
export async function freePort(): Promise<number> {
  const [ephemeralLow] = ephemeralRange();
  const high = Math.min(ephemeralLow - 1, 32_767);
  if (high > LOW + 100)
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = LOW + Math.floor(Math.random() * (high - LOW));
      if (handedOut.has(port)) continue;
      const got = await tryListen(port);
      if (got) {
        handedOut.add(got);
        return got;
      }
    }
  const any = await tryListen(0);
  if (!any) throw new Error('no free TCP port on 127.0.0.1');
  return any;
}
