import { createRoute } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { API_KEY_PREFIX, sha256, token } from '../../auth/session.ts';
import { AppError } from '../../errors.ts';
import { iso, principal, caller } from '../../http/context.ts';
import { opLog } from '../../http/op-log.ts';
import { IdParam, jsonBody, jsonOk, Ok, router, z } from '../../http/openapi.ts';
import { Name64 } from '../../http/schemas.ts';
import type { SqlRow } from '@geo/infra';
import { requires } from '../../http/route-access.ts';

const ApiKey = z
  .object({
    id: z.string().openapi({ description: '密钥编号', example: 'k1a2b3c4-0000-4000-8000-000000000001' }),
    name: z.string().openapi({ description: '密钥名称（用途）', example: '值班系统对接' }),
    prefix: z.string().openapi({ description: '密钥的前 10 个字符，用于辨认（完整密钥只在创建时显示一次）', example: 'gk_3f9a8c2' }),
    createdAt: z.string().openapi({ description: '创建时间（ISO 8601）', example: '2026-03-01T08:00:00.000Z' }),
    lastUsedAt: z.string().nullable().openapi({ description: '最后使用时间（ISO 8601），未用过为 null', example: null }),
    revokedAt: z.string().nullable().openapi({ description: '吊销时间（ISO 8601），有效为 null', example: null }),
  })
  .openapi('ApiKey');
const tags = ['接口密钥'];
const MAX_LIVE_KEYS = 10;

export const apiKeyRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/api-keys',
      middleware: [requires('apikeys')],
      tags,
      summary: '我的接口密钥',
      responses: jsonOk(z.object({ items: z.array(ApiKey).openapi({ description: '本账户的接口密钥（含已吊销的）' }) })),
    }),
    async (c) => {
      const { p } = caller(c);
      const { rows } = await c
        .get('deps')
        .db.query<SqlRow>(
          'SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys WHERE account_id = $1 ORDER BY created_at DESC',
          [p.accountId],
        );
      const items = rows.map((r) => ({
        id: r.id,
        name: r.name,
        prefix: r.prefix,
        createdAt: iso(r.created_at)!,
        lastUsedAt: iso(r.last_used_at),
        revokedAt: iso(r.revoked_at),
      }));
      return c.json({ items }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/api-keys',
      middleware: [requires('apikeys')],
      tags,
      summary: '创建接口密钥（密钥只在此次响应中出现）',
      request: jsonBody(
        z.object({ name: Name64('密钥名称').openapi({ description: '密钥名称（用途），最多 64 个字', example: '值班系统对接' }) }),
      ),
      responses: jsonOk(
        ApiKey.extend({
          key: z.string().openapi({
            description: '完整密钥，只在此时显示一次；调用接口时放在 Authorization: Bearer <key> 中',
            example: 'gk_3f9a8c2e1d7b4a6f0e9d8c7b6a5f4e3d',
          }),
        }),
      ),
    }),
    async (c) => {
      const { p } = caller(c);
      if (p.via !== 'session') throw new AppError('FORBIDDEN', '接口密钥只能在登录后的页面中创建');
      const { db } = c.get('deps');
      const live = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL', [
        p.accountId,
      ]);
      if (Number(live.rows[0]!.n) >= MAX_LIVE_KEYS)
        throw new AppError('VALIDATION', `每个账户最多 ${MAX_LIVE_KEYS} 个有效密钥，请先撤销不用的密钥`);
      const { name } = c.req.valid('json');
      const id = randomUUID();
      const key = `${API_KEY_PREFIX}${token(30)}`;
      const prefix = key.slice(0, 10);
      await db.query('INSERT INTO api_keys (id, account_id, name, prefix, key_hash) VALUES ($1, $2, $3, $4, $5)', [
        id,
        p.accountId,
        name,
        prefix,
        sha256(key),
      ]);
      await opLog(c, '创建接口密钥', name, { prefix });
      return c.json({ id, name, prefix, createdAt: new Date().toISOString(), lastUsedAt: null, revokedAt: null, key }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/api/api-keys/{id}',
      tags,
      summary: '撤销接口密钥',
      request: { params: IdParam },
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const p = principal(c);
      const r = await c
        .get('deps')
        .db.query<{ name: string }>(
          'UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND account_id = $2 RETURNING name',
          [c.req.valid('param').id, p.accountId],
        );
      if (!r.rows[0]) throw new AppError('NOT_FOUND', '密钥不存在');
      await opLog(c, '撤销接口密钥', r.rows[0].name);
      return c.json({ ok: true as const }, 200);
    },
  );
