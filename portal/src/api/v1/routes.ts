import { createRoute } from '@hono/zod-openapi';
import { principal } from '../../http/context.ts';
import { jsonOk, router, z } from '../../http/openapi.ts';

const tags = ['开放接口（接口密钥）'];

/**
 * The entry of the HTTP API for an enterprise's own systems (`Authorization: Bearer gk_…`): who the
 * key acts as and what it may do. Sending and status endpoints of the SMS features live beside them.
 */
export const v1Routes = router().openapi(
  createRoute({
    method: 'get',
    path: '/api/v1/whoami',
    tags,
    summary: '接口密钥所代表的账户与权限',
    security: [{ bearer: [] }],
    responses: jsonOk(
      z.object({
        accountId: z.string(),
        name: z.string(),
        enterpriseId: z.string().nullable(),
        permissions: z.array(z.string()),
        via: z.enum(['session', 'apikey']),
      }),
    ),
  }),
  (c) => {
    const p = principal(c);
    return c.json({ accountId: p.accountId, name: p.name, enterpriseId: p.enterpriseId, permissions: [...p.permissions], via: p.via }, 200);
  },
);
