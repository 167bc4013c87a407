import { AppError } from '../../errors.ts';
import { Region } from '@geo/alerting';
import { Heatmap, HeatmapQuery, RegionMetrics } from '@geo/insight';
import { createRoute } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { need, type Ctx } from '../../http/context.ts';
import { jsonBody as jsonRequest, jsonOk, router } from '../../http/openapi.ts';
import { consoleError, handle, jsonBody, jsonBodyLimit, parse, STATE_LABELS } from '../bigdata/route-kit.ts';
import { sse } from '../bigdata/schemas.ts';
import { ALERT_TYPE_INFO } from '../bigdata/alert-types.ts';
import { isExercise } from '../bigdata/task-store.ts';
import { InsightClient, InsightError } from './insight-client.ts';
import { requires } from '../../http/route-access.ts';

function client(c: Ctx): InsightClient | undefined {
  const url = c.get('deps').cfg.insightUrl;
  return url ? new InsightClient(url) : undefined;
}

function insightFailure(c: Ctx, err: unknown) {
  if (!(err instanceof InsightError)) throw err;
  // Insight's 400s name the bad field of the region: pass them on as the portal's VALIDATION.
  if (err.status === 400)
    throw new AppError(
      'VALIDATION',
      `区域有误：${err.message}`,
      (err.issues ?? []).map((m) => ({ path: 'region', message: m })),
    );
  return consoleError(c, 'INSIGHT_UNAVAILABLE', `洞察服务暂不可用：${err.message}`);
}

const MetricsBody = z.object({ region: Region, top: z.number().int().min(1).max(50).default(10) });
/** The big screen's region travels in the query (EventSource cannot post). */
const LiveQuery = z.object({
  region: z
    .string()
    .max(500_000)
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'region 须为 JSON' });
        return z.NEVER;
      }
    })
    .pipe(Region),
  intervalS: z.coerce.number().int().min(2).max(60).default(5),
});

async function activeTasks(c: Ctx, enterpriseId: string) {
  const { rows } = await c
    .get('deps')
    .db.query<{ id: string; subject: string; alert_type: string; state: string; progress: unknown; form: unknown }>(
      `SELECT id, subject, alert_type, state, progress, form FROM bigdata_tasks WHERE enterprise_id = $1 AND state IN ('submitted', 'scheduled', 'running') ORDER BY created_at DESC LIMIT 20`,
      [enterpriseId],
    );
  return rows.map((r) => ({
    id: r.id,
    subject: r.subject,
    alertTypeLabel: ALERT_TYPE_INFO[r.alert_type as keyof typeof ALERT_TYPE_INFO]?.label ?? r.alert_type,
    state: r.state,
    stateLabel: STATE_LABELS[r.state] ?? r.state,
    progress: typeof r.progress === 'string' ? (JSON.parse(r.progress) as unknown) : r.progress,
    // An exercise (演练) as the task list says it: read from the task's form.
    exercise: isExercise(typeof r.form === 'string' ? (JSON.parse(r.form) as unknown) : r.form),
  }));
}

/**
 * 大数据洞察: region metrics, the live heat map and the big screen's live feed, from insight's query
 * API. Suppressed counts (fewer than k people) pass through as `{ value: null, suppressed: true }`.
 */
const tags = ['大数据洞察'];
// Named copies: insight's schemas may be built before zod gains `.openapi()` (import order).
const MetricsDoc = z.object(RegionMetrics.shape).openapi('InsightRegionMetrics');
const HeatmapDoc = z.object(Heatmap.shape).openapi('InsightHeatmap');
const ActiveTasks = z
  .object({
    items: z.array(
      z.object({
        id: z.string(),
        subject: z.string(),
        alertTypeLabel: z.string(),
        state: z.string(),
        stateLabel: z.string(),
        progress: z.unknown(),
        exercise: z.boolean().openapi({ description: '演练任务（大屏标“演练”）' }),
      }),
    ),
  })
  .openapi('InsightActiveTasks');

export const insightRoutes = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/insight/metrics',
      tags,
      summary:
        '区域人群指标：实时人口、本周最大、流入流出、来源地、驻留、性别年龄（各基站小区每类人数按 k 人取整，少于 k 人计 0；合计少于 k 时不显示）',
      middleware: [requires('insight'), jsonBodyLimit],
      request: jsonRequest(MetricsBody.openapi('InsightMetricsRequest')),
      responses: jsonOk(MetricsDoc),
    }),
    handle(async (c) => {
      need(c, 'insight');
      const b = parse(MetricsBody, await jsonBody(c));
      const ic = client(c);
      if (!ic) return consoleError(c, 'INSIGHT_UNAVAILABLE', '未配置洞察服务（INSIGHT_URL）');
      try {
        return c.json(await ic.metrics(b.region, b.top));
      } catch (err) {
        return insightFailure(c, err);
      }
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/insight/heatmap',
      middleware: [requires('insight')],
      tags,
      summary: '热力图：视野内每个 H3 格的人数',
      request: {
        query: z.object({
          bbox: z.string().openapi({ example: '120.0,30.1,120.4,30.4', description: 'west,south,east,north' }),
          zoom: z.string().openapi({ example: '11' }),
        }),
      },
      responses: jsonOk(HeatmapDoc),
    }),
    handle(async (c) => {
      need(c, 'insight');
      const q = parse(HeatmapQuery, c.req.query());
      const ic = client(c);
      if (!ic) return consoleError(c, 'INSIGHT_UNAVAILABLE', '未配置洞察服务（INSIGHT_URL）');
      try {
        return c.json(await ic.heatmap(q.bbox, q.zoom));
      } catch (err) {
        return insightFailure(c, err);
      }
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/insight/active-tasks',
      middleware: [requires('insight')],
      tags,
      summary: '执行中的预警任务（大屏用）',
      responses: jsonOk(ActiveTasks),
    }),
    handle(async (c) => {
      const { enterpriseId } = need(c, 'insight');
      return c.json({ items: await activeTasks(c, enterpriseId) });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/insight/live',
      middleware: [requires('insight')],
      tags,
      summary: '大屏实时数据（Server-Sent Events：每 intervalS 秒一个 metrics 事件 { metrics, tasks }，失败时 failure 事件）',
      request: {
        query: z.object({
          region: z.string().openapi({ description: '区域 JSON：{"parts":[…]}' }),
          intervalS: z.string().optional().openapi({ description: '2–60 秒，默认 5' }),
        }),
      },
      responses: sse('事件流'),
    }),
    handle(async (c) => {
      const { enterpriseId } = need(c, 'insight');
      const q = parse(LiveQuery, c.req.query());
      const ic = client(c);
      if (!ic) return consoleError(c, 'INSIGHT_UNAVAILABLE', '未配置洞察服务（INSIGHT_URL）');
      return streamSSE(c, async (stream) => {
        let closed = false;
        stream.onAbort(() => {
          closed = true;
        });
        while (!closed) {
          try {
            const [metrics, tasks] = await Promise.all([ic.metrics(q.region), activeTasks(c, enterpriseId)]);
            await stream.writeSSE({ event: 'metrics', data: JSON.stringify({ metrics, tasks }) });
          } catch (err) {
            await stream.writeSSE({
              event: 'failure',
              data: JSON.stringify({ message: err instanceof Error ? err.message : String(err) }),
            });
          }
          await stream.sleep(q.intervalS * 1000);
        }
      });
    }),
  );
