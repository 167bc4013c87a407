/**
 * Reading a request body against a size limit without letting a refused upload end in a reset:
 * the pieces the services' body-limit middlewares share (insight's answers the 413 itself, the
 * portal's throws its error for the error handler).
 *
 * Hono's `bodyLimit` answers at once, and @hono/node-server then drains the socket for only 500 ms
 * before destroying it: a slow client still sending a body far over the limit saw `EPIPE` instead of
 * the 413 and its message. Draining costs bandwidth, never memory (the chunks are dropped).
 */

/** How much of a refused body is read and dropped before answering, by default. */
export const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
/** How long a refused body is drained before answering anyway, by default. */
export const DRAIN_MS = 30_000;

type BodyReader = ReadableStreamDefaultReader<Uint8Array>;

/**
 * Reads a body to its end while it stays within `maxSize`: its bytes, or how many bytes had arrived
 * when it went over (the reader is then left open, for {@link drainRefused}).
 */
export async function readWithin(reader: BodyReader, maxSize: number): Promise<{ bytes: Uint8Array<ArrayBuffer> } | { over: number }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxSize) return { over: size };
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const ch of chunks) {
    bytes.set(ch, offset);
    offset += ch.byteLength;
  }
  return { bytes };
}

/**
 * Reads and drops the rest of a refused body (`seen` bytes already read) until it ends, `maxDrain`
 * bytes in all or `drainMs` have passed, then cancels the reader. A client that went away ends it
 * quietly: the answer reaches nobody, which is fine.
 */
export async function drainRefused(reader: BodyReader, seen: number, maxDrain = DRAIN_MAX_BYTES, drainMs = DRAIN_MS): Promise<void> {
  const until = Date.now() + drainMs;
  let drained = seen;
  try {
    while (drained <= maxDrain && Date.now() < until) {
      const { done, value } = await reader.read();
      if (done) break;
      drained += value.byteLength;
    }
  } catch {
    // the client went away
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
