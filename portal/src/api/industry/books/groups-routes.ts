import { createRoute } from '@hono/zod-openapi';
import { AppError } from '../../../errors.ts';
import { opLog } from '../../../http/op-log.ts';
import { jsonBody, jsonOk, Ok, router, z } from '../../../http/openapi.ts';
import { newId } from '../scope.ts';
import { BOOK_TAG as TAG } from './schemas.ts';
import { bookOf, checkGroups, inBook, M } from './queries.ts';
import { BookParam, GroupNode } from './schemas.ts';
import { requires } from '../../../http/route-access.ts';

/** Personal groups and, for the enterprise book, its departments as groups. */
export const bookGroupsRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/books/{book}/groups',
      middleware: [requires('contacts')],
      tags: TAG,
      summary: '分组树（个人通讯录）或部门树（企业通讯录），含各组人数与未分配组',
      request: { params: BookParam },
      responses: jsonOk(
        z.object({
          items: z.array(GroupNode).openapi({ description: '全部分组（部门），按排序值和名称；用 parentId 组成树' }),
          unassigned: z.number().openapi({ description: '不在任何分组（部门）中的联系人数', example: 3 }),
          total: z.number().openapi({ description: '通讯录中的联系人总数', example: 120 }),
        }),
      ),
    }),
    async (c) => {
      const { book } = c.req.valid('param');
      const who = bookOf(c, book, false);
      const { db } = c.get('deps');
      const m = M[book];
      const { rows } =
        book === 'personal'
          ? await db.query<{ id: string; parent_id: string | null; name: string; sort: number; n: string }>(
              `SELECT g.id, g.parent_id, g.name, g.sort, (SELECT count(*) FROM contact_group_members x WHERE x.group_id = g.id) AS n
                 FROM contact_groups g WHERE g.account_id = $1 ORDER BY g.sort, g.name`,
              [who.accountId],
            )
          : await db.query<{ id: string; parent_id: string | null; name: string; sort: number; n: string }>(
              `SELECT d.id, d.parent_id, d.name, d.sort, (SELECT count(*) FROM contact_department_members x WHERE x.department_id = d.id) AS n
                 FROM departments d WHERE d.enterprise_id = $1 ORDER BY d.sort, d.name`,
              [who.enterpriseId],
            );
      const { rows: un } = await db.query<{ n: string; total: string }>(
        `SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM ${m.table} x WHERE x.contact_id = c.id)) AS n, count(*) AS total FROM contacts c WHERE ${inBook(book)}`,
        [who.enterpriseId, who.accountId],
      );
      return c.json(
        {
          items: rows.map((r) => ({ id: r.id, parentId: r.parent_id, name: r.name, sort: Number(r.sort), count: Number(r.n) })),
          unassigned: Number(un[0]?.n ?? 0),
          total: Number(un[0]?.total ?? 0),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/books/personal/groups',
      middleware: [requires('contacts')],
      tags: TAG,
      summary: '新增分组（可作为子分组）',
      request: jsonBody(
        z.object({
          name: z
            .string({ error: '请输入分组名称' })
            .trim()
            .min(1, '请输入分组名称')
            .max(30, '分组名称最多 30 字')
            .openapi({ description: '分组名称，1–30 个字', example: '值班组' }),
          parentId: z
            .string()
            .max(64)
            .nullable()
            .optional()
            .openapi({ description: '上级分组编号；不填或 null 为顶级分组', example: 'g1a2b3c4-0000-4000-8000-000000000001' }),
        }),
      ),
      responses: jsonOk(GroupNode),
    }),
    async (c) => {
      const who = bookOf(c, 'personal', true);
      const { db } = c.get('deps');
      const body = c.req.valid('json');
      if (body.parentId) await checkGroups(db, 'personal', who, [body.parentId]);
      const id = newId();
      try {
        await db.query('INSERT INTO contact_groups (id, enterprise_id, account_id, parent_id, name) VALUES ($1, $2, $3, $4, $5)', [
          id,
          who.enterpriseId,
          who.accountId,
          body.parentId ?? null,
          body.name,
        ]);
      } catch (err) {
        if (/duplicate key|contact_groups_name/.test(String((err as Error).message)))
          throw new AppError('NAME_TAKEN', `同一级下已有名为“${body.name}”的分组`);
        throw err;
      }
      await opLog(c, '新增通讯录分组', body.name);
      return c.json({ id, parentId: body.parentId ?? null, name: body.name, count: 0, sort: 0 }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/industry/books/personal/groups/{id}',
      middleware: [requires('contacts')],
      tags: TAG,
      summary: '重命名分组',
      request: {
        params: z.object({ id: z.string().max(64) }),
        ...jsonBody(
          z.object({
            name: z
              .string({ error: '请输入分组名称' })
              .trim()
              .min(1, '请输入分组名称')
              .max(30, '分组名称最多 30 字')
              .openapi({ description: '新的分组名称，1–30 个字', example: '夜班组' }),
          }),
        ),
      },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const who = bookOf(c, 'personal', true);
      const { id } = c.req.valid('param');
      const { name } = c.req.valid('json');
      const { db } = c.get('deps');
      try {
        const r = await db.query('UPDATE contact_groups SET name = $3 WHERE id = $1 AND account_id = $2', [id, who.accountId, name]);
        if (r.rowCount !== 1) throw new AppError('NOT_FOUND', '分组不存在');
      } catch (err) {
        if (/duplicate key|contact_groups_name/.test(String((err as Error).message)))
          throw new AppError('NAME_TAKEN', `同一级下已有名为“${name}”的分组`);
        throw err;
      }
      await opLog(c, '重命名通讯录分组', name);
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/api/industry/books/personal/groups/{id}',
      middleware: [requires('contacts')],
      tags: TAG,
      summary: '删除分组：有子分组或联系人时拒绝并说明原因',
      request: { params: z.object({ id: z.string().max(64) }) },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const who = bookOf(c, 'personal', true);
      const { id } = c.req.valid('param');
      const { db } = c.get('deps');
      const { rows } = await db.query<{ name: string; kids: string; members: string }>(
        `SELECT g.name, (SELECT count(*) FROM contact_groups k WHERE k.parent_id = g.id) AS kids,
                (SELECT count(*) FROM contact_group_members m WHERE m.group_id = g.id) AS members
           FROM contact_groups g WHERE g.id = $1 AND g.account_id = $2`,
        [id, who.accountId],
      );
      const g = rows[0];
      if (!g) throw new AppError('NOT_FOUND', '分组不存在');
      if (Number(g.kids) > 0) throw new AppError('GROUP_HAS_CHILDREN', `分组“${g.name}”下还有 ${g.kids} 个子分组，请先删除子分组`);
      if (Number(g.members) > 0) throw new AppError('GROUP_HAS_CONTACTS', `分组“${g.name}”下还有 ${g.members} 个联系人，请先清空联系人`);
      await db.query('DELETE FROM contact_groups WHERE id = $1', [id]);
      await opLog(c, '删除通讯录分组', g.name);
      return c.json({ ok: true as const }, 200);
    },
  );
