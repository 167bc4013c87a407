import { createRoute } from '@hono/zod-openapi';
import { composeText, countMessage } from '@geo/messaging';
import { AppError } from '../../../errors.ts';
import { type Ctx, caller } from '../../../http/context.ts';
import { opLog } from '../../../http/op-log.ts';
import { jsonBody, jsonOk, router, z } from '../../../http/openapi.ts';
import { normalizeMobile } from '../../../industry/recipients.ts';
import { dispatchSend } from '../dispatch/dispatch.ts';
import { runtimeOf } from '../dispatch/runtime.ts';
import { CheckResult, SendBody, SendResult } from '../schemas.ts';
import { adminPhone, balances, prepareSend, recordSend, signaturesFor } from './service.ts';
import { newId } from '../scope.ts';
import { requires } from '../../../http/route-access.ts';

const TAG = ['行业短信-发短信'];
/** Sends this small are published before the response; larger ones right after it. */
const PUBLISH_INLINE = 2000;

const Options = z
  .object({
    signatures: z
      .array(
        z.object({
          id: z.string().openapi({ description: '签名编号', example: '5b9e0d1c-2a3f-4b6e-8d7c-1f0e2d3c4b5a' }),
          text: z.string().openapi({ description: '签名文字（含【】）', example: '【杭州应急】' }),
        }),
      )
      .openapi({ description: '可用的（已审核通过的）短信签名' }),
    defaultSignatureId: z.string().nullable().openapi({ description: '默认签名的编号，未设置为 null', example: null }),
    forwardTo: z.string().openapi({ description: '回复默认转发到的手机号码（本人的手机号），未填为空串', example: '13800000000' }),
    accessNumber: z.string().openapi({ description: '集团的短信接入号，未分配为空串', example: '1069012345' }),
    balances: z
      .object({
        account: z.number().nullable().openapi({ description: '本账户的可发送量（条），null 为不单独限制', example: null }),
        enterprise: z.number().openapi({ description: '集团的可发送量（条）', example: 100000 }),
      })
      .openapi({ description: '可发送量' }),
  })
  .openapi('IndustrySendOptions');

const CountBody = z.object({
  content: z
    .string()
    .max(10_000)
    .openapi({ description: '短信内容（不含签名），最多 10,000 字', example: '今晚 20:00 起进行消防演练，请值班人员提前到岗。' }),
  signatureId: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: '签名编号；与 signature 二选一，都不填按无签名计', example: '5b9e0d1c-2a3f-4b6e-8d7c-1f0e2d3c4b5a' }),
  signature: z.string().max(20).optional().openapi({ description: '签名文字（含【】）', example: '【杭州应急】' }),
});
const CountResult = z.object({
  ok: z.boolean().openapi({ description: '内容能否发送（false 时见 reason）', example: true }),
  chars: z.number().openapi({ description: '字数（含签名）', example: 30 }),
  tasks: z.number().openapi({ description: '拆分的任务数（按 500 字一个）', example: 1 }),
  segments: z.number().openapi({ description: '每个号码的计费条数（UCS-2 70 字一条，长短信 67 字一条；GSM-7 160 / 153）', example: 1 }),
  encoding: z.string().optional().openapi({ description: '编码：ucs2 或 gsm7', example: 'ucs2' }),
  reason: z.string().optional().openapi({ description: '不能发送的原因', example: '内容不能为空' }),
});

async function saveDraft(c: Ctx, body: SendBody): Promise<string> {
  const { p, enterpriseId } = caller(c);
  const { db } = c.get('deps');
  const { action: _a, draftId, acceptRejected: _r, ...payload } = body;
  if (draftId) {
    const r = await db.query(
      'UPDATE sms_drafts SET mode = $3, subject = $4, content = $5, payload = $6, updated_at = now() WHERE id = $1 AND account_id = $2',
      [draftId, p.accountId, body.mode, body.subject ?? '', body.content ?? '', JSON.stringify(payload)],
    );
    if (r.rowCount === 1) return draftId;
  }
  const id = newId();
  await db.query(
    'INSERT INTO sms_drafts (id, enterprise_id, account_id, mode, subject, content, payload) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [id, enterpriseId, p.accountId, body.mode, body.subject ?? '', body.content ?? '', JSON.stringify(payload)],
  );
  return id;
}

/** 发短信: options, counting, checking and recording a send (and saving it as a draft). */
export const sendRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/send-options',
      middleware: [requires('sms.send')],
      tags: TAG,
      summary: '发短信页面所需：已审核签名（默认预选）、转发手机默认值、余额',
      responses: jsonOk(Options),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const sigs = await signaturesFor(db, enterpriseId, p.accountId);
      const { rows } = await db.query<{ access_number: string }>('SELECT access_number FROM enterprises WHERE id = $1', [enterpriseId]);
      return c.json(
        {
          signatures: sigs.items.map((s) => ({ id: s.id, text: s.text })),
          defaultSignatureId: sigs.defaultId,
          forwardTo: await adminPhone(db, enterpriseId),
          accessNumber: rows[0]?.access_number ?? '',
          balances: await balances(db, enterpriseId, p.accountId),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/count',
      middleware: [requires('sms.send')],
      tags: TAG,
      summary: '字数、任务数（按 500 字）、计费条数，含签名',
      request: jsonBody(CountBody),
      responses: jsonOk(CountResult),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const body = c.req.valid('json');
      let sig = body.signature ?? '';
      if (!body.signature) {
        const sigs = await signaturesFor(c.get('deps').db, enterpriseId, p.accountId);
        sig = sigs.items.find((s) => s.id === (body.signatureId ?? sigs.defaultId))?.text ?? '';
      }
      const r = countMessage(sig, body.content);
      if (r.ok) return c.json({ ok: true, chars: r.chars, tasks: r.tasks, segments: r.segments, encoding: r.encoding }, 200);
      return c.json({ ok: false, chars: [...composeText(sig, body.content)].length, tasks: 0, segments: 0, reason: r.reason }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/sends/check',
      middleware: [requires('sms.send')],
      tags: TAG,
      summary: '发送前检查：有效号码数、无效与重复号码、计费条数、定制发送预览',
      request: jsonBody(SendBody),
      responses: jsonOk(CheckResult),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const prep = await prepareSend(db, p, enterpriseId, c.req.valid('json'));
      const count = countMessage(prep.signature.text, prep.content);
      return c.json(
        {
          recipients: prep.recipients.length,
          rejected: prep.rejected.slice(0, 1000),
          rejectedTotal: prep.rejected.length,
          duplicates: prep.duplicates,
          perCarrier: prep.perCarrier,
          subject: prep.subject,
          billing: prep.billing,
          chars: count.ok ? count.chars : 0,
          tasks: count.ok ? count.tasks : 0,
          segments: count.ok ? count.segments : 0,
          ...(prep.preview ? { preview: prep.preview } : {}),
          balances: await balances(db, enterpriseId, p.accountId),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/sends',
      middleware: [requires('sms.send')],
      tags: TAG,
      summary: '发送（立即 / 定时）或存草稿；普通、批量（uploadId 或 numbers）与定制发送（uploadId 或 messages）',
      description:
        '有无效或重复号码时返回 400 RECIPIENTS_REJECTED 及明细；确认后以 acceptRejected: true 再次提交。余额按计费条数扣减，不足时 409 INSUFFICIENT_BALANCE。',
      request: jsonBody(SendBody),
      responses: jsonOk(SendResult),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const deps = c.get('deps');
      const body = c.req.valid('json');
      if (body.action === 'draft') {
        const draftId = await saveDraft(c, body);
        await opLog(c, '保存草稿', body.subject ?? '', { draftId });
        return c.json({ id: null, state: 'draft', draftId, recipients: 0, billing: 0, extension: null, rejected: [] }, 200);
      }
      let scheduledAt: Date | undefined;
      if (body.action === 'schedule') {
        if (!body.scheduledAt) throw new AppError('VALIDATION', '请选择定时发送的时间');
        scheduledAt = new Date(body.scheduledAt);
        if (scheduledAt.getTime() <= Date.now()) throw new AppError('VALIDATION', '定时发送的时间必须晚于现在');
        if (scheduledAt.getTime() > Date.now() + 366 * 86_400_000) throw new AppError('VALIDATION', '定时发送的时间不能超过一年');
      }
      const prep = await prepareSend(deps.db, p, enterpriseId, body);
      if (prep.rejected.length && !body.acceptRejected) {
        throw new AppError(
          'RECIPIENTS_REJECTED',
          `有 ${prep.rejected.length} 个号码无效或重复（有效 ${prep.recipients.length} 个），请确认后再发送`,
          {
            recipients: prep.recipients.length,
            rejectedTotal: prep.rejected.length,
            rejected: prep.rejected.slice(0, 1000),
          },
        );
      }
      let forwardTo: string | null = null;
      if (body.needReply && body.forwardReplies) {
        const raw = body.forwardTo?.trim() || (await adminPhone(deps.db, enterpriseId));
        forwardTo = normalizeMobile(raw) ?? null;
        if (!forwardTo) throw new AppError('VALIDATION', raw ? `转发手机号码“${raw}”无效` : '请填写回复转发的手机号码');
      }
      const { action: _a, acceptRejected: _r, draftId, ...source } = body;
      const rec = await recordSend(deps.db, p, enterpriseId, prep, {
        scheduledAt,
        via: p.via === 'apikey' ? 'api' : 'web',
        forwardTo,
        needReply: body.needReply,
        source: source as Record<string, unknown>,
        draftId,
      });
      await opLog(c, scheduledAt ? '定时发送短信' : '发送短信', prep.subject, {
        sendId: rec.id,
        recipients: prep.recipients.length,
        billing: prep.billing,
      });
      let state = scheduledAt ? 'scheduled' : 'queued';
      if (!scheduledAt) {
        const rt = runtimeOf(deps);
        if (prep.recipients.length <= PUBLISH_INLINE) state = (await dispatchSend(rt, rec.id)) ? 'sent' : state;
        else void dispatchSend(rt, rec.id);
      }
      return c.json(
        {
          id: rec.id,
          state,
          draftId: null,
          recipients: prep.recipients.length,
          billing: prep.billing,
          extension: rec.extension,
          rejected: prep.rejected.slice(0, 1000),
        },
        200,
      );
    },
  );
