import { AppError } from '../../errors.ts';
import { caller } from '../../http/context.ts';
import { createRoute } from '@hono/zod-openapi';
import { jsonOk, router } from '../../http/openapi.ts';
import { opLog } from '../../http/op-log.ts';
import { requires } from '../../http/route-access.ts';
import { approvalRoutes } from './approval/approval-routes.ts';
import { handle, parse } from './route-kit.ts';
import { DraftDetail, fileOk, IdParam, TaskDetail, TaskPage, TaskQuery } from './schemas.ts';
import { exportXlsx } from './task-export.ts';
import { taskControlRoutes } from './task-control-routes.ts';
import { taskLiveRoutes } from './task-live-routes.ts';
import { getTask, LIVE_STATES, listTasks } from './task-store.ts';
import { busIfReady, canApprove, formFieldsOf, sentOf, summary, syncStates, TaskListFilter, taskOr404 } from './task-views.ts';

/**
 * The big-data task routes: the list, its export, drafts and a task's detail here; approval
 * (`approval/approval-routes.ts`), pause / resume / stop and changes (`task-control-routes.ts`), and
 * what a running task shows (`task-live-routes.ts`) mounted with them as one group.
 */
const tags = ['大数据短信'];

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
      const q = parse(TaskListFilter, c.req.query());
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
      const q = parse(TaskListFilter, c.req.query());
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
      const q = parse(TaskListFilter, c.req.query());
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
  .route('/', approvalRoutes)
  .route('/', taskControlRoutes)
  .route('/', taskLiveRoutes);
