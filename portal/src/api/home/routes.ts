import { createRoute } from '@hono/zod-openapi';
import { caller } from '../../http/context.ts';
import { jsonOk, router, z } from '../../http/openapi.ts';
import { balances, entries } from '../ledger/ledger.ts';
import { readTrends } from './trends.ts';
import { requires } from '../../http/route-access.ts';

const KIND_LABELS: Record<string, string> = {
  opening: '开户',
  topup: '充值',
  adjust: '调整',
  limit: '设置额度',
  charge: '扣费',
  reserve: '预留',
  refund: '失败退回',
  release: '未发退回',
};

const Point = z
  .object({
    label: z.string().openapi({ description: '日期（YYYY-MM-DD，北京时间）或月份（YYYY-MM）', example: '2026-03-01' }),
    total: z.number().openapi({ description: '发送总数（计费条数）', example: 120 }),
    success: z.number().openapi({ description: '成功（已送达）条数', example: 115 }),
    failed: z.number().openapi({ description: '失败条数', example: 5 }),
  })
  .openapi('TrendPoint');
const Quota = z
  .object({
    myQuota: z.number().nullable().openapi({ description: '我的可发送量（账户自己的额度；null 为不单独限制）' }),
    enterpriseQuota: z.number().openapi({ description: '集团可发送量（账本余额，计费条数）' }),
    available: z.number().openapi({ description: '我现在可发送：两者中较小者' }),
    reserved: z.number().openapi({ description: '未结束的大数据短信任务预留的条数（已从余额中扣除，任务结束后未发部分退回）' }),
    enterpriseName: z.string().openapi({ description: '集团名称', example: '杭州市应急管理局' }),
    accessNumber: z.string().openapi({ description: '短信接入号，未分配为空串', example: '1069012345' }),
  })
  .openapi('HomeQuota');
const Entry = z
  .object({
    id: z.number().openapi({ description: '条目编号（递增）', example: 1024 }),
    balanceOf: z
      .enum(['enterprise', 'account'])
      .openapi({ description: '记在哪个余额上：enterprise 集团，account 有单独额度的账户', example: 'enterprise' }),
    accountId: z.string().nullable().openapi({ description: '相关账户编号，集团条目为 null', example: null }),
    accountName: z.string().nullable().openapi({ description: '相关账户的姓名或账户名', example: null }),
    kind: z.string().openapi({
      description:
        'opening 开户 / topup 充值 / adjust 调整 / limit 设置额度 / charge 扣费 / reserve 预留 / refund 失败退回 / release 未发退回',
    }),
    kindLabel: z.string().openapi({ description: '类别的中文名', example: '扣费' }),
    amount: z.number().openapi({ description: '变动条数，负数为减少', example: -120 }),
    balanceAfter: z.number().nullable().openapi({ description: '变动后的余额（条）；额度设置为 null', example: 99880 }),
    refKind: z
      .string()
      .openapi({ description: '关联对象的类别：industry 行业短信发送，bigdata 大数据短信任务；无为空串', example: 'industry' }),
    refId: z.string().openapi({ description: '关联对象的编号；无为空串', example: 's1a2b3c4-0000-4000-8000-000000000001' }),
    at: z.string().openapi({ description: '时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
  })
  .openapi('LedgerEntry');
const LedgerQuery = z.object({
  page: z.coerce.number({ error: '页码须为数字' }).int('页码须为整数').min(1, '页码从 1 开始').default(1),
  pageSize: z.coerce
    .number({ error: '每页条数须为数字' })
    .int('每页条数须为整数')
    .min(1, '每页至少 1 条')
    .max(200, '每页最多 200 条')
    .default(20),
});
const tags = ['首页'];

export const homeRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/home/quota',
      middleware: [requires('home')],
      tags,
      summary: '我的可发送量上限与集团可发送量上限',
      responses: jsonOk(Quota),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { db } = c.get('deps');
      const { rows } = await db.query<{ ent_name: string; access_number: string }>(
        'SELECT name AS ent_name, access_number FROM enterprises WHERE id = $1',
        [enterpriseId],
      );
      const b = await balances(db, enterpriseId, p.accountId);
      const r = rows[0]!;
      return c.json(
        {
          myQuota: b.account,
          enterpriseQuota: b.enterprise,
          available: b.available,
          reserved: b.reserved,
          enterpriseName: r.ent_name,
          accessNumber: r.access_number,
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/home/ledger',
      middleware: [requires('home')],
      tags,
      summary: '额度账本：充值、扣费、预留、退回，每条后的余额（管理员看全集团，子账户看自己的）',
      request: { query: LedgerQuery },
      responses: jsonOk(
        z.object({
          total: z.number().openapi({ description: '条目总数', example: 42 }),
          page: z.number().openapi({ description: '页码', example: 1 }),
          pageSize: z.number().openapi({ description: '每页条数', example: 20 }),
          items: z.array(Entry).openapi({ description: '本页的账本条目，新的在前' }),
        }),
      ),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const q = c.req.valid('query');
      const r = await entries(c.get('deps').db, enterpriseId, {
        accountId: p.role === 'admin' ? undefined : p.accountId,
        page: q.page,
        pageSize: q.pageSize,
      });
      return c.json(
        {
          total: r.total,
          page: q.page,
          pageSize: q.pageSize,
          items: r.items.map((e) => ({ ...e, kindLabel: KIND_LABELS[e.kind] ?? e.kind })),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/home/trends',
      middleware: [requires('home')],
      tags,
      summary: '近 30 天与近 12 个月的发送总数、成功、失败（管理员看全集团，子账户看自己）',
      responses: jsonOk(
        z.object({
          daily: z.array(Point).openapi({ description: '近 30 天，每天一项（含今天）' }),
          monthly: z.array(Point).openapi({ description: '近 12 个月，每月一项（含本月）' }),
          source: z
            .enum(['clickhouse', 'unavailable'])
            .openapi({ description: 'clickhouse：来自发送记录；unavailable：发送记录暂不可用，数值全为 0', example: 'clickhouse' }),
          note: z.string().optional().openapi({ description: 'source 为 unavailable 时的说明', example: '发送记录暂不可用' }),
        }),
      ),
    }),
    async (c) => {
      const { p, enterpriseId } = caller(c);
      const { ch, cfg } = c.get('deps');
      const scope = p.role === 'admin' ? { enterpriseId } : { enterpriseId, accountId: p.accountId };
      return c.json(await readTrends(ch, cfg.smsLogTable ?? 'sms_log', scope), 200);
    },
  );
