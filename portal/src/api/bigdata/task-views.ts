import type { AlertTaskSpec } from '@geo/alerting';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import type { Ctx, Deps, Principal } from '../../http/context.ts';
import { SEND_LOG_TABLE } from '../industry/send-log.ts';
import { alertBus, type AlertBus } from './alert-bus.ts';
import { ALERT_TYPE_INFO } from './alert-types.ts';
import { APPROVAL_LABELS, approvalView } from './approval/approval.ts';
import { sentCounts } from './recipients.ts';
import { STATE_LABELS } from './route-kit.ts';
import { getTask, isExercise, LIVE_STATES, setState, TASK_ROW_STATES, type TaskRow } from './task-store.ts';

/*
 * What the task routes share: the list's filter, a task row as the console shows it (summary, state
 * label, who may approve, people sent to), its live state from the bucket, and the lookup that 404s.
 */

/** The task list's and export's filter, as the query string carries it. */
export const TaskListFilter = z.object({
  from: z
    .string()
    .date()
    .or(z.string().datetime({ offset: true }))
    .optional(),
  to: z
    .string()
    .date()
    .or(z.string().datetime({ offset: true }))
    .optional(),
  alertType: z.string().max(20).optional(),
  state: z.enum(TASK_ROW_STATES).optional(),
  name: z.string().max(100).optional(),
  exercise: z
    .enum(['true', 'false'], { error: '演练筛选须为 true 或 false' })
    .transform((v) => v === 'true')
    .optional(),
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(20),
});

/** The bus when it answers quickly; lists still work (from the table) while NATS is away. */
export async function busIfReady(deps: Deps): Promise<AlertBus | undefined> {
  return Promise.race([
    alertBus(deps).catch(() => undefined),
    new Promise<undefined>((r) => (setTimeout(r, 1000) as { unref?: () => void }).unref?.()),
  ]);
}

/** Brings live rows up to the state alerting wrote in the bucket. */
export async function syncStates(deps: Deps, rows: TaskRow[]): Promise<void> {
  const live = rows.filter((r) => LIVE_STATES.includes(r.state));
  if (!live.length) return;
  const bus = await busIfReady(deps);
  if (!bus) return;
  await Promise.all(
    live.map(async (r) => {
      const t = await bus.get(r.id).catch(() => undefined);
      if (t && t.state !== r.state) {
        await setState(deps.db, r.id, t.state, t.reason);
        r.state = t.state;
        r.reason = t.reason ?? r.reason;
      }
    }),
  );
}

/** The console form's fields as the task spec holds them (everything but who and the balance). */
export function formFieldsOf(spec: AlertTaskSpec): Record<string, unknown> {
  const { balance: _b, accountId: _a, enterpriseId: _e, ...fields } = spec;
  return fields;
}

/** People sent to, from the last progress the portal kept (when the send log cannot be read). */
export function progressSent(r: TaskRow): number | null {
  const p = r.progress as { carriers?: Record<string, { sent?: number }> } | null;
  if (!p?.carriers) return null;
  return Object.values(p.carriers).reduce((n, c) => n + (c.sent ?? 0), 0);
}

/** Per task of a page, the people sent to: the send log's count, else the last progress kept. */
export async function sentOf(deps: Deps, enterpriseId: string, rows: TaskRow[]): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>(rows.map((r) => [r.id, progressSent(r)]));
  if (!deps.ch || rows.length === 0) return out;
  try {
    const logged = await sentCounts(
      deps.ch,
      deps.cfg.smsLogTable ?? SEND_LOG_TABLE,
      enterpriseId,
      rows.map((r) => r.id),
    );
    for (const r of rows) out.set(r.id, Math.max(logged.get(r.id) ?? 0, out.get(r.id) ?? 0));
  } catch (err) {
    deps.log.warn({ err }, 'task list: the send log could not be read; sent counts from the last progress kept');
  }
  return out;
}

export const stateLabel = (state: string) => (state === 'pending_approval' ? APPROVAL_LABELS.pending : (STATE_LABELS[state] ?? state));

/** An account may decide a task waiting for (or sent ahead of) approval, unless it submitted it. */
export const canApprove = (p: Principal, r: TaskRow) =>
  p.permissions.has('bigdata.approve') && (r.approval === 'pending' || r.approval === 'fast_path') && r.accountId !== p.accountId;

export const summary = (r: TaskRow, sent: number | null = progressSent(r)) => ({
  id: r.id,
  subject: r.subject,
  alertType: r.alertType,
  alertTypeLabel: ALERT_TYPE_INFO[r.alertType as keyof typeof ALERT_TYPE_INFO]?.label ?? r.alertType,
  state: r.state,
  stateLabel: stateLabel(r.state),
  startDate: r.startDate,
  endDate: r.endDate,
  accountName: r.accountName,
  reason: r.reason,
  createdAt: r.createdAt,
  submittedAt: r.submittedAt,
  updatedAt: r.updatedAt,
  progress: r.progress,
  /** People sent to so far (null: nothing known yet). */
  sent,
  exercise: isExercise(r.form),
  ...approvalView(r),
});

export async function taskOr404(c: Ctx, enterpriseId: string): Promise<TaskRow> {
  const t = await getTask(c.get('deps').db, enterpriseId, c.req.param('id') ?? '');
  if (!t || t.state === 'draft') throw new AppError('NOT_FOUND', '任务不存在');
  return t;
}
