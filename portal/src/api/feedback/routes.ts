import { createRoute } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { iso, caller } from '../../http/context.ts';
import { opLog } from '../../http/op-log.ts';
import { jsonBody, jsonOk, router, z } from '../../http/openapi.ts';
import { Text } from '../../http/schemas.ts';
import type { SqlRow } from '@geo/infra';
import { inEnterprise } from '../../http/route-access.ts';

const Feedback = z
  .object({
    id: z.string().openapi({ description: '反馈编号', example: 'f1a2b3c4-0000-4000-8000-000000000001' }),
    submittedBy: z.string().nullable().openapi({ description: '提交人（账户名）；账户已删除时为 null', example: 'zhangsan' }),
    content: z.string().openapi({ description: '反馈内容', example: '批量发送页希望支持 CSV 文件。' }),
    contact: z.string().openapi({ description: '联系方式，未填为空串', example: '13800000000' }),
    reply: z.string().openapi({ description: '平台的回复，未回复为空串', example: '已支持，见批量发送页的说明。' }),
    repliedAt: z.string().nullable().openapi({ description: '回复时间（ISO 8601），未回复为 null', example: '2026-03-02T09:00:00.000Z' }),
    createdAt: z.string().openapi({ description: '提交时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
  })
  .openapi('Feedback');
const NewFeedback = z
  .object({
    content: z
      .string({ error: '请输入反馈内容' })
      .trim()
      .min(5, '反馈内容至少 5 个字')
      .max(2000, '反馈内容最多 2000 个字')
      .openapi({ description: '反馈内容，5–2,000 个字', example: '批量发送页希望支持 CSV 文件。' }),
    contact: Text('联系方式', 64).default('').openapi({ description: '联系方式（电话或邮箱），可为空', example: '13800000000' }),
  })
  .openapi('NewFeedback');
const tags = ['意见反馈'];

export const feedbackRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/feedback',
      middleware: [inEnterprise],
      tags,
      summary: '本集团提交的意见反馈及回复',
      responses: jsonOk(z.object({ items: z.array(Feedback).openapi({ description: '本集团的意见反馈，新的在前' }) })),
    }),
    async (c) => {
      const { enterpriseId } = caller(c);
      const { rows } = await c.get('deps').db.query<SqlRow>(
        `SELECT f.id, a.name AS submitted_by, f.content, f.contact, f.reply, f.replied_at, f.created_at
           FROM feedback f LEFT JOIN accounts a ON a.id = f.account_id WHERE f.enterprise_id = $1 ORDER BY f.created_at DESC LIMIT 200`,
        [enterpriseId],
      );
      const items = rows.map((r) => ({
        id: r.id,
        submittedBy: r.submitted_by ?? null,
        content: r.content,
        contact: r.contact,
        reply: r.reply,
        repliedAt: iso(r.replied_at),
        createdAt: iso(r.created_at)!,
      }));
      return c.json({ items }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/feedback',
      middleware: [inEnterprise],
      tags,
      summary: '提交意见反馈',
      request: jsonBody(NewFeedback),
      responses: jsonOk(
        z.object({ id: z.string().openapi({ description: '新反馈的编号', example: 'f1a2b3c4-0000-4000-8000-000000000001' }) }),
      ),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const b = c.req.valid('json');
      const id = randomUUID();
      await c
        .get('deps')
        .db.query('INSERT INTO feedback (id, enterprise_id, account_id, content, contact) VALUES ($1, $2, $3, $4, $5)', [
          id,
          enterpriseId,
          p.accountId,
          b.content,
          b.contact,
        ]);
      await opLog(c, '提交意见反馈', b.content.slice(0, 40));
      return c.json({ id }, 200);
    },
  );
