import { randomUUID } from 'node:crypto';
import type { Queryable } from '@geo/infra';

/** In-app messages (消息): review results, task events. */
export async function notifyAccount(
  db: Queryable,
  accountId: string,
  enterpriseId: string | null,
  kind: string,
  title: string,
  body = '',
): Promise<void> {
  await db.query('INSERT INTO messages (id, enterprise_id, account_id, kind, title, body) VALUES ($1, $2, $3, $4, $5, $6)', [
    randomUUID(),
    enterpriseId,
    accountId,
    kind,
    title,
    body,
  ]);
}

/** Tells the submitter and, when different, every admin of the enterprise. */
export async function notifyEnterprise(
  db: Queryable,
  enterpriseId: string,
  submitter: string | null,
  kind: string,
  title: string,
  body = '',
): Promise<void> {
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM accounts WHERE enterprise_id = $1 AND (role = 'admin' OR id = $2)`, [
    enterpriseId,
    submitter ?? '',
  ]);
  for (const r of rows) await notifyAccount(db, r.id, enterpriseId, kind, title, body);
}
