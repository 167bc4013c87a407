import { createRoute } from '@hono/zod-openapi';
import { AppError } from '../../errors.ts';
import { iso, principal } from '../../http/context.ts';
import { opLog } from '../../http/op-log.ts';
import { IdParam, jsonOk, Ok, Paging, router, z } from '../../http/openapi.ts';
import type { SqlRow } from '@geo/infra';

const Message = z
  .object({
    id: z.string().openapi({ description: '消息编号', example: 'm1a2b3c4-0000-4000-8000-000000000001' }),
    kind: z.string().openapi({ description: '类别，如 signature 签名审核、template 模板审核、feedback 反馈回复', example: 'feedback' }),
    title: z.string().openapi({ description: '标题', example: '您的意见反馈已有回复' }),
    body: z.string().openapi({ description: '正文，可为空串', example: '已修复，请刷新页面后重试。' }),
    read: z.boolean().openapi({ description: '是否已读', example: false }),
    createdAt: z.string().openapi({ description: '时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
  })
  .openapi('Message');
const tags = ['消息'];

export const messageRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/messages',
      tags,
      summary: '我的站内消息（审核结果、任务事件）',
      request: { query: Paging.extend({ unread: z.enum(['1', '0']).optional() }) },
      responses: jsonOk(
        z.object({
          items: z.array(Message).openapi({ description: '本页的消息，新的在前' }),
          total: z.number().openapi({ description: '符合条件的消息总数', example: 12 }),
          unread: z.number().openapi({ description: '未读消息数', example: 3 }),
          page: z.number().openapi({ description: '页码', example: 1 }),
          pageSize: z.number().openapi({ description: '每页条数', example: 20 }),
        }),
      ),
    }),
    async (c) => {
      const p = principal(c);
      const q = c.req.valid('query');
      const { db } = c.get('deps');
      const filter = q.unread === '1' ? 'AND read_at IS NULL' : '';
      const counts = await db.query<{ total: number; unread: number }>(
        `SELECT count(*)::int AS total, count(*) FILTER (WHERE read_at IS NULL)::int AS unread FROM messages WHERE account_id = $1`,
        [p.accountId],
      );
      const { rows } = await db.query<SqlRow>(
        `SELECT id, kind, title, body, read_at, created_at FROM messages WHERE account_id = $1 ${filter} ORDER BY created_at DESC LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize}`,
        [p.accountId],
      );
      const items = rows.map((r) => ({
        id: r.id,
        kind: r.kind,
        title: r.title,
        body: r.body,
        read: r.read_at != null,
        createdAt: iso(r.created_at)!,
      }));
      return c.json(
        { items, total: Number(counts.rows[0]!.total), unread: Number(counts.rows[0]!.unread), page: q.page, pageSize: q.pageSize },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/messages/{id}/read',
      tags,
      summary: '标为已读',
      request: { params: IdParam },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const p = principal(c);
      const r = await c
        .get('deps')
        .db.query('UPDATE messages SET read_at = coalesce(read_at, now()) WHERE id = $1 AND account_id = $2', [
          c.req.valid('param').id,
          p.accountId,
        ]);
      if (r.rowCount === 0) throw new AppError('NOT_FOUND', '消息不存在');
      await opLog(c, '消息标为已读', c.req.valid('param').id);
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({ method: 'post', path: '/api/messages/read-all', tags, summary: '全部标为已读', responses: jsonOk(Ok) }),
    async (c) => {
      const p = principal(c);
      await c.get('deps').db.query('UPDATE messages SET read_at = now() WHERE account_id = $1 AND read_at IS NULL', [p.accountId]);
      await opLog(c, '消息全部标为已读');
      return c.json({ ok: true as const }, 200);
    },
  );
