import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../http/context.ts';
import { jsonOk, router, z } from '../../http/openapi.ts';
import { probeClickHouse, probeNats, probePostgres, probeService } from './probes.ts';

const ProbeSchema = z
  .object({
    name: z.string().openapi({ description: '名称：服务器为 nats、clickhouse、postgresql，服务为部署配置中的服务名', example: 'nats' }),
    kind: z
      .enum(['server', 'service'])
      .openapi({ description: 'server 基础服务器；service 平台自己的服务（ingest、alerting 等）', example: 'server' }),
    ok: z.boolean().openapi({ description: '是否正常（能连上且自身检查全部通过）', example: true }),
    url: z.string().optional().openapi({ description: '探测的地址（口令已隐去）；仅平台运营可见', example: 'http://127.0.0.1:8222' }),
    version: z.string().optional().openapi({ description: '服务器或服务报告的版本；仅平台运营可见', example: '2.10.18' }),
    latencyMs: z.number().optional().openapi({ description: '探测往返用时（毫秒）', example: 3 }),
    detail: z.string().optional().openapi({ description: '补充说明或故障原因；仅平台运营可见', example: 'PGlite (embedded)' }),
    uptimeS: z.number().optional().openapi({ description: '已运行时间（秒），对方报告时给出', example: 86400 }),
    checks: z
      .record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() }))
      .optional()
      .openapi({
        description: '服务自己的分项检查（如 nats、clickhouse）：各项是否正常与说明（说明仅平台运营可见）',
        example: { nats: { ok: true } },
      }),
  })
  .openapi('Probe');

export const StatusSchema = z
  .object({
    ok: z.boolean().openapi({ description: '全部服务器与服务都正常时为 true', example: true }),
    at: z.string().openapi({ description: '检查时间（ISO 8601，UTC）', example: '2026-12-07T03:00:00.000Z' }),
    portal: z
      .object({ uptimeS: z.number().openapi({ description: '本门户实例已运行时间（秒）', example: 3600 }) })
      .openapi({ description: '作答的门户实例' }),
    servers: z.array(ProbeSchema).openapi({ description: '基础服务器：NATS、ClickHouse、PostgreSQL' }),
    services: z.array(ProbeSchema).openapi({ description: '平台的服务（按部署配置的服务地址逐个探测其 /healthz）' }),
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
