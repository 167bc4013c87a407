import { createRoute } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { AppError } from '../../errors.ts';
import { iso, principal, type Ctx, caller } from '../../http/context.ts';
import { opLog } from '../../http/op-log.ts';
import { DateRange, IdParam, jsonOk, Ok, Paging, router, z } from '../../http/openapi.ts';
import { pagedOf } from '../../http/schemas.ts';
import { fileResponse, LOGO_RULE, QUALIFICATION_RULE, storeUpload } from './uploads.ts';
import type { SqlRow } from '@geo/infra';
import { requires, requiresOrOperator } from '../../http/route-access.ts';

const LogQuery = Paging.extend(DateRange.shape).extend({ keyword: z.string().trim().max(64).optional() });

const OpLogEntry = z
  .object({
    id: z.number().openapi({ description: '日志序号', example: 10231 }),
    accountName: z.string().openapi({ description: '操作人的账户名', example: 'zhangsan' }),
    action: z.string().openapi({ description: '操作', example: '添加子账户' }),
    target: z.string().openapi({ description: '操作对象', example: 'lisi' }),
    detail: z.unknown().openapi({ description: '操作详情（随操作而不同的 JSON）', example: { permissions: ['bigdata'] } }),
    ip: z.string().openapi({ description: '操作人的 IP 地址', example: '10.20.1.15' }),
    at: z.string().openapi({ description: '操作时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
  })
  .openapi('OpLogEntry');
const LoginLogEntry = z
  .object({
    id: z.number().openapi({ description: '日志序号', example: 5120 }),
    accountName: z.string().openapi({ description: '登录时填写的账户名', example: 'zhangsan' }),
    ip: z.string().openapi({ description: '登录来源 IP 地址', example: '10.20.1.15' }),
    userAgent: z
      .string()
      .openapi({ description: '浏览器标识（User-Agent）', example: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0' }),
    success: z.boolean().openapi({ description: '是否登录成功', example: false }),
    reason: z.string().openapi({ description: '失败原因，成功为空串', example: '密码错误' }),
    at: z.string().openapi({ description: '登录时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
  })
  .openapi('LoginLogEntry');
const Qualification = z
  .object({
    id: z.string().openapi({ description: '资质文件编号', example: '8e3f1a2b-4c5d-4e6f-9a0b-1c2d3e4f5a6b' }),
    title: z.string().openapi({ description: '资质名称', example: '营业执照' }),
    fileName: z.string().openapi({ description: '上传的文件名', example: '营业执照.pdf' }),
    size: z.number().openapi({ description: '文件大小（字节）', example: 245760 }),
    status: z.string().openapi({ description: '审核状态：pending 待审核，approved 已通过，rejected 已驳回', example: 'pending' }),
    reason: z.string().openapi({ description: '驳回原因，未驳回为空串', example: '' }),
    createdAt: z.string().openapi({ description: '上传时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
    reviewedAt: z.string().nullable().openapi({ description: '审核时间（ISO 8601），未审核为 null', example: null }),
  })
  .openapi('Qualification');
const Branding = z
  .object({
    platformName: z.string().openapi({ description: '平台名称（显示在登录页和页头）', example: '翼讯通短信平台' }),
    logoUrl: z.string().nullable().openapi({
      description: 'LOGO 图片地址，未上传为 null（使用默认 LOGO）',
      example: '/api/branding/logo?v=8e3f1a2b-4c5d-4e6f-9a0b-1c2d3e4f5a6b',
    }),
  })
  .openapi('Branding');
const FileForm = {
  body: {
    required: true,
    content: {
      'multipart/form-data': {
        schema: z.object({
          file: z.any().optional().openapi({ type: 'string', format: 'binary', description: '上传的文件' }),
          title: z.string().optional().openapi({ description: '资质名称（仅上传资质时）', example: '营业执照' }),
        }),
      },
    },
  },
};

const tags = ['平台设置'];

/** The log scope: an operator sees the whole platform, everyone else their enterprise (with 操作日志 permission). */
function logScope(c: Ctx): string | null {
  const p = principal(c);
  if (p.role === 'operator') return null;
  return caller(c).enterpriseId;
}

/** WHERE clause for a log table: tenant, keyword over the given columns, date range (a bare date `to` includes that day). */
function logWhere(scope: string | null, q: z.infer<typeof LogQuery>, columns: string[]) {
  const where: string[] = [];
  const args: unknown[] = [];
  if (scope) {
    args.push(scope);
    where.push(`enterprise_id = $${args.length}`);
  }
  if (q.keyword) {
    args.push(`%${q.keyword.replace(/[\\%_]/g, (m) => '\\' + m)}%`);
    where.push(`(${columns.map((col) => `${col} ILIKE $${args.length}`).join(' OR ')})`);
  }
  if (q.from) {
    args.push(q.from);
    where.push(`at >= $${args.length}::timestamptz`);
  }
  if (q.to) {
    args.push(q.to);
    where.push(q.to.length === 10 ? `at < $${args.length}::date + 1` : `at <= $${args.length}::timestamptz`);
  }
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}

async function logoOf(c: Ctx): Promise<string | null> {
  const p = c.get('principal');
  if (!p?.enterpriseId) return null;
  const { rows } = await c
    .get('deps')
    .db.query<{ logo_upload_id: string | null }>('SELECT logo_upload_id FROM enterprises WHERE id = $1', [p.enterpriseId]);
  return rows[0]?.logo_upload_id ?? null;
}

export const settingsRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/settings/op-log',
      middleware: [requiresOrOperator('settings.logs')],
      tags,
      summary: '操作日志（搜索、分页）',
      request: { query: LogQuery },
      responses: jsonOk(pagedOf(OpLogEntry)),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const { db } = c.get('deps');
      const w = logWhere(logScope(c), q, ['account_name', 'action', 'target', 'ip']);
      const total = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM op_log ${w.sql}`, w.args);
      const { rows } = await db.query<SqlRow>(
        `SELECT id, account_name, action, target, detail, ip, at FROM op_log ${w.sql} ORDER BY id DESC LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize}`,
        w.args,
      );
      const items = rows.map((r) => ({
        id: Number(r.id),
        accountName: r.account_name,
        action: r.action,
        target: r.target,
        detail: r.detail,
        ip: r.ip,
        at: iso(r.at)!,
      }));
      return c.json({ items, total: Number(total.rows[0]!.n), page: q.page, pageSize: q.pageSize }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/settings/login-log',
      middleware: [requiresOrOperator('settings.logs')],
      tags,
      summary: '登录日志（搜索、分页）',
      request: { query: LogQuery },
      responses: jsonOk(pagedOf(LoginLogEntry)),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const { db } = c.get('deps');
      const w = logWhere(logScope(c), q, ['account_name', 'ip', 'reason']);
      const total = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM login_log ${w.sql}`, w.args);
      const { rows } = await db.query<SqlRow>(
        `SELECT id, account_name, ip, user_agent, success, reason, at FROM login_log ${w.sql} ORDER BY id DESC LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize}`,
        w.args,
      );
      const items = rows.map((r) => ({
        id: Number(r.id),
        accountName: r.account_name,
        ip: r.ip,
        userAgent: r.user_agent,
        success: r.success,
        reason: r.reason,
        at: iso(r.at)!,
      }));
      return c.json({ items, total: Number(total.rows[0]!.n), page: q.page, pageSize: q.pageSize }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/branding',
      tags,
      summary: '平台名称与 LOGO 地址（登录前为平台默认）',
      responses: jsonOk(Branding),
    }),
    async (c) => {
      const { rows } = await c.get('deps').db.query<{ value: string }>("SELECT value FROM platform_settings WHERE key = 'platform_name'");
      const logo = await logoOf(c);
      return c.json({ platformName: rows[0]?.value ?? '翼讯通短信平台', logoUrl: logo ? `/api/branding/logo?v=${logo}` : null }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/branding/logo',
      tags,
      summary: '本集团的 LOGO 图片（仅本集团可见）',
      responses: { 200: { description: 'PNG 或 JPEG' } },
    }),
    async (c) => {
      const logo = await logoOf(c);
      if (!logo) throw new AppError('NOT_FOUND', '未设置 LOGO');
      const { rows } = await c
        .get('deps')
        .db.query<{ data: Uint8Array; content_type: string; file_name: string }>(
          'SELECT data, content_type, file_name FROM uploads WHERE id = $1',
          [logo],
        );
      if (!rows[0]) throw new AppError('NOT_FOUND', '未设置 LOGO');
      return fileResponse(c, rows[0], false, 'private, max-age=300');
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/settings/logo',
      middleware: [requires('settings.platform')],
      tags,
      summary: '上传 LOGO（PNG/JPEG，≤ 512 KB，显示在页头）',
      request: FileForm,
      responses: jsonOk(Branding),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const form = await c.req.parseBody();
      const up = await storeUpload(db, LOGO_RULE, form.file, { enterpriseId, accountId: p.accountId });
      const old = await db.query<{ logo_upload_id: string | null }>(
        'UPDATE enterprises e SET logo_upload_id = $2 FROM enterprises o WHERE e.id = o.id AND e.id = $1 RETURNING o.logo_upload_id',
        [enterpriseId, up.id],
      );
      if (old.rows[0]?.logo_upload_id) await db.query('DELETE FROM uploads WHERE id = $1', [old.rows[0].logo_upload_id]);
      await opLog(c, '上传 LOGO', up.fileName);
      return c.json({ platformName: '', logoUrl: `/api/branding/logo?v=${up.id}` }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/api/settings/logo',
      middleware: [requires('settings.platform')],
      tags,
      summary: '恢复默认 LOGO',
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const { enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const old = await db.query<{ logo_upload_id: string | null }>('SELECT logo_upload_id FROM enterprises WHERE id = $1', [enterpriseId]);
      await db.query('UPDATE enterprises SET logo_upload_id = NULL WHERE id = $1', [enterpriseId]);
      if (old.rows[0]?.logo_upload_id) await db.query('DELETE FROM uploads WHERE id = $1', [old.rows[0].logo_upload_id]);
      await opLog(c, '恢复默认 LOGO');
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/settings/qualifications',
      middleware: [requires('settings.platform')],
      tags,
      summary: '资质证明列表与审核状态',
      responses: jsonOk(z.object({ items: z.array(Qualification).openapi({ description: '资质文件列表' }) })),
    }),
    async (c) => {
      const { enterpriseId } = caller(c);
      const { rows } = await c.get('deps').db.query<SqlRow>(
        `SELECT q.id, q.title, u.file_name, u.size, q.status, q.reason, q.created_at, q.reviewed_at
           FROM qualifications q JOIN uploads u ON u.id = q.upload_id WHERE q.enterprise_id = $1 ORDER BY q.created_at DESC`,
        [enterpriseId],
      );
      const items = rows.map((r) => ({
        id: r.id,
        title: r.title,
        fileName: r.file_name,
        size: Number(r.size),
        status: r.status,
        reason: r.reason,
        createdAt: iso(r.created_at)!,
        reviewedAt: iso(r.reviewed_at),
      }));
      return c.json({ items }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/settings/qualifications',
      middleware: [requires('settings.platform')],
      tags,
      summary: '上传资质证明（PDF/PNG/JPEG，≤ 5 MB，提交审核）',
      request: FileForm,
      responses: jsonOk(
        z.object({ id: z.string().openapi({ description: '新资质文件的编号', example: '8e3f1a2b-4c5d-4e6f-9a0b-1c2d3e4f5a6b' }) }),
      ),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const form = await c.req.parseBody();
      const title = typeof form.title === 'string' ? form.title.trim() : '';
      if (!title || title.length > 64)
        throw new AppError('VALIDATION', '请求参数有误：title: 请输入证明名称（最多 64 个字）', [
          { path: 'title', message: '请输入证明名称（最多 64 个字）' },
        ]);
      const up = await storeUpload(db, QUALIFICATION_RULE, form.file, { enterpriseId, accountId: p.accountId });
      const id = randomUUID();
      await db.query('INSERT INTO qualifications (id, enterprise_id, upload_id, title) VALUES ($1, $2, $3, $4)', [
        id,
        enterpriseId,
        up.id,
        title,
      ]);
      await opLog(c, '上传资质证明', title, { fileName: up.fileName });
      return c.json({ id }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/settings/qualifications/{id}/file',
      middleware: [requires('settings.platform')],
      tags,
      summary: '下载资质文件（仅本集团）',
      request: { params: IdParam },
      responses: { 200: { description: '文件' } },
    }),
    async (c) => {
      const { enterpriseId } = caller(c);
      const { rows } = await c
        .get('deps')
        .db.query<{ data: Uint8Array; content_type: string; file_name: string }>(
          'SELECT u.data, u.content_type, u.file_name FROM qualifications q JOIN uploads u ON u.id = q.upload_id WHERE q.id = $1 AND q.enterprise_id = $2',
          [c.req.valid('param').id, enterpriseId],
        );
      if (!rows[0]) throw new AppError('NOT_FOUND');
      return fileResponse(c, rows[0], true);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/api/settings/qualifications/{id}',
      middleware: [requires('settings.platform')],
      tags,
      summary: '删除资质证明',
      request: { params: IdParam },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const { enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const { rows } = await db.query<{ upload_id: string; title: string }>(
        'DELETE FROM qualifications WHERE id = $1 AND enterprise_id = $2 RETURNING upload_id, title',
        [c.req.valid('param').id, enterpriseId],
      );
      if (!rows[0]) throw new AppError('NOT_FOUND');
      await db.query('DELETE FROM uploads WHERE id = $1', [rows[0].upload_id]);
      await opLog(c, '删除资质证明', rows[0].title);
      return c.json({ ok: true as const }, 200);
    },
  );
