import { AppError } from '../../errors.ts';
import { Region } from '@geo/alerting';
import { Heatmap, HeatmapQuery, RegionMetrics } from '@geo/insight';
import { createRoute } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { type Ctx, caller } from '../../http/context.ts';
import { jsonBody as jsonRequest, jsonOk, router } from '../../http/openapi.ts';
import { consoleError, fieldErrors, handle, jsonBody, jsonBodyLimit, parse, STATE_LABELS } from '../bigdata/route-kit.ts';
import { regionAndRuleIssues } from '../bigdata/task-form.ts';
import { sse } from '../bigdata/schemas.ts';
import { ALERT_TYPE_INFO } from '../bigdata/alert-types.ts';
import { isExercise } from '../bigdata/task-store.ts';
import { releasedStoredProgress } from '../bigdata/progress.ts';
import { HysteresisForm } from '../bigdata/hysteresis-form.ts';
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

/**
 * The region checked as task submission and the reach estimate check it, with the same Chinese
 * reasons (a ring of fewer than 4 positions, a bow-tie, an area without a boundary), before insight
 * is asked: insight refuses such a region too, but in English, and not at all when it is not set.
 */
function checkRegion(region: z.infer<typeof Region>): void {
  const issues = regionAndRuleIssues(region, []);
  if (issues.length) throw fieldErrors(issues);
}

const MetricsBody = z.object({ region: Region, top: z.number().int().min(1).max(50).default(10), hysteresis: HysteresisForm.optional() });
const MetricsBodyDoc = z.object({
  region: z
    .object({
      parts: Region.shape.parts.meta({
        description: '区域的组成部分：行政区（admin）、多边形、矩形、圆、折线缓冲区',
        example: [{ kind: 'circle', center: [120.15, 30.25], radiusM: 800 }],
      }),
      edgeBufferM: Region.shape.edgeBufferM.meta({ description: '边缘缓冲（米），默认 0', example: 0 }),
    })
    .meta({ description: '统计区域' }),
  top: MetricsBody.shape.top.meta({ description: '列出的归属省份 / 城市个数，1–50，默认 10', example: 10 }),
  hysteresis: MetricsBody.shape.hysteresis.meta({
    description:
      '边缘防抖（同预警任务）：流入流出、24 小时流入流出序列和驻留时间按此计（在边缘来回切换基站不重复计为进入）；省略或全为 0 则每次跨越边缘都计；7 天序列不受影响',
  }),
});
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
  /** The insight page's 边缘防抖, carried to the big screen (#21). */
  hysteresis: z
    .string()
    .max(200)
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'hysteresis 须为 JSON' });
        return z.NEVER;
      }
    })
    .pipe(HysteresisForm)
    .optional(),
});

async function activeTasks(c: Ctx, enterpriseId: string) {
  const { rows } = await c
    .get('deps')
    .db.query<{ id: string; subject: string; alert_type: string; state: string; progress: unknown; form: unknown }>(
      `SELECT id, subject, alert_type, state, progress, form FROM bigdata_tasks WHERE enterprise_id = $1 AND state IN ('submitted', 'scheduled', 'running') ORDER BY (state = 'running') DESC, created_at DESC LIMIT 20`,
      [enterpriseId],
    );
  return rows.map((r) => ({
    id: r.id,
    subject: r.subject,
    alertTypeLabel: ALERT_TYPE_INFO[r.alert_type as keyof typeof ALERT_TYPE_INFO]?.label ?? r.alert_type,
    state: r.state,
    stateLabel: STATE_LABELS[r.state] ?? r.state,
    // Progress stored before it went on the grid of k is put on it here (#17).
    progress: releasedStoredProgress(
      typeof r.progress === 'string' ? (JSON.parse(r.progress) as unknown) : r.progress,
      c.get('deps').cfg.privacyK,
    ),
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
// Each field gets its Chinese description and example here, for the document only (#23): the
// schemas themselves are insight's and alerting's.
type Doc = string | [string, unknown];
const doc = (schema: z.ZodType, d: Doc) => schema.meta(typeof d === 'string' ? { description: d } : { description: d[0], example: d[1] });
function described<T extends z.ZodRawShape>(o: z.ZodObject<T>, d: { [K in keyof T]: Doc | z.ZodType }): z.ZodObject<T> {
  const shape: Record<string, z.ZodType> = {};
  for (const k of Object.keys(o.shape)) {
    const v = d[k as keyof T];
    shape[k] = v instanceof z.ZodType ? v : doc(o.shape[k] as z.ZodType, v);
  }
  return z.object(shape) as unknown as z.ZodObject<T>;
}
const M = RegionMetrics.shape;
const CountDoc = described(M.population.shape.total, {
  value: ['人数；少于 k 人时为 null（隐私保护）', 1280],
  suppressed: ['是否因少于 k 人而隐藏', false],
});
const count = (d: string) => CountDoc.meta({ description: d });
const groupOf = (d: string) =>
  z
    .array(described(M.origin.shape.provinces.element, { code: ['行政区划代码（GB/T 2260）', '330000'], count: count('人数') }))
    .meta({ description: d });
const seriesOf = (d: string) =>
  z
    .array(
      described(M.series.shape.day.element, {
        t: ['时间点（ISO 8601）', '2026-03-01T08:05:00.000Z'],
        population: count('该时刻区域内人数'),
        inflow: count('该时段流入人数'),
        outflow: count('该时段流出人数'),
      }),
    )
    .meta({ description: d });
const MetricsDoc = described(RegionMetrics, {
  at: ['统计时刻（ISO 8601）', '2026-03-01T08:05:00.000Z'],
  k: ['隐私阈值 k：少于 k 人的数字不显示', 10],
  stalenessMinutes: ['数据滞后分钟数', 2],
  cells: ['区域内已知的基站小区数', 86],
  population: described(M.population, {
    total: count('区域内当前人数'),
    byCarrier: described(M.population.shape.byCarrier, {
      cmcc: count('中国移动用户数'),
      cucc: count('中国联通用户数'),
      ctcc: count('中国电信用户数'),
    }).meta({ description: '按运营商的人数' }),
  }).meta({ description: '当前人数' }),
  weeklyMax: described(M.weeklyMax, {
    count: count('近 7 天（5 分钟粒度）最高人数'),
    at: ['最高人数出现的时刻（ISO 8601），无数据为 null', '2026-02-27T19:00:00.000Z'],
  }).meta({ description: '近 7 天最高人数' }),
  flow: described(M.flow, {
    lastHour: described(M.flow.shape.lastHour, { inflow: count('近 1 小时流入人数'), outflow: count('近 1 小时流出人数') }).meta({
      description: '近 1 小时流动',
    }),
    sinceMidnight: described(M.flow.shape.sinceMidnight, {
      since: ['起算时刻（当日零点，ISO 8601）', '2026-02-28T16:00:00.000Z'],
      inflow: count('零点以来流入人数'),
      outflow: count('零点以来流出人数'),
    }).meta({ description: '当日零点以来的流动' }),
  }).meta({ description: '人员流动' }),
  origin: described(M.origin, {
    provinces: groupOf('人数最多的归属省份'),
    otherProvinces: count('其他省份人数合计'),
    cities: groupOf('人数最多的归属城市'),
    otherCities: count('其他城市人数合计'),
    unknownHome: count('归属地未知的人数'),
    local: count('本地用户数'),
    roaming: count('漫游（外地）用户数'),
    unknownLocality: count('本地 / 外地未知的人数'),
  }).meta({ description: '来源地' }),
  dwell: z
    .array(described(M.dwell.element, { bucket: ['停留时长区间', '1-2h'], count: count('人数') }))
    .meta({ description: '停留时长分布' }),
  portrait: described(M.portrait, {
    gender: z
      .array(described(M.portrait.shape.gender.element, { gender: ['性别：m 男，f 女，unknown 未知', 'f'], count: count('人数') }))
      .meta({ description: '性别分布' }),
    age: z
      .array(described(M.portrait.shape.age.element, { band: ['年龄段', '25-34'], count: count('人数') }))
      .meta({ description: '年龄段分布' }),
    genderByAge: z
      .array(
        described(M.portrait.shape.genderByAge.element, {
          gender: ['性别：m 男，f 女，unknown 未知', 'm'],
          band: ['年龄段', '35-44'],
          count: count('人数'),
        }),
      )
      .meta({ description: '性别 × 年龄段分布' }),
  }).meta({ description: '人群画像' }),
  series: described(M.series, {
    day: seriesOf('近 24 小时，每 5 分钟一点'),
    week: seriesOf('近 7 天，每小时一点（该小时内 5 分钟粒度的最高人数）'),
  }).meta({ description: '趋势' }),
}).openapi('InsightRegionMetrics');
const HeatmapDoc = described(Heatmap, {
  at: ['统计时刻（ISO 8601）', '2026-03-01T08:05:00.000Z'],
  k: ['隐私阈值 k：少于 k 人的格子不显示人数', 10],
  resolution: ['按缩放级别选用的 H3 分辨率', 8],
  cells: z
    .array(described(Heatmap.shape.cells.element, { h3: ['H3 格子编号', '8830e1d8b7fffff'], count: count('格子内人数') }))
    .meta({ description: '热力格子' }),
}).openapi('InsightHeatmap');
const ActiveTasks = z
  .object({
    items: z
      .array(
        z.object({
          id: z.string().meta({ description: '任务编号', example: '2c4e6a8b-0d1f-4a3c-9e5b-7d9f1b3d5f7a' }),
          subject: z.string().meta({ description: '任务主题', example: '西湖景区大客流预警' }),
          alertTypeLabel: z.string().meta({ description: '预警类型', example: '大客流预警' }),
          state: z.string().meta({ description: '任务状态键', example: 'running' }),
          stateLabel: z.string().meta({ description: '任务状态', example: '发送中' }),
          progress: z
            .unknown()
            .meta({ description: '发送进度（已发送、成功、失败等计数）', example: { sent: 1200, delivered: 1150, failed: 12 } }),
          exercise: z.boolean().meta({ description: '演练任务（大屏标“演练”）', example: false }),
        }),
      )
      .meta({ description: '进行中的任务（最多 20 个）' }),
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
      request: jsonRequest(MetricsBodyDoc.openapi('InsightMetricsRequest')),
      responses: jsonOk(MetricsDoc),
    }),
    handle(async (c) => {
      const b = parse(MetricsBody, await jsonBody(c));
      checkRegion(b.region);
      const ic = client(c);
      if (!ic) return consoleError(c, 'INSIGHT_UNAVAILABLE', '未配置洞察服务（INSIGHT_URL）');
      try {
        return c.json(await ic.metrics(b.region, b.top, b.hysteresis));
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
      const { enterpriseId } = caller(c);
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
          hysteresis: z.string().optional().openapi({
            description: '边缘防抖 JSON（同 /api/insight/metrics 的 hysteresis）：流入流出、24 小时序列和驻留时间按此计',
            example: '{"bufferMeters":500,"minOutsideSeconds":600}',
          }),
        }),
      },
      responses: sse('事件流'),
    }),
    handle(async (c) => {
      const { enterpriseId } = caller(c);
      const q = parse(LiveQuery, c.req.query());
      checkRegion(q.region);
      const ic = client(c);
      if (!ic) return consoleError(c, 'INSIGHT_UNAVAILABLE', '未配置洞察服务（INSIGHT_URL）');
      return streamSSE(c, async (stream) => {
        let closed = false;
        stream.onAbort(() => {
          closed = true;
        });
        while (!closed) {
          try {
            const [metrics, tasks] = await Promise.all([ic.metrics(q.region, 10, q.hysteresis), activeTasks(c, enterpriseId)]);
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
