import { createRoute } from '@hono/zod-openapi';
import { iso, caller } from '../../../http/context.ts';
import { jsonOk, router, z } from '../../../http/openapi.ts';
import { DateParam } from '../schemas.ts';
import { likePattern, timeBounds, visibleAccounts } from '../scope.ts';
import { requires } from '../../../http/route-access.ts';

const TAG = ['行业短信-收件箱'];
const Query = z.object({
  from: DateParam.optional(),
  to: DateParam.optional(),
  keyword: z.string().max(50).optional(),
  sendId: z.string().max(64).optional(),
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(20),
});

/**
 * Replies visible to the caller: to its own sends and its subordinates' sends; replies matched to no
 * send only to those who see the whole enterprise (the admin).
 */
function where(q: z.infer<typeof Query>, params: unknown[], all: boolean): string {
  const add = (v: unknown) => `$${params.push(v)}`;
  let w = `i.enterprise_id = $1 AND (s.account_id = ANY($2::text[])${all ? ' OR i.send_id IS NULL' : ''})`;
  const { from, to } = timeBounds(q.from, q.to);
  if (from) w += ` AND i.received_at >= ${add(from)}`;
  if (to) w += ` AND i.received_at < ${add(to)}`;
  if (q.keyword?.trim()) {
    const k = add(likePattern(q.keyword.trim()));
    w += ` AND (i.text ILIKE ${k} OR i.from_msisdn LIKE ${k} OR s.subject ILIKE ${k})`;
  }
  if (q.sendId) w += ` AND i.send_id = ${add(q.sendId)}`;
  return w;
}

export const inboxRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/inbox',
      middleware: [requires('inbox')],
      tags: TAG,
      summary: '全部收件：按时间、关键字查找回复（可按所回复的发送过滤）',
      request: { query: Query },
      responses: jsonOk(
        z.object({
          items: z
            .array(
              z.object({
                id: z.string().openapi({ description: '回复编号', example: 'r1a2b3c4-0000-4000-8000-000000000001' }),
                from: z.string().openapi({ description: '回复人的手机号码', example: '13800000001' }),
                to: z.string().openapi({ description: '回复到的号码（接入号加扩展码）', example: '106901234500012' }),
                text: z.string().openapi({ description: '回复内容', example: '收到，准时到岗' }),
                receivedAt: z.string().openapi({ description: '收到时间（ISO 8601）', example: '2026-03-01T08:05:00.000Z' }),
                sendId: z
                  .string()
                  .nullable()
                  .openapi({ description: '所回复的发送的编号；无法对应时为 null', example: 's1a2b3c4-0000-4000-8000-000000000001' }),
                subject: z.string().nullable().openapi({ description: '所回复的发送的主题；无法对应时为 null', example: '消防演练通知' }),
                forwardedTo: z.string().nullable().openapi({ description: '已转发到的手机号码；未转发为 null' }),
              }),
            )
            .openapi({ description: '本页的回复，新的在前' }),
          total: z.number().openapi({ description: '符合条件的回复总数', example: 42 }),
        }),
      ),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const q = c.req.valid('query');
      const { db } = c.get('deps');
      const params: unknown[] = [enterpriseId, await visibleAccounts(db, p, enterpriseId)];
      const w = where(q, params, p.role === 'admin');
      const from = 'sms_inbox i LEFT JOIN sms_sends s ON s.id = i.send_id';
      const { rows: n } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${from} WHERE ${w}`, params);
      const { rows } = await db.query<{
        id: string;
        from_msisdn: string;
        to_number: string;
        text: string;
        received_at: Date;
        send_id: string | null;
        subject: string | null;
        forwarded_to: string | null;
      }>(
        `SELECT i.id, i.from_msisdn, i.to_number, i.text, i.received_at, i.send_id, s.subject, i.forwarded_to FROM ${from} WHERE ${w}
          ORDER BY i.received_at DESC LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize}`,
        params,
      );
      return c.json(
        {
          items: rows.map((r) => ({
            id: r.id,
            from: r.from_msisdn,
            to: r.to_number,
            text: r.text,
            receivedAt: iso(r.received_at)!,
            sendId: r.send_id,
            subject: r.subject,
            forwardedTo: r.forwarded_to,
          })),
          total: Number(n[0]?.n ?? 0),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/inbox/subjects',
      middleware: [requires('inbox')],
      tags: TAG,
      summary: '主题收件：按所回复的发送（主题）汇总，可按时间、关键字查询',
      request: { query: Query },
      responses: jsonOk(
        z.object({
          items: z
            .array(
              z.object({
                sendId: z.string().openapi({ description: '所回复的发送的编号', example: 's1a2b3c4-0000-4000-8000-000000000001' }),
                subject: z.string().openapi({ description: '该发送的主题', example: '消防演练通知' }),
                replies: z.number().openapi({ description: '回复条数', example: 8 }),
                lastAt: z.string().openapi({ description: '最近一条回复的时间（ISO 8601）', example: '2026-03-01T09:30:00.000Z' }),
                sentAt: z.string().openapi({ description: '发送时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
              }),
            )
            .openapi({ description: '有回复的发送（主题），最近回复的在前' }),
        }),
      ),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const q = c.req.valid('query');
      const { db } = c.get('deps');
      const params: unknown[] = [enterpriseId, await visibleAccounts(db, p, enterpriseId)];
      const w = where(q, params, false);
      const { rows } = await db.query<{ send_id: string; subject: string; n: string; last_at: Date; created_at: Date }>(
        `SELECT i.send_id, s.subject, count(*) AS n, max(i.received_at) AS last_at, s.created_at FROM sms_inbox i JOIN sms_sends s ON s.id = i.send_id
          WHERE ${w} GROUP BY i.send_id, s.subject, s.created_at ORDER BY max(i.received_at) DESC LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize}`,
        params,
      );
      return c.json(
        {
          items: rows.map((r) => ({
            sendId: r.send_id,
            subject: r.subject,
            replies: Number(r.n),
            lastAt: iso(r.last_at)!,
            sentAt: iso(r.created_at)!,
          })),
        },
        200,
      );
    },
  );
