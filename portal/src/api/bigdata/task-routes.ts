import {
  ALERT_TYPES,
  Region,
  shanghaiDate,
  TASKS_BUCKET,
  TaskError,
  TaskStore,
  WHY_REASONS,
  type AlertTaskSpec,
  type TaskState,
  type WhyReason,
} from '@geo/alerting';
import { Kvm } from '@nats-io/kv';
import ExcelJS from 'exceljs';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { type Ctx, type Deps, type Principal, caller } from '../../http/context.ts';
import { createRoute } from '@hono/zod-openapi';
import { jsonBody as jsonRequest, jsonOk, router, validationError } from '../../http/openapi.ts';
import { opLog } from '../../http/op-log.ts';
import { safeCell } from '../../industry/export-cells.ts';
import { SEND_LOG_TABLE } from '../industry/send-log.ts';
import { alertBus, type AlertBus } from './alert-bus.ts';
import { recordedProgress } from './progress.ts';
import { ALERT_TYPE_INFO, CARRIER_LABELS } from './alert-types.ts';
import { adjustReservation } from '../ledger/reservations.ts';
import { chinaTime, maskMsisdn, RecipientPage, RecipientQuery, sentCounts, taskRecipients } from './recipients.ts';
import { fieldErrors, guarded, handle, jsonBody, jsonBodyLimit, parse, STATE_LABELS } from './route-kit.ts';
import { formIssues, TaskForm, toSpec } from './task-form.ts';
import {
  ApprovalSettingsDoc,
  DraftDetail,
  fileOk,
  IdParam,
  RejectBody,
  sse,
  TaskDetail,
  TaskPage,
  TaskQuery,
  Transitioned,
} from './schemas.ts';
import { APPROVAL_LABELS, approvalSettings, approvalView, approveTask, rejectTask, saveApprovalSettings } from './approval/approval.ts';
import { Heatmap, resolutionForZoom } from '@geo/insight';
import {
  costedSpec,
  getTask,
  isExercise,
  LIVE_STATES,
  listTasks,
  setProgress,
  setState,
  TASK_ROW_STATES,
  updateSpec,
  type TaskRow,
} from './task-store.ts';
import { requires } from '../../http/route-access.ts';

const Query = z.object({
  from: z
    .string()
    .date()
    .or(z.string().datetime({ offset: true }))
    .optional(),
  to: z
    .string()
    .date()
    .or(z.string().datetime({ offset: true }))
    .optional(),
  alertType: z.string().max(20).optional(),
  state: z.enum(TASK_ROW_STATES).optional(),
  name: z.string().max(100).optional(),
  exercise: z
    .enum(['true', 'false'], { error: '演练筛选须为 true 或 false' })
    .transform((v) => v === 'true')
    .optional(),
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(20),
});

/** The bus when it answers quickly; lists still work (from the table) while NATS is away. */
async function busIfReady(deps: Deps): Promise<AlertBus | undefined> {
  return Promise.race([
    alertBus(deps).catch(() => undefined),
    new Promise<undefined>((r) => (setTimeout(r, 1000) as { unref?: () => void }).unref?.()),
  ]);
}

/** Brings live rows up to the state alerting wrote in the bucket. */
async function syncStates(deps: Deps, rows: TaskRow[]): Promise<void> {
  const live = rows.filter((r) => LIVE_STATES.includes(r.state));
  if (!live.length) return;
  const bus = await busIfReady(deps);
  if (!bus) return;
  await Promise.all(
    live.map(async (r) => {
      const t = await bus.get(r.id).catch(() => undefined);
      if (t && t.state !== r.state) {
        await setState(deps.db, r.id, t.state, t.reason);
        r.state = t.state;
        r.reason = t.reason ?? r.reason;
      }
    }),
  );
}

/** The console form's fields as the task spec holds them (everything but who and the balance). */
function formFieldsOf(spec: AlertTaskSpec): Record<string, unknown> {
  const { balance: _b, accountId: _a, enterpriseId: _e, ...fields } = spec;
  return fields;
}

/** People sent to, from the last progress the portal kept (when the send log cannot be read). */
function progressSent(r: TaskRow): number | null {
  const p = r.progress as { carriers?: Record<string, { sent?: number }> } | null;
  if (!p?.carriers) return null;
  return Object.values(p.carriers).reduce((n, c) => n + (c.sent ?? 0), 0);
}

/** Per task of a page, the people sent to: the send log's count, else the last progress kept. */
async function sentOf(deps: Deps, enterpriseId: string, rows: TaskRow[]): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>(rows.map((r) => [r.id, progressSent(r)]));
  if (!deps.ch || rows.length === 0) return out;
  try {
    const logged = await sentCounts(
      deps.ch,
      deps.cfg.smsLogTable ?? SEND_LOG_TABLE,
      enterpriseId,
      rows.map((r) => r.id),
    );
    for (const r of rows) out.set(r.id, Math.max(logged.get(r.id) ?? 0, out.get(r.id) ?? 0));
  } catch (err) {
    deps.log.warn({ err }, 'task list: the send log could not be read; sent counts from the last progress kept');
  }
  return out;
}

const stateLabel = (state: string) => (state === 'pending_approval' ? APPROVAL_LABELS.pending : (STATE_LABELS[state] ?? state));

/** An account may decide a task waiting for (or sent ahead of) approval, unless it submitted it. */
const canApprove = (p: Principal, r: TaskRow) =>
  p.permissions.has('bigdata.approve') && (r.approval === 'pending' || r.approval === 'fast_path') && r.accountId !== p.accountId;

const summary = (r: TaskRow, sent: number | null = progressSent(r)) => ({
  id: r.id,
  subject: r.subject,
  alertType: r.alertType,
  alertTypeLabel: ALERT_TYPE_INFO[r.alertType as keyof typeof ALERT_TYPE_INFO]?.label ?? r.alertType,
  state: r.state,
  stateLabel: stateLabel(r.state),
  startDate: r.startDate,
  endDate: r.endDate,
  accountName: r.accountName,
  reason: r.reason,
  createdAt: r.createdAt,
  submittedAt: r.submittedAt,
  updatedAt: r.updatedAt,
  progress: r.progress,
  /** People sent to so far (null: nothing known yet). */
  sent,
  exercise: isExercise(r.form),
  ...approvalView(r),
});

async function taskOr404(c: Ctx, enterpriseId: string): Promise<TaskRow> {
  const t = await getTask(c.get('deps').db, enterpriseId, c.req.param('id') ?? '');
  if (!t || t.state === 'draft') throw new AppError('NOT_FOUND', '任务不存在');
  return t;
}

async function exportXlsx(rows: TaskRow[], sent: Map<string, number | null>): Promise<ArrayBuffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('大数据短信任务');
  ws.columns = [
    { header: '任务编号', key: 'id', width: 40 },
    { header: '发送主题', key: 'subject', width: 30 },
    { header: '预警类型', key: 'type', width: 10 },
    { header: '状态', key: 'state', width: 10 },
    { header: '开始日期', key: 'start', width: 12 },
    { header: '结束日期', key: 'end', width: 12 },
    { header: '发送内容', key: 'content', width: 60 },
    { header: '签名', key: 'signature', width: 12 },
    ...(['cmcc', 'cucc', 'ctcc'] as const).map((c) => ({ header: `${CARRIER_LABELS[c]}条数`, key: c, width: 12 })),
    { header: '已发送', key: 'sent', width: 10 },
    { header: '演练', key: 'exercise', width: 8 },
    { header: '创建人', key: 'who', width: 14 },
    { header: '提交时间（北京时间）', key: 'at', width: 22 },
  ];
  for (const r of rows) {
    const spec = (r.spec ?? r.form) as { content?: string; signature?: string; quota?: Record<string, { total?: number }> };
    // Every text cell goes through safeCell: a subject like "=HYPERLINK(…)" must stay text (CWE-1236).
    ws.addRow({
      id: safeCell(r.id),
      subject: safeCell(r.subject),
      type: safeCell(ALERT_TYPE_INFO[r.alertType as keyof typeof ALERT_TYPE_INFO]?.label ?? r.alertType),
      state: safeCell(STATE_LABELS[r.state] ?? r.state),
      start: safeCell(r.startDate),
      end: safeCell(r.endDate),
      content: safeCell(spec.content),
      signature: safeCell(spec.signature),
      cmcc: spec.quota?.cmcc?.total ?? 0,
      cucc: spec.quota?.cucc?.total ?? 0,
      ctcc: spec.quota?.ctcc?.total ?? 0,
      sent: sent.get(r.id) ?? 0,
      exercise: isExercise(r.form) ? '是' : '否',
      who: safeCell(r.accountName),
      // China time, as every other time the portal shows (not UTC ISO).
      at: safeCell(chinaTime(r.submittedAt ? Date.parse(r.submittedAt) : null)),
    });
  }
  return (await wb.xlsx.writeBuffer()) as ArrayBuffer;
}

/** Why a number did (not) get a task, as the task page says it. */
export const WHY_LABELS: Record<WhyReason, string> = {
  not_tracked: '任务未在执行（未开始、已停止或已结束），预警服务不再评估该任务',
  not_seen: '尚未收到该号码的位置信令',
  absent: '该号码已关机或长时间无信令，不在任何区域内',
  outside: '该号码当前不在任务区域内',
  not_running: '任务尚未开始执行',
  sent: '已发送（同一号码不重复发送）',
  send_failed: '已决定发送，短信提交失败，正在重试',
  queued: '符合条件，正在发送',
  window: '不在任务日期或每日发送时段内',
  dwell: '在区域内的驻留时间未达到要求',
  rule: '被人群筛选规则排除',
  no_quota: '任务未给该号码所属运营商分配发送条数',
  daily_cap: '已达该运营商的日下发上限',
  total_cap: '已达该运营商的发送总条数',
  balance: '短信余量不足',
};

export { maskMsisdn };

/** A mainland mobile number after removing spaces and dashes and a +86 / 0086 prefix (DESIGN.md). */
const Msisdn = z
  .string({ error: '请输入手机号码' })
  .transform((s) => s.replace(/[\s-]/g, '').replace(/^(\+86|0086)/, ''))
  .pipe(z.string().regex(/^1[3-9]\d{9}$/, '请输入 11 位手机号码'));

const WhyAnswer = z
  .object({
    msisdn: z.string().openapi({ description: '号码（中间四位隐藏）', example: '138****8000' }),
    reason: z.enum(WHY_REASONS),
    reasonLabel: z.string(),
    sentAt: z.string().nullable().openapi({ description: '发送时间（reason 为 sent 时）' }),
  })
  .openapi('BigdataWhy');

/** What an operator may change while a task runs (the CLI's `update`): the text, the region, the end date. */
const TaskUpdate = z
  .object({
    content: z.string().trim().min(1, '请填写发送内容').max(2000, '发送内容最多 2000 字').optional(),
    region: Region.optional().openapi({ description: '新的区域（同提交时的 region）' }),
    endDate: z.string().date('请选择结束日期').optional().openapi({ example: '2026-12-09' }),
  })
  .openapi('BigdataTaskUpdate');
const Updated = z.object({ id: z.string(), version: z.number().int() }).openapi('BigdataTaskUpdated');

const Reject = z.object({
  reason: z.string({ error: '请填写驳回原因' }).trim().min(1, '请填写驳回原因').max(200, '驳回原因最多 200 字'),
});
const SettingsBody = z.object({
  required: z.boolean({ error: '请选择是否须审批' }),
  fastPathTypes: z
    .array(z.enum(ALERT_TYPES, { error: '未知的预警类型' }))
    .max(ALERT_TYPES.length)
    .default([]),
});

const tags = ['大数据短信'];
const transition = (action: string, summary: string) =>
  createRoute({
    method: 'post',
    path: `/api/bigdata/tasks/{id}/${action}`,
    middleware: [requires('bigdata.tasks')],
    tags,
    summary,
    request: { params: IdParam },
    responses: jsonOk(Transitioned),
  });

function transitionRoute(to: TaskState, action: string, allowRunning: boolean) {
  return guarded(async (c) => {
    const { p, enterpriseId } = caller(c);
    const row = await taskOr404(c, enterpriseId);
    // A task waiting for approval is held paused in the bucket: resuming it here would skip the approver.
    if (row.state === 'pending_approval') throw new AppError('TASK_STATE', '任务待审批，请先审批或驳回');
    const bus = await alertBus(c.get('deps'));
    // Pausing is only allowed before execution (the original product's rule): never once started.
    const t = await bus.transition(row.id, to, `${action}：${p.name}`, (cur) => allowRunning || cur.startedAt === undefined);
    await setState(c.get('deps').db, row.id, t.state, t.reason);
    await opLog(c, `${action}大数据短信任务`, row.id);
    return c.json({ id: row.id, state: t.state, stateLabel: STATE_LABELS[t.state] });
  });
}

export const taskRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '任务列表：按时间、预警类型、状态、名称查询',
      request: { query: TaskQuery },
      responses: jsonOk(TaskPage),
    }),
    handle(async (c) => {
      const { p, enterpriseId } = caller(c);
      const q = parse(Query, c.req.query());
      const deps = c.get('deps');
      const r = await listTasks(deps.db, enterpriseId, { box: 'tasks', ...q });
      await syncStates(deps, r.items);
      const sent = await sentOf(deps, enterpriseId, r.items);
      return c.json({
        total: r.total,
        page: q.page,
        pageSize: q.pageSize,
        items: r.items.map((t) => ({ ...summary(t, sent.get(t.id)), canApprove: canApprove(p, t) })),
      });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks/export',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '导出任务列表（Excel，条件同任务列表）',
      request: { query: TaskQuery },
      responses: fileOk('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'Excel 文件'),
    }),
    handle(async (c) => {
      const { enterpriseId } = caller(c);
      const q = parse(Query, c.req.query());
      const r = await listTasks(c.get('deps').db, enterpriseId, { box: 'tasks', ...q, page: 1, pageSize: 10_000 });
      await opLog(c, '导出大数据短信任务', '', { count: r.items.length });
      return c.body(await exportXlsx(r.items, await sentOf(c.get('deps'), enterpriseId, r.items)), 200, {
        'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        'content-disposition': `attachment; filename="bigdata-tasks.xlsx"; filename*=UTF-8''${encodeURIComponent('大数据短信任务.xlsx')}`,
      });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/drafts',
      middleware: [requires('bigdata.send')],
      tags,
      summary: '草稿箱',
      request: { query: TaskQuery.omit({ state: true }) },
      responses: jsonOk(TaskPage),
    }),
    handle(async (c) => {
      const { enterpriseId } = caller(c);
      const q = parse(Query, c.req.query());
      const r = await listTasks(c.get('deps').db, enterpriseId, { box: 'drafts', ...q, state: undefined });
      return c.json({ total: r.total, page: q.page, pageSize: q.pageSize, items: r.items.map((t) => summary(t)) });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/drafts/{id}',
      middleware: [requires('bigdata.send')],
      tags,
      summary: '草稿内容（编辑后发送）',
      request: { params: IdParam },
      responses: jsonOk(DraftDetail),
    }),
    handle(async (c) => {
      const { enterpriseId } = caller(c);
      const t = await getTask(c.get('deps').db, enterpriseId, c.req.param('id') ?? '');
      if (!t || t.state !== 'draft') throw new AppError('NOT_FOUND', '草稿不存在');
      return c.json({ ...summary(t), form: t.form });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks/{id}',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '任务详情（也用于“再次发送”）',
      request: { params: IdParam },
      responses: jsonOk(TaskDetail),
    }),
    handle(async (c) => {
      // Detail and "send again" (再次发送) both read the form; sending needs bigdata.send, reading bigdata.tasks.
      const { p, enterpriseId } = caller(c);
      const t = await taskOr404(c, enterpriseId);
      await syncStates(c.get('deps'), [t]);
      // A running task may have been updated (new text or region) in the bucket alerting reads: show
      // what is being sent, not what was submitted.
      const live = LIVE_STATES.includes(t.state)
        ? await busIfReady(c.get('deps'))
            .then((b) => b?.get(t.id))
            .catch(() => undefined)
        : undefined;
      const spec = live?.spec ?? t.spec;
      const form = live ? { ...t.form, ...formFieldsOf(live.spec) } : t.form;
      return c.json({ ...summary(t), canApprove: canApprove(p, t), form, spec, version: live?.version ?? null, copiedFrom: t.copiedFrom });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/approval/settings',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '审批设置：是否须审批、允许紧急先发后审的预警类型',
      responses: jsonOk(ApprovalSettingsDoc),
    }),
    handle(async (c) => {
      const { enterpriseId } = caller(c);
      return c.json(await approvalSettings(c.get('deps').db, enterpriseId));
    }),
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/bigdata/approval/settings',
      tags,
      summary: '修改审批设置（仅企业管理员）',
      middleware: [requires('bigdata.tasks'), jsonBodyLimit],
      request: jsonRequest(ApprovalSettingsDoc),
      responses: jsonOk(ApprovalSettingsDoc),
    }),
    handle(async (c) => {
      const { p, enterpriseId } = caller(c);
      if (p.role !== 'admin') throw new AppError('FORBIDDEN', '仅企业管理员可以修改审批设置');
      const body = parse(SettingsBody, await jsonBody(c));
      await saveApprovalSettings(c.get('deps').db, enterpriseId, body);
      await opLog(c, '修改大数据任务审批设置', enterpriseId, body);
      return c.json(await approvalSettings(c.get('deps').db, enterpriseId));
    }),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/bigdata/tasks/{id}/approve',
      middleware: [requires('bigdata.approve')],
      tags,
      summary: '审批通过（待审批的任务开始执行；先发后审的任务补记审批）；不能审批自己提交的任务',
      request: { params: IdParam },
      responses: jsonOk(Transitioned),
    }),
    guarded(async (c) => {
      const { p, enterpriseId } = caller(c);
      const row = await taskOr404(c, enterpriseId);
      const deps = c.get('deps');
      const state = await approveTask(deps.db, await alertBus(deps), p, row);
      await opLog(c, '审批大数据短信任务', row.id, { subject: row.subject, fastPath: row.fastPath });
      return c.json({ id: row.id, state, stateLabel: stateLabel(state) });
    }),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/bigdata/tasks/{id}/reject',
      tags,
      summary: '驳回（须填原因）：待审批的任务不再发送、预留的短信余量退回；先发后审的任务紧急停止',
      middleware: [requires('bigdata.approve'), jsonBodyLimit],
      request: { params: IdParam, ...jsonRequest(RejectBody) },
      responses: jsonOk(Transitioned),
    }),
    guarded(async (c) => {
      const { p, enterpriseId } = caller(c);
      const row = await taskOr404(c, enterpriseId);
      const { reason } = parse(Reject, await jsonBody(c));
      const deps = c.get('deps');
      const state = await rejectTask(deps.db, await alertBus(deps), p, row, reason);
      await opLog(c, '驳回大数据短信任务', row.id, { subject: row.subject, reason });
      return c.json({ id: row.id, state, stateLabel: stateLabel(state) });
    }),
  )
  .openapi(transition('pause', '暂停（仅执行前）'), transitionRoute('paused', '暂停', false))
  .openapi(transition('resume', '恢复（仅执行前）'), transitionRoute('submitted', '恢复', false))
  .openapi(transition('stop', '紧急停止（任何时候）'), transitionRoute('stopped', '紧急停止', true))
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks/{id}/progress',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '实时进度（Server-Sent Events：state，然后每次变化一个 progress 事件，见 BigdataProgress）',
      request: { params: IdParam },
      responses: sse('事件流'),
    }),
    guarded(async (c) => {
      const { enterpriseId } = caller(c);
      const row = await taskOr404(c, enterpriseId);
      const deps = c.get('deps');
      const bus = await alertBus(deps);
      return streamSSE(c, async (stream) => {
        const fold = bus.progress(row.id);
        let shown = -1;
        let closed = false;
        stream.onAbort(() => {
          closed = true;
        });
        await stream.writeSSE({ event: 'state', data: JSON.stringify({ state: row.state, progress: row.progress }) });
        // What the send log already holds: an instance started after the task began has heard only
        // the statuses since, and another instance may have been the one hearing them. Read at
        // once and every 10 s; each figure shows the larger of what was heard and what is recorded.
        const catchUp = async () => {
          if (!deps.ch) return;
          try {
            fold.catchUp(await recordedProgress(deps.ch, deps.cfg.smsLogTable ?? SEND_LOG_TABLE, row.id));
          } catch (err) {
            deps.log.warn({ err, task: row.id }, 'progress: the send log could not be read; showing what this instance heard');
          }
        };
        await catchUp();
        let ticks = 0;
        let loops = 0;
        while (!closed) {
          if (++loops % 10 === 0) await catchUp();
          if (fold.version !== shown) {
            shown = fold.version;
            const v = fold.view();
            await stream.writeSSE({ event: 'progress', data: JSON.stringify(v) });
            if (v.state && v.state !== row.state) {
              row.state = v.state;
              await setState(deps.db, row.id, v.state);
            }
            // Keep the last figures for the list and for people who open the page later.
            if (v.at) await setProgress(deps.db, row.id, v);
          } else if (++ticks % 15 === 0) await stream.writeSSE({ event: 'ping', data: '{}' });
          await stream.sleep(1000);
        }
      });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks/{id}/why',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '查询某号码为何未收到本任务短信（区域外、未见、规则、驻留、时段、已发送、上限、余量、发送失败）',
      request: { params: IdParam, query: z.object({ msisdn: z.string() }) },
      responses: jsonOk(WhyAnswer),
    }),
    guarded(async (c) => {
      // Scoped like the task itself: only the task's enterprise, with the task-list permission.
      const { enterpriseId } = caller(c);
      const row = await taskOr404(c, enterpriseId);
      const msisdn = parse(Msisdn, c.req.query('msisdn'));
      const a = await (await alertBus(c.get('deps'))).why(row.id, msisdn);
      return c.json({
        msisdn: maskMsisdn(msisdn),
        reason: a.reason,
        reasonLabel: WHY_LABELS[a.reason],
        sentAt: a.sentAt === undefined ? null : new Date(a.sentAt).toISOString(),
      });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks/{id}/reached',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '触达人群分布：已发送的人在发送时所在位置（H3 格；每个基站小区同一运营商人数按 k 人取整，少于 k 人计 0）',
      request: { params: IdParam, query: z.object({ zoom: z.string().optional() }) },
      responses: jsonOk(Heatmap),
    }),
    guarded(async (c) => {
      // The people messaged, where they were when messaged (alerting knows; insight's live heat map
      // would show whoever is inside the region now, messaged or not).
      const { enterpriseId } = caller(c);
      const row = await taskOr404(c, enterpriseId);
      const zoom = parse(z.coerce.number().min(0).max(22).default(11), c.req.query('zoom'));
      const resolution = resolutionForZoom(zoom);
      const bus = await alertBus(c.get('deps'));
      const r = await bus.reached(row.id, resolution);
      return c.json({ at: new Date().toISOString(), k: r.k, resolution, cells: r.cells });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks/{id}/recipients',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '查看明细：任务的逐号码发送记录（号码中间四位隐藏、运营商、状态、时间；分页）',
      request: { params: IdParam, query: z.object({ page: z.string().optional(), pageSize: z.string().optional() }) },
      responses: jsonOk(RecipientPage),
    }),
    guarded(async (c) => {
      const { enterpriseId } = caller(c);
      const row = await taskOr404(c, enterpriseId);
      const q = parse(RecipientQuery, c.req.query());
      const deps = c.get('deps');
      if (!deps.ch) return c.json({ total: 0, page: q.page, pageSize: q.pageSize, logAvailable: false, items: [] });
      try {
        const r = await taskRecipients(deps.ch, deps.cfg.smsLogTable ?? SEND_LOG_TABLE, enterpriseId, row.id, q.page, q.pageSize);
        return c.json({ ...r, page: q.page, pageSize: q.pageSize, logAvailable: true });
      } catch (err) {
        deps.log.warn({ err, task: row.id }, 'recipients: the send log could not be read');
        return c.json({ total: 0, page: q.page, pageSize: q.pageSize, logAvailable: false, items: [] });
      }
    }),
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/bigdata/tasks/{id}',
      tags,
      summary: '修改执行中（或尚未执行）的任务：发送内容、区域、结束日期；已收到的人不会重复收到',
      middleware: [requires('bigdata.send'), jsonBodyLimit],
      request: { params: IdParam, ...jsonRequest(TaskUpdate) },
      responses: jsonOk(Updated),
    }),
    guarded(async (c) => {
      const { p, enterpriseId } = caller(c);
      const row = await taskOr404(c, enterpriseId);
      const body = parse(TaskUpdate, await jsonBody(c));
      const deps = c.get('deps');
      if (!LIVE_STATES.includes(row.state)) throw new AppError('TASK_STATE', `任务${STATE_LABELS[row.state] ?? row.state}，不能再修改`);
      const bus = await alertBus(deps);
      // The bucket alerting reads, as the CLI's `update` writes it (TaskStore.update: a new version,
      // who already got the task does not get it again).
      const store = new TaskStore(await new Kvm(bus.nc).open(TASKS_BUCKET));
      const cur = await store.get(row.id);
      if (!cur) throw new AppError('NOT_FOUND', '任务不存在');
      const form = parse(TaskForm, { ...row.form, ...formFieldsOf(cur.task.spec), ...body });
      // The start date may be past for a running task; the end date may not.
      const issues = formIssues(form, Number.MAX_SAFE_INTEGER, form.startDate);
      if (form.endDate < shanghaiDate(Date.now())) issues.push({ path: 'endDate', message: '结束日期不能早于今天' });
      if (issues.length) throw fieldErrors(issues);
      const spec = toSpec(form, { accountId: cur.task.spec.accountId, enterpriseId, balance: cur.task.spec.balance });
      if (!spec.success) throw validationError(spec.error as never);
      let version = cur.task.version;
      // Ledger, row and bucket together: a longer text costs more units (refused when the balance is
      // short); a failed KV write rolls the ledger back.
      await deps.db.transaction(async (tx) => {
        await adjustReservation(tx, row.id, costedSpec(spec.data));
        await updateSpec(tx, row.id, { subject: form.subject, form, spec: spec.data, endDate: form.endDate });
        try {
          version = (await store.update(row.id, spec.data)).version;
        } catch (err) {
          if (err instanceof TaskError && err.code === 'bad_transition') throw new AppError('TASK_STATE', '任务已结束，不能再修改');
          throw err;
        }
      });
      await opLog(c, '修改大数据短信任务', row.id, { by: p.name, fields: Object.keys(body) });
      return c.json({ id: row.id, version });
    }),
  );
