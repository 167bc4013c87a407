import { createRoute } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { AppError } from '../../../errors.ts';
import { caller } from '../../../http/context.ts';
import { requires } from '../../../http/route-access.ts';
import { jsonOk, router, z } from '../../../http/openapi.ts';
import { opLog } from '../../../http/op-log.ts';
import { TASK_ID_PREFIX } from '../alert-bus.ts';
import { guarded, handle } from '../route-kit.ts';
import { IdParam, Submitted, TaskFormDoc } from '../schemas.ts';
import { TaskForm } from '../task-form.ts';
import { getTask, insertTask } from '../task-store.ts';
import { cancelTask, importedForm, submitAlert, updateTask } from './cap-import.ts';
import { taskToCap } from './cap-map.ts';
import { capBody, capBodyLimit, capErrors, readOrFail, readRequest, refusedStatus } from './cap-request.ts';
import { parseRefs } from './cap-xml.ts';

/**
 * CAP 1.2 in and out of the big-data console (#21):
 * - `POST /api/bigdata/cap`: an Alert is submitted as a task, an Update changes the task its
 *   `references` name (text, region, end date; who already got it does not get it again), a Cancel
 *   stops it (emergency stop);
 * - `POST /api/bigdata/cap/draft`: an Alert saved as a draft, to finish in the console;
 * - `POST /api/bigdata/cap/preview`: the form an alert would make, nothing written;
 * - `GET /api/bigdata/tasks/{id}/cap`: any task as a CAP 1.2 alert.
 * The document comes as `application/cap+xml` (or application/xml, text/xml), as JSON `{ xml, form }`
 * or as a multipart upload (`file`, optional `form` as JSON); `form` supplies what CAP has no place
 * for (quota, signature, authorizationLetter, windows, rules, frequency, minDwellMin).
 */

const tags = ['大数据短信', 'CAP 1.2'];
const Imported = z
  .object({
    id: z.string().openapi({ description: '任务编号（Alert 新建的任务，Update / Cancel 所指的任务）' }),
    state: Submitted.shape.state,
    action: z.enum(['submitted', 'updated', 'stopped']).openapi({ description: 'Alert：提交；Update：修改；Cancel：紧急停止' }),
    version: z.number().int().optional().openapi({ description: 'Update 后的任务版本号（仅 Update 时给出）', example: 2 }),
  })
  .openapi('BigdataCapImported');

export const capRoutes = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/bigdata/cap',
      tags,
      summary: '导入 CAP 1.2 预警：Alert 提交任务，Update 修改 references 所指任务，Cancel 紧急停止该任务',
      middleware: [requires('bigdata.send'), capBodyLimit],
      request: capBody,
      responses: jsonOk(Imported),
    }),
    guarded(async (c) => {
      const { xml, extra } = await readRequest(c);
      const a = readOrFail(xml);
      refusedStatus(a);
      if (a.msgType === 'Alert') return submitAlert(c, a, extra);
      if (a.msgType === 'Update') return updateTask(c, a, extra);
      if (a.msgType === 'Cancel') return cancelTask(c, a);
      throw capErrors([{ path: 'alert.msgType', message: `msgType 为 ${a.msgType} 的消息不导入（只导入 Alert、Update、Cancel）` }]);
    }),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/bigdata/cap/draft',
      tags,
      summary: '导入 CAP 1.2 预警（Alert）为草稿，在发短信页补全后提交',
      middleware: [requires('bigdata.send'), capBodyLimit],
      request: capBody,
      responses: jsonOk(z.object({ id: z.string().openapi({ description: '草稿编号（在发送页以 ?draft= 打开）' }) })),
    }),
    handle(async (c) => {
      const { p, enterpriseId } = caller(c);
      const { xml, extra } = await readRequest(c);
      const a = readOrFail(xml);
      if (a.msgType !== 'Alert') throw capErrors([{ path: 'alert.msgType', message: '只有 msgType 为 Alert 的预警可存为草稿' }]);
      const form = await importedForm(c, a, extra, enterpriseId);
      const id = `${TASK_ID_PREFIX}${randomUUID()}`;
      await insertTask(c.get('deps').db, {
        id,
        enterpriseId,
        accountId: p.accountId,
        accountName: p.name,
        state: 'draft',
        alertType: String(form.alertType),
        subject: String(form.subject ?? '').slice(0, 100),
        form,
      });
      await opLog(c, '导入 CAP 预警为大数据短信草稿', id, { identifier: a.identifier });
      return c.json({ id });
    }),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/bigdata/cap/preview',
      tags,
      summary: '预览 CAP 1.2 预警将生成的任务表单（不写入任何数据）',
      middleware: [requires('bigdata.send'), capBodyLimit],
      request: capBody,
      responses: jsonOk(
        z
          .object({
            msgType: z.string().openapi({ description: 'CAP 的 msgType：Alert、Update 或 Cancel', example: 'Alert' }),
            references: z
              .array(z.string())
              .openapi({ description: 'CAP references 所指的预警（sender,identifier,sent 各一项）；Alert 为空' }),
            form: TaskFormDoc.partial().openapi({ description: '该预警将生成的任务表单（Cancel 为空对象）；不写入任何数据' }),
          })
          .openapi('BigdataCapPreview'),
      ),
    }),
    handle(async (c) => {
      const { enterpriseId } = caller(c);
      const { xml, extra } = await readRequest(c);
      const a = readOrFail(xml);
      const form = a.msgType === 'Cancel' ? {} : await importedForm(c, a, extra, enterpriseId);
      return c.json({ msgType: a.msgType, references: parseRefs(a.references), form });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks/{id}/cap',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '导出任务为 CAP 1.2 预警（XML）',
      request: { params: IdParam },
      responses: { 200: { description: 'CAP 1.2 文档', content: { 'application/cap+xml': { schema: z.string() } } } },
    }),
    handle(async (c) => {
      const { enterpriseId } = caller(c);
      const row = await getTask(c.get('deps').db, enterpriseId, c.req.param('id') ?? '');
      if (!row || row.state === 'draft') throw new AppError('NOT_FOUND', '任务不存在');
      const form = TaskForm.safeParse(row.form);
      if (!form.success) throw new AppError('TASK_STATE', '该任务的表单不完整，无法导出为 CAP');
      const xml = taskToCap({ id: row.id, enterpriseId, form: form.data, createdAt: row.createdAt, submittedAt: row.submittedAt });
      return c.body(xml, 200, {
        'content-type': 'application/cap+xml; charset=utf-8',
        'content-disposition': `attachment; filename="${row.id}.cap.xml"`,
      });
    }),
  );

/** Mount with the console's groups (`API_ROUTES`). */
export const CAP_ROUTES = [capRoutes];
