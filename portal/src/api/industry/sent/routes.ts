import { createRoute } from '@hono/zod-openapi';
import { iso, caller } from '../../../http/context.ts';
import { jsonOk, router, z } from '../../../http/openapi.ts';
import { visibleAccounts } from '../scope.ts';
import { RejectedItem } from '../schemas.ts';
import { recipientStates } from '../send-log.ts';
import { IdParam, ListQuery, ListResult, listSends, SendSummary, summary, visibleSend, SENT_TAG as TAG } from './queries.ts';
import { requires } from '../../../http/route-access.ts';

/** The sent list (已发送), its senders, one send's numbers and replies. */
export const sentRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/sends',
      middleware: [requires('sms.sent')],
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
      middleware: [requires('sms.sent')],
      tags: TAG,
      summary: '可按用户搜索的账户（自己与下级）',
      responses: jsonOk(
        z.object({
          items: z
            .array(
              z.object({
                id: z.string().openapi({ description: '账户编号', example: '3f6c1e2a-8b4d-4c7e-9a51-2d0f6b7e8c90' }),
                name: z.string().openapi({ description: '账户名', example: 'zhangsan' }),
                displayName: z.string().openapi({ description: '姓名', example: '张三' }),
              }),
            )
            .openapi({ description: '本人和下级账户，按账户名' }),
        }),
      ),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
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
      middleware: [requires('sms.sent')],
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
          recipientsPage: z
            .array(
              z.object({
                seq: z.number().openapi({ description: '号码在本次发送中的序号（从 1 开始）', example: 1 }),
                msisdn: z.string().openapi({ description: '手机号码', example: '13800138000' }),
                name: z.string().openapi({ description: '联系人姓名（来自通讯录或定制发送文件，无为空串）', example: '张三' }),
                carrier: z.string().openapi({ description: '运营商：cmcc 移动，cucc 联通，ctcc 电信', example: 'cmcc' }),
                content: z
                  .string()
                  .nullable()
                  .openapi({ description: '定制发送时该号码的内容；其他方式为 null（发送统一内容）', example: null }),
                state: z.string().openapi({
                  description: 'pending 排队中，submitted 已提交运营商，delivered 发送成功，failed 发送失败',
                  example: 'delivered',
                }),
                code: z.string().openapi({ description: '运营商状态码（回执给出时，如 DELIVRD、UNDELIV）', example: 'DELIVRD' }),
                at: z
                  .string()
                  .nullable()
                  .openapi({ description: '状态时间（ISO 8601，UTC）；尚无记录为 null', example: '2026-12-07T02:30:07.000Z' }),
              }),
            )
            .openapi({ description: '本页的号码及其状态（按序号，可按 state 筛选）' }),
          statusSource: z.enum(['send_log', 'portal']).openapi({
            description: '状态来源：send_log 发送记录（ClickHouse，含回执）；portal 发送记录不可用时按门户已提交的条数推断（无回执）',
            example: 'send_log',
          }),
          rejected: z.array(RejectedItem).openapi({ description: '发送时被跳过的号码（无效、重复或无法路由）及原因' }),
          source: z.record(z.string(), z.any()).openapi({
            description: '发送时的原始请求（号码、分组、内容等，不含 action），编辑重发时据此回填',
            example: { recipients: '13800138000', content: '您好' },
          }),
          counts: z.record(z.string(), z.number()).openapi({
            description: '各状态的号码数：pending、submitted、delivered、failed',
            example: { pending: 0, submitted: 2, delivered: 97, failed: 1 },
          }),
        }),
      ),
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const q = c.req.valid('query');
      const { row, enterpriseId } = await visibleSend(c, id);
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
      middleware: [requires('sms.sent')],
      tags: TAG,
      summary: '查看回复（上行）',
      request: { params: IdParam },
      responses: jsonOk(
        z.object({
          items: z
            .array(
              z.object({
                id: z.string().openapi({ description: '回复编号', example: 'r1a2b3c4-0000-4000-8000-000000000001' }),
                from: z.string().openapi({ description: '回复人的手机号码', example: '13800000001' }),
                text: z.string().openapi({ description: '回复内容', example: '收到，准时到岗' }),
                receivedAt: z.string().openapi({ description: '收到时间（ISO 8601）', example: '2026-03-01T08:05:00.000Z' }),
                forwardedTo: z.string().nullable().openapi({ description: '已转发到的手机号码；未转发为 null', example: null }),
              }),
            )
            .openapi({ description: '这次发送收到的回复' }),
        }),
      ),
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await visibleSend(c, id);
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
  );
