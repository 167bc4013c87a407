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

const Point = z.object({ label: z.string(), total: z.number(), success: z.number(), failed: z.number() }).openapi('TrendPoint');
const Quota = z
  .object({
    myQuota: z.number().nullable().openapi({ description: '我的可发送量（账户自己的额度；null 为不单独限制）' }),
    enterpriseQuota: z.number().openapi({ description: '集团可发送量（账本余额，计费条数）' }),
    available: z.number().openapi({ description: '我现在可发送：两者中较小者' }),
    reserved: z.number().openapi({ description: '未结束的大数据短信任务预留的条数（已从余额中扣除，任务结束后未发部分退回）' }),
    enterpriseName: z.string(),
    accessNumber: z.string(),
  })
  .openapi('HomeQuota');
const Entry = z
  .object({
    id: z.number(),
    balanceOf: z.enum(['enterprise', 'account']),
    accountId: z.string().nullable(),
    accountName: z.string().nullable(),
    kind: z.string().openapi({
      description:
        'opening 开户 / topup 充值 / adjust 调整 / limit 设置额度 / charge 扣费 / reserve 预留 / refund 失败退回 / release 未发退回',
    }),
    kindLabel: z.string(),
    amount: z.number(),
    balanceAfter: z.number().nullable(),
    refKind: z.string(),
    refId: z.string(),
    at: z.string(),
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
      responses: jsonOk(z.object({ total: z.number(), page: z.number(), pageSize: z.number(), items: z.array(Entry) })),
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
          daily: z.array(Point),
          monthly: z.array(Point),
          source: z.enum(['clickhouse', 'unavailable']),
          note: z.string().optional(),
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
