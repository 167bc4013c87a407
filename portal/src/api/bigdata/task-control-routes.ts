import { Region, shanghaiDate, TASKS_BUCKET, TaskError, TaskStore, type TaskState } from '@geo/alerting';
import { createRoute } from '@hono/zod-openapi';
import { Kvm } from '@nats-io/kv';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { caller } from '../../http/context.ts';
import { jsonBody as jsonRequest, jsonOk, router, validationError } from '../../http/openapi.ts';
import { opLog } from '../../http/op-log.ts';
import { requires } from '../../http/route-access.ts';
import { adjustReservation } from '../ledger/reservations.ts';
import { alertBus } from './alert-bus.ts';
import { fieldErrors, guarded, jsonBody, jsonBodyLimit, parse, STATE_LABELS } from './route-kit.ts';
import { IdParam, Transitioned } from './schemas.ts';
import { formIssues, TaskForm, toSpec } from './task-form.ts';
import { costedSpec, LIVE_STATES, setState, updateSpec } from './task-store.ts';
import { formFieldsOf, taskOr404 } from './task-views.ts';

/* Controlling a submitted task: pause and resume (before it runs), emergency stop, and changing a running task. */

/** What an operator may change while a task runs (the CLI's `update`): the text, the region, the end date. */
const TaskUpdate = z
  .object({
    content: z.string().trim().min(1, '请填写发送内容').max(2000, '发送内容最多 2000 字').optional(),
    region: Region.optional().openapi({ description: '新的区域（同提交时的 region）' }),
    endDate: z.string().date('请选择结束日期').optional().openapi({ example: '2026-12-09' }),
  })
  .openapi('BigdataTaskUpdate');
const Updated = z.object({ id: z.string(), version: z.number().int() }).openapi('BigdataTaskUpdated');

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

export const taskControlRoutes = router()
  .openapi(transition('pause', '暂停（仅执行前）'), transitionRoute('paused', '暂停', false))
  .openapi(transition('resume', '恢复（仅执行前）'), transitionRoute('submitted', '恢复', false))
  .openapi(transition('stop', '紧急停止（任何时候）'), transitionRoute('stopped', '紧急停止', true))
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
      // A check-in task keeps its reply extension (#21): answers must still find it after the change.
      const spec = toSpec(form, {
        accountId: cur.task.spec.accountId,
        enterpriseId,
        balance: cur.task.spec.balance,
        replyExtension: cur.task.spec.replyExtension,
      });
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
