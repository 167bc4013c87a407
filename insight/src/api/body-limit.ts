import type { Context, MiddlewareHandler } from 'hono';
import { drainRefused, readWithin } from '@geo/infra';

export interface BodyLimitOptions {
  /** Largest body accepted, in bytes. */
  maxSize: number;
  /** How much of a refused body is read and dropped before answering (default 64 MB). */
  maxDrain?: number;
  /** How long to keep draining a refused body before answering anyway (default 30 s). */
  drainMs?: number;
  /** The answer for a body over the limit. */
  tooLarge: (c: Context) => Response | Promise<Response>;
}

/**
 * A request body limit that reads the refused body to its end (up to `maxDrain`) before answering,
 * so a slow uploader gets the 413 and its message, not `EPIPE` (see @geo/infra `drainRefused`).
 * Bodies under the limit are buffered once and handed on, as `bodyLimit` does.
 */
export function drainingBodyLimit(opts: BodyLimitOptions): MiddlewareHandler {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body) return next();
    const declared = c.req.raw.headers.has('transfer-encoding') ? NaN : Number(c.req.raw.headers.get('content-length'));
    const reader = body.getReader();
    const refuse = async (seen: number): Promise<Response> => {
      await drainRefused(reader, seen, opts.maxDrain, opts.drainMs);
      const res = await opts.tooLarge(c);
      res.headers.set('connection', 'close');
      return res;
    };
    if (Number.isFinite(declared) && declared > opts.maxSize) return refuse(0);
    const read = await readWithin(reader, opts.maxSize);
    if ('over' in read) return refuse(read.over);
    c.req.raw = new Request(c.req.raw, { body: read.bytes });
    return next();
  };
}
