import type { Deps } from '../../http/context.ts';
import { failedUnits } from '../industry/index.ts';
import { give, type LedgerRef } from './ledger.ts';

/** How long after sending a failure receipt is still refunded (receipts can take days). @default 3 */
export const REFUND_DAYS = 3;

/**
 * Gives back the billing units of numbers that finally failed, for industry sends and big-data tasks
 * of the last `days`: each pass refunds what failed since the last one (the failed units in the send
 * log minus what the ledger already refunded), so it can run any number of times. A big-data task's
 * refund comes out of what it still holds, so with its release at the end it is charged exactly what
 * was sent and did not fail.
 * @returns the units given back in this pass.
 */
export async function refundFailed(deps: Deps, days = REFUND_DAYS): Promise<number> {
  const { db, ch, log } = deps;
  if (!ch) return 0;
  const { rows } = await db.query<{ ref_kind: 'industry' | 'bigdata'; ref_id: string; enterprise_id: string }>(
    `SELECT 'industry' AS ref_kind, id AS ref_id, enterprise_id FROM sms_sends WHERE state = 'sent' AND sent_at > now() - make_interval(days => $1)
     UNION ALL
     SELECT 'bigdata', task_id, enterprise_id FROM bigdata_reservations WHERE settled_at IS NULL OR settled_at > now() - make_interval(days => $1)
     LIMIT 5000`,
    [days],
  );
  if (!rows.length) return 0;
  const failed = await failedUnits(
    ch,
    log,
    rows.map((r) => r.ref_id),
    deps.cfg.smsLogTable,
  );
  if (!failed) return 0;
  let total = 0;
  for (const r of rows) {
    const units = failed.get(r.ref_id) ?? 0;
    if (units <= 0) continue;
    const ref: LedgerRef = { kind: r.ref_kind, id: r.ref_id };
    total += await db.transaction(async (tx) => {
      // Under the enterprise's lock, so two portals refunding at once see each other's entries.
      await tx.query('SELECT 1 FROM enterprises WHERE id = $1 FOR UPDATE', [r.enterprise_id]);
      const { rows: done } = await tx.query<{ n: string | number | null }>(
        `SELECT sum(amount) AS n FROM quota_ledger WHERE ref_kind = $1 AND ref_id = $2 AND kind = 'refund' AND balance_of = 'enterprise'`,
        [ref.kind, ref.id],
      );
      return give(tx, r.enterprise_id, units - Number(done[0]?.n ?? 0), 'refund', ref);
    });
  }
  return total;
}
