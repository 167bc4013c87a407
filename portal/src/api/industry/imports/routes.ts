import { createRoute } from '@hono/zod-openapi';
import { AppError } from '../../../errors.ts';
import { caller, callerHolding } from '../../../http/context.ts';
import { jsonOk, router, z } from '../../../http/openapi.ts';
import { BOOK_TAG as TAG } from '../books/schemas.ts';
import { importJob, ImportView, jobView } from './jobs.ts';
import { requires } from '../../../http/route-access.ts';

/** The progress and result of a job of any kind, from any instance (see importJobsAcrossInstances). */
export const importsRoutes = router().openapi(
  createRoute({
    method: 'get',
    path: '/api/industry/imports/{id}',
    middleware: [requires('contacts', 'sms.send')],
    tags: TAG,
    summary: '通讯录导入、批量 / 定制发送文件检查的进度与结果（进度条）',
    request: { params: z.object({ id: z.string().max(64) }) },
    responses: jsonOk(ImportView),
  }),
  async (c) => {
    const who = caller(c);
    const job = importJob(c.get('deps'), c.req.valid('param').id, { enterpriseId: who.enterpriseId, accountId: who.p.accountId });
    if (!job) throw new AppError('IMPORT_NOT_FOUND');
    callerHolding(c, job.kind === 'contacts' ? 'contacts' : 'sms.send');
    return c.json(jobView(job), 200);
  },
);
