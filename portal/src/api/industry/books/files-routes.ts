import { createRoute } from '@hono/zod-openapi';
import { opLog } from '../../../http/op-log.ts';
import { router, z } from '../../../http/openapi.ts';
import { createImportJob, ImportView, jobView } from '../imports/jobs.ts';
import { fileResponse, receiveUpload, uploadBodyLimit, xlsxBytes } from '../uploads/xlsx.ts';
import { runImport } from './import.ts';
import { bookOf, checkGroups, filter, GENDER_OUT, loadContacts } from './queries.ts';
import { BOOK_TAG as TAG, BookParam } from './schemas.ts';
import { requires } from '../../../http/route-access.ts';

const base = router();
// Big bodies are cut off while they arrive, also without a Content-Length.
base.use('/api/industry/books/:book/import', uploadBodyLimit);

/** A book in and out of files: import (a background job) and export to Excel. */
export const bookFilesRoutes = base
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/books/{book}/import',
      middleware: [requires('contacts')],
      tags: TAG,
      summary: '导入联系人（TXT 或 Excel，可下载模板）：后台任务，返回任务号，轮询进度与逐行错误报告',
      description:
        'multipart/form-data：file；groupIds（逗号分隔，可空 → 未分配组）。列：姓名、手机号码、性别、生日、邮箱、单位、职务、地址、备注。' +
        '空文件、类型不符、过大的文件立即以 4xx 拒绝；其余在后台读取与写入，用 GET /api/industry/imports/{id} 查询进度（phase、percent）与结果。',
      request: { params: BookParam },
      responses: { 202: { description: '导入已开始', content: { 'application/json': { schema: ImportView } } } },
    }),
    async (c) => {
      const { book } = c.req.valid('param');
      const who = bookOf(c, book, true);
      const deps = c.get('deps');
      const { bytes, fields, name } = await receiveUpload(c);
      const groups = await checkGroups(
        deps.db,
        book,
        who,
        (fields.groupIds ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
      const job = createImportJob(deps, who, name.slice(0, 200));
      await opLog(c, '导入通讯录', name, { jobId: job.id });
      void runImport(deps, job, book, who, groups, bytes);
      return c.json(jobView(job), 202);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/books/{book}/export',
      middleware: [requires('contacts')],
      tags: TAG,
      summary: '导出联系人到 Excel（单元格已转义，防公式注入）',
      request: {
        params: BookParam,
        query: z.object({
          groupId: z.string().max(64).optional(),
          keyword: z.string().max(50).optional(),
          ids: z.string().max(100_000).optional(),
        }),
      },
      responses: { 200: { description: 'Excel 文件' } },
    }),
    async (c) => {
      const { book } = c.req.valid('param');
      const who = bookOf(c, book, false);
      const q = c.req.valid('query');
      const params: unknown[] = [];
      let where = filter(book, q, params);
      if (q.ids) {
        params.push(q.ids.split(',').filter(Boolean));
        where += ` AND c.id = ANY($${params.length + 2}::text[])`;
      }
      const items = await loadContacts(c.get('deps').db, book, who, where, params);
      const bytes = await xlsxBytes(
        '通讯录',
        ['姓名', '手机号码', '性别', '生日', '邮箱', '单位', '职务', '地址', '备注', book === 'personal' ? '分组' : '部门'],
        items.map((x) => [
          x.name,
          x.phone,
          GENDER_OUT[x.gender],
          x.birthday,
          x.email,
          x.company,
          x.title,
          x.address,
          x.remark,
          x.groupNames.join('、'),
        ]),
      );
      await opLog(c, '导出通讯录', `${items.length} 个`);
      return fileResponse(c, bytes, book === 'personal' ? '个人通讯录.xlsx' : '企业通讯录.xlsx');
    },
  );
