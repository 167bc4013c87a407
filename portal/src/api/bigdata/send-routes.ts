import { ALERT_TYPES, CARRIERS, CrowdRule, Region, ReachRequest, shanghaiDate, type AlertTask } from '@geo/alerting';
import type { Queryable } from '@geo/infra';
import { countAlert } from '@geo/messaging';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { type Ctx, caller } from '../../http/context.ts';
import { createRoute } from '@hono/zod-openapi';
import { jsonBody as jsonRequest, jsonOk, Ok, router, validationError } from '../../http/openapi.ts';
import { opLog } from '../../http/op-log.ts';
import { inspectDocument } from '../../http/uploaded-document.ts';
import { alertBus, TASK_ID_PREFIX } from './alert-bus.ts';
import { approvalSettings, submission } from './approval/approval.ts';
import { ALERT_TYPE_INFO } from './alert-types.ts';
import { activeBoundaryVersion, areaTree, boundariesJson } from './geography.ts';
import { fieldErrors, guarded, handle, jsonBody, jsonBodyLimit, parse } from './route-kit.ts';
import {
  AreaNode,
  CountBody,
  CountResult,
  DraftBody,
  IdOnly,
  IdParam,
  Letter,
  LetterForm,
  LevelParam,
  Options,
  Reach,
  ReachBody,
  SubmitBody,
  Submitted,
} from './schemas.ts';
import { FormRegion, formIssues, regionAndRuleIssues, TaskForm, toSpec, type FieldIssue } from './task-form.ts';
import { deleteDraft, getTask, insertTask, submitDraft, updateDraft } from './task-store.ts';
import { attachCheckIn } from './checkins/index.ts';
import { requires } from '../../http/route-access.ts';

/** What the enterprise (and this account, when it has its own cap) may still send. */
export async function availableBalance(db: Queryable, enterpriseId: string, accountId: string): Promise<number> {
  const { rows } = await db.query<{ eq: string | number; aq: string | number | null }>(
    'SELECT e.quota AS eq, a.quota AS aq FROM accounts a JOIN enterprises e ON e.id = a.enterprise_id WHERE a.id = $1 AND e.id = $2',
    [accountId, enterpriseId],
  );
  const r = rows[0];
  if (!r) return 0;
  return r.aq == null ? Number(r.eq) : Math.min(Number(r.eq), Number(r.aq));
}

async function approvedSignatures(db: Queryable, enterpriseId: string) {
  const { rows } = await db.query<{ id: string; text: string; is_default: boolean }>(
    `SELECT id, text, is_default FROM signatures WHERE enterprise_id = $1 AND status = 'approved' ORDER BY is_default DESC, text`,
    [enterpriseId],
  );
  return rows.map((r) => ({ id: r.id, text: r.text, isDefault: r.is_default }));
}

/** Any of the console's features opens the map data (the insight pages use it too). */
const mapReader = requires('bigdata.send', 'bigdata.tasks', 'insight');

const LEVEL = z.enum(['province', 'city', 'district']);
export const LETTER_MAX_BYTES = 5 * 1024 * 1024;

const Submit = z.object({
  form: z.unknown(),
  draftId: z.string().max(64).optional(),
  copiedFrom: z.string().max(64).optional(),
  fastPath: z.boolean().optional(),
});
const Draft = z.object({ form: z.record(z.string(), z.unknown()).refine((f) => JSON.stringify(f).length < 2_000_000, '草稿过大') });

/** Subject and type of a draft, whatever state its form is in. */
const draftMeta = (form: Record<string, unknown>) => ({
  alertType: typeof form.alertType === 'string' && (ALERT_TYPES as readonly string[]).includes(form.alertType) ? form.alertType : 'other',
  subject: typeof form.subject === 'string' ? form.subject.slice(0, 100) : '',
});

/**
 * Checks a submitted form completely, in one round: what the schema refuses, the region and its
 * rules (when those parts parse), the signature and the letter are gathered together, so the user
 * sees every error at once; returns the form parsed with the balance it was checked against.
 */
async function checkForm(c: Ctx, raw: unknown, enterpriseId: string, accountId: string): Promise<{ form: TaskForm; balance: number }> {
  const parsed = TaskForm.safeParse(raw);
  // Not a form at all (null, a list): nothing else to check.
  if (!parsed.success && parsed.error.issues.some((i) => i.path.length === 0)) throw validationError(parsed.error as never);
  const fields = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const db = c.get('deps').db;
  const issues: FieldIssue[] = parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const refused = new Set(issues.map((i) => i.path.split('.')[0]));
  const signature = typeof fields.signature === 'string' ? fields.signature : undefined;
  const signatureEn = typeof fields.signatureEn === 'string' ? fields.signatureEn : undefined;
  const approved = signature || signatureEn ? await approvedSignatures(db, enterpriseId) : [];
  if (signature && !refused.has('signature') && !approved.some((s) => s.text === signature))
    issues.push({ path: 'signature', message: '签名不存在或未通过审核' });
  if (signatureEn && !refused.has('signatureEn') && !approved.some((s) => s.text === signatureEn))
    issues.push({ path: 'signatureEn', message: '英文签名不存在或未通过审核' });
  if (!refused.has('authorizationLetter')) {
    const letter = fields.authorizationLetter;
    if (typeof letter !== 'string' || !letter) issues.push({ path: 'authorizationLetter', message: '请上传授权函' });
    else {
      const { rows } = await db.query(`SELECT 1 FROM uploads WHERE id = $1 AND enterprise_id = $2 AND kind = 'bigdata_letter'`, [
        letter,
        enterpriseId,
      ]);
      if (!rows.length) issues.push({ path: 'authorizationLetter', message: '授权函不存在，请重新上传' });
    }
  }
  const balance = await availableBalance(db, enterpriseId, accountId);
  if (parsed.success) issues.push(...formIssues(parsed.data, balance, shanghaiDate(Date.now())));
  else {
    // The schema refused something else: the region and its rules are still checked when they parse.
    const region = FormRegion.safeParse(fields.region);
    const rules = TaskForm.shape.rules.safeParse(fields.rules);
    if (region.success && rules.success) issues.push(...regionAndRuleIssues(region.data, rules.data));
  }
  if (issues.length || !parsed.success) throw fieldErrors(issues);
  return { form: parsed.data, balance };
}

const tags = ['大数据短信'];

export const sendRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/areas',
      middleware: [mapReader],
      tags,
      summary: '行政区域（省 → 市 → 区/县），地图与区域选择用',
      responses: jsonOk(z.object({ areas: z.array(AreaNode).openapi({ description: '平台所知的省、市、区县（各以 parent 指向上级）' }) })),
    }),
    handle((c) => c.json({ areas: areaTree() })),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/boundaries/{level}',
      middleware: [mapReader],
      tags,
      summary: '一级行政区的边界（GeoJSON，已简化，离线底图用）',
      request: { params: LevelParam },
      responses: {
        200: {
          description: 'FeatureCollection，每个要素带 code、name、level',
          content: {
            'application/geo+json': { schema: z.object({ type: z.literal('FeatureCollection'), features: z.array(z.unknown()) }) },
          },
        },
      },
    }),
    handle((c) => {
      const level = parse(LEVEL, c.req.param('level'));
      // Revalidated by the boundary version in force (an operator's file may change it at any time):
      // a browser keeps its copy and gets 304 until then, never an hour of stale outlines.
      const etag = `"${level}-v${activeBoundaryVersion() ?? 0}"`;
      const headers = { etag, 'cache-control': 'private, no-cache' };
      if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers);
      return c.body(boundariesJson(level), 200, { 'content-type': 'application/geo+json', ...headers });
    }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/bigdata/options',
      middleware: [requires('bigdata.send')],
      tags,
      summary: '发短信页的选项：预警类型及模板、已审核签名、可用余量',
      responses: jsonOk(Options),
    }),
    handle(async (c) => {
      const { p, enterpriseId } = caller(c);
      const db = c.get('deps').db;
      return c.json({
        alertTypes: ALERT_TYPES.map((v) => ({ value: v, ...ALERT_TYPE_INFO[v] })),
        signatures: await approvedSignatures(db, enterpriseId),
        balance: await availableBalance(db, enterpriseId, p.accountId),
        carriers: CARRIERS,
        today: shanghaiDate(Date.now()),
        // The sender needs these to offer 先发后审; the settings themselves are the task managers' (bigdata.tasks).
        fastPathTypes: await approvalSettings(db, enterpriseId).then((s) => (s.required ? s.fastPathTypes : [])),
      });
    }),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/bigdata/count',
      tags,
      summary: '内容实时计数：字数、计费条数、任务数',
      middleware: [requires('bigdata.send'), jsonBodyLimit],
      request: jsonRequest(CountBody),
      responses: jsonOk(CountResult),
    }),
    handle(async (c) => {
      const b = parse(z.object({ signature: z.string().max(20).default(''), content: z.string().max(2000) }), await jsonBody(c));
      // An empty signature still counts its brackets, as the handset shows them. An alert is one
      // message however long (what the ledger reserves), not an industry send's 500-character tasks.
      return c.json(countAlert(b.signature || ' ', b.content));
    }),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/bigdata/reach',
      tags,
      summary: '预计触达：区域内当前人数、符合规则人数、今日可发送（按运营商）',
      middleware: [requires('bigdata.send'), jsonBodyLimit],
      request: jsonRequest(ReachBody),
      responses: jsonOk(Reach),
    }),
    guarded(async (c) => {
      const b = parse(
        z.object({ region: Region, rules: z.array(CrowdRule).default([]), quota: ReachRequest.shape.quota }),
        await jsonBody(c),
      );
      const issues = regionAndRuleIssues(b.region, b.rules);
      if (issues.length) throw fieldErrors(issues);
      const bus = await alertBus(c.get('deps'));
      const r = await bus.reach({ v: 1, region: b.region, rules: b.rules, quota: b.quota });
      return c.json({ ...r, at: new Date().toISOString() });
    }),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/bigdata/letters',
      middleware: [requires('bigdata.send')],
      tags,
      summary: '上传授权函（PDF、PNG 或 JPEG，≤ 5 MB）',
      request: LetterForm,
      responses: jsonOk(Letter),
    }),
    handle(async (c) => {
      const { p, enterpriseId } = caller(c);
      const body = await c.req.parseBody().catch(() => {
        throw new AppError('VALIDATION', '请以 multipart/form-data 上传文件（字段 file）');
      });
      const file = body.file;
      if (!(file instanceof File))
        throw new AppError('VALIDATION', '请选择授权函文件', [{ path: 'authorizationLetter', message: '请选择授权函文件' }]);
      if (file.size > LETTER_MAX_BYTES) throw new AppError('UPLOAD_TOO_LARGE', '授权函不能超过 5 MB');
      const data = new Uint8Array(await file.arrayBuffer());
      // Read by its structure, not its first bytes: a 150-byte file starting like a PDF opens as nothing.
      const doc = inspectDocument(data);
      if (!doc.type) throw new AppError('UPLOAD_TYPE', '授权函须为 PDF、PNG 或 JPEG 文件');
      if (!doc.ok) throw new AppError('UPLOAD_TYPE', `授权函无法打开：${doc.problem}`);
      const type = doc.type;
      const id = randomUUID();
      const name = file.name.replace(/[\\/\0]/g, '_').slice(0, 200) || 'letter';
      await c
        .get('deps')
        .db.query(
          `INSERT INTO uploads (id, enterprise_id, account_id, kind, file_name, content_type, size, data) VALUES ($1, $2, $3, 'bigdata_letter', $4, $5, $6, $7)`,
          [id, enterpriseId, p.accountId, name, type, data.length, data],
        );
      await opLog(c, '上传授权函', id, { name });
      return c.json({ id, name, size: data.length, contentType: type });
    }),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/bigdata/drafts',
      tags,
      summary: '保存草稿',
      middleware: [requires('bigdata.send'), jsonBodyLimit],
      request: jsonRequest(DraftBody),
      responses: jsonOk(IdOnly),
    }),
    handle(async (c) => {
      const { p, enterpriseId } = caller(c);
      const { form } = parse(Draft, await jsonBody(c));
      const id = `${TASK_ID_PREFIX}${randomUUID()}`;
      await insertTask(c.get('deps').db, {
        id,
        enterpriseId,
        accountId: p.accountId,
        accountName: p.name,
        state: 'draft',
        ...draftMeta(form),
        form,
      });
      await opLog(c, '保存大数据短信草稿', id);
      return c.json({ id });
    }),
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/bigdata/drafts/{id}',
      tags,
      summary: '修改草稿',
      middleware: [requires('bigdata.send'), jsonBodyLimit],
      request: { params: IdParam, ...jsonRequest(DraftBody) },
      responses: jsonOk(Ok),
    }),
    handle(async (c) => {
      const { enterpriseId } = caller(c);
      const { form } = parse(Draft, await jsonBody(c));
      if (!(await updateDraft(c.get('deps').db, enterpriseId, c.req.param('id') ?? '', { ...draftMeta(form), form })))
        throw new AppError('NOT_FOUND', '草稿不存在');
      return c.json({ ok: true });
    }),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/api/bigdata/drafts/{id}',
      middleware: [requires('bigdata.send')],
      tags,
      summary: '删除草稿',
      request: { params: IdParam },
      responses: jsonOk(Ok),
    }),
    handle(async (c) => {
      const { enterpriseId } = caller(c);
      if (!(await deleteDraft(c.get('deps').db, enterpriseId, c.req.param('id') ?? ''))) throw new AppError('NOT_FOUND', '草稿不存在');
      return c.json({ ok: true });
    }),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/bigdata/tasks',
      tags,
      summary: '提交大数据短信任务（逐字段校验，错误附在字段旁）',
      middleware: [requires('bigdata.send'), jsonBodyLimit],
      request: jsonRequest(SubmitBody),
      responses: jsonOk(Submitted),
    }),
    guarded(async (c) => {
      const { p, enterpriseId } = caller(c);
      const body = parse(Submit, await jsonBody(c));
      const { form, balance } = await checkForm(c, body.form, enterpriseId, p.accountId);
      const spec = toSpec(form, { accountId: p.accountId, enterpriseId, balance });
      // Alerting's schema has the last word; the form checks above should have caught everything.
      if (!spec.success) throw validationError(spec.error as never);
      const deps = c.get('deps');
      const bus = await alertBus(deps);
      if (body.copiedFrom && !(await getTask(deps.db, enterpriseId, body.copiedFrom))) throw new AppError('NOT_FOUND', '原任务不存在');
      const id = body.draftId ?? `${TASK_ID_PREFIX}${randomUUID()}`;
      // Maker-checker (#21): with the enterprise's approval on, the task waits (paused in the bucket)
      // unless it is an emergency type taking the fast path.
      const entry = submission(await approvalSettings(deps.db, enterpriseId), form.alertType, body.fastPath === true);
      const task: AlertTask = { id, version: 1, spec: spec.data, state: entry.busState, updatedAt: Date.now() };
      // The row and the bucket entry succeed together: a failed KV write rolls the row back.
      await deps.db.transaction(async (tx) => {
        const row = {
          alertType: form.alertType,
          subject: form.subject,
          form,
          spec: spec.data,
          startDate: form.startDate,
          endDate: form.endDate,
          state: entry.rowState,
          approval: entry.approval,
          fastPath: entry.fastPath,
        };
        if (body.draftId) {
          if (!(await submitDraft(tx, enterpriseId, body.draftId, row))) throw new AppError('NOT_FOUND', '草稿不存在');
        } else
          await insertTask(tx, {
            id,
            enterpriseId,
            accountId: p.accountId,
            accountName: p.name,
            copiedFrom: body.copiedFrom ?? null,
            ...row,
          });
        // 回复报平安 (#21): a check-in gets its extension, and the spec carries it to alerting.
        task.spec = await attachCheckIn(tx, deps, { taskId: id, enterpriseId, accountId: p.accountId, form }, task.spec);
        await bus.create(task);
      });
      await opLog(c, '提交大数据短信任务', id, { subject: form.subject, alertType: form.alertType, approval: entry.approval });
      return c.json({ id, state: entry.rowState, approval: entry.approval });
    }),
  );
