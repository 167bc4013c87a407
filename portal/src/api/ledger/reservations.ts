import type { Db, Queryable } from '@geo/infra';
import { composeText, countSms, TextRefusal } from '@geo/messaging';
import { give, take } from './ledger.ts';

type Carrier = 'cmcc' | 'cucc' | 'ctcc';
export const TASK_CARRIERS: readonly Carrier[] = ['cmcc', 'cucc', 'ctcc'];

/** The part of a task spec (or form) that decides what it costs. */
export interface CostedSpec {
  signature: string;
  content: string;
  quota: Partial<Record<Carrier, { total: number } | undefined>>;
}

/**
 * Billing units of one alert SMS as messaging sends it: the signed text (`composeText`) cut into
 * parts by the rule `segmentText` submits with (`countSms`: 160 / 153 GSM-7, 70 / 67 UCS-2). An
 * alert is one message however long (alerting's `alertJob` makes one job of the whole text), not
 * the 500-character tasks an industry send is split into (`countMessage`, charged by messaging's
 * `chargeFor`). A text messaging would refuse costs one (it is never sent, so never charged more).
 * @example smsUnits({ signature: '应急', content: '台'.repeat(1000) }) // 15 (1004 characters, 67 a part), not 17 as three tasks
 */
export function smsUnits(sms: { signature: string; content: string }): number {
  try {
    return Math.max(1, countSms(composeText(sms.signature || ' ', sms.content)).segments);
  } catch (err) {
    if (err instanceof TextRefusal) return 1;
    throw err;
  }
}

/**
 * What a big-data task costs at most: its per-carrier totals (messages) times the billing units of
 * one message as it is sent ({@link smsUnits}: segments, signature included), the unit every send is
 * charged in.
 * @example taskCost({ signature: '应急', content: '台风预警', quota: { cmcc: { total: 100 } } }) // { perMessage: 1, messages: 100, units: 100 }
 */
export function taskCost(spec: CostedSpec): { perMessage: number; messages: number; units: number } {
  const perMessage = smsUnits(spec);
  const messages = TASK_CARRIERS.reduce((n, c) => n + (spec.quota[c]?.total ?? 0), 0);
  return { perMessage, messages, units: messages * perMessage };
}

/**
 * Takes a submitted task's whole cost from the ledger, in the caller's transaction (the one that
 * writes the task row and the KV entry): the task exists only if its cost could be taken.
 */
export async function reserveTask(
  tx: Queryable,
  t: { id: string; enterpriseId: string; accountId: string; spec: CostedSpec },
): Promise<void> {
  const cost = taskCost(t.spec);
  await take(tx, { enterpriseId: t.enterpriseId, accountId: t.accountId }, cost.units, 'reserve', { kind: 'bigdata', id: t.id });
  await tx.query(
    `INSERT INTO bigdata_reservations (task_id, enterprise_id, account_id, per_message, units) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (task_id) DO UPDATE SET units = bigdata_reservations.units + EXCLUDED.units`,
    [t.id, t.enterpriseId, t.accountId, cost.perMessage, cost.units],
  );
}

/**
 * A task's spec changed (its totals or its text): its reservation follows, in the caller's
 * transaction, taking the increase from the ledger (refused like a new task when the balance is
 * short) or releasing the decrease. Call it wherever a task's spec is replaced; alerting enforces
 * the new totals.
 * @returns the units taken (positive) or released (negative).
 */
export async function adjustReservation(tx: Queryable, taskId: string, spec: CostedSpec): Promise<number> {
  const { rows } = await tx.query<{ enterprise_id: string; account_id: string; units: string | number }>(
    'SELECT enterprise_id, account_id, units FROM bigdata_reservations WHERE task_id = $1 AND settled_at IS NULL FOR UPDATE',
    [taskId],
  );
  const r = rows[0];
  if (!r) return 0;
  const cost = taskCost(spec);
  const delta = cost.units - Number(r.units);
  const ref = { kind: 'bigdata' as const, id: taskId };
  if (delta > 0) await take(tx, { enterpriseId: r.enterprise_id, accountId: r.account_id }, delta, 'reserve', ref);
  else if (delta < 0) await give(tx, r.enterprise_id, -delta, 'release', ref);
  await tx.query('UPDATE bigdata_reservations SET units = $2, per_message = $3 WHERE task_id = $1', [taskId, cost.units, cost.perMessage]);
  return delta;
}

export interface OpenReservation {
  taskId: string;
  enterpriseId: string;
  perMessage: number;
  units: number;
}

/** Reservations of tasks not yet settled, oldest first. */
export async function openReservations(db: Queryable, limit = 200): Promise<OpenReservation[]> {
  const { rows } = await db.query<{ task_id: string; enterprise_id: string; per_message: number; units: string | number }>(
    `SELECT task_id, enterprise_id, per_message, units FROM bigdata_reservations WHERE settled_at IS NULL ORDER BY created_at LIMIT ${limit}`,
  );
  return rows.map((r) => ({ taskId: r.task_id, enterpriseId: r.enterprise_id, perMessage: Number(r.per_message), units: Number(r.units) }));
}

/**
 * Settles an ended task: it is charged what it sent (`sentMessages` × billing units of one message,
 * or `usedUnits` when the send log told what its messages really cost — a task with texts in two
 * languages is reserved at the costlier one's, and each person is charged their own) and the rest of
 * its reservation is released, once (a second call finds it settled). Never more than reserved,
 * never more than `sentMessages` at the reserved rate.
 * @returns the units released, or undefined when it was settled already.
 */
export async function settleTask(db: Db, taskId: string, sentMessages: number, usedUnits?: number): Promise<number | undefined> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ enterprise_id: string; per_message: number; units: string | number }>(
      'SELECT enterprise_id, per_message, units FROM bigdata_reservations WHERE task_id = $1 AND settled_at IS NULL FOR UPDATE',
      [taskId],
    );
    const r = rows[0];
    if (!r) return undefined;
    const atReserved = sentMessages * Number(r.per_message);
    const used = Math.min(Number(r.units), usedUnits === undefined ? atReserved : Math.max(0, Math.min(atReserved, usedUnits)));
    const released = await give(tx, r.enterprise_id, Number(r.units) - used, 'release', { kind: 'bigdata', id: taskId });
    await tx.query('UPDATE bigdata_reservations SET used = $2, settled_at = now() WHERE task_id = $1', [taskId, used]);
    return released;
  });
}
