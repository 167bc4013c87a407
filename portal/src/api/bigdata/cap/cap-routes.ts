import { shanghaiDate, TASKS_BUCKET, TaskError, TaskStore, type AlertTask } from '@geo/alerting';
import type { Queryable } from '@geo/infra';
import { createRoute } from '@hono/zod-openapi';
import { Kvm } from '@nats-io/kv';
import { randomUUID } from 'node:crypto';
import { AppError } from '../../../errors.ts';
import { drainingBodyLimit } from '../../../http/body-limit.ts';
import { type Ctx, caller } from '../../../http/context.ts';
import { requires } from '../../../http/route-access.ts';
import { jsonOk, router, validationError, z } from '../../../http/openapi.ts';
import { opLog } from '../../../http/op-log.ts';
import { adjustReservation } from '../../ledger/reservations.ts';
import { alertBus, TASK_ID_PREFIX } from '../alert-bus.ts';
import { approvalSettings, submission } from '../approval/approval.ts';
import { fieldErrors, guarded, handle, parse, STATE_LABELS } from '../route-kit.ts';
import { IdParam, Submitted, TaskFormDoc } from '../schemas.ts';
import { availableBalance } from '../send-routes.ts';
import { formIssues, TaskForm, toSpec, type CapOrigin, type FieldIssue } from '../task-form.ts';
import { costedSpec, getTask, insertTask, LIVE_STATES, setState, updateSpec, type TaskRow } from '../task-store.ts';
import { capToForm, taskToCap } from './cap-map.ts';
import { capRef, MAX_CAP_BYTES, parseRefs, readCap, type CapAlert, type CapIssue } from './cap-xml.ts';

/**
 * CAP 1.2 in and out of the big-data console (#21):
 * - `POST /api/bigdata/cap`: an Alert is submitted as a task, an Update changes the task its
 *   `references` name (text, region, end date; who already got it does not get it again), a Cancel
 *   stops it (emergency stop);
 * - `POST /api/bigdata/cap/draft`: an Alert saved as a draft, to finish in the console;
 * - `POST /api/bigdata/cap/preview`: the form an alert would make, nothing written;
 * - `GET /api/bigdata/tasks/{id}/cap`: any task as a CAP 1.2 alert.
 * The document comes as `application/cap+xml` (or application/xml, text/xml), as JSON `{ xml, form }`
 * or as a multipart upload (`file`, optional `form` as JSON); `form` supplies what CAP has no place
 * for (quota, signature, authorizationLetter, windows, rules, frequency, minDwellMin).
 */

const XML_TYPES = ['application/cap+xml', 'application/xml', 'text/xml'];

const capBodyLimit = drainingBodyLimit({
  maxSize: MAX_CAP_BYTES + 64 * 1024,
  tooLarge: () => new AppError('UPLOAD_TOO_LARGE', `CAP 文档过大（上限 ${MAX_CAP_BYTES / 1048576} MB）`),
});

const Extra = z
  .record(z.string(), z.unknown())
  .refine((f) => JSON.stringify(f).length < 1_000_000, '表单过大')
  .openapi({
    description: 'CAP 没有的字段：quota、signature、authorizationLetter、windows、rules、frequency、minDwellMin（覆盖 CAP 中的值）',
  });
const CapJson = z
  .object({
    xml: z.string({ error: '请在 xml 字段中给出 CAP 1.2 文档' }).max(MAX_CAP_BYTES, 'CAP 文档过大'),
    form: Extra.optional(),
  })
  .openapi('BigdataCapImport');
const XML_DOC = { type: 'string' as const, description: 'CAP 1.2 文档（命名空间 urn:oasis:names:tc:emergency:cap:1.2，UTF-8）' };
const EXTRA_DOC = {
  type: 'object' as const,
  description:
    'CAP 没有的字段（覆盖 CAP 中的值）：quota、signature、authorizationLetter、windows、rules、frequency、minDwellMin，同 BigdataTaskForm',
};
/**
 * The body as documented. Plain JSON schemas, not zod: @hono/zod-openapi would otherwise gate the
 * content types with an HTTPException (a 500 here) and check a body before the handler reads it.
 */
const capBody = {
  body: {
    required: true,
    content: Object.fromEntries([
      ...XML_TYPES.map((t) => [t, { schema: XML_DOC }]),
      ['application/json', { schema: { type: 'object' as const, required: ['xml'], properties: { xml: XML_DOC, form: EXTRA_DOC } } }],
      [
        'multipart/form-data',
        {
          schema: {
            type: 'object' as const,
            required: ['file'],
            properties: {
              file: { type: 'string' as const, format: 'binary' },
              form: { type: 'string' as const, description: 'form 的 JSON 文本' },
            },
          },
        },
      ],
    ]),
  },
};

const utf8 = (bytes: ArrayBuffer) => {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new AppError('VALIDATION', 'CAP 文档须为 UTF-8 编码');
  }
};

async function readRequest(c: Ctx): Promise<{ xml: string; extra: Record<string, unknown> }> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (XML_TYPES.includes(type)) return { xml: utf8(await c.req.arrayBuffer()), extra: {} };
  if (type === 'application/json') {
    const body = parse(CapJson, await c.req.json().catch(() => ({})));
    return { xml: body.xml, extra: body.form ?? {} };
  }
  if (type === 'multipart/form-data') {
    const body = await c.req.parseBody().catch(() => {
      throw new AppError('VALIDATION', '请以 multipart/form-data 上传文件（字段 file）');
    });
    if (!(body.file instanceof File)) throw new AppError('VALIDATION', '请选择 CAP 文件（字段 file）');
    if (body.file.size > MAX_CAP_BYTES) throw new AppError('UPLOAD_TOO_LARGE', `CAP 文档过大（上限 ${MAX_CAP_BYTES / 1048576} MB）`);
    let extra: Record<string, unknown> = {};
    if (typeof body.form === 'string' && body.form.trim()) {
      try {
        extra = parse(Extra, JSON.parse(body.form));
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw new AppError('BAD_JSON', 'form 字段不是有效的 JSON');
      }
    }
    return { xml: utf8(await body.file.arrayBuffer()), extra };
  }
  throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'CAP 文档请以 application/cap+xml、application/json（{ xml }）或 multipart/form-data 提交');
}

function capErrors(issues: CapIssue[]): AppError {
  const shown = issues.slice(0, 20).map((i) => `${i.path}: ${i.message}`);
  const more = issues.length > 20 ? `；另有 ${issues.length - 20} 处` : '';
  return new AppError('VALIDATION', `CAP 1.2 校验未通过：${shown.join('；')}${more}`, issues);
}

function readOrFail(xml: string): CapAlert {
  const r = readCap(xml);
  if (!r.ok) throw capErrors(r.issues);
  return r.alert;
}

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

/** The submit route's checks (send-routes' checkForm, which is not exported): signature, letter, balance, the form. */
async function checkForm(c: Ctx, raw: unknown, enterpriseId: string, accountId: string): Promise<{ form: TaskForm; balance: number }> {
  const form = parse(TaskForm, raw);
  const db = c.get('deps').db;
  const issues: FieldIssue[] = [];
  const { rows: sig } = await db.query(`SELECT 1 FROM signatures WHERE enterprise_id = $1 AND status = 'approved' AND text = $2`, [
    enterpriseId,
    form.signature,
  ]);
  if (!sig.length) issues.push({ path: 'signature', message: '签名不存在或未通过审核' });
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
async function importedForm(c: Ctx, a: CapAlert, extra: Record<string, unknown>, enterpriseId: string) {
  const m = capToForm(a, shanghaiDate(Date.now()));
  if (m.issues.length) throw capErrors(m.issues);
  const form: Record<string, unknown> = { ...m.form, ...extra, cap: m.form.cap };
  if (form.signature === undefined) {
    const s = await defaultSignature(c.get('deps').db, enterpriseId);
    if (s) form.signature = s;
  }
  return form;
}

/** Actual alerts are sent; Exercise and Test ones too, as exercises (演练); System and Draft ones are not. */
function refusedStatus(a: CapAlert): void {
  if (!['Actual', 'Exercise', 'Test'].includes(a.status))
    throw capErrors([
      {
        path: 'alert.status',
        message: `status 为 ${a.status} 的预警不发送：只导入 Actual，以及作为演练的 Exercise、Test（Draft 可存为草稿）`,
      },
    ]);
}

async function submitAlert(c: Ctx, a: CapAlert, extra: Record<string, unknown>): Promise<Response> {
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

async function updateTask(c: Ctx, a: CapAlert, extra: Record<string, unknown>): Promise<Response> {
  const { p, enterpriseId } = caller(c);
  const deps = c.get('deps');
  const row = await referencedTask(c, a, enterpriseId);
  const origin = (row.form.cap ?? undefined) as CapOrigin | undefined;
  if (origin?.refs.includes(capRef(a))) throw new AppError('NAME_TAKEN', '该 CAP 更新已导入（sender、identifier、sent 相同）');
  if (!LIVE_STATES.includes(row.state)) throw new AppError('TASK_STATE', `任务${STATE_LABELS[row.state] ?? row.state}，不能再更新`);
  const m = capToForm(a, row.startDate ?? shanghaiDate(Date.now()));
  if (m.issues.length) throw capErrors(m.issues);
  const next = m.form as Record<string, unknown> & { cap: CapOrigin };
  // What an update may change (as the console's update): the text, the region, the end date; and the other languages.
  const form = parse(TaskForm, {
    ...row.form,
    ...extra,
    subject: next.subject,
    content: next.content,
    region: next.region,
    endDate: next.endDate,
    texts: next.texts,
    cap: { ...(origin ?? next.cap), refs: [...(origin?.refs ?? []), capRef(a)], infos: next.cap.infos },
  });
  const issues = formIssues(form, Number.MAX_SAFE_INTEGER, form.startDate);
  if (form.endDate < shanghaiDate(Date.now())) issues.push({ path: 'endDate', message: '结束日期不能早于今天' });
  if (issues.length) throw fieldErrors(issues);
  const bus = await alertBus(deps);
  const store = new TaskStore(await new Kvm(bus.nc).open(TASKS_BUCKET));
  const cur = await store.get(row.id);
  if (!cur) throw new AppError('NOT_FOUND', '预警服务中找不到该任务');
  const spec = toSpec(form, { accountId: cur.task.spec.accountId, enterpriseId, balance: cur.task.spec.balance });
  if (!spec.success) throw validationError(spec.error as never);
  let version = cur.task.version;
  await deps.db.transaction(async (tx) => {
    await adjustReservation(tx, row.id, costedSpec(spec.data));
    await updateSpec(tx, row.id, { subject: form.subject, form, spec: spec.data, endDate: form.endDate });
    try {
      version = (await store.update(row.id, spec.data)).version;
    } catch (err) {
      if (err instanceof TaskError && err.code === 'bad_transition') throw new AppError('TASK_STATE', '任务已结束，不能再更新');
      throw err;
    }
  });
  await opLog(c, '按 CAP 更新修改大数据短信任务', row.id, { by: p.name, identifier: a.identifier });
  return c.json({ id: row.id, state: row.state, action: 'updated' as const, version });
}

async function cancelTask(c: Ctx, a: CapAlert): Promise<Response> {
  const { enterpriseId } = caller(c);
  const row = await referencedTask(c, a, enterpriseId);
  const bus = await alertBus(c.get('deps'));
  const t = await bus.transition(row.id, 'stopped', `CAP 取消：${a.sender} ${a.identifier}`);
  await setState(c.get('deps').db, row.id, t.state, t.reason);
  await opLog(c, '按 CAP 取消紧急停止大数据短信任务', row.id, { identifier: a.identifier });
  return c.json({ id: row.id, state: t.state, action: 'stopped' as const });
}

const tags = ['大数据短信', 'CAP 1.2'];
const Imported = z
  .object({
    id: z.string(),
    state: Submitted.shape.state,
    action: z.enum(['submitted', 'updated', 'stopped']).openapi({ description: 'Alert：提交；Update：修改；Cancel：紧急停止' }),
    version: z.number().int().optional(),
  })
  .openapi('BigdataCapImported');

export const capRoutes = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/bigdata/cap',
      tags,
      summary: '导入 CAP 1.2 预警：Alert 提交任务，Update 修改 references 所指任务，Cancel 紧急停止该任务',
      middleware: [requires('bigdata.send'), capBodyLimit],
      request: capBody,
      responses: jsonOk(Imported),
    }),
    guarded(async (c) => {
      const { xml, extra } = await readRequest(c);
      const a = readOrFail(xml);
      refusedStatus(a);
      if (a.msgType === 'Alert') return submitAlert(c, a, extra);
      if (a.msgType === 'Update') return updateTask(c, a, extra);
      if (a.msgType === 'Cancel') return cancelTask(c, a);
      throw capErrors([{ path: 'alert.msgType', message: `msgType 为 ${a.msgType} 的消息不导入（只导入 Alert、Update、Cancel）` }]);
    }),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/bigdata/cap/draft',
      tags,
      summary: '导入 CAP 1.2 预警（Alert）为草稿，在发短信页补全后提交',
      middleware: [requires('bigdata.send'), capBodyLimit],
      request: capBody,
      responses: jsonOk(z.object({ id: z.string() })),
    }),
    handle(async (c) => {
      const { p, enterpriseId } = caller(c);
      const { xml, extra } = await readRequest(c);
      const a = readOrFail(xml);
      if (a.msgType !== 'Alert') throw capErrors([{ path: 'alert.msgType', message: '只有 msgType 为 Alert 的预警可存为草稿' }]);
      const form = await importedForm(c, a, extra, enterpriseId);
      const id = `${TASK_ID_PREFIX}${randomUUID()}`;
      await insertTask(c.get('deps').db, {
        id,
        enterpriseId,
        accountId: p.accountId,
        accountName: p.name,
        state: 'draft',
        alertType: String(form.alertType),
        subject: String(form.subject ?? '').slice(0, 100),
        form,
      });
      await opLog(c, '导入 CAP 预警为大数据短信草稿', id, { identifier: a.identifier });
      return c.json({ id });
    }),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/bigdata/cap/preview',
      tags,
      summary: '预览 CAP 1.2 预警将生成的任务表单（不写入任何数据）',
      middleware: [requires('bigdata.send'), capBodyLimit],
      request: capBody,
      responses: jsonOk(
        z
          .object({
            msgType: z.string(),
            references: z.array(z.string()),
            form: TaskFormDoc.partial(),
          })
          .openapi('BigdataCapPreview'),
      ),
    }),
    handle(async (c) => {
      const { enterpriseId } = caller(c);
      const { xml, extra } = await readRequest(c);
      const a = readOrFail(xml);
      const form = a.msgType === 'Cancel' ? {} : await importedForm(c, a, extra, enterpriseId);
      return c.json({ msgType: a.msgType, references: parseRefs(a.references), form });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/tasks/{id}/cap',
      middleware: [requires('bigdata.tasks')],
      tags,
      summary: '导出任务为 CAP 1.2 预警（XML）',
      request: { params: IdParam },
      responses: { 200: { description: 'CAP 1.2 文档', content: { 'application/cap+xml': { schema: z.string() } } } },
    }),
    handle(async (c) => {
      const { enterpriseId } = caller(c);
      const row = await getTask(c.get('deps').db, enterpriseId, c.req.param('id') ?? '');
      if (!row || row.state === 'draft') throw new AppError('NOT_FOUND', '任务不存在');
      const form = TaskForm.safeParse(row.form);
      if (!form.success) throw new AppError('TASK_STATE', '该任务的表单不完整，无法导出为 CAP');
      const xml = taskToCap({ id: row.id, enterpriseId, form: form.data, createdAt: row.createdAt, submittedAt: row.submittedAt });
      return c.body(xml, 200, {
        'content-type': 'application/cap+xml; charset=utf-8',
        'content-disposition': `attachment; filename="${row.id}.cap.xml"`,
      });
    }),
  );

/** Mount with the console's groups (`API_ROUTES`). */
export const CAP_ROUTES = [capRoutes];
