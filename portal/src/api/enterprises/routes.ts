import { createRoute } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import type { Queryable } from '@geo/infra';
import { assertPasswordPolicy, hashPassword } from '../../auth/password.ts';
import { revokeStreams } from '../../auth/revocation.ts';
import { AppError } from '../../errors.ts';
import { iso } from '../../http/context.ts';
import { opLog } from '../../http/op-log.ts';
import { IdParam, jsonBody, jsonOk, router, z } from '../../http/openapi.ts';
import { Name64, Text } from '../../http/schemas.ts';
import type { SqlRow } from '@geo/infra';
import { operatorOnly } from '../../http/route-access.ts';

const Enterprise = z
  .object({
    id: z.string().openapi({ description: '集团编号', example: 'e1a2b3c4-0000-4000-8000-000000000001' }),
    name: z.string().openapi({ description: '集团名称', example: '杭州市应急管理局' }),
    quota: z.number().openapi({ description: '集团的可发送量（条）', example: 100000 }),
    accessNumber: z.string().openapi({ description: '短信接入号（扩展码加在其后），未分配为空串', example: '1069012345' }),
    status: z
      .enum(['active', 'frozen'])
      .openapi({ description: '状态：active 正常，frozen 已冻结（全部账户不能登录）', example: 'active' }),
    adminName: z.string().nullable().openapi({ description: '集团管理员的账户名', example: 'hz-admin' }),
    accountCount: z.number().openapi({ description: '集团的账户数（含管理员）', example: 8 }),
    createdAt: z.string().openapi({ description: '创建时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
  })
  .openapi('Enterprise');

const Quota = z.number({ error: '可发送量上限须为数字' }).int('可发送量上限须为整数').min(0, '可发送量上限不能为负').max(1e12);
const AccessNumber = z
  .string()
  .trim()
  .regex(/^\d{0,20}$/, '接入号只能是数字（最多 20 位）');
const CreateEnterprise = z
  .object({
    name: Name64('集团名称').openapi({ description: '集团名称，最多 64 个字', example: '杭州市应急管理局' }),
    quota: Quota.default(0).openapi({ description: '初始可发送量（条，非负整数），默认 0', example: 100000 }),
    accessNumber: AccessNumber.default('').openapi({ description: '短信接入号，最多 20 位数字，可为空', example: '1069012345' }),
    adminName: Name64('管理员账户名')
      .regex(/^[A-Za-z0-9_.@-]+$/, '账户名只能包含字母、数字和 _ . @ -')
      .openapi({ description: '集团管理员的账户名（字母、数字和 _ . @ -）', example: 'hz-admin' }),
    adminPassword: z
      .string({ error: '请输入管理员初始密码' })
      .min(12, '管理员初始密码至少 12 位')
      .max(128)
      .openapi({ description: '管理员初始密码，12–128 位，不能是常见密码', example: 'Hz-Admin-2026!' }),
    remark: Text('备注', 200).default('').openapi({ description: '备注，最多 200 个字', example: '市级应急平台' }),
  })
  .openapi('CreateEnterprise');
const UpdateEnterprise = z
  .object({
    name: Name64('集团名称').openapi({ description: '新的集团名称', example: '杭州市应急管理局' }),
    quota: Quota.openapi({ description: '新的可发送量（条，非负整数）', example: 200000 }),
    accessNumber: AccessNumber.openapi({ description: '新的短信接入号，最多 20 位数字', example: '1069012345' }),
  })
  .partial()
  .openapi('UpdateEnterprise');

const tags = ['集团管理（平台运营）'];

async function one(db: Queryable, id: string) {
  const { rows } = await db.query<SqlRow>(
    `SELECT e.id, e.name, e.quota, e.access_number, e.status, e.created_at,
            (SELECT a.name FROM accounts a WHERE a.enterprise_id = e.id AND a.role = 'admin' ORDER BY a.created_at LIMIT 1) AS admin_name,
            (SELECT count(*)::int FROM accounts a WHERE a.enterprise_id = e.id) AS account_count
       FROM enterprises e WHERE ($1::text IS NULL OR e.id = $1) ORDER BY e.created_at`,
    [id || null],
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    quota: Number(r.quota),
    accessNumber: r.access_number,
    status: r.status,
    adminName: r.admin_name ?? null,
    accountCount: Number(r.account_count),
    createdAt: iso(r.created_at)!,
  }));
}

async function get(db: Queryable, id: string) {
  const e = (await one(db, id))[0];
  if (!e) throw new AppError('NOT_FOUND', '集团不存在');
  return e;
}

/** Accounts are opened by the platform's customer service (账号与密码统一由公司客服为客户办理): the operator creates enterprises. */
export const enterpriseRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/operator/enterprises',
      middleware: [operatorOnly],
      tags,
      summary: '全部集团',
      responses: jsonOk(z.object({ items: z.array(Enterprise).openapi({ description: '全部集团' }) })),
    }),
    async (c) => {
      return c.json({ items: await one(c.get('deps').db, '') }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/operator/enterprises',
      middleware: [operatorOnly],
      tags,
      summary: '开通集团及其管理员账户',
      request: jsonBody(CreateEnterprise),
      responses: jsonOk(Enterprise),
    }),
    async (c) => {
      const { db, cfg } = c.get('deps');
      const b = c.req.valid('json');
      assertPasswordPolicy(b.adminPassword, b.adminName);
      const taken = await db.query('SELECT 1 FROM accounts WHERE lower(name) = lower($1)', [b.adminName]);
      if (taken.rows[0]) throw new AppError('NAME_TAKEN', `账户名「${b.adminName}」已被使用`);
      const id = randomUUID();
      const hash = await hashPassword(b.adminPassword, cfg.scryptLogN);
      await db.transaction(async (tx) => {
        await tx.query('INSERT INTO enterprises (id, name, quota, access_number) VALUES ($1, $2, $3, $4)', [
          id,
          b.name,
          b.quota,
          b.accessNumber,
        ]);
        const dept = randomUUID();
        await tx.query('INSERT INTO departments (id, enterprise_id, name) VALUES ($1, $2, $3)', [dept, id, b.name]);
        await tx.query(
          `INSERT INTO accounts (id, enterprise_id, department_id, name, role, password_hash, remark) VALUES ($1, $2, $3, $4, 'admin', $5, $6)`,
          [randomUUID(), id, dept, b.adminName, hash, b.remark],
        );
      });
      await opLog(c, '开通集团', b.name, { adminName: b.adminName, quota: b.quota });
      return c.json(await get(db, id), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/operator/enterprises/{id}',
      middleware: [operatorOnly],
      tags,
      summary: '修改集团名称、可发送量上限、接入号',
      request: { params: IdParam, ...jsonBody(UpdateEnterprise) },
      responses: jsonOk(Enterprise),
    }),
    async (c) => {
      const { db } = c.get('deps');
      const e = await get(db, c.req.valid('param').id);
      const b = c.req.valid('json');
      await db.query('UPDATE enterprises SET name = $2, quota = $3, access_number = $4 WHERE id = $1', [
        e.id,
        b.name ?? e.name,
        b.quota ?? e.quota,
        b.accessNumber ?? e.accessNumber,
      ]);
      await opLog(c, '修改集团', e.name, b);
      return c.json(await get(db, e.id), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/operator/enterprises/{id}/freeze',
      middleware: [operatorOnly],
      tags,
      summary: '冻结集团（全部账户下线、接口密钥失效）',
      request: { params: IdParam },
      responses: jsonOk(Enterprise),
    }),
    async (c) => {
      const { db } = c.get('deps');
      const e = await get(db, c.req.valid('param').id);
      await db.transaction(async (tx) => {
        await tx.query(`UPDATE enterprises SET status = 'frozen' WHERE id = $1`, [e.id]);
        await tx.query('DELETE FROM sessions WHERE account_id IN (SELECT id FROM accounts WHERE enterprise_id = $1)', [e.id]);
        await tx.query(
          'UPDATE api_keys SET revoked_at = now() WHERE revoked_at IS NULL AND account_id IN (SELECT id FROM accounts WHERE enterprise_id = $1)',
          [e.id],
        );
      });
      const members = await db.query<{ id: string }>('SELECT id FROM accounts WHERE enterprise_id = $1', [e.id]);
      for (const m of members.rows) revokeStreams(m.id);
      await opLog(c, '冻结集团', e.name);
      return c.json(await get(db, e.id), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/operator/enterprises/{id}/unfreeze',
      middleware: [operatorOnly],
      tags,
      summary: '解冻集团',
      request: { params: IdParam },
      responses: jsonOk(Enterprise),
    }),
    async (c) => {
      const { db } = c.get('deps');
      const e = await get(db, c.req.valid('param').id);
      await db.query(`UPDATE enterprises SET status = 'active' WHERE id = $1`, [e.id]);
      await opLog(c, '解冻集团', e.name);
      return c.json(await get(db, e.id), 200);
    },
  );
