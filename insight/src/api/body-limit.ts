import type { Context, MiddlewareHandler } from 'hono';

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
 * A request body limit that reads the refused body to its end (up to `maxDrain`) before answering.
 * Hono's `bodyLimit` answers at once, and @hono/node-server then drains the socket for only 500 ms
 * before destroying it: a client still uploading a 25 MB body on a loaded machine saw `EPIPE`
 * instead of the 413 and its message. Draining costs bandwidth, never memory (chunks are dropped).
 * Bodies under the limit are buffered once and handed on, as `bodyLimit` does.
 */
export function drainingBodyLimit(opts: BodyLimitOptions): MiddlewareHandler {
  const maxDrain = opts.maxDrain ?? 64 * 1024 * 1024;
  const drainMs = opts.drainMs ?? 30_000;
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body) return next();
    const declared = c.req.raw.headers.has('transfer-encoding') ? NaN : Number(c.req.raw.headers.get('content-length'));
    const reader = body.getReader();
    const refuse = async (seen: number): Promise<Response> => {
      const until = Date.now() + drainMs;
      let drained = seen;
      try {
        while (drained <= maxDrain && Date.now() < until) {
          const { done, value } = await reader.read();
          if (done) break;
          drained += value.byteLength;
        }
      } catch {
        // the client went away: nothing left to answer
      } finally {
        reader.cancel().catch(() => undefined);
      }
      const res = await opts.tooLarge(c);
      res.headers.set('connection', 'close');
      return res;
    };
    if (Number.isFinite(declared) && declared > opts.maxSize) return refuse(0);
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > opts.maxSize) return refuse(size);
      chunks.push(value);
    }
    const buffer = new Uint8Array(size);
    let offset = 0;
    for (const ch of chunks) {
      buffer.set(ch, offset);
      offset += ch.byteLength;
    }
    c.req.raw = new Request(c.req.raw, { body: buffer });
    return next();
  };
}
