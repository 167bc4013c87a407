import type { Queryable } from '@geo/infra';
import { AppError } from '../../../errors.ts';
import { caller, iso, type Ctx } from '../../../http/context.ts';
import { z } from '../../../http/openapi.ts';
import { DateParam } from '../schemas.ts';
import { likePattern, timeBounds, visibleAccounts } from '../scope.ts';
import { sendOutcomes } from '../send-log.ts';

export const SENT_TAG = ['行业短信-已发送'];
export const IdParam = z.object({ id: z.string().min(1).max(64) });
export const Ids = z.object({
  ids: z
    .array(z.string().min(1).max(64))
    .min(1, '请先选择记录')
    .max(1000)
    .openapi({ description: '选中的记录编号，1–1000 个', example: ['9a7b5c3d-1e2f-4a6b-8c0d-2e4f6a8b0c1d'] }),
});

export const SendSummary = z
  .object({
    id: z.string().openapi({ description: '发送任务编号', example: '9a7b5c3d-1e2f-4a6b-8c0d-2e4f6a8b0c1d' }),
    accountId: z.string().openapi({ description: '发送账户编号', example: '3f6c1e2a-8b4d-4c7e-9a51-2d0f6b7e8c90' }),
    accountName: z.string().openapi({ description: '发送账户名', example: 'zhangsan' }),
    mode: z.string().openapi({ description: '发送方式：normal 普通，batch 批量，merge 个性化', example: 'normal' }),
    via: z.string().openapi({ description: '发送途径：web 页面，api 接口', example: 'web' }),
    subject: z.string().openapi({ description: '任务主题', example: '燃气检修通知' }),
    content: z
      .string()
      .openapi({ description: '短信内容（不含签名）', example: '明日 9:00–12:00 西湖区部分路段燃气检修，请提前做好准备。' }),
    signature: z.string().openapi({ description: '短信签名', example: '杭州燃气' }),
    recipients: z.number().openapi({ description: '号码数', example: 1200 }),
    billing: z.number().openapi({ description: '计费条数', example: 1200 }),
    extension: z.string().nullable().openapi({ description: '回复扩展码，不需要回复为 null', example: '0321' }),
    forwardTo: z.string().nullable().openapi({ description: '回复转发到的手机号，不转发为 null', example: '138****0000' }),
    state: z.string().openapi({ description: '任务状态：scheduled 待定时发送，sent 已发出，cancelled 已取消', example: 'sent' }),
    status: z.enum(['scheduled', 'cancelled', 'queued', 'submitted', 'pending', 'delivered', 'partly_failed', 'failed']).openapi({
      description:
        '按号码的结果：delivered 全部成功，partly_failed 部分失败，failed 全部失败，pending 等待回执；submitted 已提交（发送日志不可用时）',
    }),
    scheduledAt: z.string().nullable().openapi({ description: '定时发送时间（ISO 8601），非定时为 null', example: null }),
    createdAt: z.string().openapi({ description: '提交时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
    sentAt: z.string().nullable().openapi({ description: '发出时间（ISO 8601），未发出为 null', example: '2026-03-01T08:00:05.000Z' }),
    replies: z.number().openapi({ description: '收到的回复数', example: 4 }),
    delivered: z.number().nullable().openapi({ description: '成功送达的号码数，发送日志不可用时为 null', example: 1188 }),
    failed: z.number().nullable().openapi({ description: '失败的号码数，发送日志不可用时为 null', example: 12 }),
  })
  .openapi('IndustrySendSummary');

export const ListQuery = z.object({
  accountId: z.string().max(64).optional(),
  from: DateParam.optional(),
  to: DateParam.optional(),
  subject: z.string().max(100).optional(),
  phone: z.string().max(20).optional(),
  recipient: z.string().max(50).optional(),
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(20),
});

export interface SendDbRow {
  id: string;
  account_id: string;
  account_name: string;
  mode: string;
  via: string;
  subject: string;
  content: string;
  signature: string;
  recipients_count: number;
  billing_count: number;
  extension: string | null;
  forward_to: string | null;
  state: string;
  scheduled_at: Date | null;
  created_at: Date;
  sent_at: Date | null;
  replies: string;
}

/** An account's name as records show it: a deleted (deactivated) account keeps its name, marked. */
export const ACCOUNT_NAME = `a.name || CASE WHEN a.deleted_at IS NOT NULL THEN '（已删除）' ELSE '' END`;

export const SEND_COLS = `s.id, s.account_id, ${ACCOUNT_NAME} AS account_name, s.mode, s.via, s.subject, s.content, s.signature, s.recipients_count, s.billing_count,
  s.extension, s.forward_to, s.state, s.scheduled_at, s.created_at, s.sent_at, (SELECT count(*) FROM sms_inbox i WHERE i.send_id = s.id) AS replies`;

export type SendStatus = z.infer<typeof SendSummary>['status'];

/**
 * A send's status follows its numbers: all delivered, partly failed, all failed, or still waiting
 * for receipts. Without the send log (`o` undefined) a published send is only known as submitted.
 */
export function sendStatus(state: string, recipients: number, o?: { delivered: number; failed: number }): SendStatus {
  if (state !== 'sent') return state as SendStatus;
  if (!o) return 'submitted';
  if (recipients > 0 && o.failed >= recipients) return 'failed';
  if (recipients > 0 && o.delivered >= recipients) return 'delivered';
  return o.failed > 0 ? 'partly_failed' : 'pending';
}

export const summary = (r: SendDbRow, o?: { delivered: number; failed: number }) => ({
  id: r.id,
  accountId: r.account_id,
  accountName: r.account_name,
  mode: r.mode,
  via: r.via,
  subject: r.subject,
  content: r.content,
  signature: r.signature,
  recipients: Number(r.recipients_count),
  billing: Number(r.billing_count),
  extension: r.extension,
  forwardTo: r.forward_to,
  state: r.state,
  status: sendStatus(r.state, Number(r.recipients_count), o),
  scheduledAt: iso(r.scheduled_at),
  createdAt: iso(r.created_at)!,
  sentAt: iso(r.sent_at),
  replies: Number(r.replies),
  delivered: o ? o.delivered : null,
  failed: o ? o.failed : null,
});

/** The conditions of a sent-list search; `$1` enterprise and `$2` visible accounts are taken. */
export function sendFilter(q: z.infer<typeof ListQuery> & { keyword?: string }, params: unknown[]): string {
  const add = (v: unknown) => `$${params.push(v)}`;
  let w = '';
  if (q.accountId) w += ` AND s.account_id = ${add(q.accountId)}`;
  const { from, to } = timeBounds(q.from, q.to);
  if (from) w += ` AND s.created_at >= ${add(from)}`;
  if (to) w += ` AND s.created_at < ${add(to)}`;
  if (q.subject?.trim()) w += ` AND s.subject ILIKE ${add(likePattern(q.subject.trim()))}`;
  if (q.keyword?.trim()) {
    const k = add(likePattern(q.keyword.trim()));
    w += ` AND (s.subject ILIKE ${k} OR s.content ILIKE ${k})`;
  }
  if (q.phone?.trim())
    w += ` AND EXISTS (SELECT 1 FROM sms_send_recipients r WHERE r.send_id = s.id AND r.msisdn LIKE ${add(likePattern(q.phone.trim()))})`;
  if (q.recipient?.trim())
    w += ` AND EXISTS (SELECT 1 FROM sms_send_recipients r WHERE r.send_id = s.id AND r.name ILIKE ${add(likePattern(q.recipient.trim()))})`;
  return w;
}

/** A send the caller (of a route requiring 已发送) may see (itself or a subordinate's), or 404. */
export async function visibleSend(c: Ctx, id: string): Promise<{ row: SendDbRow; enterpriseId: string; accountId: string }> {
  const { p, enterpriseId } = caller(c);
  const { db } = c.get('deps');
  const accounts = await visibleAccounts(db, p, enterpriseId);
  const { rows } = await db.query<SendDbRow>(
    `SELECT ${SEND_COLS} FROM sms_sends s JOIN accounts a ON a.id = s.account_id WHERE s.id = $1 AND s.enterprise_id = $2 AND s.account_id = ANY($3::text[])`,
    [id, enterpriseId, accounts],
  );
  if (!rows[0]) throw new AppError('NOT_FOUND', '发送记录不存在');
  return { row: rows[0], enterpriseId, accountId: p.accountId };
}

export async function listSends(c: Ctx, db: Queryable, states: string[], q: z.infer<typeof ListQuery>) {
  const { p, enterpriseId } = caller(c); // 定时发件箱 requires 发短信, 已发送 requires 已发送
  const accounts = states.includes('scheduled') ? [p.accountId] : await visibleAccounts(db, p, enterpriseId);
  const params: unknown[] = [enterpriseId, accounts, states];
  const where = `s.enterprise_id = $1 AND s.account_id = ANY($2::text[]) AND s.state = ANY($3::text[]) ${sendFilter(q, params)}`;
  const { rows: tot } = await db.query<{ n: string; r: string | null; b: string | null }>(
    `SELECT count(*) AS n, sum(s.recipients_count) AS r, sum(s.billing_count) AS b FROM sms_sends s WHERE ${where}`,
    params,
  );
  const { rows } = await db.query<SendDbRow>(
    `SELECT ${SEND_COLS} FROM sms_sends s JOIN accounts a ON a.id = s.account_id WHERE ${where}
      ORDER BY ${states.includes('scheduled') ? 's.scheduled_at' : 's.created_at DESC'} LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize}`,
    params,
  );
  const { ch, log, cfg } = c.get('deps');
  const outcomes = await sendOutcomes(
    ch,
    log,
    enterpriseId,
    rows.map((r) => r.id),
    cfg.smsLogTable,
  );
  return {
    items: rows.map((r) => summary(r, outcomes?.get(r.id) ?? (outcomes ? { delivered: 0, failed: 0 } : undefined))),
    total: Number(tot[0]?.n ?? 0),
    totals: {
      sends: Number(tot[0]?.n ?? 0),
      recipients: Number(tot[0]?.r ?? 0),
      billing: Number(tot[0]?.b ?? 0),
      ...(await outcomeTotals(c, where, params, enterpriseId)),
    },
  };
}

/** Most sends a 合计 row adds up the outcomes of (beyond it the row shows none rather than a part). */
export const TOTALS_MAX_SENDS = 100_000;

/** 成功 and 失败 of every send the search matches (not only the page shown); null without the send log. */
export async function outcomeTotals(
  c: Ctx,
  where: string,
  params: unknown[],
  enterpriseId: string,
): Promise<{ delivered: number | null; failed: number | null }> {
  const { db, ch, log, cfg } = c.get('deps');
  const none = { delivered: null, failed: null };
  if (!ch) return none;
  const { rows } = await db.query<{ id: string }>(
    `SELECT s.id FROM sms_sends s WHERE ${where} AND s.state = 'sent' LIMIT ${TOTALS_MAX_SENDS + 1}`,
    params,
  );
  if (rows.length > TOTALS_MAX_SENDS) return none;
  const o = await sendOutcomes(
    ch,
    log,
    enterpriseId,
    rows.map((r) => r.id),
    cfg.smsLogTable,
  );
  if (!o) return none;
  let delivered = 0;
  let failed = 0;
  for (const v of o.values()) {
    delivered += v.delivered;
    failed += v.failed;
  }
  return { delivered, failed };
}

export const Totals = z.object({
  sends: z.number().openapi({ description: '符合条件的发送任务数', example: 36 }),
  recipients: z.number().openapi({ description: '号码数合计', example: 43200 }),
  billing: z.number().openapi({ description: '计费条数合计', example: 43200 }),
  delivered: z.number().nullable().openapi({ description: '成功送达合计，发送日志不可用时为 null', example: 42950 }),
  failed: z.number().nullable().openapi({ description: '失败合计，发送日志不可用时为 null', example: 250 }),
});
export const ListResult = z.object({
  items: z.array(SendSummary).openapi({ description: '本页的发送任务' }),
  total: z.number().openapi({ description: '符合条件的任务总数', example: 36 }),
  totals: Totals.openapi({ description: '符合条件的全部任务的合计' }),
});
