import { randomUUID } from 'node:crypto';
import type { Queryable } from '@geo/infra';
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
 * Accounts whose sends the caller may see, for a scope:
 * - `mine`: the caller;
 * - `direct` (直属下级): the other accounts of the caller's department and of its direct child departments;
 * - `all` (全部下级): every account in the caller's department subtree (the admin: the whole enterprise).
 * An admin without a department sees the whole enterprise under `direct` and `all`.
 */
export async function scopeAccounts(db: Queryable, p: Principal, enterpriseId: string, scope: StatsScope): Promise<string[]> {
  if (scope === 'mine') return [p.accountId];
  if (p.role === 'admin' && (scope === 'all' || !p.departmentId)) {
    const { rows } = await db.query<{ id: string }>('SELECT id FROM accounts WHERE enterprise_id = $1', [enterpriseId]);
    return rows.map((r) => r.id);
  }
  if (!p.departmentId) return [p.accountId];
  let depts: string[];
  if (scope === 'direct') {
    const { rows } = await db.query<{ id: string }>('SELECT id FROM departments WHERE enterprise_id = $1 AND (id = $2 OR parent_id = $2)', [enterpriseId, p.departmentId]);
    depts = rows.map((r) => r.id);
  } else {
    depts = await departmentSubtree(db, enterpriseId, p.departmentId);
  }
  const { rows } = await db.query<{ id: string }>('SELECT id FROM accounts WHERE enterprise_id = $1 AND department_id = ANY($2::text[])', [enterpriseId, depts]);
  const ids = rows.map((r) => r.id).filter((id) => scope === 'all' || id !== p.accountId);
  if (scope === 'all' && !ids.includes(p.accountId)) ids.push(p.accountId);
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
      return end ? new Date(d.getTime() + 86_400_000) : d;
    }
    return new Date(s);
  };
  return { from: parse(from, false), to: parse(to, true) };
}

/** `%…%` for ILIKE with the user's `%` and `_` taken literally. */
export const likePattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
