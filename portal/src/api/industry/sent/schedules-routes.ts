import { createRoute } from '@hono/zod-openapi';
import { AppError } from '../../../errors.ts';
import { caller } from '../../../http/context.ts';
import { opLog } from '../../../http/op-log.ts';
import { jsonBody, jsonOk, Ok, router, z } from '../../../http/openapi.ts';
import { refund } from '../send/service.ts';
import { IdParam, Ids, ListQuery, ListResult, listSends } from './queries.ts';
import { requires } from '../../../http/route-access.ts';

/** Scheduled sends (定时短信): list, change the time, delete with a refund. */
export const schedulesRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/schedules',
      middleware: [requires('sms.send')],
      tags: ['行业短信-定时发件箱'],
      summary: '定时发件箱',
      request: { query: ListQuery },
      responses: jsonOk(ListResult),
    }),
    async (c) => c.json(await listSends(c, c.get('deps').db, ['scheduled'], c.req.valid('query')), 200),
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/industry/schedules/{id}',
      middleware: [requires('sms.send')],
      tags: ['行业短信-定时发件箱'],
      summary: '修改定时发送的时间',
      request: {
        params: IdParam,
        ...jsonBody(
          z.object({
            scheduledAt: z
              .string({ error: '请选择发送时间' })
              .datetime({ offset: true, message: '发送时间格式有误' })
              .openapi({ description: '新的发送时间（ISO 8601，带时区）', example: '2026-03-02T08:00:00+08:00' }),
          }),
        ),
      },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const at = new Date(c.req.valid('json').scheduledAt);
      if (at.getTime() <= Date.now()) throw new AppError('VALIDATION', '定时发送的时间必须晚于现在');
      if (at.getTime() > Date.now() + 366 * 86_400_000) throw new AppError('VALIDATION', '定时发送的时间不能超过一年');
      const { db } = c.get('deps');
      const { id } = c.req.valid('param');
      const r = await db.query(
        `UPDATE sms_sends SET scheduled_at = $4 WHERE id = $1 AND enterprise_id = $2 AND account_id = $3 AND state = 'scheduled'`,
        [id, enterpriseId, p.accountId, at],
      );
      if (r.rowCount !== 1) {
        const { rows } = await db.query('SELECT 1 FROM sms_sends WHERE id = $1 AND enterprise_id = $2 AND account_id = $3', [
          id,
          enterpriseId,
          p.accountId,
        ]);
        throw rows[0] ? new AppError('NOT_SCHEDULED') : new AppError('NOT_FOUND', '定时短信不存在');
      }
      await db.query(`UPDATE sms_extensions SET expires_at = $2::timestamptz + interval '7 days' WHERE send_id = $1`, [id, at]);
      await opLog(c, '修改定时发送时间', id, { scheduledAt: at.toISOString() });
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/schedules/delete',
      middleware: [requires('sms.send')],
      tags: ['行业短信-定时发件箱'],
      summary: '删除定时短信（退回预扣的条数）',
      request: jsonBody(Ids),
      responses: jsonOk(z.object({ deleted: z.number().openapi({ description: '取消的定时发送数', example: 1 }) })),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const ids = c.req.valid('json').ids;
      const n = await db.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: string; billing_count: number }>(
          `UPDATE sms_sends SET state = 'cancelled' WHERE id = ANY($1::text[]) AND enterprise_id = $2 AND account_id = $3 AND state = 'scheduled' RETURNING id, billing_count`,
          [ids, enterpriseId, p.accountId],
        );
        if (rows.length !== new Set(ids).size) throw new AppError('NOT_SCHEDULED', '所选短信中有已发出、已删除或不属于您的记录');
        for (const r of rows) await refund(tx, enterpriseId, r.id, Number(r.billing_count));
        await tx.query('DELETE FROM sms_extensions WHERE send_id = ANY($1::text[])', [ids]);
        return rows.length;
      });
      await opLog(c, '删除定时短信', `${n} 条`);
      return c.json({ deleted: n }, 200);
    },
  );
