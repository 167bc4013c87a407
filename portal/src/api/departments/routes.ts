import { createRoute } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import type { Queryable } from '@geo/infra';
import { AppError } from '../../errors.ts';
import { caller, iso } from '../../http/context.ts';
import { opLog } from '../../http/op-log.ts';
import { IdParam, jsonBody, jsonOk, Ok, router, z } from '../../http/openapi.ts';
import { Name64, Text } from '../../http/schemas.ts';
import type { SqlRow } from '@geo/infra';
import { requires } from '../../http/route-access.ts';

const Department = z
  .object({
    id: z.string().openapi({ description: '部门编号', example: 'd1a2b3c4-0000-4000-8000-000000000001' }),
    parentId: z.string().nullable().openapi({ description: '上级部门编号，顶级部门为 null', example: null }),
    name: z.string().openapi({ description: '部门名称', example: '应急管理科' }),
    sort: z.number().openapi({ description: '排序值（小的在前）', example: 0 }),
    remark: z.string().openapi({ description: '备注', example: '' }),
    memberCount: z.number().openapi({ description: '直属的账户数（不含下级部门）', example: 5 }),
    childCount: z.number().openapi({ description: '下级部门数', example: 2 }),
    createdAt: z.string().openapi({ description: '创建时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
  })
  .openapi('Department');

const DeptBody = z
  .object({
    name: Name64('部门名称').openapi({ description: '部门名称，最多 64 个字', example: '应急管理科' }),
    parentId: z
      .string()
      .max(64)
      .nullable()
      .default(null)
      .openapi({ description: '上级部门编号，null 为顶级部门', example: 'd1a2b3c4-0000-4000-8000-000000000001' }),
    sort: z
      .number({ error: '排序须为数字' })
      .int()
      .min(0)
      .max(100000)
      .default(0)
      .openapi({ description: '排序值，0–100,000，小的在前，默认 0', example: 10 }),
    remark: Text('备注', 200).default('').openapi({ description: '备注，最多 200 个字', example: '' }),
  })
  .openapi('DepartmentInput');

const tags = ['部门管理'];

async function list(db: Queryable, enterpriseId: string) {
  const { rows } = await db.query<SqlRow>(
    `SELECT d.id, d.parent_id, d.name, d.sort, d.remark, d.created_at,
            (SELECT count(*)::int FROM accounts a WHERE a.department_id = d.id AND a.deleted_at IS NULL) AS member_count,
            (SELECT count(*)::int FROM departments c WHERE c.parent_id = d.id) AS child_count
       FROM departments d WHERE d.enterprise_id = $1 ORDER BY d.sort, d.created_at`,
    [enterpriseId],
  );
  return rows.map((r) => ({
    id: r.id,
    parentId: r.parent_id,
    name: r.name,
    sort: Number(r.sort),
    remark: r.remark,
    memberCount: Number(r.member_count),
    childCount: Number(r.child_count),
    createdAt: iso(r.created_at)!,
  }));
}

async function one(db: Queryable, enterpriseId: string, id: string) {
  const d = (await list(db, enterpriseId)).find((x) => x.id === id);
  if (!d) throw new AppError('NOT_FOUND', '部门不存在');
  return d;
}

async function assertParent(db: Queryable, enterpriseId: string, parentId: string | null, selfId?: string) {
  if (!parentId) return;
  const all = await list(db, enterpriseId);
  const byId = new Map(all.map((d) => [d.id, d]));
  if (!byId.has(parentId))
    throw new AppError('VALIDATION', '请求参数有误：parentId: 上级部门不存在', [{ path: 'parentId', message: '上级部门不存在' }]);
  // Walking up from the new parent must never reach the department itself.
  for (let cur: string | null = parentId; cur; cur = byId.get(cur)?.parentId ?? null) if (cur === selfId) throw new AppError('DEPT_CYCLE');
}

export const departmentRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/departments',
      // Reading the tree is needed by account management and the enterprise address book too.
      middleware: [requires('departments', 'accounts', 'contacts')],
      tags,
      summary: '部门列表（扁平，含 parentId，客户端组树）',
      responses: jsonOk(z.object({ items: z.array(Department).openapi({ description: '集团的全部部门，按排序值；用 parentId 组成树' }) })),
    }),
    async (c) => c.json({ items: await list(c.get('deps').db, caller(c).enterpriseId) }, 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/departments',
      middleware: [requires('departments')],
      tags,
      summary: '添加部门（parentId 为空即顶级部门）',
      request: jsonBody(DeptBody),
      responses: jsonOk(Department),
    }),
    async (c) => {
      const { enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const b = c.req.valid('json');
      await assertParent(db, enterpriseId, b.parentId);
      const id = randomUUID();
      await db.query('INSERT INTO departments (id, enterprise_id, parent_id, name, sort, remark) VALUES ($1, $2, $3, $4, $5, $6)', [
        id,
        enterpriseId,
        b.parentId,
        b.name,
        b.sort,
        b.remark,
      ]);
      await opLog(c, '添加部门', b.name, { parentId: b.parentId });
      return c.json(await one(db, enterpriseId, id), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/departments/{id}',
      middleware: [requires('departments')],
      tags,
      summary: '编辑部门',
      request: { params: IdParam, ...jsonBody(DeptBody) },
      responses: jsonOk(Department),
    }),
    async (c) => {
      const { enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const { id } = c.req.valid('param');
      const before = await one(db, enterpriseId, id);
      const b = c.req.valid('json');
      await assertParent(db, enterpriseId, b.parentId, id);
      await db.query('UPDATE departments SET parent_id = $2, name = $3, sort = $4, remark = $5 WHERE id = $1', [
        id,
        b.parentId,
        b.name,
        b.sort,
        b.remark,
      ]);
      await opLog(c, '编辑部门', before.name, b);
      return c.json(await one(db, enterpriseId, id), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/api/departments/{id}',
      middleware: [requires('departments')],
      tags,
      summary: '删除部门（有下级部门或成员时拒绝并说明原因）',
      request: { params: IdParam },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const { enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const d = await one(db, enterpriseId, c.req.valid('param').id);
      if (d.childCount > 0) throw new AppError('DEPT_HAS_CHILDREN', `部门「${d.name}」下还有 ${d.childCount} 个下级部门，请先删除下级部门`);
      if (d.memberCount > 0)
        throw new AppError('DEPT_HAS_MEMBERS', `部门「${d.name}」下还有 ${d.memberCount} 个账户，请先移走或删除这些账户`);
      await db.query('DELETE FROM departments WHERE id = $1', [d.id]);
      await opLog(c, '删除部门', d.name);
      return c.json({ ok: true as const }, 200);
    },
  );
