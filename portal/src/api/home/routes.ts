import { createRoute } from '@hono/zod-openapi';
import { need } from '../../http/context.ts';
import { jsonOk, router, z } from '../../http/openapi.ts';
import { readTrends } from './trends.ts';

const Point = z.object({ label: z.string(), total: z.number(), success: z.number(), failed: z.number() }).openapi('TrendPoint');
const Quota = z
  .object({ myQuota: z.number().nullable(), enterpriseQuota: z.number(), enterpriseName: z.string(), accessNumber: z.string() })
  .openapi('HomeQuota');
const tags = ['首页'];

export const homeRoutes = router()
  .openapi(
    createRoute({ method: 'get', path: '/api/home/quota', tags, summary: '我的可发送量上限与集团可发送量上限', responses: jsonOk(Quota) }),
    async (c) => {
      const { p, enterpriseId } = need(c, 'home');
      const { rows } = await c.get('deps').db.query<{ quota: string | null; ent_quota: string; ent_name: string; access_number: string }>(
        'SELECT a.quota, e.quota AS ent_quota, e.name AS ent_name, e.access_number FROM accounts a JOIN enterprises e ON e.id = a.enterprise_id WHERE a.id = $1',
        [p.accountId],
      );
      const r = rows[0]!;
      return c.json({ myQuota: r.quota == null ? null : Number(r.quota), enterpriseQuota: Number(r.ent_quota), enterpriseName: r.ent_name, accessNumber: r.access_number }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/home/trends',
      tags,
      summary: '近 30 天与近 12 个月的发送总数、成功、失败（管理员看全集团，子账户看自己）',
      responses: jsonOk(z.object({ daily: z.array(Point), monthly: z.array(Point), source: z.enum(['clickhouse', 'unavailable']), note: z.string().optional() })),
    }),
    async (c) => {
      const { p, enterpriseId } = need(c, 'home');
      const { ch, cfg } = c.get('deps');
      const scope = p.role === 'admin' ? { enterpriseId } : { enterpriseId, accountId: p.accountId };
      return c.json(await readTrends(ch, cfg.smsLogTable ?? 'sms_log', scope), 200);
    },
  );
