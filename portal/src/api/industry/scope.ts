import { randomUUID } from 'node:crypto';
import type { Queryable } from '@geo/infra';
import { AppError } from '../../errors.ts';
import type { Principal } from '../../http/context.ts';

export const newId = (): string => randomUUID();

/** Departments at and below `root` (the department tree of the enterprise). */
export async function departmentSubtree(db: Queryable, enterpriseId: string, root: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `WITH RECURSIVE t AS (
       SELECT id FROM departments WHERE id = $2 AND enterprise_id = $1
       UNION ALL SELECT d.id FROM departments d JOIN t ON d.parent_id = t.id WHERE d.enterprise_id = $1)
     SELECT id FROM t`,
    [enterpriseId, root],
  );
  return rows.map((r) => r.id);
}

export type StatsScope = 'mine' | 'direct' | 'all';

/**
 * Accounts whose sends the caller may see, for a scope. A sub-account's subordinates are the
 * accounts in the departments below its own and the sub-accounts it created, never the accounts
 * above it or beside it in its own department (a sub-account in the root department listed the
 * admin's sends, issue 17):
 * - `mine`: the caller;
 * - `direct` (直属下级): the accounts of the departments directly below the caller's, and the
 *   sub-accounts the caller created;
 * - `all` (全部下级): the caller, every account in the departments below its own, and the
 *   sub-accounts it created, theirs, and so on.
 * The enterprise admin is above everyone: `all` is the whole enterprise, `direct` its own
 * department's other accounts and those of the departments directly below.
 */
export async function scopeAccounts(db: Queryable, p: Principal, enterpriseId: string, scope: StatsScope): Promise<string[]> {
  if (scope === 'mine') return [p.accountId];
  if (p.role === 'admin') {
    if (scope === 'all' || !p.departmentId) {
      const { rows } = await db.query<{ id: string }>('SELECT id FROM accounts WHERE enterprise_id = $1', [enterpriseId]);
      return rows.map((r) => r.id);
    }
    const { rows } = await db.query<{ id: string }>(
      `SELECT a.id FROM accounts a JOIN departments d ON d.id = a.department_id
        WHERE a.enterprise_id = $1 AND a.id <> $3 AND (d.id = $2 OR d.parent_id = $2)`,
      [enterpriseId, p.departmentId, p.accountId],
    );
    return rows.map((r) => r.id);
  }
  let below: string[] = [];
  if (p.departmentId) {
    if (scope === 'direct') {
      const { rows } = await db.query<{ id: string }>('SELECT id FROM departments WHERE enterprise_id = $1 AND parent_id = $2', [
        enterpriseId,
        p.departmentId,
      ]);
      below = rows.map((r) => r.id);
    } else {
      below = (await departmentSubtree(db, enterpriseId, p.departmentId)).filter((d) => d !== p.departmentId);
    }
  }
  const created =
    scope === 'direct'
      ? `SELECT id FROM accounts WHERE enterprise_id = $1 AND created_by = $3`
      : `WITH RECURSIVE mine AS (
           SELECT id FROM accounts WHERE enterprise_id = $1 AND created_by = $3
           UNION SELECT a.id FROM accounts a JOIN mine ON a.created_by = mine.id WHERE a.enterprise_id = $1)
         SELECT id FROM mine`;
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM accounts WHERE enterprise_id = $1 AND department_id = ANY($2::text[]) AND role = 'sub'
     UNION SELECT id FROM (${created}) c`,
    [enterpriseId, below, p.accountId],
  );
  const ids = rows.map((r) => r.id).filter((id) => id !== p.accountId);
  if (scope === 'all') ids.push(p.accountId);
  return ids;
}

/** Everyone whose sends the caller may look at in the sent list: itself and all its subordinates. */
export const visibleAccounts = (db: Queryable, p: Principal, enterpriseId: string) => scopeAccounts(db, p, enterpriseId, 'all');

/** Dates from the API (`2026-11-25` or an ISO time) as bounds; a bare `to` date includes that whole day (Asia/Shanghai). */
export function timeBounds(from?: string, to?: string): { from: Date | null; to: Date | null } {
  const parse = (s: string | undefined, end: boolean): Date | null => {
    if (!s) return null;
    if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
      const d = new Date(`${s}T00:00:00+08:00`);
      if (Number.isNaN(d.getTime()))
        throw new AppError('VALIDATION', `请求参数有误：${end ? 'to' : 'from'}: 日期不存在`, [
          { path: end ? 'to' : 'from', message: '日期不存在' },
        ]);
      return end ? new Date(d.getTime() + 86_400_000) : d;
    }
    const d = new Date(s);
    // `?from=notadate` reached PostgreSQL as an invalid date and answered 500.
    if (Number.isNaN(d.getTime()))
      throw new AppError('VALIDATION', `请求参数有误：${end ? 'to' : 'from'}: 日期格式不正确（应为 2026-01-31 或 ISO 时间）`, [
        { path: end ? 'to' : 'from', message: '日期格式不正确' },
      ]);
    return d;
  };
  return { from: parse(from, false), to: parse(to, true) };
}

/** `%…%` for ILIKE with the user's `%` and `_` taken literally. */
export const likePattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
