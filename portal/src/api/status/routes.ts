import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../http/context.ts';
import { jsonOk, router, z } from '../../http/openapi.ts';
import { probeClickHouse, probeNats, probePostgres, probeService } from './probes.ts';

const ProbeSchema = z
  .object({
    name: z.string(),
    kind: z.enum(['server', 'service']),
    ok: z.boolean(),
    url: z.string().optional(),
    version: z.string().optional(),
    latencyMs: z.number().optional(),
    detail: z.string().optional(),
    uptimeS: z.number().optional(),
    checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })).optional(),
  })
  .openapi('Probe');

export const StatusSchema = z
  .object({
    ok: z.boolean(),
    at: z.string(),
    portal: z.object({ uptimeS: z.number() }),
    servers: z.array(ProbeSchema),
    services: z.array(ProbeSchema),
  })
  .openapi('SystemStatus');

const started = Date.now();

/** Every server and service, up or down; public so that an operator can look before logging in. */
export async function systemStatus(deps: Deps): Promise<z.infer<typeof StatusSchema>> {
  const { cfg, db } = deps;
  const [servers, services] = await Promise.all([
    Promise.all([probeNats(cfg.serverUrls?.nats), probeClickHouse(cfg.serverUrls?.clickhouse ?? cfg.clickhouseUrl), probePostgres(db)]),
    Promise.all(Object.entries(cfg.serviceUrls ?? {}).map(([name, url]) => probeService(name, url))),
  ]);
  return {
    ok: [...servers, ...services].every((p) => p.ok),
    at: new Date().toISOString(),
    portal: { uptimeS: Math.round((Date.now() - started) / 1000) },
    servers,
    services,
  };
}

export const statusRoutes = router().openapi(
  createRoute({
    method: 'get',
    path: '/api/status',
    tags: ['系统状态'],
    summary: '各服务器与服务的运行状态（无需登录；版本、地址与故障详情仅平台运营可见）',
    responses: jsonOk(StatusSchema),
  }),
  async (c) => {
    const s = await systemStatus(c.get('deps'));
    // Versions and addresses of internal servers help an attacker pick an exploit and a target:
    // only platform operators see them (and the failure details, which name addresses too).
    if (c.get('principal')?.role !== 'operator') {
      for (const p of [...s.servers, ...s.services]) {
        delete p.url;
        delete p.version;
        delete p.detail;
        if (p.checks) for (const k of Object.keys(p.checks)) delete p.checks[k]!.detail;
      }
    }
    return c.json(s, 200);
  },
);
