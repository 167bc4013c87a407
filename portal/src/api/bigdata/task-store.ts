import { smsContent, smsSignature, TEXT_LANGUAGES, type TextLanguage } from '@geo/alerting';
import type { Queryable as Db } from '@geo/infra';
import { iso } from '../../http/context.ts';
import { reserveTask, smsUnits, type CostedSpec } from '../ledger/reservations.ts';
import { checkInOptionsOf, withCheckInPrompts } from './checkins/prompt.ts';
import { releasedStoredProgress } from './progress.ts';

export const TASK_ROW_STATES = [
  'draft',
  'pending_approval',
  'submitted',
  'scheduled',
  'running',
  'paused',
  'stopped',
  'completed',
  'rejected',
] as const;
export type RowState = (typeof TASK_ROW_STATES)[number];
/** States alerting may still advance: the list asks the bucket for these. */
export const LIVE_STATES: readonly RowState[] = ['submitted', 'scheduled', 'running', 'paused'];

export interface TaskRow {
  id: string;
  enterpriseId: string;
  accountId: string | null;
  accountName: string;
  state: RowState;
  alertType: string;
  subject: string;
  form: Record<string, unknown>;
  spec: Record<string, unknown> | null;
  startDate: string | null;
  endDate: string | null;
  reason: string;
  copiedFrom: string | null;
  progress: unknown;
  createdAt: string | null;
  updatedAt: string | null;
  submittedAt: string | null;
  /** The maker-checker record (#21): none when the enterprise asks no approval. */
  approval: ApprovalState;
  /** Sent at once as an emergency, approved afterwards (先发后审). */
  fastPath: boolean;
  approvedBy: string | null;
  approvedByName: string;
  approvedAt: string | null;
  approvalReason: string;
}

export const APPROVAL_STATES = ['none', 'pending', 'fast_path', 'approved', 'rejected'] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

type Raw = Record<string, unknown>;
const json = (v: unknown) => (typeof v === 'string' ? (JSON.parse(v) as unknown) : v);

function toRow(r: Raw): TaskRow {
  return {
    id: r.id as string,
    enterpriseId: r.enterprise_id as string,
    accountId: (r.account_id as string) ?? null,
    accountName: r.account_name as string,
    state: r.state as RowState,
    alertType: r.alert_type as string,
    subject: r.subject as string,
    form: json(r.form) as Record<string, unknown>,
    spec: (json(r.spec) as Record<string, unknown>) ?? null,
    startDate: (r.start_date as string) ?? null,
    endDate: (r.end_date as string) ?? null,
    reason: r.reason as string,
    copiedFrom: (r.copied_from as string) ?? null,
    // Progress stored before it went on the grid of k is put on it here (#17).
    progress: releasedStoredProgress(json(r.progress) ?? null),
    createdAt: iso(r.created_at as string),
    updatedAt: iso(r.updated_at as string),
    submittedAt: iso(r.submitted_at as string | null),
    approval: (r.approval as ApprovalState | undefined) ?? 'none',
    fastPath: r.fast_path === true,
    approvedBy: (r.approved_by as string) ?? null,
    approvedByName: (r.approved_by_name as string) ?? '',
    approvedAt: iso(r.approved_at as string | null),
    approvalReason: (r.approval_reason as string) ?? '',
  };
}

/**
 * An exercise (演练, #21) is never charged: it reserves nothing, so the ledger has no entry for it
 * and the balance is the same before and after it (settlement and refunds find no reservation).
 */
export const isExercise = (specOrForm: unknown): boolean => (specOrForm as { exercise?: unknown } | null)?.exercise === true;

/** What decides a task's SMS per language: its texts, signatures and whether it is an exercise. */
export interface TaskTexts {
  signature: string;
  signatures?: { en?: string | undefined } | undefined;
  content: string;
  contents?: { en?: string | undefined } | undefined;
  exercise?: boolean | undefined;
}

/**
 * The SMS of a task in one language as alerting sends it (its `alertJob`): the text in that language
 * behind the language's exercise prefix (`smsContent`: 【演练】, `[EXERCISE] `), signed as alerting
 * signs it (`smsSignature`: the English signature on the English text when the task has one).
 * @example smsOf({ signature: '应急', signatures: { en: 'EMA' }, content: '台风', contents: { en: 'Typhoon' } }, 'en') // { signature: 'EMA', content: 'Typhoon' }
 */
export function smsOf(spec: TaskTexts, lang: TextLanguage): { signature: string; content: string } {
  return { signature: smsSignature(spec, lang), content: smsContent(spec, lang) };
}

/**
 * What the ledger reserves a task by: its per-carrier totals times the units of its costliest
 * language's SMS, each language costed as it is sent (its own signature and exercise prefix): who
 * reads which language is known only when they are sent, so a task never sends more than it
 * reserved. An English text signed [EMA] is GSM-7 and costed so, not as under 【翼讯通】.
 */
export function costedSpec(spec: unknown): CostedSpec {
  const s = spec as CostedSpec & TaskTexts;
  const sms = TEXT_LANGUAGES.filter((l) => l === 'zh' || s.contents?.[l]).map((l) => smsOf(s, l));
  const top = sms.reduce((a, b) => (smsUnits(b) > smsUnits(a) ? b : a));
  return { ...s, signature: top.signature, content: top.content };
}

/**
 * A submitted task's spec with the reply prompt of its check-in (if its form asks for answers) at the
 * end of each language's text: what is stored, reserved and sent (`attachCheckIn` writes the same to
 * the bucket). Other specs as they are.
 */
export function promptedSpec<S>(spec: S, form: unknown): S {
  if (!spec) return spec;
  return withCheckInPrompts(spec as S & { content: string }, checkInOptionsOf(form));
}

export interface NewRow {
  id: string;
  enterpriseId: string;
  accountId: string;
  accountName: string;
  state: RowState;
  alertType: string;
  subject: string;
  form: unknown;
  spec?: unknown;
  startDate?: string | null;
  endDate?: string | null;
  copiedFrom?: string | null;
  approval?: ApprovalState;
  fastPath?: boolean;
}

/**
 * Writes a task row; a submitted task (not a draft) takes its whole cost from the ledger in the
 * same statement sequence, so call it inside the transaction that also writes the KV entry.
 */
export async function insertTask(db: Db, t: NewRow): Promise<void> {
  const spec = promptedSpec(t.spec, t.form);
  if (t.state !== 'draft' && spec && !isExercise(spec))
    await reserveTask(db, { id: t.id, enterpriseId: t.enterpriseId, accountId: t.accountId, spec: costedSpec(spec) });
  await db.query(
    `INSERT INTO bigdata_tasks (id, enterprise_id, account_id, account_name, state, alert_type, subject, form, spec, start_date, end_date, copied_from, approval, fast_path, submitted_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, CASE WHEN $5 = 'draft' THEN NULL ELSE now() END)`,
    [
      t.id,
      t.enterpriseId,
      t.accountId,
      t.accountName,
      t.state,
      t.alertType,
      t.subject,
      JSON.stringify(t.form),
      spec === undefined ? null : JSON.stringify(spec),
      t.startDate ?? null,
      t.endDate ?? null,
      t.copiedFrom ?? null,
      t.approval ?? 'none',
      t.fastPath ?? false,
    ],
  );
}

/** A task of this enterprise, or undefined (another enterprise's task is as good as missing). */
export async function getTask(db: Db, enterpriseId: string, id: string): Promise<TaskRow | undefined> {
  const { rows } = await db.query<Raw>('SELECT * FROM bigdata_tasks WHERE id = $1 AND enterprise_id = $2', [id, enterpriseId]);
  return rows[0] ? toRow(rows[0]) : undefined;
}

export async function updateDraft(
  db: Db,
  enterpriseId: string,
  id: string,
  d: { alertType: string; subject: string; form: unknown },
): Promise<boolean> {
  const { rows } = await db.query(
    `UPDATE bigdata_tasks SET alert_type = $3, subject = $4, form = $5, updated_at = now() WHERE id = $1 AND enterprise_id = $2 AND state = 'draft' RETURNING id`,
    [id, enterpriseId, d.alertType, d.subject, JSON.stringify(d.form)],
  );
  return rows.length > 0;
}

/**
 * Turns a draft into a submitted task (the draft disappears from the drafts box), taking its cost
 * from the ledger for the account named in the spec (the submitter); run it in the submit transaction.
 */
export async function submitDraft(
  db: Db,
  enterpriseId: string,
  id: string,
  t: {
    alertType: string;
    subject: string;
    form: unknown;
    spec: unknown;
    startDate: string;
    endDate: string;
    state?: 'submitted' | 'pending_approval';
    approval?: ApprovalState;
    fastPath?: boolean;
  },
): Promise<boolean> {
  const spec = promptedSpec(t.spec, t.form) as CostedSpec & { accountId: string };
  const { rows } = await db.query(
    `UPDATE bigdata_tasks SET state = $9, alert_type = $3, subject = $4, form = $5, spec = $6, start_date = $7, end_date = $8, approval = $10, fast_path = $11,
       submitted_at = now(), updated_at = now()
     WHERE id = $1 AND enterprise_id = $2 AND state = 'draft' RETURNING id`,
    [
      id,
      enterpriseId,
      t.alertType,
      t.subject,
      JSON.stringify(t.form),
      JSON.stringify(spec),
      t.startDate,
      t.endDate,
      t.state ?? 'submitted',
      t.approval ?? 'none',
      t.fastPath ?? false,
    ],
  );
  if (rows.length === 0) return false;
  if (!isExercise(spec)) await reserveTask(db, { id, enterpriseId, accountId: spec.accountId, spec: costedSpec(spec) });
  return true;
}

export async function deleteDraft(db: Db, enterpriseId: string, id: string): Promise<boolean> {
  const { rows } = await db.query(`DELETE FROM bigdata_tasks WHERE id = $1 AND enterprise_id = $2 AND state = 'draft' RETURNING id`, [
    id,
    enterpriseId,
  ]);
  return rows.length > 0;
}

export async function setState(db: Db, id: string, state: RowState, reason?: string): Promise<void> {
  await db.query('UPDATE bigdata_tasks SET state = $2, reason = COALESCE($3, reason), updated_at = now() WHERE id = $1', [
    id,
    state,
    reason ?? null,
  ]);
}

export async function setProgress(db: Db, id: string, progress: unknown): Promise<void> {
  await db.query('UPDATE bigdata_tasks SET progress = $2 WHERE id = $1', [id, JSON.stringify(progress)]);
}

/** `2026-12-09` as is; an ISO time as its day in China (start and end dates are China days). */
export function chinaDay(d: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(d)) return d;
  return new Date(Date.parse(d) + 8 * 3600_000).toISOString().slice(0, 10);
}

/** A running task's form and spec after an update from the console (the bucket has the new spec already). */
export async function updateSpec(db: Db, id: string, t: { subject: string; form: unknown; spec: unknown; endDate: string }): Promise<void> {
  await db.query('UPDATE bigdata_tasks SET subject = $2, form = $3, spec = $4, end_date = $5, updated_at = now() WHERE id = $1', [
    id,
    t.subject,
    JSON.stringify(t.form),
    JSON.stringify(t.spec),
    t.endDate,
  ]);
}

export interface TaskQuery {
  /** `drafts`: the drafts box; `tasks`: everything submitted. */
  box: 'drafts' | 'tasks';
  from?: string;
  to?: string;
  alertType?: string;
  state?: string;
  name?: string;
  /** Only exercises (true) or only real alerts (false). */
  exercise?: boolean;
  page: number;
  pageSize: number;
}

export async function listTasks(db: Db, enterpriseId: string, q: TaskQuery): Promise<{ total: number; items: TaskRow[] }> {
  const where = ['enterprise_id = $1', q.box === 'drafts' ? `state = 'draft'` : `state <> 'draft'`];
  const args: unknown[] = [enterpriseId];
  const add = (sql: string, v: unknown) => {
    args.push(v);
    where.push(sql.replace('?', `$${args.length}`));
  };
  // The dates are the send period's (start and end date, China days), not the submission time: a
  // task that sends on 12-09 is found from 12-08 to 12-09 whenever it was submitted. A task whose
  // period overlaps the range is listed; an ISO time counts as its China day.
  if (q.box === 'tasks') {
    if (q.from) add('(end_date IS NULL OR end_date >= ?)', chinaDay(q.from));
    if (q.to) add('(start_date IS NULL OR start_date <= ?)', chinaDay(q.to));
  } else {
    // Drafts have no send period yet: their dates are when they were saved.
    if (q.from) add('created_at >= ?', q.from);
    // A bare date as the upper bound means the whole of that day.
    if (q.to) add('created_at < ?', /^\d{4}-\d{2}-\d{2}$/.test(q.to) ? new Date(Date.parse(q.to) + 86_400_000).toISOString() : q.to);
  }
  if (q.alertType) add('alert_type = ?', q.alertType);
  if (q.state) add('state = ?', q.state);
  if (q.exercise !== undefined) add(`COALESCE(form->>'exercise', 'false') = ?`, String(q.exercise));
  if (q.name) add(`subject ILIKE ?`, `%${q.name.replace(/[\\%_]/g, (m) => `\\${m}`)}%`);
  const w = where.join(' AND ');
  const total = await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM bigdata_tasks WHERE ${w}`, args);
  const { rows } = await db.query<Raw>(
    `SELECT * FROM bigdata_tasks WHERE ${w} ORDER BY created_at DESC, id LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize}`,
    args,
  );
  return { total: Number(total.rows[0]?.n ?? 0), items: rows.map(toRow) };
}
