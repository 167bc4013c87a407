import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainingBodyLimit } from './body-limit.ts';

let server: ServerType;
let port = 0;

beforeAll(async () => {
  const app = new Hono();
  app.post('/echo', drainingBodyLimit({ maxSize: 1024, tooLarge: (c) => c.json({ error: 'too large' }, 413) }), async (c) =>
    c.json({ bytes: (await c.req.arrayBuffer()).byteLength }),
  );
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/**
 * POSTs `total` bytes in `chunks` pieces, one every `gapMs`, with or without a Content-Length, through
 * fetch (undici): unlike node's http client it fails with EPIPE when the server closes the socket
 * before the upload is over, as browsers and the portal's client do.
 */
async function slowPost(total: number, chunks: number, gapMs: number, withLength: boolean): Promise<{ status: number; body: string }> {
  const piece = new Uint8Array(Math.ceil(total / chunks)).fill(0x61);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (sent >= total) return ctrl.close();
      if (sent > 0) await new Promise((r) => setTimeout(r, gapMs));
      const n = Math.min(piece.length, total - sent);
      ctrl.enqueue(piece.slice(0, n));
      sent += n;
    },
  });
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (withLength) headers['content-length'] = String(total);
  const res = await fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', headers, body, duplex: 'half' } as RequestInit);
  return { status: res.status, body: await res.text() };
}

describe('drainingBodyLimit', () => {
  it('passes a body under the limit through whole', async () => {
    expect(await slowPost(1000, 4, 1, true)).toEqual({ status: 200, body: '{"bytes":1000}' });
    expect(await slowPost(1000, 4, 1, false)).toEqual({ status: 200, body: '{"bytes":1000}' });
  });

  it('answers 413 with its message to a client that is still uploading, declared length or not', async () => {
    for (const withLength of [true, false]) {
      const res = await slowPost(2_000_000, 40, 30, withLength);
      expect(res.status).toBe(413);
      expect(JSON.parse(res.body)).toEqual({ error: 'too large' });
    }
  });

  // The bad-input suite's case: fetch with a 25 MB buffer body writes it all before reading the answer.
  // Hono's bodyLimit answered at once and @hono/node-server reset the socket 500 ms later, so on a
  // loaded machine the client saw EPIPE instead of the 413. The body is now read to its end first.
  it('lets a client that writes a 25 MB body before reading the answer get the 413', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', body: new Uint8Array(25 * 1024 * 1024).fill(0x61) });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: 'too large' });
  });
});
