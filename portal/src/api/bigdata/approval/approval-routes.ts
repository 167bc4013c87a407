import { ALERT_TYPES } from '@geo/alerting';
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { AppError } from '../../../errors.ts';
import { caller } from '../../../http/context.ts';
import { jsonBody as jsonRequest, jsonOk, router } from '../../../http/openapi.ts';
import { opLog } from '../../../http/op-log.ts';
import { requires } from '../../../http/route-access.ts';
import { alertBus } from '../alert-bus.ts';
import { guarded, handle, jsonBody, jsonBodyLimit, parse } from '../route-kit.ts';
import { ApprovalSettingsDoc, IdParam, RejectBody, Transitioned } from '../schemas.ts';
import { stateLabel, taskOr404 } from '../task-views.ts';
import { approvalSettings, approveTask, rejectTask, saveApprovalSettings } from './approval.ts';

/* Maker-checker approval of big-data tasks: the enterprise's settings, approving and rejecting a task. */

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

export const approvalRoutes = router()
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
  );
