import type { Queryable } from '@geo/infra';
import { AppError } from '../../errors.ts';
import type { Principal } from '../../http/context.ts';
import { iso } from '../../http/context.ts';
import type { SqlRow } from '@geo/infra';

export interface AccountRecord {
  id: string;
  name: string;
  displayName: string;
  phone: string;
  email: string;
  role: 'admin' | 'sub' | 'operator';
  departmentId: string | null;
  departmentName: string | null;
  permissions: string[];
  status: 'active' | 'frozen';
  quota: number | null;
  defaultSignatureId: string | null;
  defaultSignature: string | null;
  remark: string;
  createdAt: string;
}

export const SELECT_ACCOUNT = `
  SELECT a.id, a.name, a.display_name, a.phone, a.email, a.role, a.department_id, d.name AS department_name,
         a.permissions, a.status, a.quota, a.default_signature_id, s.text AS default_signature, a.remark, a.created_at
    FROM accounts a
    LEFT JOIN departments d ON d.id = a.department_id
    LEFT JOIN signatures s ON s.id = a.default_signature_id`;

export function toAccount(r: SqlRow): AccountRecord {
  return {
    id: r.id,
    name: r.name,
    displayName: r.display_name,
    phone: r.phone,
    email: r.email,
    role: r.role,
    departmentId: r.department_id,
    departmentName: r.department_name ?? null,
    permissions: r.permissions,
    status: r.status,
    quota: r.quota == null ? null : Number(r.quota),
    defaultSignatureId: r.default_signature_id,
    defaultSignature: r.default_signature ?? null,
    remark: r.remark,
    createdAt: iso(r.created_at)!,
  };
}

/** An account of the caller's enterprise, or 404 (another tenant's id looks exactly like a missing one). */
export async function accountInTenant(db: Queryable, enterpriseId: string, id: string): Promise<AccountRecord> {
  // A deleted account is kept (deactivated) for its sends and ledger entries, but is gone here.
  const { rows } = await db.query(`${SELECT_ACCOUNT} WHERE a.id = $1 AND a.enterprise_id = $2 AND a.deleted_at IS NULL`, [
    id,
    enterpriseId,
  ]);
  if (!rows[0]) throw new AppError('NOT_FOUND', '账户不存在');
  return toAccount(rows[0]);
}

/**
 * Whether the caller may change (edit, freeze, reset, delete, re-permission) this account: never
 * itself through account management, never the enterprise admin, and only an account whose
 * permissions are all the caller's own — otherwise a sub-account holding only 账户管理 could reset
 * the password of a richer account and log in as it (issue 17).
 */
export function assertMayManage(p: Principal, target: AccountRecord): void {
  if (target.id === p.accountId) throw new AppError('CANNOT_MODIFY_SELF');
  if (target.role !== 'sub' && p.role !== 'admin') throw new AppError('FORBIDDEN', '子账户不能修改管理员账户');
  if (target.role === 'admin') throw new AppError('FORBIDDEN', '不能在账户管理中修改企业管理员');
  const beyond = target.permissions.filter((f) => !p.permissions.has(f as never));
  if (beyond.length) throw new AppError('FORBIDDEN', `该账户拥有您没有的权限（${beyond.join('、')}），不能管理它`);
}

/** A sub-account manager can grant only features it holds itself. */
export function assertGrantable(p: Principal, perms: readonly string[]): void {
  const extra = perms.filter((f) => !p.permissions.has(f as never));
  if (extra.length) throw new AppError('FORBIDDEN', `不能分配自己没有的权限：${extra.join('、')}`);
}

export async function departmentInTenant(db: Queryable, enterpriseId: string, id: string | null | undefined): Promise<void> {
  if (!id) return;
  const { rows } = await db.query('SELECT 1 FROM departments WHERE id = $1 AND enterprise_id = $2', [id, enterpriseId]);
  if (!rows[0])
    throw new AppError('VALIDATION', '请求参数有误：departmentId: 部门不存在', [{ path: 'departmentId', message: '部门不存在' }]);
}
