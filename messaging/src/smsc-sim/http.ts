import { createServer } from 'node:http';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReceivedMessage, SimulatedSmsc, SmscBehaviour, SmscStats } from './simulated-smsc.ts';

/** Messages per `/messages` page at most. */
export const MESSAGES_PAGE_MAX = 10_000;
/** Numbers per `POST /messages/by-destination` at most. */
export const BY_DESTINATION_MAX = 50_000;

/**
 * The simulator's HTTP side, on its health port:
 * - `GET /healthz`, `GET /stats`, `GET /metrics` (Prometheus: the counters of `/stats` per carrier);
 * - `GET /messages?carrier=&msisdn=&clientRef=&limit=&offset=` newest first, paged (at most
 *   10,000 a page), with the total matching in the `x-total-count` header;
 * - `GET /messages/count?carrier=&msisdn=&clientRef=` → `{ total }`;
 * - `POST /messages/by-destination` with a JSON array of numbers → `{ "<msisdn>": [messages…] }`,
 *   one request for a whole run's recipients instead of one per number;
 * - `POST /behaviour?carrier=` with a JSON body to change latency, rates or throttling at run time;
 * - `POST /deliver?carrier=` sends a deliver_sm of the caller's making (`{ fields, shortMessageHex,
 *   messagePayloadHex }`, or `{ rawHex }` for bytes as they are), `GET /deliver/<id>` says what became of it.
 */
export async function startSmscHttp(smscs: SimulatedSmsc[], port: number, host = '127.0.0.1') {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'smsc-sim' });
  collectDefaultMetrics({ register: registry });
  const fields: (keyof Omit<SmscStats, 'carrier'>)[] = [
    'binds',
    'submits',
    'accepted',
    'throttled',
    'rejected',
    'dropped',
    'disconnects',
    'receiptsSent',
    'receiptsPending',
    'mosSent',
    'peakBinds',
    'bindsRefused',
    'peakPerSecond',
  ];
  for (const f of fields) {
    const snake = f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    new Gauge({
      name: `smsc_${snake}`,
      help: `Simulated SMSC: ${f} (see SmscStats)`,
      labelNames: ['carrier'],
      registers: [registry],
      collect() {
        for (const s of smscs) this.set({ carrier: s.carrier }, s.stats()[f]);
      },
    });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };
    const pick = () => {
      const c = url.searchParams.get('carrier');
      return c ? smscs.filter((s) => s.carrier === c) : smscs;
    };
    const readBody = (then: (body: string) => void) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => then(body));
    };
    /** Matching messages of the picked carriers, newest first. */
    const matching = () => {
      const msisdn = url.searchParams.get('msisdn');
      const ref = url.searchParams.get('clientRef');
      const out: (ReceivedMessage & { carrier: string })[] = [];
      for (const s of pick()) {
        const list = msisdn ? s.messagesTo(msisdn) : s.messages;
        for (const m of list) if (!ref || m.clientRef === ref) out.push({ carrier: s.carrier, ...m });
      }
      return out.sort((a, b) => b.at - a.at);
    };
    if (url.pathname === '/healthz' || url.pathname === '/') {
      json(200, {
        service: 'smsc-sim',
        ok: true,
        checks: Object.fromEntries(smscs.map((s) => [s.carrier, { ok: true, detail: `port ${s.port}, ${s.stats().binds} binds` }])),
      });
      return;
    }
    if (url.pathname === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => json(500, { error: (err as Error).message }),
      );
      return;
    }
    if (url.pathname === '/stats')
      return json(
        200,
        smscs.map((s) => s.stats()),
      );
    if (url.pathname === '/messages/count') return json(200, { total: matching().length });
    if (url.pathname === '/messages/by-destination' && req.method === 'POST') {
      readBody((body) => {
        let numbers: unknown;
        try {
          numbers = JSON.parse(body || '[]');
        } catch (err) {
          return json(400, { error: `not JSON: ${(err as Error).message}` });
        }
        if (!Array.isArray(numbers) || numbers.some((n) => typeof n !== 'string') || numbers.length > BY_DESTINATION_MAX) {
          return json(400, { error: `expected a JSON array of at most ${BY_DESTINATION_MAX} numbers (strings)` });
        }
        const out: Record<string, (ReceivedMessage & { carrier: string })[]> = {};
        for (const n of numbers as string[]) {
          out[n] = [];
          for (const s of pick()) for (const m of s.messagesTo(n)) out[n].push({ carrier: s.carrier, ...m });
        }
        json(200, out);
      });
      return;
    }
    if (url.pathname === '/messages') {
      const limit = Math.max(1, Math.min(MESSAGES_PAGE_MAX, Number(url.searchParams.get('limit') ?? 100) || 100));
      const offset = Math.max(0, Number(url.searchParams.get('offset') ?? 0) || 0);
      const all = matching();
      return json(200, all.slice(offset, offset + limit), { 'x-total-count': String(all.length) });
    }
    if (url.pathname === '/deliver' && req.method === 'POST') {
      // A deliver_sm of the caller's making (tests of what messaging does with bad receipts):
      // `{ fields: {...}, shortMessageHex?, messagePayloadHex? }` or `{ rawHex }`.
      readBody((body) => {
        try {
          const b = JSON.parse(body || '{}') as {
            fields?: Record<string, unknown>;
            shortMessageHex?: string;
            messagePayloadHex?: string;
            rawHex?: string;
          };
          const [s] = pick();
          if (!s) return json(404, { error: 'no such carrier' });
          if (b.rawHex !== undefined) return json(200, s.inject({ raw: Buffer.from(b.rawHex, 'hex') }));
          const fields: Record<string, unknown> = { ...(b.fields ?? {}) };
          if (b.shortMessageHex !== undefined) fields.short_message = Buffer.from(b.shortMessageHex, 'hex');
          if (b.messagePayloadHex !== undefined) fields.message_payload = Buffer.from(b.messagePayloadHex, 'hex');
          json(200, s.inject({ fields }));
        } catch (err) {
          json(400, { error: (err as Error).message });
        }
      });
      return;
    }
    if (url.pathname.startsWith('/deliver/')) {
      const id = decodeURIComponent(url.pathname.slice('/deliver/'.length));
      for (const s of smscs) {
        const inj = s.injected(id);
        if (inj) return json(200, inj);
      }
      return json(404, { error: `no injected deliver_sm ${id}` });
    }
    if (url.pathname === '/behaviour' && req.method === 'POST') {
      readBody((body) => {
        try {
          const patch = JSON.parse(body || '{}') as Partial<SmscBehaviour>;
          for (const s of pick()) s.configure(patch);
          json(
            200,
            pick().map((s) => ({ carrier: s.carrier, behaviour: s.behaviour })),
          );
        } catch (err) {
          json(400, { error: (err as Error).message });
        }
      });
      return;
    }
    if (url.pathname === '/behaviour')
      return json(
        200,
        pick().map((s) => ({ carrier: s.carrier, behaviour: s.behaviour })),
      );
    json(404, { error: 'try /healthz, /metrics, /stats, /messages, /messages/count, /messages/by-destination, /behaviour' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : port, close: () => new Promise<void>((r) => server.close(() => r())) };
}
