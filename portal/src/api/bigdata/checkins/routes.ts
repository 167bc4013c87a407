import { createRoute } from '@hono/zod-openapi';
import { atom, kCount } from '@geo/insight';
import ExcelJS from 'exceljs';
import { latLngToCell } from 'h3-js';
import { AppError } from '../../../errors.ts';
import { caller, type Ctx } from '../../../http/context.ts';
import { jsonOk, router, z } from '../../../http/openapi.ts';
import { opLog } from '../../../http/op-log.ts';
import { requires } from '../../../http/route-access.ts';
import { safeCell } from '../../../industry/export-cells.ts';
import { DEFAULT_REACH_K } from '../alert-bus.ts';
import { CARRIER_LABELS } from '../alert-types.ts';
import { chinaTime, maskMsisdn } from '../recipients.ts';
import { handle, parse } from '../route-kit.ts';
import { fileOk } from '../schemas.ts';
import { getTask, type RowState } from '../task-store.ts';
import { areaAt, hexagonArea } from './area-names.ts';
import { checkInRuntime, registerCheckIn } from './runtime.ts';
import { closeCheckIn, getCheckIn, peopleAnswers, replyCount, type CheckIn, type PersonAnswer } from './store.ts';

/**
 * 回复报平安 (#21): a check-in task's answers for the task detail, polled while it is open. Counts
 * per answer (people, by their latest recognised answer) in total and per area (H3 hexagons of the
 * cell each person was sent in), per-area counts released by the reach rule (each (hexagon, answer)
 * count quantised to the grid of k, under k withheld: invariant 7); the list of those who asked for
 * help (numbers masked as everywhere in the console) to accounts holding 大数据任务, as Excel too.
 */

const tags = ['大数据短信'];
const IdParam = z.object({ id: z.string().min(1).max(64).openapi({ description: '任务编号', example: 'bd-5f0c…' }) });
const Released = z
  .object({ value: z.number().int().nullable(), suppressed: z.boolean() })
  .openapi({ description: '人数：少于 k 人时不显示（value 为 null，suppressed 为 true）' });

const Option = z.object({
  code: z.string().openapi({ description: '回复代码', example: '2' }),
  label: z.string().openapi({ description: '含义', example: '需要帮助' }),
  help: z.boolean().openapi({ description: '是否求助选项', example: true }),
  people: z.number().int().openapi({ description: '以此为最新回复的人数', example: 37 }),
});
const Summary = z
  .object({
    taskId: z.string().openapi({ description: '任务编号', example: 'bd-5f0c…' }),
    extension: z.string().openapi({ description: '本任务的回复扩展码（短信从接入号 + 扩展码发出）', example: '90001' }),
    open: z.boolean().openapi({ description: '是否仍在接收回复' }),
    started: z.boolean().openapi({
      description: '任务是否已开始发送（待审批、已提交、已排期、已暂停、已驳回的任务尚未发出短信，不会收到回复）',
      example: true,
    }),
    closesAt: z.string().openapi({ description: '停止接收回复的时间（北京时间）', example: '2026-12-11 00:00:00' }),
    k: z.number().int().openapi({ description: '隐私阈值：各区域每种回复的人数按 k 取整，少于 k 不显示' }),
    replies: z.number().int().openapi({ description: '收到的回复条数（同一人可回复多次）' }),
    people: z.number().int().openapi({ description: '回复的人数' }),
    options: z.array(Option).openapi({ description: '任务提供的回复选项及各自的人数（每人按最新一次回复计）' }),
    unrecognised: z.number().int().openapi({ description: '回复内容无法识别的人数（原文保留）' }),
    areaPending: z.number().int().openapi({ description: '所在区域尚未查明的人数' }),
    areaUnknown: z.number().int().openapi({ description: '所在区域未知的人数（号码不在本任务的发送记录中）' }),
    h3Res: z.number().int().openapi({ description: '区域的 H3 分辨率，同请求', example: 7 }),
    areas: z
      .array(
        z.object({
          h3: z.string().openapi({ description: 'H3 格子编号', example: '87309a6d8ffffff' }),
          areaName: z
            .string()
            .nullable()
            .openapi({ description: '六边形中心所在的区县（无区县边界时为所在城市），不在已知行政区内为 null', example: '拱墅区' }),
          answers: z.record(z.string(), Released).openapi({
            description: '以回复代码为键的人数（unrecognised 为无法识别），少于 k 人的不显示',
            example: { '1': { value: 20, suppressed: false } },
          }),
        }),
      )
      .openapi({ description: '各区域（发送时所在基站的 H3 六边形）每种回复的人数；answers 以回复代码为键，unrecognised 为无法识别' }),
    updatedAt: z.string().openapi({ description: '统计时间（北京时间）' }),
  })
  .openapi('BigdataCheckInSummary');

const HelpQuery = z.object({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(500).default(50),
});
const HelpPerson = z.object({
  msisdn: z.string().openapi({ description: '号码（中间四位隐藏）', example: '139****0012' }),
  carrierLabel: z.string().openapi({ description: '运营商', example: '中国移动' }),
  answer: z.string().openapi({ description: '识别出的回复代码（最新一次）', example: '2' }),
  label: z.string().openapi({ description: '该回复代码的含义', example: '需要帮助' }),
  text: z.string().openapi({ description: '回复原文', example: '2 被困在二楼' }),
  at: z.string().openapi({ description: '回复时间（北京时间）', example: '2026-12-09 08:31:05' }),
  h3: z.string().nullable().openapi({ description: '发送时所在区域（H3 六边形），未知为 null' }),
  areaName: z.string().nullable().openapi({ description: '发送时所在的区县（无区县边界时为所在城市），未知为 null', example: '拱墅区' }),
  lat: z.number().nullable().openapi({ description: '发送时所在基站的纬度' }),
  lng: z.number().nullable().openapi({ description: '发送时所在基站的经度' }),
});
const HelpPage = z
  .object({
    total: z.number().int().openapi({ description: '选择求助选项的人数', example: 37 }),
    page: z.number().int().openapi({ description: '页码（从 1 开始）', example: 1 }),
    pageSize: z.number().int().openapi({ description: '每页人数（1–500，默认 50）', example: 50 }),
    items: z.array(HelpPerson).openapi({ description: '本页求助的人，最近回复的在前' }),
  })
  .openapi('BigdataCheckInHelpList');
const SummaryQuery = z.object({
  h3Res: z.coerce.number().int().min(5).max(9).default(7).openapi({ description: '区域的 H3 分辨率（同热力图）' }),
});

/** The task's check-in and the task's state, or 404 (a draft's check-in is not shown). */
async function checkInOr404(c: Ctx, enterpriseId: string): Promise<{ ci: CheckIn; state: RowState }> {
  const id = c.req.param('id') ?? '';
  const task = await getTask(c.get('deps').db, enterpriseId, id);
  const ci = task && task.state !== 'draft' ? await getCheckIn(c.get('deps').db, enterpriseId, id) : undefined;
  if (!task || !ci) throw new AppError('NOT_FOUND', '该任务没有回复报平安');
  return { ci, state: task.state };
}

/** A task in these states has sent nothing yet (or never will): no answer can come. */
const NOT_STARTED: ReadonlySet<RowState> = new Set<RowState>(['draft', 'pending_approval', 'submitted', 'scheduled', 'paused', 'rejected']);

const helpCodes = (ci: CheckIn) => new Set(ci.options.filter((o) => o.help).map((o) => o.code));
const h3Of = (p: PersonAnswer, res: number) => (p.lat !== null && p.lng !== null ? latLngToCell(p.lat, p.lng, res) : null);

/** Counts per answer and per (hexagon, answer), released by the reach rule. */
export function summarise(ci: CheckIn, people: PersonAnswer[], k: number, res: number, now: number, state: RowState = 'running') {
  const per = new Map<string, number>();
  let unrecognised = 0,
    pending = 0,
    unknown = 0;
  const hex = new Map<string, Map<string, number>>();
  for (const p of people) {
    const key = p.answer ?? 'unrecognised';
    if (p.answer === null) unrecognised++;
    else per.set(p.answer, (per.get(p.answer) ?? 0) + 1);
    if (p.area === 'pending') pending++;
    if (p.area === 'unknown') unknown++;
    const h = h3Of(p, res);
    if (!h) continue;
    let m = hex.get(h);
    if (!m) hex.set(h, (m = new Map()));
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  const keys = [...ci.options.map((o) => o.code), 'unrecognised'];
  const areas = [...hex]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([h3, m]) => ({
      h3,
      areaName: hexagonArea(h3)?.name ?? null,
      answers: Object.fromEntries(keys.map((key) => [key, kCount(atom(m.get(key) ?? 0, k), k)])),
    }))
    // A hexagon with nothing released says only that someone is there: left out, as the reached layer does.
    .filter((a) => Object.values(a.answers).some((r) => !r.suppressed));
  return {
    taskId: ci.taskId,
    extension: ci.extension,
    open: now < ci.closesAt,
    started: !NOT_STARTED.has(state),
    closesAt: chinaTime(ci.closesAt),
    k,
    people: people.length,
    options: ci.options.map((o) => ({ code: o.code, label: o.label, help: o.help === true, people: per.get(o.code) ?? 0 })),
    unrecognised,
    areaPending: pending,
    areaUnknown: unknown,
    h3Res: res,
    areas,
    updatedAt: chinaTime(now),
  };
}

function helpList(ci: CheckIn, people: PersonAnswer[]) {
  const help = helpCodes(ci);
  const label = new Map(ci.options.map((o) => [o.code, o.label]));
  return people
    .filter((p) => p.answer !== null && help.has(p.answer))
    .sort((a, b) => b.at - a.at || (a.msisdn < b.msisdn ? -1 : 1))
    .map((p) => ({
      msisdn: maskMsisdn(p.msisdn),
      carrierLabel: CARRIER_LABELS[p.carrier as keyof typeof CARRIER_LABELS] ?? p.carrier,
      answer: p.answer!,
      label: label.get(p.answer!) ?? p.answer!,
      text: p.text,
      at: chinaTime(p.at),
      h3: h3Of(p, 9),
      areaName: p.lat !== null && p.lng !== null ? (areaAt(p.lng, p.lat)?.name ?? null) : null,
      lat: p.lat,
      lng: p.lng,
    }));
}

export const checkInRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks/{id}/checkin',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '回复报平安：各回复人数（合计与各区域 H3），实时轮询',
      request: { params: IdParam, query: SummaryQuery },
      responses: jsonOk(Summary),
    }),
    handle(async (c) => {
      const { enterpriseId } = caller(c);
      const { ci, state } = await checkInOr404(c, enterpriseId);
      const q = parse(SummaryQuery, c.req.query());
      const deps = c.get('deps');
      const people = await peopleAnswers(deps.db, ci.taskId);
      const k = deps.cfg.privacyK ?? DEFAULT_REACH_K;
      return c.json({ ...summarise(ci, people, k, q.h3Res, Date.now(), state), replies: await replyCount(deps.db, ci.taskId) });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks/{id}/checkin/help',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '回复报平安：求助名单（号码中间四位隐藏，最新在前）',
      request: { params: IdParam, query: HelpQuery },
      responses: jsonOk(HelpPage),
    }),
    handle(async (c) => {
      const { enterpriseId } = caller(c);
      const { ci } = await checkInOr404(c, enterpriseId);
      const q = parse(HelpQuery, c.req.query());
      const all = helpList(ci, await peopleAnswers(c.get('deps').db, ci.taskId));
      const from = (q.page - 1) * q.pageSize;
      return c.json({ total: all.length, page: q.page, pageSize: q.pageSize, items: all.slice(from, from + q.pageSize) });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks/{id}/checkin/help/export',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '导出求助名单（Excel）',
      request: { params: IdParam },
      responses: fileOk('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'Excel 文件'),
    }),
    handle(async (c) => {
      const { enterpriseId } = caller(c);
      const { ci } = await checkInOr404(c, enterpriseId);
      const list = helpList(ci, await peopleAnswers(c.get('deps').db, ci.taskId));
      const wb = new ExcelJS.Workbook();
      const ws = wb.addWorksheet('求助名单');
      ws.columns = [
        { header: '号码', key: 'msisdn', width: 16 },
        { header: '运营商', key: 'carrier', width: 10 },
        { header: '回复', key: 'label', width: 12 },
        { header: '回复原文', key: 'text', width: 40 },
        { header: '回复时间（北京时间）', key: 'at', width: 22 },
        { header: '纬度', key: 'lat', width: 12 },
        { header: '经度', key: 'lng', width: 12 },
        { header: '区域（H3）', key: 'h3', width: 18 },
      ];
      // Every text cell through safeCell: a reply "=HYPERLINK(…)" stays text (CWE-1236).
      for (const p of list)
        ws.addRow({
          msisdn: safeCell(p.msisdn),
          carrier: safeCell(p.carrierLabel),
          label: safeCell(`${p.answer} ${p.label}`),
          text: safeCell(p.text),
          at: safeCell(p.at),
          lat: p.lat ?? '',
          lng: p.lng ?? '',
          h3: safeCell(p.h3 ?? ''),
        });
      await opLog(c, '导出求助名单', ci.taskId, { count: list.length });
      return c.body(await wb.xlsx.writeBuffer(), 200, {
        'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        'content-disposition': `attachment; filename="checkin-help.xlsx"; filename*=UTF-8''${encodeURIComponent('求助名单.xlsx')}`,
      });
    }),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/bigdata/tasks/{id}/checkin/close',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '停止接收回复报平安（之后的回复不再记录，按 checkin_closed 计数）',
      request: { params: IdParam },
      responses: jsonOk(
        z.object({
          ok: z.literal(true).openapi({ description: '已停止接收回复' }),
          closesAt: z.string().openapi({ description: '停止接收回复的时间（北京时间）', example: '2026-12-09 10:00:00' }),
        }),
      ),
    }),
    handle(async (c) => {
      const { p, enterpriseId } = caller(c);
      const { ci } = await checkInOr404(c, enterpriseId);
      const deps = c.get('deps');
      const closed = await closeCheckIn(deps.db, ci, Date.now());
      const registry = checkInRuntime(deps)?.registry;
      if (registry) await registerCheckIn(registry, closed, p.accountId);
      else deps.log.warn({ task: ci.taskId }, 'check-in closed without NATS: messaging records late answers until it learns of it');
      await opLog(c, '停止接收回复报平安', ci.taskId);
      return c.json({ ok: true as const, closesAt: chinaTime(closed.closesAt) });
    }),
  );
