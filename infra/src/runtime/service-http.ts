import { createServer, type Server } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';

export type HealthCheck = () => Promise<{ ok: boolean; detail?: string }> | { ok: boolean; detail?: string };

export interface ServiceHttp {
  readonly registry: Registry;
  readonly port: number;
  readonly url: string;
  /** Adds a named check to `/healthz`; the service is healthy when every check is. */
  addCheck(name: string, check: HealthCheck): void;
  close(): Promise<void>;
}

/**
 * The small HTTP server every service runs beside its work: `GET /healthz` (200 or 503 with each
 * check's result as JSON) and `GET /metrics` (Prometheus text from prom-client).
 */
export async function startServiceHttp(service: string, port: number, host = '127.0.0.1'): Promise<ServiceHttp> {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const checks = new Map<string, HealthCheck>();
  const started = Date.now();
  const server: Server = createServer(async (req, res) => {
    try {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(await registry.metrics());
        return;
      }
      if (req.url === '/healthz' || req.url === '/') {
        const results: Record<string, { ok: boolean; detail?: string }> = {};
        for (const [name, check] of checks) {
          try {
            results[name] = await check();
          } catch (err) {
            results[name] = { ok: false, detail: (err as Error).message };
          }
        }
        const ok = Object.values(results).every((r) => r.ok);
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ service, ok, uptimeS: Math.round((Date.now() - started) / 1000), checks: results }));
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /healthz or /metrics\n');
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return {
    registry,
    port: actual,
    url: `http://${host}:${actual}`,
    addCheck: (name, check) => void checks.set(name, check),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
