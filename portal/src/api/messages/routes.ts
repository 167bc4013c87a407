import { createRoute } from '@hono/zod-openapi';
import { AppError } from '../../errors.ts';
import { iso, principal } from '../../http/context.ts';
import { opLog } from '../../http/op-log.ts';
import { IdParam, jsonOk, Ok, Paging, router, z } from '../../http/openapi.ts';
import type { SqlRow } from '@geo/infra';

const Message = z
  .object({ id: z.string(), kind: z.string(), title: z.string(), body: z.string(), read: z.boolean(), createdAt: z.string() })
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
        z.object({ items: z.array(Message), total: z.number(), unread: z.number(), page: z.number(), pageSize: z.number() }),
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
