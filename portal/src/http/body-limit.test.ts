import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonBodyLimit, MAX_JSON_BODY_BYTES } from '../api/bigdata/route-kit.ts';
import { toErrorResponse } from './error-response.ts';
import { router } from './openapi.ts';

let server: ServerType;
let port = 0;

beforeAll(async () => {
  const app = router();
  // As the portal answers errors: one handler maps AppError to its status and body.
  app.onError((err, c) => toErrorResponse(c, err));
  app.post('/echo', jsonBodyLimit, async (c) => c.json({ bytes: (await c.req.arrayBuffer()).byteLength }));
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/**
 * POSTs `total` bytes over node:http in 64 KiB pieces, one every `gapMs`, and settles once the whole
 * body is written AND the answer has been read, as a browser uploading a file does: a write that
 * fails (EPIPE, ECONNRESET: the server closed the socket during the upload) fails the call.
 */
function slowPost(total: number, gapMs: number, withLength: boolean): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    let answer: { status: number; body: any } | undefined;
    let written = false;
    const settle = () => answer && written && resolve(answer);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/echo',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', ...(withLength ? { 'content-length': total } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          answer = { status: res.statusCode ?? 0, body: JSON.parse(text) };
          settle();
        });
      },
    );
    req.on('error', reject);
    const piece = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const next = () => {
      if (sent >= total) {
        req.end(() => {
          written = true;
          settle();
        });
        return;
      }
      const n = Math.min(piece.length, total - sent);
      sent += n;
      req.write(piece.subarray(0, n), (err) => (err ? reject(err) : setTimeout(next, gapMs)));
    };
    next();
  });
}

describe('the JSON body limit (2 MB)', () => {
  it('passes a body within the limit through whole, with or without a Content-Length', async () => {
    expect(await slowPost(200_000, 1, true)).toEqual({ status: 200, body: { bytes: 200_000 } });
    expect(await slowPost(200_000, 1, false)).toEqual({ status: 200, body: { bytes: 200_000 } });
  });

  // Hono's bodyLimit answered at once and @hono/node-server destroyed the socket 500 ms later: a
  // client still sending saw EPIPE instead of the 413. The refused body is now read to its end first.
  it('answers a slow uploader of a 3 MB body with 413 and its message, not a connection reset', { timeout: 60_000 }, async () => {
    for (const withLength of [true, false]) {
      const r = await slowPost(3 * 1024 * 1024, 25, withLength);
      expect(r.status).toBe(413);
      expect(r.body.error.code).toBe('UPLOAD_TOO_LARGE');
      expect(r.body.error.message).toContain(`请求内容过大（上限 ${MAX_JSON_BODY_BYTES / 1048576} MB）`);
    }
  });
});
