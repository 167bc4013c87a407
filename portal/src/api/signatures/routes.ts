import { createRoute } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import type { Queryable } from '@geo/infra';
import { AppError } from '../../errors.ts';
import { iso, caller } from '../../http/context.ts';
import { opLog } from '../../http/op-log.ts';
import { IdParam, jsonBody, jsonOk, Ok, router, z } from '../../http/openapi.ts';
import type { SqlRow } from '@geo/infra';
import { inEnterprise, requires } from '../../http/route-access.ts';

export const Signature = z
  .object({
    id: z.string().openapi({ description: '签名编号', example: '5b9e0d1c-2a3f-4b6e-8d7c-1f0e2d3c4b5a' }),
    text: z.string().openapi({ description: '签名文字（不含【】，发送时自动加上）', example: '杭州应急' }),
    status: z
      .enum(['pending', 'approved', 'rejected'])
      .openapi({ description: '审核状态：pending 待审核，approved 已通过，rejected 已驳回', example: 'approved' }),
    reason: z.string().openapi({ description: '驳回原因，未驳回为空串', example: '' }),
    isDefault: z.boolean().openapi({ description: '是否为本集团的默认签名', example: true }),
    submittedBy: z.string().nullable().openapi({ description: '提交人的账户名，账户已删除为 null', example: 'zhangsan' }),
    enterpriseName: z.string().optional().openapi({ description: '所属集团名称（仅平台运营审核列表返回）', example: '杭州市应急管理局' }),
    reviewedAt: z.string().nullable().openapi({ description: '审核时间（ISO 8601），未审核为 null', example: '2026-03-02T09:30:00.000Z' }),
    createdAt: z.string().openapi({ description: '提交时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
  })
  .openapi('Signature');

/** 2–20 characters, no brackets (the platform adds 【】 when sending). */
const SignatureText = z
  .string({ error: '请输入签名内容' })
  .trim()
  .min(2, '签名至少 2 个字')
  .max(20, '签名最多 20 个字')
  .refine((s) => !/[【】[\]]/.test(s), '签名内容不要包含【】，发送时会自动加上')
  .openapi({ description: '签名文字，2–20 个字，不含【】（发送时自动加上）', example: '杭州应急' });

export const SELECT_SIGNATURE = `SELECT s.id, s.text, s.status, s.reason, s.is_default, a.name AS submitted_by, e.name AS enterprise_name, s.reviewed_at, s.created_at
  FROM signatures s LEFT JOIN accounts a ON a.id = s.account_id JOIN enterprises e ON e.id = s.enterprise_id`;

export const toSignature = (r: SqlRow, withEnterprise = false) => ({
  id: r.id,
  text: r.text,
  status: r.status,
  reason: r.reason,
  isDefault: r.is_default,
  submittedBy: r.submitted_by ?? null,
  ...(withEnterprise ? { enterpriseName: r.enterprise_name } : {}),
  reviewedAt: iso(r.reviewed_at),
  createdAt: iso(r.created_at)!,
});

async function one(db: Queryable, enterpriseId: string, id: string) {
  const { rows } = await db.query(`${SELECT_SIGNATURE} WHERE s.id = $1 AND s.enterprise_id = $2`, [id, enterpriseId]);
  if (!rows[0]) throw new AppError('NOT_FOUND', '签名不存在');
  return toSignature(rows[0]);
}

const tags = ['签名管理'];

export const signatureRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/signatures',
      middleware: [requires('signatures')],
      tags,
      summary: '本集团的签名（全部状态）',
      request: { query: z.object({ status: z.enum(['pending', 'approved', 'rejected']).optional() }) },
      responses: jsonOk(z.object({ items: z.array(Signature).openapi({ description: '签名列表' }) })),
    }),
    async (c) => {
      const { enterpriseId } = caller(c);
      const { status } = c.req.valid('query');
      const { rows } = await c
        .get('deps')
        .db.query(`${SELECT_SIGNATURE} WHERE s.enterprise_id = $1 AND ($2::text IS NULL OR s.status = $2) ORDER BY s.created_at DESC`, [
          enterpriseId,
          status ?? null,
        ]);
      return c.json({ items: rows.map((r) => toSignature(r)) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/signatures/usable',
      middleware: [inEnterprise],
      tags,
      summary: '可用于发送的签名（仅已审核通过），含当前账户的默认签名',
      responses: jsonOk(
        z.object({
          items: z.array(Signature).openapi({ description: '本集团已通过的签名' }),
          defaultId: z
            .string()
            .nullable()
            .openapi({ description: '默认签名编号，未设置为 null', example: '5b9e0d1c-2a3f-4b6e-8d7c-1f0e2d3c4b5a' }),
        }),
      ),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      if (!['sms.send', 'bigdata.send', 'signatures', 'accounts'].some((f) => p.permissions.has(f as never)))
        throw new AppError('FORBIDDEN');
      const { db } = c.get('deps');
      const { rows } = await db.query(
        `${SELECT_SIGNATURE} WHERE s.enterprise_id = $1 AND s.status = 'approved' ORDER BY s.is_default DESC, s.text`,
        [enterpriseId],
      );
      const own = await db.query<{ default_signature_id: string | null }>('SELECT default_signature_id FROM accounts WHERE id = $1', [
        p.accountId,
      ]);
      const items = rows.map((r) => toSignature(r));
      const mine = own.rows[0]?.default_signature_id;
      const defaultId = items.find((s) => s.id === mine)?.id ?? items.find((s) => s.isDefault)?.id ?? null;
      return c.json({ items, defaultId }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/signatures',
      middleware: [requires('signatures')],
      tags,
      summary: '新增签名（提交审核）',
      request: jsonBody(z.object({ text: SignatureText }).openapi('NewSignature')),
      responses: jsonOk(Signature),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const { text } = c.req.valid('json');
      const dup = await db.query('SELECT 1 FROM signatures WHERE enterprise_id = $1 AND text = $2', [enterpriseId, text]);
      if (dup.rows[0]) throw new AppError('NAME_TAKEN', `签名「${text}」已存在`);
      const id = randomUUID();
      await db.query('INSERT INTO signatures (id, enterprise_id, account_id, text) VALUES ($1, $2, $3, $4)', [
        id,
        enterpriseId,
        p.accountId,
        text,
      ]);
      await opLog(c, '新增签名', text);
      return c.json(await one(db, enterpriseId, id), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/signatures/{id}/default',
      middleware: [requires('signatures')],
      tags,
      summary: '设为集团默认签名（须已审核通过）',
      request: { params: IdParam },
      responses: jsonOk(Signature),
    }),
    async (c) => {
      const { enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const s = await one(db, enterpriseId, c.req.valid('param').id);
      if (s.status !== 'approved') throw new AppError('SIGNATURE_NOT_APPROVED');
      await db.transaction(async (tx) => {
        await tx.query('UPDATE signatures SET is_default = false WHERE enterprise_id = $1', [enterpriseId]);
        await tx.query('UPDATE signatures SET is_default = true WHERE id = $1', [s.id]);
      });
      await opLog(c, '设置默认签名', s.text);
      return c.json(await one(db, enterpriseId, s.id), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/api/signatures/{id}',
      middleware: [requires('signatures')],
      tags,
      summary: '删除签名',
      request: { params: IdParam },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const { enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const s = await one(db, enterpriseId, c.req.valid('param').id);
      await db.transaction(async (tx) => {
        await tx.query('UPDATE accounts SET default_signature_id = NULL WHERE default_signature_id = $1', [s.id]);
        await tx.query('DELETE FROM signatures WHERE id = $1', [s.id]);
      });
      await opLog(c, '删除签名', s.text);
      return c.json({ ok: true as const }, 200);
    },
  );
