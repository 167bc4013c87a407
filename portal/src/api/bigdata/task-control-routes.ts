import { Region, type TaskState } from '@geo/alerting';
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { caller } from '../../http/context.ts';
import { jsonBody as jsonRequest, jsonOk, router } from '../../http/openapi.ts';
import { opLog } from '../../http/op-log.ts';
import { requires } from '../../http/route-access.ts';
import { alertBus } from './alert-bus.ts';
import { guarded, jsonBody, jsonBodyLimit, parse, STATE_LABELS } from './route-kit.ts';
import { updateLiveTask } from './live-task-update.ts';
import { TaskText } from './task-form.ts';
import { IdParam, Transitioned } from './schemas.ts';
import { setState } from './task-store.ts';
import { taskOr404 } from './task-views.ts';

/* Controlling a submitted task: pause and resume (before it runs), emergency stop, and changing a running task. */

/** A text in another language, as the submit's (TaskText), described for the API document. */
const UpdateText = TaskText.extend({
  language: TaskText.shape.language.openapi({
    description: '语言（BCP 47 语言标记，如 en-US；英文内容发给外籍漫入人员）',
    example: 'en-US',
  }),
  subject: TaskText.shape.subject.openapi({ description: '该语言的主题（仅记录，不发送）', example: 'Typhoon red warning' }),
  content: TaskText.shape.content.openapi({
    description: '该语言的发送内容（不含签名，最多 2000 字）',
    example: 'Typhoon red warning: move to a safe place now.',
  }),
});

/** What an operator may change while a task runs (the CLI's `update`): the texts, the region, the end date. */
const TaskUpdate = z
  .object({
    content: z.string().trim().min(1, '请填写发送内容').max(2000, '发送内容最多 2000 字').optional().openapi({
      description: '新的中文发送内容（1–2000 字，不含签名）；此后发出的短信用新内容，已发送的不再补发',
      example: '台风红色预警：请立即转移到安全地带。',
    }),
    region: Region.optional().openapi({ description: '新的区域（同提交时的 region）' }),
    // The other languages change with the Chinese text (#23 walk: the console changed the Chinese
    // text of a running bilingual task and foreigners went on getting the old English one).
    texts: z
      .array(UpdateText)
      .max(10)
      .optional()
      .openapi({
        description: '新的其他语言内容（整组替换提交时的 texts；空数组表示不再发其他语言）；此后发出的短信用新内容',
        example: [{ language: 'en-US', content: 'Typhoon red warning: move to a safe place now.' }],
      }),
    endDate: z
      .string()
      .date('请选择结束日期')
      .optional()
      .openapi({ description: '新的结束日期（YYYY-MM-DD，中国时间，当日结束为止），不早于今天', example: '2026-12-09' }),
  })
  .openapi('BigdataTaskUpdate');
const Updated = z
  .object({
    id: z.string().openapi({ description: '任务编号' }),
    version: z.number().int().openapi({ description: '修改后的任务版本号（每次修改加 1，预警引擎按版本生效）', example: 2 }),
  })
  .openapi('BigdataTaskUpdated');

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
      summary: '修改执行中（或尚未执行）的任务：发送内容（含其他语言）、区域、结束日期；已收到的人不会重复收到',
      middleware: [requires('bigdata.send'), jsonBodyLimit],
      request: { params: IdParam, ...jsonRequest(TaskUpdate) },
      responses: jsonOk(Updated),
    }),
    guarded(async (c) => {
      const { p, enterpriseId } = caller(c);
      const row = await taskOr404(c, enterpriseId);
      const body = parse(TaskUpdate, await jsonBody(c));
      // The one update of a live task (a CAP Update takes the same path): the rest of the task stays.
      const { version } = await updateLiveTask(c.get('deps'), { row, enterpriseId, changes: body });
      await opLog(c, '修改大数据短信任务', row.id, { by: p.name, fields: Object.keys(body) });
      return c.json({ id: row.id, version });
    }),
  );
