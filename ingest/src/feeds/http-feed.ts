import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { Carrier } from '../contract.ts';
import type { FeedPipeline } from './feed-pipeline.ts';

export interface HttpFeedOptions {
  port: number;
  host?: string;
  /** Ingest key per carrier; a request's key decides which carrier's events it may send. */
  keys: Partial<Record<Carrier, string>>;
  pipeline: FeedPipeline;
  log: Logger;
  /** @default 64 MiB */
  maxBodyBytes?: number;
  /** Served at `GET /v1/status` (no key needed: counters only). */
  statusOf?: () => unknown;
}

export interface HttpFeed {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The path carriers POST to. */
export const HTTP_FEED_PATH = '/v1/location-events';

function keyCarrier(keys: HttpFeedOptions['keys'], presented: string | undefined): Carrier | undefined {
  if (!presented) return undefined;
  const p = Buffer.from(presented);
  for (const [carrier, key] of Object.entries(keys) as [Carrier, string | undefined][]) {
    if (!key) continue;
    const k = Buffer.from(key);
    if (k.length === p.length && timingSafeEqual(k, p)) return carrier;
  }
  return undefined;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/**
 * The HTTP NDJSON feed: `POST /v1/location-events` with `Authorization: Bearer <ingest key>` (or
 * `X-Ingest-Key`) and one event per line. Lines are validated as they stream in; the reply counts
 * accepted and rejected events and lists the first rejections with their line numbers. It is sent
 * after JetStream has acknowledged the accepted events.
 *
 * @example
 * curl -H 'Authorization: Bearer $KEY' --data-binary @events.ndjson http://127.0.0.1:9102/v1/location-events
 */
export async function startHttpFeed(opts: HttpFeedOptions): Promise<HttpFeed> {
  const maxBody = opts.maxBodyBytes ?? 64 * 1024 * 1024;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/v1/status' && req.method === 'GET' && opts.statusOf) return reply(res, 200, opts.statusOf());
    if (url !== HTTP_FEED_PATH) return reply(res, 404, { error: 'not_found', message: `POST NDJSON to ${HTTP_FEED_PATH}` });
    if (req.method !== 'POST') return reply(res, 405, { error: 'method_not_allowed', message: 'use POST' });
    const auth = req.headers.authorization;
    const presented = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : (req.headers['x-ingest-key'] as string | undefined);
    const carrier = keyCarrier(opts.keys, presented);
    if (!carrier) {
      req.resume();
      return reply(res, 401, {
        error: 'unauthorized',
        message: Object.values(opts.keys).some(Boolean) ? 'missing or unknown ingest key' : 'no ingest keys are configured (INGEST_KEYS)',
      });
    }
    const batch = opts.pipeline.begin('http', `http:${carrier}`, carrier);
    let rest = '';
    let size = 0;
    const decoder = new TextDecoder();
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBody) {
        req.destroy();
        return reply(res, 413, { error: 'too_large', message: `body larger than ${maxBody} bytes`, ...(await batch.finish()) });
      }
      const text = rest + decoder.decode(chunk, { stream: true });
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        batch.line(text.slice(start, nl));
        start = nl + 1;
      }
      rest = text.slice(start);
      await batch.ready();
    }
    rest += decoder.decode();
    if (rest) batch.line(rest);
    reply(res, 200, await batch.finish());
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      opts.log.error({ err }, 'http feed request failed');
      if (!res.headersSent) reply(res, 500, { error: 'internal', message: (err as Error).message });
      else res.destroy();
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    port,
    url: `http://${host}:${port}${HTTP_FEED_PATH}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Parses `cmcc=key1,cucc=key2,ctcc=key3`. */
export function parseIngestKeys(text: string | undefined): Partial<Record<Carrier, string>> {
  const keys: Partial<Record<Carrier, string>> = {};
  for (const part of (text ?? '').split(',')) {
    const [carrier, key] = part.split('=').map((s) => s.trim());
    if ((carrier === 'cmcc' || carrier === 'cucc' || carrier === 'ctcc') && key) keys[carrier] = key;
  }
  return keys;
}
