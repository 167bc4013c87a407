import { connect, createServer, type Socket } from 'node:net';

/** A TCP proxy for tests that can lose, for real, bytes a server already sent. */
export interface TcpProxy {
  /** The port it listens on (127.0.0.1). */
  port: number;
  /**
   * Stops passing server → client bytes on the open connections: they are read from the server (so
   * it counts them as sent) and held back. Client → server bytes still pass.
   */
  hold(): void;
  /** Bytes held back since `hold()`. */
  held(): number;
  /**
   * Closes the open connections and discards what was held: the client never gets it. Connections
   * made afterwards are passed through as usual (a client reconnects through the proxy).
   */
  cut(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  holding: boolean;
  held: Buffer[];
}

/**
 * Starts a proxy in front of `target` (host:port).
 * @example const proxy = await startTcpProxy({ host: '127.0.0.1', port: 4222 }); proxy.hold(); …; proxy.cut();
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    const pair: Pair = { client, upstream, holding: false, held: [] };
    pairs.add(pair);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (pair.holding) pair.held.push(chunk);
      else client.write(chunk);
    });
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const p of [...pairs]) {
      p.held = [];
      p.client.destroy();
      p.upstream.destroy();
      pairs.delete(p);
    }
  };
  return {
    port: (server.address() as { port: number }).port,
    hold() {
      for (const p of pairs) p.holding = true;
    },
    held() {
      let n = 0;
      for (const p of pairs) for (const b of p.held) n += b.length;
      return n;
    },
    cut,
    async close() {
      cut();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
