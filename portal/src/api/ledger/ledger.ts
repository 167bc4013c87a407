import type { Db, Queryable } from '@geo/infra';
import { AppError } from '../../errors.ts';

/**
 * The quota ledger (invariant 9): one balance per enterprise, and per account where the account has
 * its own limit, in billing units (segments). `enterprises.quota` / `accounts.quota` are the running
 * balances; every change to them writes a `quota_ledger` entry in the same statement (triggers of
 * migration 0060), labelled here through transaction-local settings. Every kind of send takes from
 * these balances: an industry send is charged its billing count when recorded, a big-data task
 * reserves its totals when submitted; failed numbers and unsent reservations are given back.
 */

export type TakeKind = 'charge' | 'reserve';
export type GiveKind = 'refund' | 'release';
export type RefKind = 'industry' | 'bigdata';

export interface LedgerRef {
  kind: RefKind;
  /** The send's or task's id. */
  id: string;
}

export interface Who {
  enterpriseId: string;
  accountId: string;
}

/** Labels the balance changes of the rest of this transaction's statement(s). */
async function label(tx: Queryable, kind: string, ref: LedgerRef | undefined, accountId: string): Promise<void> {
  await tx.query(
    `SELECT set_config('geo.ledger_kind', $1, true), set_config('geo.ledger_ref_kind', $2, true), set_config('geo.ledger_ref_id', $3, true), set_config('geo.ledger_account', $4, true)`,
    [kind, ref?.kind ?? '', ref?.id ?? '', accountId],
  );
}

/**
 * Takes `n` units from the account (when it has its own limit) and the enterprise, or refuses with
 * 409 INSUFFICIENT_BALANCE without taking anything. Must run inside a transaction: the rows are
 * locked and each update is conditional, so concurrent takers can never overdraw.
 */
export async function take(tx: Queryable, who: Who, n: number, kind: TakeKind, ref: LedgerRef): Promise<void> {
  if (n <= 0) return;
  const { rows } = await tx.query<{ a: string | null; e: string }>(
    'SELECT a.quota AS a, e.quota AS e FROM accounts a JOIN enterprises e ON e.id = a.enterprise_id WHERE a.id = $1 AND e.id = $2 FOR UPDATE',
    [who.accountId, who.enterpriseId],
  );
  const r = rows[0];
  if (!r) throw new AppError('FORBIDDEN');
  if (r.a != null && Number(r.a) < n)
    throw new AppError('INSUFFICIENT_BALANCE', `账户余额不足：需要 ${n} 条，剩余 ${r.a} 条`, { need: n, left: Number(r.a) });
  if (Number(r.e) < n)
    throw new AppError('INSUFFICIENT_BALANCE', `集团余额不足：需要 ${n} 条，剩余 ${r.e} 条`, { need: n, left: Number(r.e) });
  await label(tx, kind, ref, who.accountId);
  const a = await tx.query('UPDATE accounts SET quota = quota - $2 WHERE id = $1 AND quota IS NOT NULL AND quota >= $2', [
    who.accountId,
    n,
  ]);
  const e = await tx.query('UPDATE enterprises SET quota = quota - $2 WHERE id = $1 AND quota >= $2', [who.enterpriseId, n]);
  await label(tx, '', undefined, '');
  if ((r.a != null && a.rowCount !== 1) || e.rowCount !== 1) throw new AppError('INSUFFICIENT_BALANCE');
}

/** What `ref` still holds of each balance it took from (taken minus given back). */
export async function heldBy(
  db: Queryable,
  enterpriseId: string,
  ref: LedgerRef,
): Promise<{ enterprise: number; accounts: Map<string, number> }> {
  const { rows } = await db.query<{ balance_of: string; account_id: string | null; held: string | number }>(
    `SELECT balance_of, CASE WHEN balance_of = 'account' THEN account_id END AS account_id, -sum(amount) AS held FROM quota_ledger
      WHERE enterprise_id = $1 AND ref_kind = $2 AND ref_id = $3 GROUP BY 1, 2`,
    [enterpriseId, ref.kind, ref.id],
  );
  const out = { enterprise: 0, accounts: new Map<string, number>() };
  for (const r of rows) {
    if (r.balance_of === 'enterprise') out.enterprise = Number(r.held);
    else if (r.account_id) out.accounts.set(r.account_id, Number(r.held));
  }
  return out;
}

/**
 * Gives back up to `n` units to the balances `ref` took them from, never more than it still holds
 * there (so a repeated or late refund cannot mint quota). An account whose own limit was removed
 * since gets nothing back on that limit; the enterprise does. Must run inside a transaction.
 * @returns the units given back to the enterprise.
 */
export async function give(tx: Queryable, enterpriseId: string, n: number, kind: GiveKind, ref: LedgerRef): Promise<number> {
  if (n <= 0) return 0;
  // Lock the enterprise row first: two refunds of one ref see each other's entries.
  await tx.query('SELECT 1 FROM enterprises WHERE id = $1 FOR UPDATE', [enterpriseId]);
  const held = await heldBy(tx, enterpriseId, ref);
  const toEnterprise = Math.min(n, held.enterprise);
  for (const [accountId, h] of held.accounts) {
    const back = Math.min(n, h);
    if (back <= 0) continue;
    await label(tx, kind, ref, accountId);
    await tx.query('UPDATE accounts SET quota = quota + $2 WHERE id = $1 AND quota IS NOT NULL', [accountId, back]);
  }
  if (toEnterprise > 0) {
    const { rows } = await tx.query<{ account_id: string | null }>(
      `SELECT account_id FROM quota_ledger WHERE enterprise_id = $1 AND ref_kind = $2 AND ref_id = $3 AND balance_of = 'enterprise' ORDER BY id LIMIT 1`,
      [enterpriseId, ref.kind, ref.id],
    );
    await label(tx, kind, ref, rows[0]?.account_id ?? '');
    await tx.query('UPDATE enterprises SET quota = quota + $2 WHERE id = $1', [enterpriseId, toEnterprise]);
  }
  await label(tx, '', undefined, '');
  return toEnterprise;
}

/**
 * Adds `n` units (negative: takes them away, never below zero) to an enterprise's balance, or to an
 * account's own limit, as one `topup` / `adjust` entry: the operator's change as a delta, so a send
 * charged at the same moment is not overwritten (setting the quota to a number would be).
 * @returns the balance after.
 */
export async function topUp(db: Db, target: { enterpriseId: string; accountId?: string }, n: number): Promise<number> {
  return db.transaction(async (tx) => {
    await label(tx, n >= 0 ? 'topup' : 'adjust', undefined, target.accountId ?? '');
    const { rows } = target.accountId
      ? await tx.query<{ quota: string }>(
          'UPDATE accounts SET quota = quota + $3 WHERE id = $1 AND enterprise_id = $2 AND quota IS NOT NULL AND quota + $3 >= 0 RETURNING quota',
          [target.accountId, target.enterpriseId, n],
        )
      : await tx.query<{ quota: string }>('UPDATE enterprises SET quota = quota + $2 WHERE id = $1 AND quota + $2 >= 0 RETURNING quota', [
          target.enterpriseId,
          n,
        ]);
    await label(tx, '', undefined, '');
    if (!rows[0]) throw new AppError('INSUFFICIENT_BALANCE', n < 0 ? `余额不足以扣减 ${-n} 条` : '该账户没有单独的可发送量上限');
    return Number(rows[0].quota);
  });
}

export interface Balances {
  /** null: the account has no own limit, only the enterprise's. */
  account: number | null;
  enterprise: number;
  /** What this account may still send: the smaller of the two. */
  available: number;
  /** Units held by big-data tasks that have not ended (already taken from the balances above). */
  reserved: number;
}

export async function balances(db: Queryable, enterpriseId: string, accountId: string): Promise<Balances> {
  const { rows } = await db.query<{ a: string | null; e: string; reserved: string | null }>(
    `SELECT a.quota AS a, e.quota AS e,
            (SELECT sum(units) FROM bigdata_reservations r WHERE r.enterprise_id = e.id AND r.settled_at IS NULL) AS reserved
       FROM accounts a JOIN enterprises e ON e.id = a.enterprise_id WHERE a.id = $1 AND e.id = $2`,
    [accountId, enterpriseId],
  );
  const r = rows[0];
  if (!r) return { account: null, enterprise: 0, available: 0, reserved: 0 };
  const account = r.a == null ? null : Number(r.a);
  const enterprise = Number(r.e);
  return {
    account,
    enterprise,
    available: account == null ? enterprise : Math.min(account, enterprise),
    reserved: Number(r.reserved ?? 0),
  };
}

export interface LedgerEntry {
  id: number;
  balanceOf: 'enterprise' | 'account';
  accountId: string | null;
  accountName: string | null;
  kind: string;
  amount: number;
  balanceAfter: number | null;
  refKind: string;
  refId: string;
  at: string;
}

/** Entries of an enterprise, newest first; `accountId` keeps those of one account (its limit and its sends). */
export async function entries(
  db: Queryable,
  enterpriseId: string,
  q: { accountId?: string; page: number; pageSize: number },
): Promise<{ total: number; items: LedgerEntry[] }> {
  const args: unknown[] = [enterpriseId];
  let w = 'l.enterprise_id = $1';
  if (q.accountId) {
    args.push(q.accountId);
    w += ` AND l.account_id = $2`;
  }
  const total = await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM quota_ledger l WHERE ${w}`, args);
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT l.id, l.balance_of, l.account_id, coalesce(nullif(a.display_name, ''), a.name) AS account_name, l.kind, l.amount, l.balance_after, l.ref_kind, l.ref_id, l.at
       FROM quota_ledger l LEFT JOIN accounts a ON a.id = l.account_id WHERE ${w} ORDER BY l.id DESC LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize}`,
    args,
  );
  return {
    total: Number(total.rows[0]?.n ?? 0),
    items: rows.map((r) => ({
      id: Number(r.id),
      balanceOf: r.balance_of as LedgerEntry['balanceOf'],
      accountId: (r.account_id as string) ?? null,
      accountName: (r.account_name as string) ?? null,
      kind: r.kind as string,
      amount: Number(r.amount),
      balanceAfter: r.balance_after == null ? null : Number(r.balance_after),
      refKind: r.ref_kind as string,
      refId: r.ref_id as string,
      at: new Date(r.at as string).toISOString(),
    })),
  };
}

/**
 * The ledger's own check: each balance equals the sum of its entries. Returns the balances that do
 * not (none, unless someone wrote around the triggers).
 */
export async function unbalanced(
  db: Queryable,
  enterpriseId?: string,
): Promise<{ enterpriseId: string; accountId: string | null; balance: number; sum: number }[]> {
  const { rows } = await db.query<{ enterprise_id: string; account_id: string | null; balance: string; sum: string }>(
    `SELECT e.id AS enterprise_id, NULL AS account_id, e.quota AS balance, coalesce((SELECT sum(amount) FROM quota_ledger l WHERE l.enterprise_id = e.id AND l.balance_of = 'enterprise'), 0) AS sum
       FROM enterprises e WHERE ($1::text IS NULL OR e.id = $1)
     UNION ALL
     SELECT a.enterprise_id, a.id, coalesce(a.quota, 0), coalesce((SELECT sum(amount) FROM quota_ledger l WHERE l.account_id = a.id AND l.balance_of = 'account'), 0)
       FROM accounts a WHERE a.enterprise_id IS NOT NULL AND ($1::text IS NULL OR a.enterprise_id = $1)`,
    [enterpriseId ?? null],
  );
  return rows
    .map((r) => ({ enterpriseId: r.enterprise_id, accountId: r.account_id, balance: Number(r.balance), sum: Number(r.sum) }))
    .filter((r) => r.balance !== r.sum);
}

export type { Db };
