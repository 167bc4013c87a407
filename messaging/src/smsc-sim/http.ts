import { createServer } from 'node:http';
import type { SimulatedSmsc, SmscBehaviour } from './smsc.ts';

/**
 * The simulator's HTTP side, on its health port: `GET /healthz`, `GET /stats`,
 * `GET /messages?carrier=&msisdn=&limit=` (newest first) for the portal and tests, and
 * `POST /behaviour?carrier=` with a JSON body to change latency, rates or throttling at run time.
 */
export async function startSmscHttp(smscs: SimulatedSmsc[], port: number, host = '127.0.0.1') {
  const byCarrier = new Map(smscs.map((s) => [s.carrier, s]));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    const pick = () => {
      const c = url.searchParams.get('carrier');
      return c ? smscs.filter((s) => s.carrier === c) : smscs;
    };
    if (url.pathname === '/healthz' || url.pathname === '/') {
      json(200, { service: 'smsc-sim', ok: true, checks: Object.fromEntries(smscs.map((s) => [s.carrier, { ok: true, detail: `port ${s.port}, ${s.stats().binds} binds` }])) });
      return;
    }
    if (url.pathname === '/stats') return json(200, smscs.map((s) => s.stats()));
    if (url.pathname === '/messages') {
      const msisdn = url.searchParams.get('msisdn');
      const limit = Math.min(1000, Number(url.searchParams.get('limit') ?? 100) || 100);
      const out = [];
      for (const s of pick()) {
        for (let i = s.messages.length - 1; i >= 0 && out.length < limit * smscs.length; i--) {
          const m = s.messages[i]!;
          if (!msisdn || m.destination === msisdn) out.push({ carrier: s.carrier, ...m });
        }
      }
      out.sort((a, b) => b.at - a.at);
      return json(200, out.slice(0, limit));
    }
    if (url.pathname === '/behaviour' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        try {
          const patch = JSON.parse(body || '{}') as Partial<SmscBehaviour>;
          for (const s of pick()) s.configure(patch);
          json(200, pick().map((s) => ({ carrier: s.carrier, behaviour: s.behaviour })));
        } catch (err) {
          json(400, { error: (err as Error).message });
        }
      });
      return;
    }
    if (url.pathname === '/behaviour') return json(200, pick().map((s) => ({ carrier: s.carrier, behaviour: s.behaviour })));
    json(404, { error: 'try /healthz, /stats, /messages, /behaviour' });
  });
  void byCarrier;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : port, close: () => new Promise<void>((r) => server.close(() => r())) };
}
