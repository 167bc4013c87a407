import { createRoute } from '@hono/zod-openapi';
import { AppError } from '../../errors.ts';
import { opLog } from '../../http/op-log.ts';
import { jsonBody, jsonOk, router, z } from '../../http/openapi.ts';
import { entries, topUp } from './ledger.ts';
import { operatorOnly } from '../../http/route-access.ts';

const tags = ['额度账本（平台运营）'];
const EnterpriseParam = z.object({ id: z.string().min(1).max(64) });
const TopUp = z
  .object({
    amount: z
      .number({ error: '请填写充值条数' })
      .int('充值条数须为整数')
      .refine((n) => n !== 0, '充值条数不能为 0')
      .refine((n) => Math.abs(n) <= 1e12, '充值条数过大')
      .openapi({ description: '增加的条数（负数为扣减，不会扣到 0 以下）' }),
    accountId: z.string().min(1).max(64).optional().openapi({ description: '给某个有单独额度的账户充值；不填为集团' }),
  })
  .openapi('LedgerTopUp');
const Page = z.object({
  page: z.coerce.number({ error: '页码须为数字' }).int('页码须为整数').min(1, '页码从 1 开始').default(1),
  pageSize: z.coerce
    .number({ error: '每页条数须为数字' })
    .int('每页条数须为整数')
    .min(1, '每页至少 1 条')
    .max(200, '每页最多 200 条')
    .default(20),
});

/** The operator's side of the ledger: top-ups as entries (deltas), and an enterprise's entries. */
export const operatorLedgerRoutes = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/operator/enterprises/{id}/top-up',
      middleware: [operatorOnly],
      tags,
      summary: '给集团（或其有单独额度的账户）充值或扣减，记入账本',
      request: { params: EnterpriseParam, ...jsonBody(TopUp) },
      responses: jsonOk(z.object({ balance: z.number().openapi({ description: '充值后的余额（条）', example: 150000 }) })),
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const b = c.req.valid('json');
      const { db } = c.get('deps');
      const { rows } = await db.query<{ name: string }>('SELECT name FROM enterprises WHERE id = $1', [id]);
      if (!rows[0]) throw new AppError('NOT_FOUND', '集团不存在');
      const balance = await topUp(db, { enterpriseId: id, accountId: b.accountId }, b.amount);
      await opLog(c, b.amount > 0 ? '充值' : '扣减额度', rows[0].name, { amount: b.amount, accountId: b.accountId, balance });
      return c.json({ balance }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/operator/enterprises/{id}/ledger',
      middleware: [operatorOnly],
      tags,
      summary: '集团的额度账本',
      request: { params: EnterpriseParam, query: Page },
      responses: jsonOk(
        z.object({
          total: z.number().openapi({ description: '账本条目总数', example: 42 }),
          items: z.array(z.record(z.string(), z.unknown())).openapi({
            description:
              '本页的账本条目（新的在前）：id、balanceOf（记在集团还是账户）、accountId、accountName、kind（充值、发送扣减、退还等）、amount（变动条数，负为减少）、balanceAfter（变动后余额）、refKind / refId（关联的发送或任务）、at（时间）',
          }),
        }),
      ),
    }),
    async (c) => {
      const q = c.req.valid('query');
      return c.json(await entries(c.get('deps').db, c.req.valid('param').id, { page: q.page, pageSize: q.pageSize }), 200);
    },
  );
