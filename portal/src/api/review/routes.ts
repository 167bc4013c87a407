import { createRoute } from '@hono/zod-openapi';
import { AppError } from '../../errors.ts';
import { iso, operator } from '../../http/context.ts';
import { notifyEnterprise } from '../../http/messages.ts';
import { opLog } from '../../http/op-log.ts';
import { IdParam, jsonBody, jsonOk, Ok, router, z } from '../../http/openapi.ts';
import { fileResponse } from '../settings/uploads.ts';
import { SELECT_SIGNATURE, Signature, toSignature } from '../signatures/routes.ts';
import type { SqlRow } from '@geo/infra';
import { operatorOnly } from '../../http/route-access.ts';

const StatusQuery = z.object({ status: z.enum(['pending', 'approved', 'rejected']).optional() });
const RejectBody = z.object({
  reason: z
    .string({ error: '请输入驳回原因' })
    .trim()
    .min(1, '请输入驳回原因')
    .max(200, '驳回原因最多 200 个字')
    .openapi({ description: '驳回原因，1–200 个字，申请人会在消息中看到', example: '签名与营业执照上的名称不符' }),
});
const ReplyBody = z.object({
  reply: z
    .string({ error: '请输入回复内容' })
    .trim()
    .min(1, '请输入回复内容')
    .max(1000, '回复最多 1000 个字')
    .openapi({ description: '回复内容，1–1,000 个字，提交人会在消息中看到', example: '已支持，见批量发送页的说明。' }),
});

const Qualification = z
  .object({
    id: z.string().openapi({ description: '资质证明编号', example: 'q1a2b3c4-0000-4000-8000-000000000001' }),
    enterpriseName: z.string().openapi({ description: '提交的集团', example: '杭州市应急管理局' }),
    title: z.string().openapi({ description: '资质名称', example: '营业执照' }),
    fileName: z.string().openapi({ description: '上传的文件名', example: '营业执照.pdf' }),
    status: z.string().openapi({ description: '状态：pending 待审核，approved 已通过，rejected 已驳回', example: 'pending' }),
    reason: z.string().openapi({ description: '驳回原因，未驳回为空串', example: '' }),
    createdAt: z.string().openapi({ description: '提交时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
    reviewedAt: z.string().nullable().openapi({ description: '审核时间（ISO 8601），未审核为 null', example: null }),
  })
  .openapi('QualificationForReview');
const Feedback = z
  .object({
    id: z.string().openapi({ description: '反馈编号', example: 'f1a2b3c4-0000-4000-8000-000000000001' }),
    enterpriseName: z.string().openapi({ description: '提交的集团', example: '杭州市应急管理局' }),
    submittedBy: z.string().nullable().openapi({ description: '提交人（账户名）；账户已删除时为 null', example: 'zhangsan' }),
    content: z.string().openapi({ description: '反馈内容', example: '批量发送页希望支持 CSV 文件。' }),
    contact: z.string().openapi({ description: '联系方式，未填为空串', example: '13800000000' }),
    reply: z.string().openapi({ description: '平台的回复，未回复为空串', example: '' }),
    repliedAt: z.string().nullable().openapi({ description: '回复时间（ISO 8601），未回复为 null', example: null }),
    createdAt: z.string().openapi({ description: '提交时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
  })
  .openapi('FeedbackForReview');

const tags = ['审核中心（平台运营）'];

/** Approving or rejecting: only while pending, and the enterprise hears the outcome as an in-app message. */
async function review(
  c: Parameters<typeof operator>[0],
  table: 'signatures' | 'qualifications',
  id: string,
  approve: boolean,
  reason: string,
) {
  const op = operator(c);
  const { db } = c.get('deps');
  const label = table === 'signatures' ? '签名' : '资质证明';
  const nameCol = table === 'signatures' ? 'text' : 'title';
  const submitterCol = table === 'signatures' ? 'account_id' : 'NULL::text';
  const { rows } = await db.query<{ status: string; enterprise_id: string; name: string; submitter: string | null }>(
    `SELECT status, enterprise_id, ${nameCol} AS name, ${submitterCol} AS submitter FROM ${table} WHERE id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) throw new AppError('NOT_FOUND', `${label}不存在`);
  if (r.status !== 'pending') throw new AppError('ALREADY_REVIEWED');
  await db.query(`UPDATE ${table} SET status = $2, reason = $3, reviewed_by = $4, reviewed_at = now() WHERE id = $1`, [
    id,
    approve ? 'approved' : 'rejected',
    reason,
    op.accountId,
  ]);
  await notifyEnterprise(
    db,
    r.enterprise_id,
    r.submitter,
    'review',
    `${label}「${r.name}」${approve ? '已通过审核' : '未通过审核'}`,
    approve ? '' : `驳回原因：${reason}`,
  );
  await opLog(c, `${approve ? '通过' : '驳回'}${label}`, r.name, { id, reason });
}

export const reviewRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/review/signatures',
      middleware: [operatorOnly],
      tags,
      summary: '待审核（或按状态）的签名',
      request: { query: StatusQuery },
      responses: jsonOk(z.object({ items: z.array(Signature).openapi({ description: '各集团提交的签名（可按状态筛选）' }) })),
    }),
    async (c) => {
      const { status } = c.req.valid('query');
      const { rows } = await c.get('deps').db.query(`${SELECT_SIGNATURE} WHERE s.status = $1 ORDER BY s.created_at`, [status ?? 'pending']);
      return c.json({ items: rows.map((r) => toSignature(r, true)) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/review/signatures/{id}/approve',
      middleware: [operatorOnly],
      tags,
      summary: '签名审核通过',
      request: { params: IdParam },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      await review(c, 'signatures', c.req.valid('param').id, true, '');
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/review/signatures/{id}/reject',
      middleware: [operatorOnly],
      tags,
      summary: '驳回签名（须填写原因）',
      request: { params: IdParam, ...jsonBody(RejectBody) },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      await review(c, 'signatures', c.req.valid('param').id, false, c.req.valid('json').reason);
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/review/qualifications',
      middleware: [operatorOnly],
      tags,
      summary: '资质证明审核列表',
      request: { query: StatusQuery },
      responses: jsonOk(z.object({ items: z.array(Qualification).openapi({ description: '各集团提交的资质证明（可按状态筛选）' }) })),
    }),
    async (c) => {
      const { status } = c.req.valid('query');
      const { rows } = await c.get('deps').db.query<SqlRow>(
        `SELECT q.id, e.name AS enterprise_name, q.title, u.file_name, q.status, q.reason, q.created_at, q.reviewed_at
           FROM qualifications q JOIN enterprises e ON e.id = q.enterprise_id JOIN uploads u ON u.id = q.upload_id
          WHERE q.status = $1 ORDER BY q.created_at`,
        [status ?? 'pending'],
      );
      return c.json(
        {
          items: rows.map((r) => ({
            id: r.id,
            enterpriseName: r.enterprise_name,
            title: r.title,
            fileName: r.file_name,
            status: r.status,
            reason: r.reason,
            createdAt: iso(r.created_at)!,
            reviewedAt: iso(r.reviewed_at),
          })),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/review/qualifications/{id}/file',
      middleware: [operatorOnly],
      tags,
      summary: '下载待审核的资质文件',
      request: { params: IdParam },
      responses: { 200: { description: '文件' } },
    }),
    async (c) => {
      const { rows } = await c
        .get('deps')
        .db.query<{ data: Uint8Array; content_type: string; file_name: string }>(
          'SELECT u.data, u.content_type, u.file_name FROM qualifications q JOIN uploads u ON u.id = q.upload_id WHERE q.id = $1',
          [c.req.valid('param').id],
        );
      if (!rows[0]) throw new AppError('NOT_FOUND');
      return fileResponse(c, rows[0], true);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/review/qualifications/{id}/approve',
      middleware: [operatorOnly],
      tags,
      summary: '资质证明审核通过',
      request: { params: IdParam },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      await review(c, 'qualifications', c.req.valid('param').id, true, '');
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/review/qualifications/{id}/reject',
      middleware: [operatorOnly],
      tags,
      summary: '驳回资质证明',
      request: { params: IdParam, ...jsonBody(RejectBody) },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      await review(c, 'qualifications', c.req.valid('param').id, false, c.req.valid('json').reason);
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/review/feedback',
      middleware: [operatorOnly],
      tags,
      summary: '全部意见反馈',
      responses: jsonOk(z.object({ items: z.array(Feedback).openapi({ description: '各集团的意见反馈，新的在前' }) })),
    }),
    async (c) => {
      const { rows } = await c.get('deps').db.query<SqlRow>(
        `SELECT f.id, e.name AS enterprise_name, a.name AS submitted_by, f.content, f.contact, f.reply, f.replied_at, f.created_at
           FROM feedback f JOIN enterprises e ON e.id = f.enterprise_id LEFT JOIN accounts a ON a.id = f.account_id ORDER BY f.created_at DESC LIMIT 500`,
      );
      return c.json(
        {
          items: rows.map((r) => ({
            id: r.id,
            enterpriseName: r.enterprise_name,
            submittedBy: r.submitted_by ?? null,
            content: r.content,
            contact: r.contact,
            reply: r.reply,
            repliedAt: iso(r.replied_at),
            createdAt: iso(r.created_at)!,
          })),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/review/feedback/{id}/reply',
      middleware: [operatorOnly],
      tags,
      summary: '回复意见反馈',
      request: { params: IdParam, ...jsonBody(ReplyBody) },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const op = operator(c);
      const { db } = c.get('deps');
      const { reply } = c.req.valid('json');
      const { rows } = await db.query<{ enterprise_id: string; account_id: string | null }>(
        'UPDATE feedback SET reply = $2, replied_by = $3, replied_at = now() WHERE id = $1 RETURNING enterprise_id, account_id',
        [c.req.valid('param').id, reply, op.accountId],
      );
      if (!rows[0]) throw new AppError('NOT_FOUND', '反馈不存在');
      await notifyEnterprise(db, rows[0].enterprise_id, rows[0].account_id, 'feedback', '您的意见反馈已有回复', reply);
      await opLog(c, '回复意见反馈', c.req.valid('param').id);
      return c.json({ ok: true as const }, 200);
    },
  );
