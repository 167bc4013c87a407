import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { AppError } from '../../../errors.ts';
import { caller } from '../../../http/context.ts';
import { jsonBody as jsonRequest, jsonOk, router, validationError } from '../../../http/openapi.ts';
import { alertBus, DEFAULT_REACH_K } from '../alert-bus.ts';
import { consoleError, fieldErrors, guarded, jsonBody, jsonBodyLimit, parse } from '../route-kit.ts';
import { regionAndRuleIssues, TaskForm, toSpec } from '../task-form.ts';
import { WHAT_IF_SUBJECT, WhatIfReply as WhatIfWireReply } from '@geo/alerting';
import { releaseWhatIf, type WhatIfCaps } from './release.ts';
import { Released } from '../schemas.ts';
import { requires } from '../../../http/route-access.ts';

/**
 * 回放预演 (what-if, #21): a draft task run over a past window of movements from insight's history,
 * nothing sent. Alerting replays it (`alert.whatif`, one instance); the portal releases the raw
 * per-cell counts by the reach rule ({@link releaseWhatIf}). The same permission as the reach
 * estimate; the draft comes in the body, so nothing of another tenant is read.
 */

const DAY = 86_400_000;
/** Insight keeps a week of moves: a window must lie within it. */
const HISTORY_DAYS = 7;
/** A replay of a district-day takes seconds; a city-week may take a minute. */
const REPLAY_TIMEOUT_MS = 120_000;

const When = z.union([z.number().int().positive(), z.string().min(1).max(40)]).openapi({
  description: '时间：毫秒时间戳或 ISO 8601（如 2026-12-05T08:00:00+08:00）',
  example: '2026-12-05T08:00:00+08:00',
});
export const WhatIfBody = z
  .object({
    form: z.record(z.string(), z.unknown()).openapi({
      allOf: [{ $ref: '#/components/schemas/BigdataTaskForm' }],
      description: '任务表单（同提交），发送主题、内容、签名可暂缺；起止日期不影响回放，按回放时段运行',
    }),
    from: When,
    to: When,
    bucketMin: z.number().int().min(5).max(360).default(15).openapi({ description: '时间序列间隔（分钟）' }),
    h3Res: z.number().int().min(5).max(9).default(7).openapi({ description: '分布区域的 H3 分辨率（同热力图）' }),
  })
  .openapi('BigdataWhatIfRequest');

const PerCarrier = z.object({
  cmcc: Released.openapi({ description: '移动' }),
  cucc: Released.openapi({ description: '联通' }),
  ctcc: Released.openapi({ description: '电信' }),
  total: Released.openapi({ description: '三网合计（各网按 k 取整后相加，合计少于 k 不显示）' }),
});
export const WhatIfAnswer = z
  .object({
    k: z.number().int().openapi({ description: '隐私阈值：每个（基站小区，运营商）人数按 k 人取整（少于 k 计 0），合计少于 k 时不显示' }),
    from: z.string().openapi({ description: '回放开始（ISO 8601，UTC）', example: '2026-12-05T00:00:00.000Z' }),
    to: z.string().openapi({ description: '回放结束（ISO 8601，UTC）', example: '2026-12-05T12:00:00.000Z' }),
    bucketMin: z.number().int().openapi({ description: '时间序列间隔（分钟），同请求', example: 15 }),
    h3Res: z.number().int().openapi({ description: '分布区域的 H3 分辨率，同请求', example: 7 }),
    reached: PerCarrier.openapi({
      description:
        '回放时段内将触达的人数（按去重、规则、时段、驻留计算；发送总条数与日上限作用于公布的人数：每天增加不超过日上限，累计不超过总条数，受上限限制时可不是 k 的倍数）',
    }),
    series: z
      .array(
        z.object({
          at: z.string().openapi({ description: '时间点（ISO 8601，UTC），每 bucketMin 分钟一个', example: '2026-12-05T00:15:00.000Z' }),
          reached: PerCarrier.openapi({ description: '回放开始至该时间点累计将触达的人数' }),
        }),
      )
      .openapi({ description: '截至每个时间点累计触达' }),
    areas: z
      .array(
        z.object({
          h3: z.string().openapi({ description: 'H3 格子编号（分辨率 h3Res）', example: '8730e1d8bffffff' }),
          count: Released.openapi({ description: '在该格内被触达的人数' }),
        }),
      )
      .openapi({ description: '触达时所在区域（H3 六边形；符合条件的人所在，未计发送总条数与日上限）' }),
    regionCells: z.number().int().openapi({ description: '区域内有历史记录的基站小区数' }),
    windowHasHistory: z.boolean().openapi({
      description: '该时段内（全网）是否有任何历史移动记录；false 表示该时段早于历史记录起点或未被记录，结果为空并非因为区域内人少',
    }),
    tookMs: z.number().openapi({ description: '读取历史与回放用时（毫秒）' }),
  })
  .openapi('BigdataWhatIf');

function toMs(v: number | string, path: string): number {
  const ms = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) throw new AppError('VALIDATION', '时间格式无效', [{ path, message: '时间格式无效' }]);
  return ms;
}

/** The replay's budget per carrier: more than any region holds, so no cap binds inside it. */
const UNCAPPED = 1_000_000_000;

/** What the replay does not read (text, signature) may be missing from a draft. */
const PLACEHOLDER = 'what-if';

export const whatIfRoutes = router().openapi(
  createRoute({
    method: 'post',
    path: '/api/bigdata/what-if',
    tags: ['大数据短信'],
    summary: '回放预演：草稿任务在过去某时段的移动记录上运行（不发送），将触达多少人、何时、各运营商与区域',
    middleware: [requires('bigdata.send'), jsonBodyLimit],
    request: jsonRequest(WhatIfBody),
    responses: jsonOk(WhatIfAnswer),
  }),
  guarded(async (c) => {
    const { p, enterpriseId } = caller(c);
    const b = parse(WhatIfBody, await jsonBody(c));
    const from = toMs(b.from, 'from'),
      to = toMs(b.to, 'to');
    const now = Date.now();
    const bad = (path: string, message: string) => new AppError('VALIDATION', message, [{ path, message }]);
    if (to <= from) throw bad('to', '结束时间须晚于开始时间');
    if (to - from > HISTORY_DAYS * DAY) throw bad('to', `回放时段最长 ${HISTORY_DAYS} 天`);
    if (to > now + 60_000) throw bad('to', '只能回放已经过去的时段');
    if (from < now - (HISTORY_DAYS + 1) * DAY) throw bad('from', `移动记录只保留 ${HISTORY_DAYS} 天`);
    const raw = b.form;
    const filled = { ...raw };
    for (const key of ['subject', 'content', 'signature'] as const)
      if (typeof raw[key] !== 'string' || !(raw[key] as string).trim()) filled[key] = PLACEHOLDER;
    const form = parse(TaskForm, filled);
    const issues = regionAndRuleIssues(form.region, form.rules);
    if (issues.length) throw fieldErrors(issues);
    // The replay runs without the draft's totals and daily caps; they are applied to the released
    // figures (releaseWhatIf): a cap inside the replay made a cell's count depend on a number the
    // requester sets one by one (#17). Carriers without a quota stay without. The balance is
    // checked when the draft is submitted.
    const caps: WhatIfCaps = {};
    const quota: typeof form.quota = {};
    for (const c of ['cmcc', 'cucc', 'ctcc'] as const) {
      const q = form.quota[c];
      if (!q) continue;
      caps[c] = { total: q.total, dailyCap: q.dailyCap };
      quota[c] = { total: UNCAPPED, dailyCap: UNCAPPED };
    }
    // The draft as written is checked as submission checks it (a daily cap above its total is refused).
    const totals = Object.values(form.quota).reduce((s, q) => s + (q?.total ?? 0), 0);
    const asWritten = toSpec(form, { accountId: p.accountId, enterpriseId, balance: totals });
    if (!asWritten.success) throw validationError(asWritten.error as never);
    const spec = toSpec({ ...form, quota }, { accountId: p.accountId, enterpriseId, balance: UNCAPPED * 3 });
    if (!spec.success) throw validationError(spec.error as never);

    const deps = c.get('deps');
    const bus = await alertBus(deps);
    const req = { v: 1, spec: spec.data, from, to, bucketMs: b.bucketMin * 60_000 };
    const parts: WhatIfWireReply[] = [];
    try {
      const replies = await bus.nc.requestMany(WHAT_IF_SUBJECT, JSON.stringify(req), {
        strategy: 'stall',
        stall: 2_000,
        maxWait: REPLAY_TIMEOUT_MS,
      });
      for await (const m of replies) {
        const r = WhatIfWireReply.safeParse(m.json());
        if (!r.success) continue;
        parts.push(r.data);
        if (r.data.error || parts.length >= r.data.parts) break;
      }
    } catch (err) {
      deps.log.warn({ err: (err as Error).message }, 'what-if replay: no answer');
    }
    const failed = parts.find((x) => x.error);
    if (failed) {
      deps.log.warn({ err: failed.error }, 'what-if replay failed');
      return consoleError(c, 'BUS_UNAVAILABLE', '回放失败：预警服务无法读取历史移动记录，请稍后再试');
    }
    if (parts.length === 0) return consoleError(c, 'BUS_UNAVAILABLE', '没有预警服务实例应答回放请求，请稍后再试');
    const k = deps.cfg.privacyK ?? DEFAULT_REACH_K;
    const released = releaseWhatIf(parts, from, k, b.h3Res, caps);
    const iso = (ms: number) => new Date(ms).toISOString();
    return c.json({
      ...released,
      from: iso(from),
      to: iso(to),
      bucketMin: b.bucketMin,
      h3Res: b.h3Res,
      series: released.series.map((s) => ({ at: iso(s.at), reached: s.reached })),
      regionCells: parts[0]!.stats.regionCells,
      // An instance that does not say (an older one) is taken as having history, as before.
      windowHasHistory: parts.every((x) => x.stats.windowHasHistory !== false),
      tookMs: Math.round(parts[0]!.stats.readMs + parts[0]!.stats.replayMs),
    });
  }),
);
