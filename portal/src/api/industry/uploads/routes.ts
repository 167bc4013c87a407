import { createRoute } from '@hono/zod-openapi';
import { AppError } from '../../../errors.ts';
import { caller, callerHolding } from '../../../http/context.ts';
import { jsonOk, router, z } from '../../../http/openapi.ts';
import { UploadResult } from '../schemas.ts';
import { checkUpload, runUploadJob } from './check.ts';
import { readUploadList } from './lists.ts';
import { createImportJob, jobView, UploadJobView } from '../imports/jobs.ts';
import { fileResponse, parseUpload, receiveUpload, uploadBodyLimit, xlsxBytes } from './xlsx.ts';
import { requires } from '../../../http/route-access.ts';

const TAG = ['行业短信-发短信'];

function uploadKind(raw: string | undefined): 'batch' | 'merge' {
  if (raw === 'merge' || raw === 'batch') return raw;
  throw new AppError('VALIDATION', 'kind 必须是 batch（批量发送）或 merge（定制发送）');
}

const base = router();
// Big bodies are cut off while they arrive, also without a Content-Length.
base.use('/api/industry/uploads', uploadBodyLimit);
base.use('/api/industry/upload-jobs', uploadBodyLimit);

/** Batch and mail-merge files: check (at once or as a background job), the error report, the Excel templates. */
export const uploadsRoutes = base
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/uploads',
      middleware: [requires('sms.send')],
      tags: TAG,
      summary: '上传批量发送或定制发送的文件（TXT / Excel），返回逐行报告与预览',
      description: 'multipart/form-data：file（.txt/.csv/.xlsx，UTF-8 或 GBK），kind = batch | merge。',
      responses: jsonOk(UploadResult),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { name, bytes, fields } = await receiveUpload(c);
      // The file is read before the kind is checked: a bad file gets its own error first.
      const table = await parseUpload(bytes);
      return c.json(await checkUpload(c.get('deps'), { enterpriseId, accountId: p.accountId }, name, uploadKind(fields.kind), table), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/upload-jobs',
      middleware: [requires('sms.send')],
      tags: TAG,
      summary: '上传批量发送或定制发送的文件（后台任务，带进度）：返回任务号，轮询 GET /api/industry/imports/{id}',
      description:
        'multipart/form-data：file（.txt/.csv/.xlsx，UTF-8 或 GBK），kind = batch | merge。空文件、类型不符、过大的文件立即以 4xx 拒绝；' +
        '其余在后台读取（工作线程）与检查，任务完成时 upload 为逐行报告与预览（与 POST /api/industry/uploads 相同）。',
      responses: { 202: { description: '检查已开始', content: { 'application/json': { schema: UploadJobView } } } },
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { name, bytes, fields } = await receiveUpload(c);
      const kind = uploadKind(fields.kind);
      const deps = c.get('deps');
      const job = createImportJob(deps, { enterpriseId, accountId: p.accountId }, name.slice(0, 200), kind);
      void runUploadJob(deps, job, name, kind, bytes);
      return c.json(jobView(job), 202);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/uploads/{id}/report',
      middleware: [requires('sms.send')],
      tags: TAG,
      summary: '下载上传文件的逐行错误报告（Excel）',
      request: { params: z.object({ id: z.string().max(64) }) },
      responses: { 200: { description: 'Excel 文件' } },
    }),
    async (c) => {
      const { p } = caller(c);
      const list = await readUploadList(c.get('deps').db, c.req.valid('param').id, p.accountId, { items: false });
      if (!list) throw new AppError('NOT_FOUND', '上传的文件已过期，请重新上传');
      const bytes = await xlsxBytes(
        '错误报告',
        ['行号', '内容', '原因'],
        list.rejected.map((r) => [r.line, r.text, r.message]),
      );
      return fileResponse(c, bytes, `${list.fileName}-错误报告.xlsx`);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/upload-templates/{kind}',
      middleware: [requires('contacts', 'sms.send')],
      tags: TAG,
      summary: '下载 Excel 模板：batch 批量发送、merge 定制发送、contacts 通讯录导入',
      request: { params: z.object({ kind: z.enum(['batch', 'merge', 'contacts']) }) },
      responses: { 200: { description: 'Excel 文件' } },
    }),
    async (c) => {
      callerHolding(c, c.req.valid('param').kind === 'contacts' ? 'contacts' : 'sms.send');
      const kind = c.req.valid('param').kind;
      const [name, header, rows] =
        kind === 'batch'
          ? ['批量发送模板.xlsx', ['手机号码'], [['13800138000'], ['13900139000']]]
          : kind === 'merge'
            ? [
                '定制发送模板.xlsx',
                ['手机号码', '内容1', '内容2', '内容3'],
                [
                  ['13800138000', '张三您好，', '您的快递已到', '请及时领取。'],
                  ['13900139000', '李四您好，', '您的快递已到', '请及时领取。'],
                ],
              ]
            : [
                '通讯录导入模板.xlsx',
                ['姓名', '手机号码', '性别', '生日', '邮箱', '单位', '职务', '地址', '备注'],
                [['张三', '13800138000', '男', '1990-01-01', 'zhangsan@example.com', '翼讯通', '经理', '杭州市', '']],
              ];
      return fileResponse(c, await xlsxBytes('模板', header as string[], rows as string[][]), name as string);
    },
  );
