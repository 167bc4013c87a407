import { shanghaiDate, TASKS_BUCKET, TaskError, TaskStore } from '@geo/alerting';
import type { Queryable } from '@geo/infra';
import { Kvm } from '@nats-io/kv';
import { AppError } from '../../errors.ts';
import type { Deps } from '../../http/context.ts';
import { validationError } from '../../http/openapi.ts';
import { adjustReservation } from '../ledger/reservations.ts';
import { alertBus } from './alert-bus.ts';
import { followEndDate } from './checkins/index.ts';
import { withCheckInPrompts } from './checkins/prompt.ts';
import { fieldErrors, parse, STATE_LABELS } from './route-kit.ts';
import { formIssues, TaskForm, toSpec, type FieldIssue } from './task-form.ts';
import { costedSpec, LIVE_STATES, updateSpec, type TaskRow } from './task-store.ts';
import { formFieldsOf } from './task-views.ts';

/*
 * One update of a live task (#21), whoever asks for it: the console's PUT and a CAP Update both call
 * updateLiveTask, so that what one keeps the other cannot drop (a CAP Update once sent a check-in
 * task on without its reply extension, and answers no longer found it).
 */

/**
 * What a live task keeps whatever an update says: an exercise stays an exercise and a real alert
 * real (an exercise reserves nothing, so switching would send a real alert uncharged or charge an
 * exercise), and a check-in keeps its answers (its extension and options were registered at submit).
 */
const FIXED = [
  { field: 'exercise', message: '任务已提交，不能在演练与正式预警之间切换' },
  { field: 'checkIn', message: '任务已提交，回复报平安的选项不能再修改' },
] as const;

export interface LiveTaskUpdate {
  /** The task's row (of the caller's enterprise). */
  row: TaskRow;
  enterpriseId: string;
  /** The form fields to change; every other field (rules, quotas, languages, hysteresis …) stays. */
  changes: Record<string, unknown>;
  /** Said when the task has ended: `任务已结束，不能再${verb}`. @default '修改' */
  verb?: string;
}

/**
 * Changes a submitted, scheduled, running or paused task: the new form is the task as alerting has
 * it (its bucket spec over the row's form) with `changes` over it, checked as a submit checks it
 * (but for a start date already past); the spec keeps the account, the balance it was submitted
 * against and the reply extension; the ledger's reservation follows the new cost, and the row and
 * the bucket (a new version: who already got the task does not get it again) change together.
 * @returns the new form and the bucket version.
 * @example await updateLiveTask(deps, { row, enterpriseId, changes: { content: '新的内容' } })
 */
export async function updateLiveTask(deps: Deps, u: LiveTaskUpdate): Promise<{ form: TaskForm; version: number }> {
  const { row, enterpriseId } = u;
  const verb = u.verb ?? '修改';
  if (!LIVE_STATES.includes(row.state)) throw new AppError('TASK_STATE', `任务${STATE_LABELS[row.state] ?? row.state}，不能再${verb}`);
  const bus = await alertBus(deps);
  // The bucket alerting reads, as the CLI's `update` writes it (TaskStore.update).
  const store = new TaskStore(await new Kvm(bus.nc).open(TASKS_BUCKET));
  const cur = await store.get(row.id);
  if (!cur) throw new AppError('NOT_FOUND', '预警服务中找不到该任务');
  const was = parse(TaskForm, { ...row.form, ...formFieldsOf(cur.task.spec) });
  const form = parse(TaskForm, { ...was, ...u.changes });
  const issues: FieldIssue[] = [];
  for (const { field, message } of FIXED)
    if (field in u.changes && JSON.stringify(form[field] ?? false) !== JSON.stringify(was[field] ?? false))
      issues.push({ path: field, message });
  issues.push(...(await signatureIssues(deps.db, enterpriseId, was, form)));
  // The start date may be past for a running task; the end date may not. The ledger decides the balance.
  issues.push(...formIssues(form, Number.MAX_SAFE_INTEGER, form.startDate));
  if (form.endDate < shanghaiDate(Date.now())) issues.push({ path: 'endDate', message: '结束日期不能早于今天' });
  if (issues.length) throw fieldErrors(issues);
  const spec = toSpec(form, {
    accountId: cur.task.spec.accountId,
    enterpriseId,
    balance: cur.task.spec.balance,
    replyExtension: cur.task.spec.replyExtension,
  });
  if (!spec.success) throw validationError(spec.error as never);
  // A check-in's reply prompt stays at the end of each language's text (a new text gets it too).
  spec.data = withCheckInPrompts(spec.data, form.checkIn?.options);
  let version = cur.task.version;
  // Ledger, row and bucket together: a longer text costs more units (refused when the balance is
  // short); a failed KV write rolls the ledger back.
  await deps.db.transaction(async (tx) => {
    await adjustReservation(tx, row.id, costedSpec(spec.data));
    await updateSpec(tx, row.id, { subject: form.subject, form, spec: spec.data, endDate: form.endDate });
    try {
      version = (await store.update(row.id, spec.data)).version;
    } catch (err) {
      if (err instanceof TaskError && err.code === 'bad_transition') throw new AppError('TASK_STATE', `任务已结束，不能再${verb}`);
      throw err;
    }
    // A check-in closes 3 days after the task's last day: a moved end date moves it (messaging's registry too).
    await followEndDate(tx, deps, { taskId: row.id, enterpriseId, accountId: cur.task.spec.accountId, endDate: form.endDate });
  });
  return { form, version };
}

/** A changed signature (Chinese or English) must be one of the enterprise's approved ones, as at submit. */
async function signatureIssues(db: Queryable, enterpriseId: string, was: TaskForm, form: TaskForm): Promise<FieldIssue[]> {
  const changed = (['signature', 'signatureEn'] as const).filter((f) => form[f] !== undefined && form[f] !== was[f]);
  if (!changed.length) return [];
  const { rows } = await db.query<{ text: string }>(`SELECT text FROM signatures WHERE enterprise_id = $1 AND status = 'approved'`, [
    enterpriseId,
  ]);
  const approved = new Set(rows.map((r) => r.text));
  return changed
    .filter((f) => !approved.has(form[f]!))
    .map((f) => ({ path: f, message: f === 'signature' ? '签名不存在或未通过审核' : '英文签名不存在或未通过审核' }));
}
