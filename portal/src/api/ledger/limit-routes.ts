import { createRoute } from '@hono/zod-openapi';
import { AppError } from '../../errors.ts';
import { caller, operator } from '../../http/context.ts';
import { opLog } from '../../http/op-log.ts';
import { jsonBody, jsonOk, Ok, router, z } from '../../http/openapi.ts';
import { operatorLedgerRoutes } from './operator-routes.ts';
import { clearLimits, heldBack, limitsOf, PLATFORM, setLimits } from './send-limits.ts';
import { operatorOnly, requires } from '../../http/route-access.ts';

const tags = ['发送频率上限'];
const Limit = (what: string) =>
  z
    .number({ error: `${what}须为数字` })
    .int(`${what}须为整数`)
    .min(1, `${what}至少为 1`)
    .max(100_000_000, `${what}过大`)
    .nullable();
const Limits = z
  .object({
    sendsPerMinute: Limit('每分钟发送次数').openapi({ description: '每分钟最多发送几次（null 不限）' }),
    numbersPerMinute: Limit('每分钟号码数').openapi({ description: '每分钟最多发送几个号码（null 不限）' }),
    numbersPerDay: Limit('每日号码数').openapi({ description: '24 小时内最多发送几个号码（null 不限）' }),
  })
  .openapi('SendLimits');
const Held = z
  .object({
    sends: z.number().openapi({ description: '被上限拦下的发送次数', example: 2 }),
    numbers: z.number().openapi({ description: '这些发送的号码数', example: 350 }),
  })
  .openapi('SendsHeldBack');
const AccountParam = z.object({ accountId: z.string().min(1).max(64) });

async function enterpriseAccount(c: Parameters<typeof operator>[0], accountId: string): Promise<{ id: string; name: string }> {
  const { rows } = await c
    .get('deps')
    .db.query<{ id: string; name: string }>(`SELECT id, name FROM accounts WHERE id = $1 AND role <> 'operator'`, [accountId]);
  if (!rows[0]) throw new AppError('NOT_FOUND', '账户不存在');
  return rows[0];
}

/**
 * Per-account send rate limits (#17): the platform operator sets the default and per-account
 * overrides; an account sees its own. Industry sends only — alert tasks are exempt by rule
 * (`RATE_LIMITED` in send-limits.ts).
 */
export const limitRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/operator/send-limits',
      middleware: [operatorOnly],
      tags,
      summary: '平台默认的发送频率上限',
      responses: jsonOk(Limits),
    }),
    async (c) => {
      const { own: _own, ...l } = await limitsOf(c.get('deps').db, PLATFORM);
      return c.json(l, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/operator/send-limits',
      middleware: [operatorOnly],
      tags,
      summary: '设置平台默认的发送频率上限（每个账户）',
      request: jsonBody(Limits),
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const p = operator(c);
      const l = c.req.valid('json');
      await setLimits(c.get('deps').db, PLATFORM, l, p.name);
      await opLog(c, '设置默认发送频率上限', '', l);
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/operator/send-limits/{accountId}',
      middleware: [operatorOnly],
      tags,
      summary: '某账户的发送频率上限（own：是否单独设置）与被拦下的发送（今日、近 30 天）',
      request: { params: AccountParam },
      responses: jsonOk(
        Limits.extend({
          own: z.boolean().openapi({ description: 'true 为该账户单独设置的上限；false 为沿用平台默认', example: false }),
          heldBack: z
            .object({
              today: Held.openapi({ description: '今天（上海时区）' }),
              last30Days: Held.openapi({ description: '近 30 天（含今天）' }),
            })
            .openapi({ description: '该账户被发送频率上限拦下的发送（仅行业短信；预警任务不受限）' }),
        }),
      ),
    }),
    async (c) => {
      const a = await enterpriseAccount(c, c.req.valid('param').accountId);
      const { db } = c.get('deps');
      return c.json({ ...(await limitsOf(db, a.id)), heldBack: await heldBack(db, a.id) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/operator/send-limits/{accountId}',
      middleware: [operatorOnly],
      tags,
      summary: '单独设置某账户的发送频率上限',
      request: { params: AccountParam, ...jsonBody(Limits) },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const p = operator(c);
      const a = await enterpriseAccount(c, c.req.valid('param').accountId);
      const l = c.req.valid('json');
      await setLimits(c.get('deps').db, a.id, l, p.name);
      await opLog(c, '设置账户发送频率上限', a.name, l);
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/api/operator/send-limits/{accountId}',
      middleware: [operatorOnly],
      tags,
      summary: '某账户恢复平台默认的发送频率上限',
      request: { params: AccountParam },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const a = await enterpriseAccount(c, c.req.valid('param').accountId);
      await clearLimits(c.get('deps').db, a.id);
      await opLog(c, '恢复账户默认发送频率上限', a.name);
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/home/send-limits',
      middleware: [requires('home')],
      tags,
      summary: '我的发送频率上限',
      responses: jsonOk(Limits),
    }),
    async (c) => {
      const { p } = caller(c);
      const { own: _own, ...l } = await limitsOf(c.get('deps').db, p.accountId);
      return c.json(l, 200);
    },
  )
  // The operator's ledger routes travel with these (one group mounted in the app).
  .route('/', operatorLedgerRoutes);
