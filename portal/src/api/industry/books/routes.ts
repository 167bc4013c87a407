import { createRoute } from '@hono/zod-openapi';
import type { Queryable } from '@geo/infra';
import { AppError } from '../../../errors.ts';
import { need, tenant, type Ctx, type Deps } from '../../../http/context.ts';
import { opLog } from '../../../http/op-log.ts';
import { jsonBody, jsonOk, Ok, router, z } from '../../../http/openapi.ts';
import { normalizeMobile } from '../../../industry/recipients.ts';
import { UNASSIGNED } from '../send/recipients.ts';
import { likePattern, newId } from '../scope.ts';
import { createImportJob, failJob, importJob, ImportView, jobView, reject, type ImportJob } from '../imports/jobs.ts';
import { fileResponse, parseUpload, receiveUpload, uploadBodyLimit, xlsxBytes } from '../uploads/xlsx.ts';

const TAG = ['行业短信-通讯录'];
type Book = 'personal' | 'enterprise';
const BookParam = z.object({ book: z.enum(['personal', 'enterprise']) });
const BookIdParam = BookParam.extend({ id: z.string().min(1).max(64) });
const Ids = z.array(z.string().min(1).max(64)).min(1, '请先选择联系人').max(100_000);
const GroupIds = z.array(z.string().min(1).max(64)).max(1000);

/** Membership table and column of a book: personal groups, or departments for the enterprise book. */
const M = {
  personal: { table: 'contact_group_members', col: 'group_id' },
  enterprise: { table: 'contact_department_members', col: 'department_id' },
} as const;

interface Who {
  enterpriseId: string;
  accountId: string;
}

/** The caller and book, checking permission: reading needs 通讯录; changing the enterprise book also 部门管理 (or admin). */
function bookOf(c: Ctx, book: Book, write: boolean): Who {
  const { p, enterpriseId } = need(c, 'contacts');
  if (write && book === 'enterprise' && p.role !== 'admin' && !p.permissions.has('departments')) {
    throw new AppError('FORBIDDEN', '只有管理员或有部门管理权限的账户可以修改企业通讯录');
  }
  return { enterpriseId, accountId: p.accountId };
}

/** SQL condition (alias c) for the contacts of a book the caller sees; parameters $1 enterprise, $2 account. */
const inBook = (book: Book) =>
  book === 'personal'
    ? `c.enterprise_id = $1 AND c.book = 'personal' AND c.account_id = $2`
    : `c.enterprise_id = $1 AND c.book = 'enterprise' AND $2::text IS NOT NULL`;

/** Checks that every group (or department) id belongs to the caller's book. */
async function checkGroups(db: Queryable, book: Book, who: Who, ids: readonly string[]): Promise<string[]> {
  const want = [...new Set(ids.filter((g) => g !== UNASSIGNED))];
  if (want.length === 0) return [];
  const { rows } =
    book === 'personal'
      ? await db.query<{ id: string }>('SELECT id FROM contact_groups WHERE account_id = $1 AND id = ANY($2::text[])', [
          who.accountId,
          want,
        ])
      : await db.query<{ id: string }>('SELECT id FROM departments WHERE enterprise_id = $1 AND id = ANY($2::text[])', [
          who.enterpriseId,
          want,
        ]);
  if (rows.length !== want.length) throw new AppError('NOT_FOUND', book === 'personal' ? '所选分组不存在' : '所选部门不存在');
  return want;
}

/** The ids among `ids` that are contacts of the caller's book, or 404 when any is not. */
async function checkContacts(db: Queryable, book: Book, who: Who, ids: readonly string[]): Promise<string[]> {
  const want = [...new Set(ids)];
  const { rows } = await db.query<{ id: string }>(`SELECT c.id FROM contacts c WHERE ${inBook(book)} AND c.id = ANY($3::text[])`, [
    who.enterpriseId,
    who.accountId,
    want,
  ]);
  if (rows.length !== want.length) throw new AppError('NOT_FOUND', '联系人不存在或已删除');
  return want;
}

async function setGroups(
  db: Queryable,
  book: Book,
  contactIds: readonly string[],
  groupIds: readonly string[],
  replace: boolean,
): Promise<void> {
  const m = M[book];
  if (replace) await db.query(`DELETE FROM ${m.table} WHERE contact_id = ANY($1::text[])`, [contactIds]);
  if (groupIds.length === 0) return;
  await db.query(
    `INSERT INTO ${m.table} (contact_id, ${m.col}) SELECT c, g FROM unnest($1::text[]) c CROSS JOIN unnest($2::text[]) g ON CONFLICT DO NOTHING`,
    [contactIds, groupIds],
  );
}

const GENDER_IN: Record<string, '' | 'male' | 'female'> = {
  '': '',
  男: 'male',
  女: 'female',
  male: 'male',
  female: 'female',
  m: 'male',
  f: 'female',
};
const GENDER_OUT: Record<string, string> = { '': '', male: '男', female: '女' };

const ContactFields = z.object({
  name: z.string({ error: '请输入姓名' }).trim().min(1, '请输入姓名').max(50, '姓名最多 50 字'),
  phone: z.string({ error: '请输入手机号码' }).trim().min(1, '请输入手机号码').max(32, '手机号码有误'),
  gender: z.enum(['', 'male', 'female']).default(''),
  birthday: z.string().max(20).default(''),
  email: z.string().max(100).default(''),
  company: z.string().max(100).default(''),
  title: z.string().max(50).default(''),
  address: z.string().max(200).default(''),
  remark: z.string().max(500).default(''),
  sort: z.number().int().min(-1_000_000).max(1_000_000).default(0),
  groupIds: GroupIds.default([]),
});
const Contact = ContactFields.omit({ groupIds: true })
  .extend({ id: z.string(), groupIds: z.array(z.string()), groupNames: z.array(z.string()), updatedAt: z.string() })
  .openapi('Contact');
const GroupNode = z
  .object({ id: z.string(), parentId: z.string().nullable(), name: z.string(), count: z.number(), sort: z.number() })
  .openapi('ContactGroup');

const CONTACT_COLS = 'c.id, c.name, c.phone, c.gender, c.birthday, c.email, c.company, c.title, c.address, c.remark, c.sort, c.updated_at';

async function loadContacts(
  db: Queryable,
  book: Book,
  who: Who,
  where: string,
  params: unknown[],
  tail = '',
): Promise<z.infer<typeof Contact>[]> {
  const m = M[book];
  const names = book === 'personal' ? 'contact_groups' : 'departments';
  // The page of contacts first (`where` and `tail` are on contacts alone), then each one's groups:
  // grouping the whole book before the LIMIT took ~0.6 s a page at 100,000 contacts.
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT ${CONTACT_COLS}, coalesce(gs.ids, '{}') AS group_ids, coalesce(gs.names, '{}') AS group_names
       FROM (SELECT c.* FROM contacts c WHERE ${inBook(book)} ${where} ORDER BY c.sort, c.name, c.id ${tail}) c
       LEFT JOIN LATERAL (
         SELECT array_agg(g.id ORDER BY g.name) AS ids, array_agg(g.name ORDER BY g.name) AS names
           FROM ${m.table} m JOIN ${names} g ON g.id = m.${m.col} WHERE m.contact_id = c.id
       ) gs ON true
      ORDER BY c.sort, c.name, c.id`,
    [who.enterpriseId, who.accountId, ...params],
  );
  return rows.map((r) => ({
    id: r.id as string,
    name: r.name as string,
    phone: r.phone as string,
    gender: r.gender as '' | 'male' | 'female',
    birthday: r.birthday as string,
    email: r.email as string,
    company: r.company as string,
    title: r.title as string,
    address: r.address as string,
    remark: r.remark as string,
    sort: Number(r.sort),
    groupIds: r.group_ids as string[],
    groupNames: r.group_names as string[],
    updatedAt: new Date(r.updated_at as string).toISOString(),
  }));
}

/** WHERE fragment for a list filter: a group (or 未分配组) and a keyword over name and phone. */
function filter(book: Book, q: { groupId?: string; keyword?: string }, params: unknown[]): string {
  const m = M[book];
  let w = '';
  if (q.groupId === UNASSIGNED) w += ` AND NOT EXISTS (SELECT 1 FROM ${m.table} x WHERE x.contact_id = c.id)`;
  else if (q.groupId) {
    params.push(q.groupId);
    w += ` AND EXISTS (SELECT 1 FROM ${m.table} x WHERE x.contact_id = c.id AND x.${m.col} = $${params.length + 2})`;
  }
  if (q.keyword?.trim()) {
    params.push(likePattern(q.keyword.trim()));
    w += ` AND (c.name ILIKE $${params.length + 2} OR c.phone LIKE $${params.length + 2})`;
  }
  return w;
}

const ListQuery = z.object({
  groupId: z.string().max(64).optional(),
  keyword: z.string().max(50).optional(),
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(500).default(20),
});

function phoneOrThrow(raw: string): string {
  const n = normalizeMobile(raw);
  if (!n) throw new AppError('VALIDATION', `手机号码“${raw}”无效`);
  return n;
}

function phoneTaken(err: unknown): boolean {
  return /contacts_(personal|enterprise)_phone|duplicate key/.test(String((err as Error)?.message));
}

/** Rows checked and written per transaction; the event loop gets a turn between chunks. */
const IMPORT_CHUNK = 1000;

/**
 * The background part of an import: reads the file on a worker thread, then checks and writes the
 * rows a chunk at a time, updating the job for the progress bar. Never throws: a failure is the
 * job's `error`.
 */
async function runImport(deps: Deps, job: ImportJob, book: Book, who: Who, groups: string[], bytes: Uint8Array): Promise<void> {
  const { db } = deps;
  try {
    const table = await parseUpload(bytes, (n) => (job.processed = n));
    job.rows = table.rows.length;
    job.processed = 0;
    job.phase = 'importing';
    const existing = new Set(
      (
        await db.query<{ phone: string }>(`SELECT c.phone FROM contacts c WHERE ${inBook(book)}`, [who.enterpriseId, who.accountId])
      ).rows.map((r) => r.phone),
    );
    const seen = new Set<string>();
    for (let i = 0; i < table.rows.length; i += IMPORT_CHUNK) {
      await new Promise((r) => setImmediate(r));
      const good: { name: string; phone: string; cells: string[] }[] = [];
      table.rows.slice(i, i + IMPORT_CHUNK).forEach((row, k) => {
        let cells = row.cells;
        if (i + k === 0 && /姓名|名字|name/i.test(cells[0] ?? '') && !normalizeMobile(cells[1] ?? '')) return; // header row
        if (cells.length === 1) cells = [cells[0]!, cells[0]!]; // a bare number: the number is the name too
        const [nm = '', ph = ''] = cells;
        const phone = normalizeMobile(ph);
        const text = cells.join(' ').slice(0, 100);
        if (!nm.trim()) reject(job, { line: row.line, text, reason: 'no_name', message: `第 ${row.line} 行：缺少姓名` });
        else if (!phone) reject(job, { line: row.line, text, reason: 'invalid', message: `第 ${row.line} 行：“${ph}”不是有效的手机号码` });
        else if (seen.has(phone))
          reject(job, { line: row.line, text, reason: 'duplicate', message: `第 ${row.line} 行：号码 ${phone} 在文件中重复` });
        else if (existing.has(phone))
          reject(job, { line: row.line, text, reason: 'exists', message: `第 ${row.line} 行：号码 ${phone} 已在通讯录中` });
        else {
          seen.add(phone);
          good.push({ name: nm.trim().slice(0, 50), phone, cells });
        }
      });
      if (good.length) {
        const col = (k: number, max: number) => good.map((g) => (g.cells[k] ?? '').slice(0, max));
        await db.transaction(async (tx) => {
          const { rows } = await tx.query<{ id: string }>(
            `INSERT INTO contacts (id, enterprise_id, book, account_id, name, phone, gender, birthday, email, company, title, address, remark)
             SELECT gen_random_uuid()::text, $1, $2, $3, * FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
             ON CONFLICT DO NOTHING RETURNING id`,
            [
              who.enterpriseId,
              book,
              book === 'personal' ? who.accountId : null,
              good.map((g) => g.name),
              good.map((g) => g.phone),
              good.map((g) => GENDER_IN[(g.cells[2] ?? '').trim().toLowerCase()] ?? ''),
              col(3, 20),
              col(4, 100),
              col(5, 100),
              col(6, 50),
              col(7, 200),
              col(8, 500),
            ],
          );
          await setGroups(
            tx,
            book,
            rows.map((r) => r.id),
            groups,
            false,
          );
          job.imported += rows.length;
        });
      }
      job.processed = Math.min(table.rows.length, i + IMPORT_CHUNK);
    }
    job.phase = 'done';
    deps.log.info({ jobId: job.id, rows: job.rows, imported: job.imported, rejected: job.rejectedTotal }, 'address-book import finished');
  } catch (err) {
    failJob(job, err, deps.log, 'address-book import failed', `导入失败（已导入 ${job.imported} 个联系人），请稍后重试`);
  } finally {
    job.finishedAt = Date.now();
  }
}

const base = router();
// Big bodies are cut off while they arrive, also without a Content-Length.
base.use('/api/industry/books/:book/import', uploadBodyLimit);

export const contactsRoutes = base
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/books/{book}/groups',
      tags: TAG,
      summary: '分组树（个人通讯录）或部门树（企业通讯录），含各组人数与未分配组',
      request: { params: BookParam },
      responses: jsonOk(z.object({ items: z.array(GroupNode), unassigned: z.number(), total: z.number() })),
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
      tags: TAG,
      summary: '新增分组（可作为子分组）',
      request: jsonBody(
        z.object({
          name: z.string({ error: '请输入分组名称' }).trim().min(1, '请输入分组名称').max(30, '分组名称最多 30 字'),
          parentId: z.string().max(64).nullable().optional(),
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
      tags: TAG,
      summary: '重命名分组',
      request: {
        params: z.object({ id: z.string().max(64) }),
        ...jsonBody(
          z.object({ name: z.string({ error: '请输入分组名称' }).trim().min(1, '请输入分组名称').max(30, '分组名称最多 30 字') }),
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
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/books/{book}/contacts',
      tags: TAG,
      summary: '联系人列表（按分组 / 未分配组，关键字搜索姓名或号码）',
      request: { params: BookParam, query: ListQuery },
      responses: jsonOk(z.object({ items: z.array(Contact), total: z.number() })),
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
      tags: TAG,
      summary: '批量删除联系人',
      request: { params: BookParam, ...jsonBody(z.object({ ids: Ids })) },
      responses: jsonOk(z.object({ deleted: z.number() })),
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
      tags: TAG,
      summary: '设置排序（数值小的靠前）',
      request: {
        params: BookParam,
        ...jsonBody(z.object({ ids: Ids, sort: z.number({ error: '请输入排序数值' }).int('排序须为整数').min(-1_000_000).max(1_000_000) })),
      },
      responses: jsonOk(z.object({ updated: z.number() })),
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
      tags: TAG,
      summary: 'copy 复制到其他分组（保留原分组）；move 迁移到其他分组（替换原分组）',
      request: {
        params: BookParam.extend({ op: z.enum(['copy', 'move']) }),
        ...jsonBody(z.object({ ids: Ids, groupIds: GroupIds.min(1, '请选择目标分组') })),
      },
      responses: jsonOk(z.object({ updated: z.number() })),
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
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/books/{book}/import',
      tags: TAG,
      summary: '导入联系人（TXT 或 Excel，可下载模板）：后台任务，返回任务号，轮询进度与逐行错误报告',
      description:
        'multipart/form-data：file；groupIds（逗号分隔，可空 → 未分配组）。列：姓名、手机号码、性别、生日、邮箱、单位、职务、地址、备注。' +
        '空文件、类型不符、过大的文件立即以 4xx 拒绝；其余在后台读取与写入，用 GET /api/industry/imports/{id} 查询进度（phase、percent）与结果。',
      request: { params: BookParam },
      responses: { 202: { description: '导入已开始', content: { 'application/json': { schema: ImportView } } } },
    }),
    async (c) => {
      const { book } = c.req.valid('param');
      const who = bookOf(c, book, true);
      const deps = c.get('deps');
      const { bytes, fields, name } = await receiveUpload(c);
      const groups = await checkGroups(
        deps.db,
        book,
        who,
        (fields.groupIds ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
      const job = createImportJob(deps, who, name.slice(0, 200));
      await opLog(c, '导入通讯录', name, { jobId: job.id });
      void runImport(deps, job, book, who, groups, bytes);
      return c.json(jobView(job), 202);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/imports/{id}',
      tags: TAG,
      summary: '通讯录导入、批量 / 定制发送文件检查的进度与结果（进度条）',
      request: { params: z.object({ id: z.string().max(64) }) },
      responses: jsonOk(ImportView),
    }),
    async (c) => {
      const who = tenant(c);
      const job = importJob(c.get('deps'), c.req.valid('param').id, { enterpriseId: who.enterpriseId, accountId: who.p.accountId });
      if (!job) throw new AppError('IMPORT_NOT_FOUND');
      need(c, job.kind === 'contacts' ? 'contacts' : 'sms.send');
      return c.json(jobView(job), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/books/{book}/export',
      tags: TAG,
      summary: '导出联系人到 Excel（单元格已转义，防公式注入）',
      request: {
        params: BookParam,
        query: z.object({
          groupId: z.string().max(64).optional(),
          keyword: z.string().max(50).optional(),
          ids: z.string().max(100_000).optional(),
        }),
      },
      responses: { 200: { description: 'Excel 文件' } },
    }),
    async (c) => {
      const { book } = c.req.valid('param');
      const who = bookOf(c, book, false);
      const q = c.req.valid('query');
      const params: unknown[] = [];
      let where = filter(book, q, params);
      if (q.ids) {
        params.push(q.ids.split(',').filter(Boolean));
        where += ` AND c.id = ANY($${params.length + 2}::text[])`;
      }
      const items = await loadContacts(c.get('deps').db, book, who, where, params);
      const bytes = await xlsxBytes(
        '通讯录',
        ['姓名', '手机号码', '性别', '生日', '邮箱', '单位', '职务', '地址', '备注', book === 'personal' ? '分组' : '部门'],
        items.map((x) => [
          x.name,
          x.phone,
          GENDER_OUT[x.gender],
          x.birthday,
          x.email,
          x.company,
          x.title,
          x.address,
          x.remark,
          x.groupNames.join('、'),
        ]),
      );
      await opLog(c, '导出通讯录', `${items.length} 个`);
      return fileResponse(c, bytes, book === 'personal' ? '个人通讯录.xlsx' : '企业通讯录.xlsx');
    },
  );
