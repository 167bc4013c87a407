import { ALERT_TYPES, type AlertTask, type AlertType } from '@geo/alerting';
import type { Db, Queryable } from '@geo/infra';
import { AppError } from '../../../errors.ts';
import type { Principal } from '../../../http/context.ts';
import { settleTask } from '../../ledger/reservations.ts';
import { TaskStateError, type AlertBus } from '../alert-bus.ts';
import type { ApprovalState, RowState, TaskRow } from '../task-store.ts';

/**
 * Maker-checker approval of big-data tasks (#21).
 *
 * With an enterprise's setting on, a submitted task waits as `pending_approval` (待审批). Its cost is
 * reserved at submit as always, and it is written to the bucket alerting reads as `paused`, so
 * alerting holds it without sending and the ledger keeps its reservation (the ledger settles only
 * tasks ended or missing from the bucket). Another account of the enterprise with `bigdata.approve`
 * approves it (paused → submitted: alerting takes it as any task) or rejects it with a reason
 * (paused → stopped, the whole reservation released at once: nothing was sent). An account never
 * decides its own task.
 *
 * Emergency fast path (先发后审): an alert type the enterprise lists in `fastPathTypes` may be
 * submitted with `fastPath: true`; it goes to alerting at once, marked `fast_path` until an approver
 * decides afterwards. Rejecting it afterwards stops it (emergency stop); the ledger settles it as any
 * stopped task (charged what was sent).
 */

export interface ApprovalSettings {
  /** Tasks wait for a second account's approval before they send. */
  required: boolean;
  /** Alert types the enterprise treats as emergencies that may be sent first and approved afterwards. */
  fastPathTypes: AlertType[];
}

export const DEFAULT_SETTINGS: ApprovalSettings = { required: false, fastPathTypes: [] };

export const APPROVAL_LABELS: Record<ApprovalState, string> = {
  none: '无需审批',
  pending: '待审批',
  fast_path: '先发后审（待补审）',
  approved: '已审批',
  rejected: '已驳回',
};

export async function approvalSettings(db: Queryable, enterpriseId: string): Promise<ApprovalSettings> {
  const { rows } = await db.query<{ required: boolean; fast_path_types: unknown }>(
    'SELECT required, fast_path_types FROM bigdata_approval_settings WHERE enterprise_id = $1',
    [enterpriseId],
  );
  const r = rows[0];
  if (!r) return DEFAULT_SETTINGS;
  const types = typeof r.fast_path_types === 'string' ? (JSON.parse(r.fast_path_types) as unknown) : r.fast_path_types;
  return {
    required: r.required === true,
    fastPathTypes: Array.isArray(types) ? types.filter((t): t is AlertType => (ALERT_TYPES as readonly string[]).includes(t)) : [],
  };
}

export async function saveApprovalSettings(db: Queryable, enterpriseId: string, s: ApprovalSettings): Promise<void> {
  await db.query(
    `INSERT INTO bigdata_approval_settings (enterprise_id, required, fast_path_types, updated_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (enterprise_id) DO UPDATE SET required = EXCLUDED.required, fast_path_types = EXCLUDED.fast_path_types, updated_at = now()`,
    [enterpriseId, s.required, JSON.stringify([...new Set(s.fastPathTypes)])],
  );
}

/** How a task just submitted enters: its row state, approval record and the state written to the bucket. */
export function submission(
  s: ApprovalSettings,
  alertType: string,
  fastPathAsked: boolean,
): { rowState: RowState & ('submitted' | 'pending_approval'); approval: ApprovalState; fastPath: boolean; busState: AlertTask['state'] } {
  if (fastPathAsked && !(s.required && (s.fastPathTypes as string[]).includes(alertType)))
    throw new AppError('VALIDATION', '该预警类型不允许先发后审（须由企业管理员在审批设置中开启）', [
      { path: 'fastPath', message: '该预警类型不允许先发后审' },
    ]);
  if (!s.required) return { rowState: 'submitted', approval: 'none', fastPath: false, busState: 'submitted' };
  if (fastPathAsked) return { rowState: 'submitted', approval: 'fast_path', fastPath: true, busState: 'submitted' };
  return { rowState: 'pending_approval', approval: 'pending', fastPath: false, busState: 'paused' };
}

/** Who may decide: the approve permission, and never the account that submitted the task. */
function checkDecider(p: Principal, row: TaskRow): void {
  if (row.approval !== 'pending' && row.approval !== 'fast_path')
    throw new AppError('TASK_STATE', row.approval === 'none' ? '该任务无需审批' : '该任务已审批，不能重复审批');
  if (row.accountId === p.accountId) throw new AppError('FORBIDDEN', '不能审批自己提交的任务，请由同企业的其他审批人审批');
}

/** Records the decision on the row only while it is still undecided (a second approver finds it taken). */
async function record(
  tx: Queryable,
  row: TaskRow,
  p: Principal,
  decision: 'approved' | 'rejected',
  reason: string,
  state?: RowState,
): Promise<void> {
  const { rows } = await tx.query(
    `UPDATE bigdata_tasks SET approval = $2, approved_by = $3, approved_by_name = $4, approved_at = now(), approval_reason = $5,
       state = COALESCE($6, state), reason = CASE WHEN $6::text = 'rejected' THEN $5 ELSE reason END, updated_at = now()
     WHERE id = $1 AND approval = $7 RETURNING id`,
    [row.id, decision, p.accountId, p.name, reason, state ?? null, row.approval],
  );
  if (!rows.length) throw new AppError('TASK_STATE', '该任务已审批，不能重复审批');
}

/** Approves a task: a waiting one goes to alerting now; a fast-path one just gets its approval recorded. */
export async function approveTask(db: Db, bus: AlertBus, p: Principal, row: TaskRow): Promise<RowState> {
  checkDecider(p, row);
  if (row.approval === 'fast_path') {
    await record(db, row, p, 'approved', '');
    return row.state;
  }
  // Row first, bucket second, in one transaction: a failed KV write leaves the task waiting.
  await db.transaction(async (tx) => {
    await record(tx, row, p, 'approved', '', 'submitted');
    await bus.transition(row.id, 'submitted', `审批通过：${p.name}`, (cur) => cur.state === 'paused' && cur.startedAt === undefined);
  });
  return 'submitted';
}

/**
 * Rejects a task with a reason. A waiting task is stopped in the bucket (it never sent) and its whole
 * reservation released now; a fast-path task is stopped (emergency stop) and settled by the ledger as
 * any stopped task.
 */
export async function rejectTask(db: Db, bus: AlertBus, p: Principal, row: TaskRow, reason: string): Promise<RowState> {
  checkDecider(p, row);
  if (row.approval === 'fast_path') {
    await db.transaction(async (tx) => {
      await record(tx, row, p, 'rejected', reason, 'stopped');
      await bus.transition(row.id, 'stopped', `补审驳回：${p.name}：${reason}`).catch((err: unknown) => {
        // Already ended (completed or stopped): the rejection is still recorded.
        if (!(err instanceof TaskStateError)) throw err;
      });
    });
    return 'stopped';
  }
  await db.transaction(async (tx) => {
    await record(tx, row, p, 'rejected', reason, 'rejected');
    await bus.transition(
      row.id,
      'stopped',
      `审批驳回：${p.name}：${reason}`,
      (cur) => cur.state === 'paused' && cur.startedAt === undefined,
    );
  });
  // Nothing was sent: the whole reservation goes back.
  await settleTask(db, row.id, 0);
  return 'rejected';
}

/** The approval record as the task detail and list show it. */
export function approvalView(r: TaskRow) {
  return {
    approval: r.approval,
    approvalLabel: APPROVAL_LABELS[r.approval],
    fastPath: r.fastPath,
    approvedBy: r.approval === 'approved' || r.approval === 'rejected' ? r.approvedByName : null,
    approvedAt: r.approvedAt,
    approvalReason: r.approvalReason,
  };
}
