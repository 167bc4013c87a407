import { createRoute } from '@hono/zod-openapi';
import type { Queryable } from '@geo/infra';
import { AppError } from '../../../errors.ts';
import { iso, need, type Ctx } from '../../../http/context.ts';
import type { Feature } from '../../../auth/permissions.ts';
import { opLog } from '../../../http/op-log.ts';
import { jsonBody, jsonOk, Ok, router, z } from '../../../http/openapi.ts';
import { DateParam } from '../schemas.ts';
import { likePattern, timeBounds, visibleAccounts } from '../scope.ts';
import { recipientStates, sendOutcomes } from '../send-log.ts';
import { refund } from '../send/service.ts';

const TAG = ['行业短信-已发送'];
const IdParam = z.object({ id: z.string().min(1).max(64) });
const Ids = z.object({ ids: z.array(z.string().min(1).max(64)).min(1, '请先选择记录').max(1000) });

const SendSummary = z
  .object({
    id: z.string(),
    accountId: z.string(),
    accountName: z.string(),
    mode: z.string(),
    via: z.string(),
    subject: z.string(),
    content: z.string(),
    signature: z.string(),
    recipients: z.number(),
    billing: z.number(),
    extension: z.string().nullable(),
    forwardTo: z.string().nullable(),
    state: z.string(),
    status: z.enum(['scheduled', 'cancelled', 'queued', 'submitted', 'pending', 'delivered', 'partly_failed', 'failed']).openapi({
      description:
        '按号码的结果：delivered 全部成功，partly_failed 部分失败，failed 全部失败，pending 等待回执；submitted 已提交（发送日志不可用时）',
    }),
    scheduledAt: z.string().nullable(),
    createdAt: z.string(),
    sentAt: z.string().nullable(),
    replies: z.number(),
    delivered: z.number().nullable(),
    failed: z.number().nullable(),
  })
  .openapi('IndustrySendSummary');

const ListQuery = z.object({
  accountId: z.string().max(64).optional(),
  from: DateParam.optional(),
  to: DateParam.optional(),
  subject: z.string().max(100).optional(),
  phone: z.string().max(20).optional(),
  recipient: z.string().max(50).optional(),
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(20),
});

interface SendDbRow {
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

const SEND_COLS = `s.id, s.account_id, ${ACCOUNT_NAME} AS account_name, s.mode, s.via, s.subject, s.content, s.signature, s.recipients_count, s.billing_count,
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

const summary = (r: SendDbRow, o?: { delivered: number; failed: number }) => ({
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

/** A send the caller may see (itself or a subordinate's), or 404. */
async function visibleSend(c: Ctx, feature: Feature, id: string): Promise<{ row: SendDbRow; enterpriseId: string; accountId: string }> {
  const { p, enterpriseId } = need(c, feature);
  const { db } = c.get('deps');
  const accounts = await visibleAccounts(db, p, enterpriseId);
  const { rows } = await db.query<SendDbRow>(
    `SELECT ${SEND_COLS} FROM sms_sends s JOIN accounts a ON a.id = s.account_id WHERE s.id = $1 AND s.enterprise_id = $2 AND s.account_id = ANY($3::text[])`,
    [id, enterpriseId, accounts],
  );
  if (!rows[0]) throw new AppError('NOT_FOUND', '发送记录不存在');
  return { row: rows[0], enterpriseId, accountId: p.accountId };
}

async function listSends(c: Ctx, db: Queryable, states: string[], q: z.infer<typeof ListQuery>) {
  const { p, enterpriseId } = need(c, states.includes('scheduled') ? 'sms.send' : 'sms.sent');
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
const TOTALS_MAX_SENDS = 100_000;

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

const Totals = z.object({
  sends: z.number(),
  recipients: z.number(),
  billing: z.number(),
  delivered: z.number().nullable(),
  failed: z.number().nullable(),
});
const ListResult = z.object({ items: z.array(SendSummary), total: z.number(), totals: Totals });

export const sentRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/sends',
      tags: TAG,
      summary: '已发送列表：按用户、时间、主题、手机号码或收件人搜索，末行合计',
      request: { query: ListQuery },
      responses: jsonOk(ListResult),
    }),
    async (c) => c.json(await listSends(c, c.get('deps').db, ['queued', 'sent'], c.req.valid('query')), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/senders',
      tags: TAG,
      summary: '可按用户搜索的账户（自己与下级）',
      responses: jsonOk(z.object({ items: z.array(z.object({ id: z.string(), name: z.string(), displayName: z.string() })) })),
    }),
    async (c) => {
      const { p, enterpriseId } = need(c, 'sms.sent');
      const { db } = c.get('deps');
      const ids = await visibleAccounts(db, p, enterpriseId);
      const { rows } = await db.query<{ id: string; name: string; display_name: string }>(
        'SELECT id, name, display_name FROM accounts WHERE id = ANY($1::text[]) ORDER BY name',
        [ids],
      );
      return c.json({ items: rows.map((r) => ({ id: r.id, name: r.name, displayName: r.display_name })) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/sends/{id}',
      tags: TAG,
      summary: '发送详情：内容与每个号码的状态（提交、成功、失败及原因），可作为编辑重发的原始数据',
      request: {
        params: IdParam,
        query: z.object({
          page: z.coerce.number().int().min(1).default(1),
          pageSize: z.coerce.number().int().min(1).max(500).default(50),
          state: z.enum(['pending', 'submitted', 'delivered', 'failed']).optional(),
        }),
      },
      responses: jsonOk(
        SendSummary.extend({
          recipientsPage: z.array(
            z.object({
              seq: z.number(),
              msisdn: z.string(),
              name: z.string(),
              carrier: z.string(),
              content: z.string().nullable(),
              state: z.string(),
              code: z.string(),
              at: z.string().nullable(),
            }),
          ),
          statusSource: z.enum(['send_log', 'portal']),
          rejected: z.array(z.object({ source: z.string(), input: z.string(), reason: z.string(), message: z.string() })),
          source: z.record(z.string(), z.any()),
          counts: z.record(z.string(), z.number()),
        }),
      ),
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const q = c.req.valid('query');
      const { row, enterpriseId } = await visibleSend(c, 'sms.sent', id);
      const { db, ch, log } = c.get('deps');
      const { rows: extra } = await db.query<{ rejected: unknown; source: unknown; published: number }>(
        'SELECT rejected, source, published FROM sms_sends WHERE id = $1',
        [id],
      );
      const states = await recipientStates(ch, log, enterpriseId, id, c.get('deps').cfg.smsLogTable);
      const published = Number(extra[0]?.published ?? 0);
      const stateOf = (seq: number) => states?.get(seq) ?? { state: seq <= published ? 'submitted' : 'pending', code: '', at: 0 };
      const { rows: recips } = await db.query<{ seq: number; msisdn: string; name: string; carrier: string; content: string | null }>(
        'SELECT seq, msisdn, name, carrier, content FROM sms_send_recipients WHERE send_id = $1 ORDER BY seq',
        [id],
      );
      const counts: Record<string, number> = { pending: 0, submitted: 0, delivered: 0, failed: 0 };
      for (const r of recips) counts[stateOf(r.seq).state]!++;
      const filtered = q.state ? recips.filter((r) => stateOf(r.seq).state === q.state) : recips;
      const page = filtered.slice((q.page - 1) * q.pageSize, q.page * q.pageSize);
      const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
      return c.json(
        {
          ...summary(row, states ? { delivered: counts.delivered!, failed: counts.failed! } : undefined),
          recipientsPage: page.map((r) => {
            const st = stateOf(r.seq);
            return { ...r, state: st.state, code: st.code, at: st.at ? new Date(st.at).toISOString() : null };
          }),
          statusSource: states ? ('send_log' as const) : ('portal' as const),
          rejected: parse(extra[0]?.rejected) as { source: string; input: string; reason: string; message: string }[],
          source: parse(extra[0]?.source) as Record<string, string>,
          counts,
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/sends/{id}/replies',
      tags: TAG,
      summary: '查看回复（上行）',
      request: { params: IdParam },
      responses: jsonOk(
        z.object({
          items: z.array(
            z.object({ id: z.string(), from: z.string(), text: z.string(), receivedAt: z.string(), forwardedTo: z.string().nullable() }),
          ),
        }),
      ),
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await visibleSend(c, 'sms.sent', id);
      const { rows } = await c
        .get('deps')
        .db.query<{ id: string; from_msisdn: string; text: string; received_at: Date; forwarded_to: string | null }>(
          'SELECT id, from_msisdn, text, received_at, forwarded_to FROM sms_inbox WHERE send_id = $1 ORDER BY received_at DESC LIMIT 1000',
          [id],
        );
      return c.json(
        {
          items: rows.map((r) => ({
            id: r.id,
            from: r.from_msisdn,
            text: r.text,
            receivedAt: iso(r.received_at)!,
            forwardedTo: r.forwarded_to,
          })),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/schedules',
      tags: ['行业短信-定时发件箱'],
      summary: '定时发件箱',
      request: { query: ListQuery },
      responses: jsonOk(ListResult),
    }),
    async (c) => c.json(await listSends(c, c.get('deps').db, ['scheduled'], c.req.valid('query')), 200),
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/industry/schedules/{id}',
      tags: ['行业短信-定时发件箱'],
      summary: '修改定时发送的时间',
      request: {
        params: IdParam,
        ...jsonBody(
          z.object({ scheduledAt: z.string({ error: '请选择发送时间' }).datetime({ offset: true, message: '发送时间格式有误' }) }),
        ),
      },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const { p, enterpriseId } = need(c, 'sms.send');
      const at = new Date(c.req.valid('json').scheduledAt);
      if (at.getTime() <= Date.now()) throw new AppError('VALIDATION', '定时发送的时间必须晚于现在');
      if (at.getTime() > Date.now() + 366 * 86_400_000) throw new AppError('VALIDATION', '定时发送的时间不能超过一年');
      const { db } = c.get('deps');
      const { id } = c.req.valid('param');
      const r = await db.query(
        `UPDATE sms_sends SET scheduled_at = $4 WHERE id = $1 AND enterprise_id = $2 AND account_id = $3 AND state = 'scheduled'`,
        [id, enterpriseId, p.accountId, at],
      );
      if (r.rowCount !== 1) {
        const { rows } = await db.query('SELECT 1 FROM sms_sends WHERE id = $1 AND enterprise_id = $2 AND account_id = $3', [
          id,
          enterpriseId,
          p.accountId,
        ]);
        throw rows[0] ? new AppError('NOT_SCHEDULED') : new AppError('NOT_FOUND', '定时短信不存在');
      }
      await db.query(`UPDATE sms_extensions SET expires_at = $2::timestamptz + interval '7 days' WHERE send_id = $1`, [id, at]);
      await opLog(c, '修改定时发送时间', id, { scheduledAt: at.toISOString() });
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/schedules/delete',
      tags: ['行业短信-定时发件箱'],
      summary: '删除定时短信（退回预扣的条数）',
      request: jsonBody(Ids),
      responses: jsonOk(z.object({ deleted: z.number() })),
    }),
    async (c) => {
      const { p, enterpriseId } = need(c, 'sms.send');
      const { db } = c.get('deps');
      const ids = c.req.valid('json').ids;
      const n = await db.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: string; billing_count: number }>(
          `UPDATE sms_sends SET state = 'cancelled' WHERE id = ANY($1::text[]) AND enterprise_id = $2 AND account_id = $3 AND state = 'scheduled' RETURNING id, billing_count`,
          [ids, enterpriseId, p.accountId],
        );
        if (rows.length !== new Set(ids).size) throw new AppError('NOT_SCHEDULED', '所选短信中有已发出、已删除或不属于您的记录');
        for (const r of rows) await refund(tx, enterpriseId, r.id, Number(r.billing_count));
        await tx.query('DELETE FROM sms_extensions WHERE send_id = ANY($1::text[])', [ids]);
        return rows.length;
      });
      await opLog(c, '删除定时短信', `${n} 条`);
      return c.json({ deleted: n }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/drafts',
      tags: ['行业短信-草稿箱'],
      summary: '草稿箱',
      request: {
        query: z.object({ page: z.coerce.number().int().min(1).default(1), pageSize: z.coerce.number().int().min(1).max(200).default(20) }),
      },
      responses: jsonOk(
        z.object({
          items: z.array(z.object({ id: z.string(), mode: z.string(), subject: z.string(), content: z.string(), updatedAt: z.string() })),
          total: z.number(),
        }),
      ),
    }),
    async (c) => {
      const { p } = need(c, 'sms.send');
      const q = c.req.valid('query');
      const { db } = c.get('deps');
      const { rows: n } = await db.query<{ n: string }>('SELECT count(*) AS n FROM sms_drafts WHERE account_id = $1', [p.accountId]);
      const { rows } = await db.query<{ id: string; mode: string; subject: string; content: string; updated_at: Date }>(
        `SELECT id, mode, subject, content, updated_at FROM sms_drafts WHERE account_id = $1 ORDER BY updated_at DESC LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize}`,
        [p.accountId],
      );
      return c.json(
        {
          items: rows.map((r) => ({ id: r.id, mode: r.mode, subject: r.subject, content: r.content, updatedAt: iso(r.updated_at)! })),
          total: Number(n[0]?.n ?? 0),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/drafts/{id}',
      tags: ['行业短信-草稿箱'],
      summary: '草稿内容（在发短信页面打开并发送）',
      request: { params: IdParam },
      responses: jsonOk(z.object({ id: z.string(), payload: z.record(z.string(), z.unknown()), updatedAt: z.string() })),
    }),
    async (c) => {
      const { p } = need(c, 'sms.send');
      const { rows } = await c
        .get('deps')
        .db.query<{ id: string; payload: unknown; updated_at: Date }>(
          'SELECT id, payload, updated_at FROM sms_drafts WHERE id = $1 AND account_id = $2',
          [c.req.valid('param').id, p.accountId],
        );
      if (!rows[0]) throw new AppError('NOT_FOUND', '草稿不存在');
      const payload = (typeof rows[0].payload === 'string' ? JSON.parse(rows[0].payload) : rows[0].payload) as Record<string, unknown>;
      return c.json({ id: rows[0].id, payload, updatedAt: iso(rows[0].updated_at)! }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/industry/drafts/delete',
      tags: ['行业短信-草稿箱'],
      summary: '删除草稿',
      request: jsonBody(Ids),
      responses: jsonOk(z.object({ deleted: z.number() })),
    }),
    async (c) => {
      const { p } = need(c, 'sms.send');
      const r = await c
        .get('deps')
        .db.query('DELETE FROM sms_drafts WHERE id = ANY($1::text[]) AND account_id = $2', [c.req.valid('json').ids, p.accountId]);
      if (r.rowCount === 0) throw new AppError('NOT_FOUND', '草稿不存在');
      await opLog(c, '删除草稿', `${r.rowCount} 条`);
      return c.json({ deleted: r.rowCount }, 200);
    },
  );
