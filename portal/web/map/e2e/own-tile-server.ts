import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, deflateSync } from 'node:zlib';

/** The colour of every tile the test server draws: a magenta no part of the portal's own map uses. */
export const TILE_RGB: [number, number, number] = [255, 0, 255];

/** A 256×256 PNG of one colour (8-bit RGB, no filter), written without a library. */
export function solidPng([r, g, b]: [number, number, number], size = 256): Buffer {
  const row = Buffer.alloc(1 + size * 3);
  for (let x = 0; x < size; x++) row.set([r, g, b], 1 + x * 3);
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(Array.from({ length: size }, () => row)))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export interface OwnTileServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** Paths asked for, in order (`/style.json`, `/tiles/6/53/26.png`, …). */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A deployment's own map server, as small as it gets: `/style.json` (a MapLibre style with one
 * raster source) and `/tiles/{z}/{x}/{y}.png` (every tile one magenta square), with CORS for the
 * portal's page on another port. `/not-a-style.json` answers HTML, as a misconfigured proxy would;
 * anything else is 404.
 */
export async function startOwnTileServer(): Promise<OwnTileServer> {
  const png = solidPng(TILE_RGB);
  const requests: string[] = [];
  let url = '';
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    res.setHeader('access-control-allow-origin', '*');
    if (path === '/style.json') {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          version: 8,
          name: 'own-tiles',
          sources: { own: { type: 'raster', tiles: [`${url}/tiles/{z}/{x}/{y}.png`], tileSize: 256, maxzoom: 18 } },
          layers: [{ id: 'own-raster', type: 'raster', source: 'own' }],
        }),
      );
    } else if (/^\/tiles\/\d+\/\d+\/\d+\.png$/.test(path)) {
      res.setHeader('content-type', 'image/png');
      res.end(png);
    } else if (path === '/not-a-style.json') {
      res.setHeader('content-type', 'text/html');
      res.end('<html><body>Welcome to nginx!</body></html>');
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, close: () => new Promise((r) => server.close(() => r())) };
}
