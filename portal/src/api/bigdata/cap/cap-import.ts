import { shanghaiDate, type AlertTask } from '@geo/alerting';
import type { Queryable } from '@geo/infra';
import { randomUUID } from 'node:crypto';
import { AppError } from '../../../errors.ts';
import { caller, type Ctx } from '../../../http/context.ts';
import { validationError } from '../../../http/openapi.ts';
import { opLog } from '../../../http/op-log.ts';
import { alertBus, TASK_ID_PREFIX } from '../alert-bus.ts';
import { approvalSettings, submission } from '../approval/approval.ts';
import { attachCheckIn } from '../checkins/index.ts';
import { updateLiveTask } from '../live-task-update.ts';
import { fieldErrors, parse, STATE_LABELS } from '../route-kit.ts';
import { availableBalance } from '../send-routes.ts';
import { formIssues, TaskForm, toSpec, type CapOrigin, type FieldIssue } from '../task-form.ts';
import { getTask, insertTask, LIVE_STATES, setState, type TaskRow } from '../task-store.ts';
import { capToForm } from './cap-map.ts';
import { capErrors } from './cap-request.ts';
import { capRef, parseRefs, type CapAlert } from './cap-xml.ts';

/* What an imported CAP message does: an Alert submits a task, an Update changes the task it references, a Cancel stops it. */

/** The live task of this enterprise that a CAP reference names (its own alert or an Update applied to it). */
async function taskByRef(db: Queryable, enterpriseId: string, refs: string[]): Promise<TaskRow | undefined> {
  if (!refs.length) return undefined;
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM bigdata_tasks WHERE enterprise_id = $1 AND state <> 'draft'
       AND jsonb_exists_any(form->'cap'->'refs', ARRAY(SELECT jsonb_array_elements_text($2::jsonb)))
     ORDER BY created_at DESC LIMIT 1`,
    [enterpriseId, JSON.stringify(refs)],
  );
  return rows[0] ? getTask(db, enterpriseId, rows[0].id) : undefined;
}

async function defaultSignature(db: Queryable, enterpriseId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ text: string }>(
    `SELECT text FROM signatures WHERE enterprise_id = $1 AND status = 'approved' ORDER BY is_default DESC, text LIMIT 1`,
    [enterpriseId],
  );
  return rows[0]?.text;
}

/** The submit route's checks (send-routes' checkForm, which is not exported): signatures, letter, balance, the form. */
async function checkForm(c: Ctx, raw: unknown, enterpriseId: string, accountId: string): Promise<{ form: TaskForm; balance: number }> {
  const form = parse(TaskForm, raw);
  const db = c.get('deps').db;
  const issues: FieldIssue[] = [];
  const { rows: sig } = await db.query(`SELECT 1 FROM signatures WHERE enterprise_id = $1 AND status = 'approved' AND text = $2`, [
    enterpriseId,
    form.signature,
  ]);
  if (!sig.length) issues.push({ path: 'signature', message: '签名不存在或未通过审核' });
  if (form.signatureEn) {
    const { rows: en } = await db.query(`SELECT 1 FROM signatures WHERE enterprise_id = $1 AND status = 'approved' AND text = $2`, [
      enterpriseId,
      form.signatureEn,
    ]);
    if (!en.length) issues.push({ path: 'signatureEn', message: '英文签名不存在或未通过审核' });
  }
  if (!form.authorizationLetter) issues.push({ path: 'authorizationLetter', message: '请上传授权函（form.authorizationLetter）' });
  else {
    const { rows } = await db.query(`SELECT 1 FROM uploads WHERE id = $1 AND enterprise_id = $2 AND kind = 'bigdata_letter'`, [
      form.authorizationLetter,
      enterpriseId,
    ]);
    if (!rows.length) issues.push({ path: 'authorizationLetter', message: '授权函不存在，请重新上传' });
  }
  const balance = await availableBalance(db, enterpriseId, accountId);
  issues.push(...formIssues(form, balance, shanghaiDate(Date.now())));
  if (issues.length) throw fieldErrors(issues);
  return { form, balance };
}

/** The form an Alert makes, with the request's own fields over CAP's and the enterprise's default signature. */
export async function importedForm(c: Ctx, a: CapAlert, extra: Record<string, unknown>, enterpriseId: string) {
  const m = capToForm(a, shanghaiDate(Date.now()));
  if (m.issues.length) throw capErrors(m.issues);
  const form: Record<string, unknown> = { ...m.form, ...extra, cap: m.form.cap };
  if (form.signature === undefined) {
    const s = await defaultSignature(c.get('deps').db, enterpriseId);
    if (s) form.signature = s;
  }
  return form;
}

export async function submitAlert(c: Ctx, a: CapAlert, extra: Record<string, unknown>): Promise<Response> {
  const { p, enterpriseId } = caller(c);
  const deps = c.get('deps');
  if (await taskByRef(deps.db, enterpriseId, [capRef(a)]))
    throw new AppError('NAME_TAKEN', '该 CAP 预警已导入（sender、identifier、sent 相同）；更新请发 msgType 为 Update 的预警');
  const raw = await importedForm(c, a, extra, enterpriseId);
  const { form, balance } = await checkForm(c, raw, enterpriseId, p.accountId);
  const spec = toSpec(form, { accountId: p.accountId, enterpriseId, balance });
  if (!spec.success) throw validationError(spec.error as never);
  const bus = await alertBus(deps);
  const id = `${TASK_ID_PREFIX}${randomUUID()}`;
  // An imported alert waits for approval like any submitted task when the enterprise requires it
  // (CAP has no way to ask for the fast path).
  const entry = submission(await approvalSettings(deps.db, enterpriseId), form.alertType, false);
  const task: AlertTask = { id, version: 1, spec: spec.data, state: entry.busState, updatedAt: Date.now() };
  await deps.db.transaction(async (tx) => {
    await insertTask(tx, {
      id,
      enterpriseId,
      accountId: p.accountId,
      accountName: p.name,
      state: entry.rowState,
      approval: entry.approval,
      fastPath: entry.fastPath,
      alertType: form.alertType,
      subject: form.subject,
      form,
      spec: spec.data,
      startDate: form.startDate,
      endDate: form.endDate,
    });
    // 回复报平安 (#21): a check-in asked for in the request's form gets its extension, as a console submit does.
    task.spec = await attachCheckIn(tx, deps, { taskId: id, enterpriseId, accountId: p.accountId, form }, task.spec);
    await bus.create(task);
  });
  await opLog(c, '导入 CAP 预警并提交大数据短信任务', id, { identifier: a.identifier, sender: a.sender });
  return c.json({ id, state: entry.rowState, action: 'submitted' as const });
}

async function referencedTask(c: Ctx, a: CapAlert, enterpriseId: string): Promise<TaskRow> {
  const row = await taskByRef(c.get('deps').db, enterpriseId, parseRefs(a.references));
  if (!row) throw new AppError('NOT_FOUND', `references 所指的预警没有导入为本企业的任务：${a.references ?? ''}`);
  return row;
}

export async function updateTask(c: Ctx, a: CapAlert, extra: Record<string, unknown>): Promise<Response> {
  const { p, enterpriseId } = caller(c);
  const row = await referencedTask(c, a, enterpriseId);
  const origin = (row.form.cap ?? undefined) as CapOrigin | undefined;
  if (origin?.refs.includes(capRef(a))) throw new AppError('NAME_TAKEN', '该 CAP 更新已导入（sender、identifier、sent 相同）');
  if (!LIVE_STATES.includes(row.state)) throw new AppError('TASK_STATE', `任务${STATE_LABELS[row.state] ?? row.state}，不能再更新`);
  const m = capToForm(a, row.startDate ?? shanghaiDate(Date.now()));
  if (m.issues.length) throw capErrors(m.issues);
  const next = m.form as Record<string, unknown> & { cap: CapOrigin };
  // What an Update changes (as the console's update): the text, the region, the end date, the other
  // languages, and what the request's form says; the rest of the task (check-in, exercise, rules,
  // quotas, hysteresis …) stays as it is (updateLiveTask, the console's PUT's own path).
  const { version } = await updateLiveTask(c.get('deps'), {
    row,
    enterpriseId,
    verb: '更新',
    changes: {
      ...extra,
      subject: next.subject,
      content: next.content,
      region: next.region,
      endDate: next.endDate,
      texts: next.texts,
      cap: { ...(origin ?? next.cap), refs: [...(origin?.refs ?? []), capRef(a)], infos: next.cap.infos },
    },
  });
  await opLog(c, '按 CAP 更新修改大数据短信任务', row.id, { by: p.name, identifier: a.identifier });
  return c.json({ id: row.id, state: row.state, action: 'updated' as const, version });
}

export async function cancelTask(c: Ctx, a: CapAlert): Promise<Response> {
  const { enterpriseId } = caller(c);
  const row = await referencedTask(c, a, enterpriseId);
  const bus = await alertBus(c.get('deps'));
  const t = await bus.transition(row.id, 'stopped', `CAP 取消：${a.sender} ${a.identifier}`);
  await setState(c.get('deps').db, row.id, t.state, t.reason);
  await opLog(c, '按 CAP 取消紧急停止大数据短信任务', row.id, { identifier: a.identifier });
  return c.json({ id: row.id, state: t.state, action: 'stopped' as const });
}
