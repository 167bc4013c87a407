import type { MiddlewareHandler } from 'hono';
import { drainRefused, readWithin } from '@geo/infra';

export interface DrainingBodyLimitOptions {
  /** Largest body accepted, in bytes. */
  maxSize: number;
  /** The error thrown (and answered by the portal's error handler) for a body over the limit. */
  tooLarge: () => Error;
  /** How much of a refused body is read and dropped before answering. @default 64 MiB */
  maxDrain?: number;
  /** How long to keep draining a refused body before answering anyway. @default 30 s */
  drainMs?: number;
}

/**
 * A request body limit that reads a refused body to its end (up to `maxDrain` bytes or `drainMs`)
 * before the 413. Hono's `bodyLimit` answers at once, and @hono/node-server then drains the socket
 * for only 500 ms before destroying it: a slow client still sending a body far over the limit saw
 * `EPIPE` (a connection reset) instead of the 413 and its message. Draining costs bandwidth, never
 * memory (the chunks are dropped). The answer says `connection: close`.
 *
 * A body that declares a Content-Length within the limit is handed on untouched (the HTTP parser
 * never reads past the declared length); one without a length is counted as it arrives, buffered,
 * and handed on whole once it has ended within the limit.
 *
 * Reading and draining are @geo/infra's `readWithin` / `drainRefused`, shared with insight's limit
 * (which answers the 413 itself instead of throwing).
 *
 * @example
 * createRoute({ method: 'post', path: '/api/x', middleware: [drainingBodyLimit({ maxSize: 2 << 20, tooLarge: () => new AppError('UPLOAD_TOO_LARGE', '请求内容过大') })], … })
 */
export function drainingBodyLimit(opts: DrainingBodyLimitOptions): MiddlewareHandler {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body) return next();
    const declared = c.req.raw.headers.has('transfer-encoding') ? NaN : Number(c.req.raw.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared <= opts.maxSize) return next();
    const reader = body.getReader();
    const refuse = async (seen: number): Promise<never> => {
      await drainRefused(reader, seen, opts.maxDrain, opts.drainMs);
      c.header('connection', 'close');
      throw opts.tooLarge();
    };
    if (Number.isFinite(declared)) return refuse(0);
    const read = await readWithin(reader, opts.maxSize);
    if ('over' in read) return refuse(read.over);
    c.req.raw = new Request(c.req.raw, { body: read.bytes });
    return next();
  };
}
