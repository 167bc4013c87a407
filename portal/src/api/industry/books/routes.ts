import { createRoute } from '@hono/zod-openapi';
import { AppError } from '../../../errors.ts';
import { opLog } from '../../../http/op-log.ts';
import { jsonBody, jsonOk, Ok, router, z } from '../../../http/openapi.ts';
import { newId } from '../scope.ts';
import { BOOK_TAG as TAG } from './schemas.ts';
import { bookOf, checkContacts, checkGroups, filter, inBook, loadContacts, phoneOrThrow, phoneTaken, setGroups } from './queries.ts';
import { BookIdParam, BookParam, Contact, ContactFields, GroupIds, Ids, ListQuery } from './schemas.ts';
import { requires } from '../../../http/route-access.ts';

/** The contacts of a book: list, add, edit, delete, sort, copy and move between groups. */
export const contactsRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/books/{book}/contacts',
      middleware: [requires('contacts')],
      tags: TAG,
      summary: '联系人列表（按分组 / 未分配组，关键字搜索姓名或号码）',
      request: { params: BookParam, query: ListQuery },
      responses: jsonOk(
        z.object({
          items: z.array(Contact).openapi({ description: '本页的联系人' }),
          total: z.number().openapi({ description: '符合条件的联系人总数', example: 42 }),
        }),
      ),
    }),
    async (c) => {
      const { book } = c.req.valid('param');
      const who = bookOf(c, book, false);
      const q = c.req.valid('query');
      const { db } = c.get('deps');
      const params: unknown[] = [];
      const where = filter(book, q, params);
      const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM contacts c WHERE ${inBook(book)} ${where}`, [
        who.enterpriseId,
        who.accountId,
        ...params,
      ]);
      const items = await loadContacts(db, book, who, where, params, `LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize}`);
      return c.json({ items, total: Number(rows[0]?.n ?? 0) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/books/{book}/contacts',
      middleware: [requires('contacts')],
      tags: TAG,
      summary: '添加联系人（姓名、手机号码必填；未选分组则在未分配组）',
      request: { params: BookParam, ...jsonBody(ContactFields) },
      responses: jsonOk(Contact),
    }),
    async (c) => {
      const { book } = c.req.valid('param');
      const who = bookOf(c, book, true);
      const body = c.req.valid('json');
      const { db } = c.get('deps');
      const phone = phoneOrThrow(body.phone);
      const id = newId();
      await db.transaction(async (tx) => {
        const groups = await checkGroups(tx, book, who, body.groupIds);
        try {
          await tx.query(
            `INSERT INTO contacts (id, enterprise_id, book, account_id, name, phone, gender, birthday, email, company, title, address, remark, sort)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
            [
              id,
              who.enterpriseId,
              book,
              book === 'personal' ? who.accountId : null,
              body.name,
              phone,
              body.gender,
              body.birthday,
              body.email,
              body.company,
              body.title,
              body.address,
              body.remark,
              body.sort,
            ],
          );
        } catch (err) {
          if (phoneTaken(err)) throw new AppError('PHONE_TAKEN', `通讯录中已有号码 ${phone}`);
          throw err;
        }
        await setGroups(tx, book, [id], groups, false);
      });
      await opLog(c, '添加联系人', `${body.name} ${phone}`);
      return c.json((await loadContacts(db, book, who, 'AND c.id = $3', [id]))[0]!, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/books/{book}/contacts/{id}',
      middleware: [requires('contacts')],
      tags: TAG,
      summary: '联系人详情',
      request: { params: BookIdParam },
      responses: jsonOk(Contact),
    }),
    async (c) => {
      const { book, id } = c.req.valid('param');
      const who = bookOf(c, book, false);
      const found = await loadContacts(c.get('deps').db, book, who, 'AND c.id = $3', [id]);
      if (!found[0]) throw new AppError('NOT_FOUND', '联系人不存在或已删除');
      return c.json(found[0], 200);
    },
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/industry/books/{book}/contacts/{id}',
      middleware: [requires('contacts')],
      tags: TAG,
      summary: '编辑联系人',
      request: { params: BookIdParam, ...jsonBody(ContactFields) },
      responses: jsonOk(Contact),
    }),
    async (c) => {
      const { book, id } = c.req.valid('param');
      const who = bookOf(c, book, true);
      const body = c.req.valid('json');
      const { db } = c.get('deps');
      const phone = phoneOrThrow(body.phone);
      await db.transaction(async (tx) => {
        await checkContacts(tx, book, who, [id]);
        const groups = await checkGroups(tx, book, who, body.groupIds);
        try {
          await tx.query(
            `UPDATE contacts SET name = $2, phone = $3, gender = $4, birthday = $5, email = $6, company = $7, title = $8, address = $9, remark = $10, sort = $11, updated_at = now() WHERE id = $1`,
            [id, body.name, phone, body.gender, body.birthday, body.email, body.company, body.title, body.address, body.remark, body.sort],
          );
        } catch (err) {
          if (phoneTaken(err)) throw new AppError('PHONE_TAKEN', `通讯录中已有号码 ${phone}`);
          throw err;
        }
        await setGroups(tx, book, [id], groups, true);
      });
      await opLog(c, '编辑联系人', `${body.name} ${phone}`);
      return c.json((await loadContacts(db, book, who, 'AND c.id = $3', [id]))[0]!, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/api/industry/books/{book}/contacts/{id}',
      middleware: [requires('contacts')],
      tags: TAG,
      summary: '删除联系人',
      request: { params: BookIdParam },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const { book, id } = c.req.valid('param');
      const who = bookOf(c, book, true);
      const { db } = c.get('deps');
      await checkContacts(db, book, who, [id]);
      await db.query('DELETE FROM contacts WHERE id = $1', [id]);
      await opLog(c, '删除联系人', id);
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/books/{book}/contacts/delete',
      middleware: [requires('contacts')],
      tags: TAG,
      summary: '批量删除联系人',
      request: { params: BookParam, ...jsonBody(z.object({ ids: Ids })) },
      responses: jsonOk(z.object({ deleted: z.number().openapi({ description: '删除的联系人数', example: 2 }) })),
    }),
    async (c) => {
      const { book } = c.req.valid('param');
      const who = bookOf(c, book, true);
      const { db } = c.get('deps');
      const ids = await checkContacts(db, book, who, c.req.valid('json').ids);
      await db.query('DELETE FROM contacts WHERE id = ANY($1::text[])', [ids]);
      await opLog(c, '删除联系人', `${ids.length} 个`);
      return c.json({ deleted: ids.length }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/books/{book}/contacts/sort',
      middleware: [requires('contacts')],
      tags: TAG,
      summary: '设置排序（数值小的靠前）',
      request: {
        params: BookParam,
        ...jsonBody(
          z.object({
            ids: Ids,
            sort: z
              .number({ error: '请输入排序数值' })
              .int('排序须为整数')
              .min(-1_000_000)
              .max(1_000_000)
              .openapi({ description: '新的排序值（整数，小的在前）', example: 10 }),
          }),
        ),
      },
      responses: jsonOk(z.object({ updated: z.number().openapi({ description: '改动的联系人数', example: 2 }) })),
    }),
    async (c) => {
      const { book } = c.req.valid('param');
      const who = bookOf(c, book, true);
      const body = c.req.valid('json');
      const { db } = c.get('deps');
      const ids = await checkContacts(db, book, who, body.ids);
      await db.query('UPDATE contacts SET sort = $2, updated_at = now() WHERE id = ANY($1::text[])', [ids, body.sort]);
      return c.json({ updated: ids.length }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/books/{book}/contacts/{op}',
      middleware: [requires('contacts')],
      tags: TAG,
      summary: 'copy 复制到其他分组（保留原分组）；move 迁移到其他分组（替换原分组）',
      request: {
        params: BookParam.extend({ op: z.enum(['copy', 'move']) }),
        ...jsonBody(
          z.object({
            ids: Ids,
            groupIds: GroupIds.min(1, '请选择目标分组').openapi({
              description: '目标分组编号（至少一个）：copy 加入这些分组，move 移出原分组后加入',
              example: ['g1a2b3c4-0000-4000-8000-000000000001'],
            }),
          }),
        ),
      },
      responses: jsonOk(z.object({ updated: z.number().openapi({ description: '改动的联系人数', example: 2 }) })),
    }),
    async (c) => {
      const { book, op } = c.req.valid('param');
      const who = bookOf(c, book, true);
      const body = c.req.valid('json');
      const { db } = c.get('deps');
      const n = await db.transaction(async (tx) => {
        const ids = await checkContacts(tx, book, who, body.ids);
        const groups = await checkGroups(tx, book, who, body.groupIds);
        await setGroups(tx, book, ids, groups, op === 'move');
        await tx.query('UPDATE contacts SET updated_at = now() WHERE id = ANY($1::text[])', [ids]);
        return ids.length;
      });
      await opLog(c, op === 'copy' ? '复制联系人到分组' : '迁移联系人到分组', `${n} 个`);
      return c.json({ updated: n }, 200);
    },
  );
