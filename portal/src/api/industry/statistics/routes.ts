import { createRoute } from '@hono/zod-openapi';
import { iso, type Ctx, caller } from '../../../http/context.ts';
import { requires } from '../../../http/route-access.ts';
import { opLog } from '../../../http/op-log.ts';
import { jsonOk, router, z } from '../../../http/openapi.ts';
import { DateParam } from '../schemas.ts';
import { scopeAccounts, type StatsScope } from '../scope.ts';
import { sendOutcomes } from '../send-log.ts';
import { ACCOUNT_NAME, outcomeTotals, sendFilter } from '../sent/queries.ts';
import { fileResponse, xlsxBytes } from '../uploads/xlsx.ts';

const TAG = ['行业短信-发送统计'];
const Query = z.object({
  from: DateParam.optional(),
  to: DateParam.optional(),
  keyword: z.string().max(100).optional(),
  scope: z.enum(['mine', 'direct', 'all']).default('mine').describe('mine 我的发送；direct 直属下级；all 全部下级'),
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(20),
  ids: z.string().max(100_000).optional().describe('导出时只导出这些发送（逗号分隔）'),
});

const Row = z.object({
  id: z.string().openapi({ description: '发送编号', example: 's1a2b3c4-0000-4000-8000-000000000001' }),
  accountName: z.string().openapi({ description: '发送账户（姓名或账户名）', example: '张三' }),
  subject: z.string().openapi({ description: '发送主题（未填为内容开头）', example: '消防演练通知' }),
  createdAt: z.string().openapi({ description: '提交时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
  sentAt: z
    .string()
    .nullable()
    .openapi({ description: '发出时间（ISO 8601）；定时发送未到时为 null', example: '2026-03-01T08:00:05.000Z' }),
  recipients: z.number().openapi({ description: '号码数', example: 120 }),
  billing: z.number().openapi({ description: '计费条数（每个号码的条数之和）', example: 240 }),
  delivered: z.number().nullable().openapi({ description: '已送达条数；发送记录不可用时为 null', example: 236 }),
  failed: z.number().nullable().openapi({ description: '失败条数；发送记录不可用时为 null', example: 4 }),
});

async function query(c: Ctx, q: z.infer<typeof Query>, all: boolean) {
  const { p, enterpriseId } = caller(c);
  const { db, ch, log, cfg } = c.get('deps');
  const accounts = await scopeAccounts(db, p, enterpriseId, q.scope as StatsScope);
  const params: unknown[] = [enterpriseId, accounts];
  let where = `s.enterprise_id = $1 AND s.account_id = ANY($2::text[]) AND s.state IN ('queued', 'sent') ${sendFilter({ ...q, page: 1, pageSize: 1 }, params)}`;
  if (q.ids) where += ` AND s.id = ANY($${params.push(q.ids.split(',').filter(Boolean))}::text[])`;
  const { rows: tot } = await db.query<{ n: string; r: string | null; b: string | null }>(
    `SELECT count(*) AS n, sum(recipients_count) AS r, sum(billing_count) AS b FROM sms_sends s WHERE ${where}`,
    params,
  );
  const { rows } = await db.query<{
    id: string;
    account_name: string;
    subject: string;
    created_at: Date;
    sent_at: Date | null;
    recipients_count: number;
    billing_count: number;
  }>(
    `SELECT s.id, ${ACCOUNT_NAME} AS account_name, s.subject, s.created_at, s.sent_at, s.recipients_count, s.billing_count FROM sms_sends s JOIN accounts a ON a.id = s.account_id
      WHERE ${where} ORDER BY s.created_at DESC ${all ? 'LIMIT 100000' : `LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize}`}`,
    params,
  );
  const outcomes = await sendOutcomes(
    ch,
    log,
    enterpriseId,
    rows.map((r) => r.id),
    cfg.smsLogTable,
  );
  const items = rows.map((r) => {
    const o = outcomes?.get(r.id);
    return {
      id: r.id,
      accountName: r.account_name,
      subject: r.subject,
      createdAt: iso(r.created_at)!,
      sentAt: iso(r.sent_at),
      recipients: Number(r.recipients_count),
      billing: Number(r.billing_count),
      delivered: outcomes ? (o?.delivered ?? 0) : null,
      failed: outcomes ? (o?.failed ?? 0) : null,
    };
  });
  const sums = await outcomeTotals(c, where, params, enterpriseId);
  return {
    items,
    total: Number(tot[0]?.n ?? 0),
    totals: { sends: Number(tot[0]?.n ?? 0), recipients: Number(tot[0]?.r ?? 0), billing: Number(tot[0]?.b ?? 0), ...sums },
  };
}

export const statsRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/stats',
      middleware: [requires('stats')],
      tags: TAG,
      summary: '发送统计：按时间、关键字，我的发送 / 直属下级 / 全部下级（按部门树）',
      request: { query: Query },
      responses: jsonOk(
        z.object({
          items: z.array(Row).openapi({ description: '本页的发送，新的在前' }),
          total: z.number().openapi({ description: '符合条件的发送次数', example: 15 }),
          totals: z
            .object({
              sends: z.number().openapi({ description: '符合条件的发送次数', example: 15 }),
              recipients: z.number().openapi({ description: '号码数合计', example: 1800 }),
              billing: z.number().openapi({ description: '计费条数合计', example: 3600 }),
              delivered: z.number().nullable().openapi({ description: '已送达条数合计；发送记录不可用时为 null', example: 3550 }),
              failed: z.number().nullable().openapi({ description: '失败条数合计；发送记录不可用时为 null', example: 50 }),
            })
            .openapi({ description: '符合条件的全部发送的合计（不只本页）' }),
        }),
      ),
    }),
    async (c) => c.json(await query(c, c.req.valid('query'), false), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/industry/stats/export',
      middleware: [requires('stats')],
      tags: TAG,
      summary: '导出发送统计（所选或全部）到 Excel',
      request: { query: Query },
      responses: { 200: { description: 'Excel 文件' } },
    }),
    async (c) => {
      const r = await query(c, c.req.valid('query'), true);
      const time = (t: string | null) => (t ? new Date(t).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }) : '');
      const rows = r.items.map((x) => [
        x.accountName,
        x.subject,
        time(x.createdAt),
        time(x.sentAt),
        x.recipients,
        x.billing,
        x.delivered ?? '',
        x.failed ?? '',
      ]);
      rows.push(['合计', '', '', '', r.totals.recipients, r.totals.billing, r.totals.delivered ?? '', r.totals.failed ?? '']);
      const bytes = await xlsxBytes('发送统计', ['账户', '主题', '提交时间', '发送时间', '号码数', '计费条数', '成功', '失败'], rows);
      await opLog(c, '导出发送统计', `${r.items.length} 条`);
      return fileResponse(c, bytes, '发送统计.xlsx');
    },
  );
