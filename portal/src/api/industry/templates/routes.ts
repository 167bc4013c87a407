import { createRoute } from '@hono/zod-openapi';
import { AppError } from '../../../errors.ts';
import { caller, iso } from '../../../http/context.ts';
import { opLog } from '../../../http/op-log.ts';
import { jsonBody, jsonOk, Ok, router, z } from '../../../http/openapi.ts';
import { newId } from '../scope.ts';
import { requires } from '../../../http/route-access.ts';

const TAG = ['行业短信-短信模板'];
const Template = z
  .object({
    id: z.string().openapi({ description: '模板编号', example: 't1a2b3c4-0000-4000-8000-000000000001' }),
    title: z.string().openapi({ description: '模板名称', example: '暴雨提醒' }),
    content: z.string().openapi({ description: '模板内容', example: '今日有暴雨，请减少外出，注意防范城市内涝。' }),
    updatedAt: z.string().openapi({ description: '最后修改时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
  })
  .openapi('SmsTemplate');
const TemplateBody = z.object({
  title: z
    .string({ error: '请输入模板名称' })
    .trim()
    .min(1, '请输入模板名称')
    .max(50, '模板名称最多 50 字')
    .openapi({ description: '模板名称，1–50 个字', example: '暴雨提醒' }),
  content: z
    .string({ error: '请输入模板内容' })
    .trim()
    .min(1, '请输入模板内容')
    .max(2000, '模板内容最多 2000 字')
    .openapi({ description: '模板内容，1–2,000 个字', example: '今日有暴雨，请减少外出，注意防范城市内涝。' }),
});

/** 短信模板: managed with 短信模板 permission, readable (to insert) with 发短信 too. */
export const templatesRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/templates',
      middleware: [requires('templates', 'sms.send')],
      tags: TAG,
      summary: '模板列表（发短信时插入）',
      request: { query: z.object({ keyword: z.string().max(50).optional() }) },
      responses: jsonOk(z.object({ items: z.array(Template).openapi({ description: '本账户的短信模板' }) })),
    }),
    async (c) => {
      const { enterpriseId, p: who } = caller(c);
      const k = c.req.valid('query').keyword?.trim();
      const { rows } = await c
        .get('deps')
        .db.query<{ id: string; title: string; content: string; updated_at: Date }>(
          `SELECT id, title, content, updated_at FROM sms_templates WHERE enterprise_id = $1 AND account_id = $2 ${k ? 'AND (title ILIKE $3 OR content ILIKE $3)' : ''} ORDER BY updated_at DESC LIMIT 500`,
          k ? [enterpriseId, who.accountId, `%${k.replace(/[\\%_]/g, (m) => `\\${m}`)}%`] : [enterpriseId, who.accountId],
        );
      return c.json({ items: rows.map((r) => ({ id: r.id, title: r.title, content: r.content, updatedAt: iso(r.updated_at)! })) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/templates',
      middleware: [requires('templates')],
      tags: TAG,
      summary: '新增模板',
      request: jsonBody(TemplateBody),
      responses: jsonOk(Template),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const b = c.req.valid('json');
      const id = newId();
      await c
        .get('deps')
        .db.query('INSERT INTO sms_templates (id, enterprise_id, account_id, title, content) VALUES ($1, $2, $3, $4, $5)', [
          id,
          enterpriseId,
          p.accountId,
          b.title,
          b.content,
        ]);
      await opLog(c, '新增短信模板', b.title);
      return c.json({ id, ...b, updatedAt: new Date().toISOString() }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/industry/templates/{id}',
      middleware: [requires('templates')],
      tags: TAG,
      summary: '编辑模板',
      request: { params: z.object({ id: z.string().max(64) }), ...jsonBody(TemplateBody) },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const { p } = caller(c);
      const b = c.req.valid('json');
      const r = await c
        .get('deps')
        .db.query('UPDATE sms_templates SET title = $3, content = $4, updated_at = now() WHERE id = $1 AND account_id = $2', [
          c.req.valid('param').id,
          p.accountId,
          b.title,
          b.content,
        ]);
      if (r.rowCount !== 1) throw new AppError('NOT_FOUND', '模板不存在');
      await opLog(c, '编辑短信模板', b.title);
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/api/industry/templates/{id}',
      middleware: [requires('templates')],
      tags: TAG,
      summary: '删除模板',
      request: { params: z.object({ id: z.string().max(64) }) },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const { p } = caller(c);
      const r = await c
        .get('deps')
        .db.query('DELETE FROM sms_templates WHERE id = $1 AND account_id = $2', [c.req.valid('param').id, p.accountId]);
      if (r.rowCount !== 1) throw new AppError('NOT_FOUND', '模板不存在');
      await opLog(c, '删除短信模板');
      return c.json({ ok: true as const }, 200);
    },
  );
