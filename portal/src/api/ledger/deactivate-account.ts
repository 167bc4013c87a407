import type { Queryable } from '@geo/infra';

/**
 * Deletes an account the way records need (#18): it is deactivated, never erased. It is frozen and
 * marked deleted (`deleted_at`), its sessions and API keys are removed, and its sends, tasks and
 * ledger entries stay, shown under its name marked （已删除）. The database does the same when an
 * account row is deleted while its enterprise lives (trigger `accounts_never_erased`, migration
 * 0060); calling this says so at the call site.
 */
export async function deactivateAccount(db: Queryable, accountId: string): Promise<void> {
  await db.query('SELECT deactivate_account($1)', [accountId]);
}
