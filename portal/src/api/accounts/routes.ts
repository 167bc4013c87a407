import { createRoute } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { assertPasswordPolicy, hashPassword } from '../../auth/password.ts';
import { revokeStreams, revokeStreamsLacking } from '../../auth/revocation.ts';
import { FEATURE_KEYS } from '../../auth/permissions.ts';
import { endAccountAccess } from '../../auth/session.ts';
import { AppError } from '../../errors.ts';
import { caller } from '../../http/context.ts';
import { opLog } from '../../http/op-log.ts';
import { IdParam, jsonBody, jsonOk, Ok, Paging, router, z } from '../../http/openapi.ts';
import { EmailOrEmpty, MobileOrEmpty, Name64, pagedOf, Text } from '../../http/schemas.ts';
import { accountInTenant, assertGrantable, assertMayManage, departmentInTenant, SELECT_ACCOUNT, toAccount } from './queries.ts';
import { requires } from '../../http/route-access.ts';

const Account = z
  .object({
    id: z.string().openapi({ description: '账户编号', example: '3f6c1e2a-8b4d-4c7e-9a51-2d0f6b7e8c90' }),
    name: z.string().openapi({ description: '账户名（登录用）', example: 'zhangsan' }),
    displayName: z.string().openapi({ description: '姓名', example: '张三' }),
    phone: z.string().openapi({ description: '手机号码，未填为空串', example: '138****0000' }),
    email: z.string().openapi({ description: '邮箱，未填为空串', example: 'zhangsan@example.com' }),
    role: z
      .enum(['admin', 'sub', 'operator'])
      .openapi({ description: '角色：admin 集团管理员，sub 子账户，operator 平台运营', example: 'sub' }),
    departmentId: z
      .string()
      .nullable()
      .openapi({ description: '所属部门编号，未分配为 null', example: '7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d' }),
    departmentName: z.string().nullable().openapi({ description: '所属部门名称，未分配为 null', example: '应急管理科' }),
    permissions: z.array(z.string()).openapi({ description: '已授予的功能权限', example: ['bigdata', 'industry'] }),
    status: z.enum(['active', 'frozen']).openapi({ description: '状态：active 正常，frozen 已冻结', example: 'active' }),
    quota: z.number().nullable().openapi({ description: '可发送量上限（条），null 为不限', example: 10000 }),
    defaultSignatureId: z
      .string()
      .nullable()
      .openapi({ description: '默认短信签名编号，未设置为 null', example: '5b9e0d1c-2a3f-4b6e-8d7c-1f0e2d3c4b5a' }),
    defaultSignature: z.string().nullable().openapi({ description: '默认短信签名文字，未设置为 null', example: '【杭州应急】' }),
    remark: z.string().openapi({ description: '备注', example: '值班账户' }),
    createdAt: z.string().openapi({ description: '创建时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
  })
  .openapi('Account');

const Permissions = z
  .array(z.enum(FEATURE_KEYS, { error: '未知的权限' }))
  .max(FEATURE_KEYS.length)
  .openapi({ description: '授予的功能权限（不能超出授权人自己的权限）', example: ['bigdata', 'industry'] });
const Quota = z.number({ error: '可发送量上限须为数字' }).int('可发送量上限须为整数').min(0, '可发送量上限不能为负').max(1e12).nullable();

const AccountFields = {
  displayName: Text('姓名', 32).default('').openapi({ description: '姓名，最多 32 个字', example: '张三' }),
  phone: MobileOrEmpty.default('').openapi({ description: '11 位大陆手机号，可为空', example: '13800000000' }),
  email: EmailOrEmpty.default('').openapi({ description: '邮箱，可为空', example: 'zhangsan@example.com' }),
  departmentId: z
    .string()
    .max(64)
    .nullable()
    .default(null)
    .openapi({ description: '所属部门编号，null 为不分配', example: '7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d' }),
  quota: Quota.default(null).openapi({ description: '可发送量上限（条，非负整数），null 为不限', example: 10000 }),
  remark: Text('备注', 200).default('').openapi({ description: '备注，最多 200 个字', example: '值班账户' }),
};

const CreateAccount = z
  .object({
    name: Name64('账户名')
      .regex(/^[A-Za-z0-9_.@-]+$/, '账户名只能包含字母、数字和 _ . @ -')
      .openapi({ description: '账户名（登录用），字母、数字和 _ . @ -，最多 64 位', example: 'zhangsan' }),
    password: z
      .string({ error: '请输入初始密码' })
      .min(12, '初始密码至少 12 位')
      .max(128)
      .openapi({ description: '初始密码，12–128 位，首次登录后须修改', example: 'Hz-Alert-2026!x' }),
    permissions: Permissions.default([]),
    ...AccountFields,
  })
  .openapi('CreateAccount');

const UpdateAccount = z.object(AccountFields).partial().openapi('UpdateAccount');

const ListQuery = Paging.extend({
  keyword: z.string().max(64).optional(),
  departmentId: z.string().max(64).optional(),
  status: z.enum(['active', 'frozen']).optional(),
});

const ok = { ok: true as const };
const tags = ['账户管理'];

export const accountRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/accounts',
      middleware: [requires('accounts')],
      tags,
      summary: '账户列表（本集团）',
      request: { query: ListQuery },
      responses: jsonOk(pagedOf(Account)),
    }),
    async (c) => {
      const { enterpriseId } = caller(c);
      const q = c.req.valid('query');
      const { db } = c.get('deps');
      const where = ['a.enterprise_id = $1', 'a.deleted_at IS NULL'];
      const args: unknown[] = [enterpriseId];
      if (q.keyword) {
        args.push(`%${q.keyword}%`);
        where.push(`(a.name ILIKE $${args.length} OR a.display_name ILIKE $${args.length} OR a.phone ILIKE $${args.length})`);
      }
      if (q.departmentId) {
        args.push(q.departmentId);
        where.push(`a.department_id = $${args.length}`);
      }
      if (q.status) {
        args.push(q.status);
        where.push(`a.status = $${args.length}`);
      }
      const w = where.join(' AND ');
      const total = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM accounts a WHERE ${w}`, args);
      const { rows } = await db.query(
        `${SELECT_ACCOUNT} WHERE ${w} ORDER BY a.role, a.created_at LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize}`,
        args,
      );
      return c.json({ items: rows.map(toAccount), total: Number(total.rows[0]!.n), page: q.page, pageSize: q.pageSize }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/accounts/{id}',
      middleware: [requires('accounts')],
      tags,
      summary: '查看账户',
      request: { params: IdParam },
      responses: jsonOk(Account),
    }),
    async (c) => {
      const { enterpriseId } = caller(c);
      return c.json(await accountInTenant(c.get('deps').db, enterpriseId, c.req.valid('param').id), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/accounts',
      middleware: [requires('accounts')],
      tags,
      summary: '添加子账户',
      request: jsonBody(CreateAccount),
      responses: jsonOk(Account),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const b = c.req.valid('json');
      const { db, cfg } = c.get('deps');
      assertPasswordPolicy(b.password, b.name);
      assertGrantable(p, b.permissions);
      await departmentInTenant(db, enterpriseId, b.departmentId);
      const taken = await db.query('SELECT 1 FROM accounts WHERE lower(name) = lower($1)', [b.name]);
      if (taken.rows[0]) throw new AppError('NAME_TAKEN', `账户名「${b.name}」已被使用`);
      const id = randomUUID();
      await db.query(
        `INSERT INTO accounts (id, enterprise_id, department_id, name, display_name, phone, email, role, permissions, password_hash, quota, remark, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'sub', $8, $9, $10, $11, $12)`,
        [
          id,
          enterpriseId,
          b.departmentId,
          b.name,
          b.displayName,
          b.phone,
          b.email,
          JSON.stringify(b.permissions),
          await hashPassword(b.password, cfg.scryptLogN),
          b.quota,
          b.remark,
          p.accountId,
        ],
      );
      await opLog(c, '添加子账户', b.name, { permissions: b.permissions, departmentId: b.departmentId });
      return c.json(await accountInTenant(db, enterpriseId, id), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/accounts/{id}',
      middleware: [requires('accounts')],
      tags,
      summary: '编辑账户',
      request: { params: IdParam, ...jsonBody(UpdateAccount) },
      responses: jsonOk(Account),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const target = await accountInTenant(db, enterpriseId, c.req.valid('param').id);
      assertMayManage(p, target);
      const b = c.req.valid('json');
      if (b.departmentId !== undefined) await departmentInTenant(db, enterpriseId, b.departmentId);
      const next = { ...target, ...Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)) };
      await db.query(
        `UPDATE accounts SET display_name = $2, phone = $3, email = $4, department_id = $5, quota = $6, remark = $7, updated_at = now() WHERE id = $1`,
        [target.id, next.displayName, next.phone, next.email, next.departmentId, next.quota, next.remark],
      );
      await opLog(c, '编辑账户', target.name, b);
      return c.json(await accountInTenant(db, enterpriseId, target.id), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/accounts/{id}/permissions',
      middleware: [requires('accounts')],
      tags,
      summary: '分配权限',
      request: { params: IdParam, ...jsonBody(z.object({ permissions: Permissions })) },
      responses: jsonOk(Account),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const target = await accountInTenant(db, enterpriseId, c.req.valid('param').id);
      assertMayManage(p, target);
      const { permissions } = c.req.valid('json');
      assertGrantable(p, permissions);
      await db.query('UPDATE accounts SET permissions = $2, updated_at = now() WHERE id = $1', [
        target.id,
        JSON.stringify([...new Set(permissions)]),
      ]);
      await opLog(c, '分配权限', target.name, { from: target.permissions, to: permissions });
      // A permission taken away ends the account's open streams that need it here at once (a live
      // heat map under 大数据洞察); other instances' streams end at their next re-check.
      revokeStreamsLacking(target.id, permissions);
      return c.json(await accountInTenant(db, enterpriseId, target.id), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/accounts/{id}/freeze',
      middleware: [requires('accounts')],
      tags,
      summary: '冻结账户（立即下线，接口密钥失效）',
      request: { params: IdParam },
      responses: jsonOk(Account),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const target = await accountInTenant(db, enterpriseId, c.req.valid('param').id);
      assertMayManage(p, target);
      await db.transaction(async (tx) => {
        await tx.query(`UPDATE accounts SET status = 'frozen', updated_at = now() WHERE id = $1`, [target.id]);
        await endAccountAccess(tx, target.id, { apiKeys: true });
      });
      await opLog(c, '冻结账户', target.name);
      return c.json(await accountInTenant(db, enterpriseId, target.id), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/accounts/{id}/unfreeze',
      middleware: [requires('accounts')],
      tags,
      summary: '解冻账户',
      request: { params: IdParam },
      responses: jsonOk(Account),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const target = await accountInTenant(db, enterpriseId, c.req.valid('param').id);
      assertMayManage(p, target);
      await db.query(`UPDATE accounts SET status = 'active', updated_at = now() WHERE id = $1`, [target.id]);
      await opLog(c, '解冻账户', target.name);
      return c.json(await accountInTenant(db, enterpriseId, target.id), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/accounts/{id}/reset-password',
      middleware: [requires('accounts')],
      tags,
      summary: '重置密码（该账户的会话与接口密钥随之失效）',
      request: {
        params: IdParam,
        ...jsonBody(
          z.object({
            password: z
              .string({ error: '请输入新密码' })
              .min(12, '新密码至少 12 位')
              .max(128)
              .openapi({ description: '新密码，12–128 位', example: 'Hz-Alert-2026!y' }),
          }),
        ),
      },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { db, cfg } = c.get('deps');
      const target = await accountInTenant(db, enterpriseId, c.req.valid('param').id);
      assertMayManage(p, target);
      const { password } = c.req.valid('json');
      assertPasswordPolicy(password, target.name);
      await db.query('UPDATE accounts SET password_hash = $2, password_changed_at = now(), updated_at = now() WHERE id = $1', [
        target.id,
        await hashPassword(password, cfg.scryptLogN),
      ]);
      // Whoever knew the old password may hold a session or have made a key: both end.
      await endAccountAccess(db, target.id, { apiKeys: true });
      await opLog(c, '重置密码', target.name);
      return c.json(ok, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/accounts/{id}/default-signature',
      middleware: [requires('accounts')],
      tags,
      summary: '设置子账户的默认签名（须已审核通过）',
      request: {
        params: IdParam,
        ...jsonBody(
          z.object({
            signatureId: z.string().max(64).nullable().openapi({
              description: '默认短信签名编号（须为本集团已通过的签名），null 为清除',
              example: '5b9e0d1c-2a3f-4b6e-8d7c-1f0e2d3c4b5a',
            }),
          }),
        ),
      },
      responses: jsonOk(Account),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const target = await accountInTenant(db, enterpriseId, c.req.valid('param').id);
      assertMayManage(p, target);
      const { signatureId } = c.req.valid('json');
      if (signatureId) {
        const { rows } = await db.query<{ status: string }>('SELECT status FROM signatures WHERE id = $1 AND enterprise_id = $2', [
          signatureId,
          enterpriseId,
        ]);
        if (!rows[0]) throw new AppError('NOT_FOUND', '签名不存在');
        if (rows[0].status !== 'approved') throw new AppError('SIGNATURE_NOT_APPROVED');
      }
      await db.query('UPDATE accounts SET default_signature_id = $2, updated_at = now() WHERE id = $1', [target.id, signatureId]);
      await opLog(c, '设置默认签名', target.name, { signatureId });
      return c.json(await accountInTenant(db, enterpriseId, target.id), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/api/accounts/{id}',
      middleware: [requires('accounts')],
      tags,
      summary: '删除子账户',
      request: { params: IdParam },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const target = await accountInTenant(db, enterpriseId, c.req.valid('param').id);
      assertMayManage(p, target);
      await db.query('DELETE FROM accounts WHERE id = $1', [target.id]);
      revokeStreams(target.id);
      await opLog(c, '删除子账户', target.name);
      return c.json(ok, 200);
    },
  );
