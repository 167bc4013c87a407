import type { Db } from '@geo/infra';
import { hashPassword, verifyPassword } from '../auth/password.ts';
import { DEMO_CREDENTIALS as D } from './credentials.ts';

const ENT = 'demo-enterprise';

/** Seeds the demo enterprise, departments, accounts, an approved signature and the operator. Idempotent. */
export async function seedDemo(db: Db, scryptLogN?: number): Promise<void> {
  await db.query(
    `INSERT INTO enterprises (id, name, quota, access_number) VALUES ($1, $2, 100000, '1069088811') ON CONFLICT (id) DO NOTHING`,
    [ENT, D.enterprise],
  );
  const depts: [string, string | null, string][] = [
    ['demo-dept-root', null, '总部'],
    ['demo-dept-ops', 'demo-dept-root', '运营部'],
    ['demo-dept-sales', 'demo-dept-root', '市场部'],
  ];
  for (const [id, parent, name] of depts) {
    await db.query('INSERT INTO departments (id, enterprise_id, parent_id, name) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING', [
      id,
      ENT,
      parent,
      name,
    ]);
  }
  const accounts = [
    {
      id: 'demo-admin',
      ent: ENT,
      dept: 'demo-dept-root',
      kind: 'admin',
      perms: [],
      quota: null,
      name: D.admin.name,
      password: D.admin.password,
      display: '演示管理员',
    },
    {
      id: 'demo-sub',
      ent: ENT,
      dept: 'demo-dept-ops',
      kind: 'sub',
      perms: ['home', 'sms.send', 'sms.sent', 'contacts', 'signatures'],
      quota: 5000,
      name: D.sub.name,
      password: D.sub.password,
      display: '演示子账户',
    },
    {
      id: 'demo-operator',
      ent: null,
      dept: null,
      kind: 'operator',
      perms: [],
      quota: null,
      name: D.operator.name,
      password: D.operator.password,
      display: '平台运营',
    },
  ];
  for (const a of accounts) {
    const { rows } = await db.query<{ password_hash: string }>('SELECT password_hash FROM accounts WHERE id = $1', [a.id]);
    if (rows[0] && (await verifyPassword(a.password, rows[0].password_hash))) {
      await db.query(`UPDATE accounts SET status = 'active' WHERE id = $1`, [a.id]);
      continue;
    }
    const hash = await hashPassword(a.password, scryptLogN);
    await db.query(
      `INSERT INTO accounts (id, enterprise_id, department_id, name, display_name, role, permissions, password_hash, quota)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO UPDATE SET password_hash = EXCLUDED.password_hash, status = 'active'`,
      [a.id, a.ent, a.dept, a.name, a.display, a.kind, JSON.stringify(a.perms), hash, a.quota],
    );
  }
  await db.query(
    `INSERT INTO signatures (id, enterprise_id, account_id, text, status, is_default, reviewed_by, reviewed_at)
     VALUES ('demo-signature', $1, 'demo-admin', '翼讯通', 'approved', true, 'demo-operator', now()) ON CONFLICT (id) DO NOTHING`,
    [ENT],
  );
}
