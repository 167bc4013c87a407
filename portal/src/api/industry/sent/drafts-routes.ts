import { createRoute } from '@hono/zod-openapi';
import { AppError } from '../../../errors.ts';
import { iso, caller } from '../../../http/context.ts';
import { opLog } from '../../../http/op-log.ts';
import { jsonBody, jsonOk, router, z } from '../../../http/openapi.ts';
import { IdParam, Ids } from './queries.ts';
import { requires } from '../../../http/route-access.ts';

/** Drafts (草稿箱). */
export const draftsRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/drafts',
      middleware: [requires('sms.send')],
      tags: ['行业短信-草稿箱'],
      summary: '草稿箱',
      request: {
        query: z.object({ page: z.coerce.number().int().min(1).default(1), pageSize: z.coerce.number().int().min(1).max(200).default(20) }),
      },
      responses: jsonOk(
        z.object({
          items: z
            .array(
              z.object({
                id: z.string().openapi({ description: '草稿编号', example: 'd1a2b3c4-0000-4000-8000-000000000001' }),
                mode: z.string().openapi({ description: '发送方式：normal 普通发送，batch 批量发送，merge 定制发送', example: 'normal' }),
                subject: z.string().openapi({ description: '发送主题', example: '消防演练通知' }),
                content: z.string().openapi({ description: '短信内容', example: '今晚 20:00 起进行消防演练，请值班人员提前到岗。' }),
                updatedAt: z.string().openapi({ description: '保存时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
              }),
            )
            .openapi({ description: '本页的草稿，新的在前' }),
          total: z.number().openapi({ description: '草稿总数', example: 3 }),
        }),
      ),
    }),
    async (c) => {
      const { p } = caller(c);
      const q = c.req.valid('query');
      const { db } = c.get('deps');
      const { rows: n } = await db.query<{ n: string }>('SELECT count(*) AS n FROM sms_drafts WHERE account_id = $1', [p.accountId]);
      const { rows } = await db.query<{ id: string; mode: string; subject: string; content: string; updated_at: Date }>(
        `SELECT id, mode, subject, content, updated_at FROM sms_drafts WHERE account_id = $1 ORDER BY updated_at DESC LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize}`,
        [p.accountId],
      );
      return c.json(
        {
          items: rows.map((r) => ({ id: r.id, mode: r.mode, subject: r.subject, content: r.content, updatedAt: iso(r.updated_at)! })),
          total: Number(n[0]?.n ?? 0),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/drafts/{id}',
      middleware: [requires('sms.send')],
      tags: ['行业短信-草稿箱'],
      summary: '草稿内容（在发短信页面打开并发送）',
      request: { params: IdParam },
      responses: jsonOk(
        z.object({
          id: z.string().openapi({ description: '草稿编号', example: 'd1a2b3c4-0000-4000-8000-000000000001' }),
          payload: z
            .record(z.string(), z.unknown())
            .openapi({ description: '保存时的发送表单（与 POST /api/industry/sends 的请求相同），用于继续编辑' }),
          updatedAt: z.string().openapi({ description: '保存时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
        }),
      ),
    }),
    async (c) => {
      const { p } = caller(c);
      const { rows } = await c
        .get('deps')
        .db.query<{ id: string; payload: unknown; updated_at: Date }>(
          'SELECT id, payload, updated_at FROM sms_drafts WHERE id = $1 AND account_id = $2',
          [c.req.valid('param').id, p.accountId],
        );
      if (!rows[0]) throw new AppError('NOT_FOUND', '草稿不存在');
      const payload = (typeof rows[0].payload === 'string' ? JSON.parse(rows[0].payload) : rows[0].payload) as Record<string, unknown>;
      return c.json({ id: rows[0].id, payload, updatedAt: iso(rows[0].updated_at)! }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/drafts/delete',
      middleware: [requires('sms.send')],
      tags: ['行业短信-草稿箱'],
      summary: '删除草稿',
      request: jsonBody(Ids),
      responses: jsonOk(z.object({ deleted: z.number().openapi({ description: '删除的草稿数', example: 2 }) })),
    }),
    async (c) => {
      const { p } = caller(c);
      const r = await c
        .get('deps')
        .db.query('DELETE FROM sms_drafts WHERE id = ANY($1::text[]) AND account_id = $2', [c.req.valid('json').ids, p.accountId]);
      if (r.rowCount === 0) throw new AppError('NOT_FOUND', '草稿不存在');
      await opLog(c, '删除草稿', `${r.rowCount} 条`);
      return c.json({ deleted: r.rowCount }, 200);
    },
  );
