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
        accountId: z.string().openapi({ description: '密钥所属账户的编号', example: '3f6c1e2a-8b4d-4c7e-9a51-2d0f6b7e8c90' }),
        name: z.string().openapi({ description: '账户名', example: 'zhangsan' }),
        enterpriseId: z
          .string()
          .nullable()
          .openapi({ description: '所属集团编号（平台运营账户为 null）', example: 'e1a2b3c4-0000-4000-8000-000000000001' }),
        permissions: z
          .array(z.string())
          .openapi({ description: '账户的功能权限，即密钥能调用的接口范围', example: ['sms.send', 'contacts'] }),
        via: z.enum(['session', 'apikey']).openapi({ description: '认证方式：apikey 接口密钥，session 登录会话', example: 'apikey' }),
      }),
    ),
  }),
  (c) => {
    const p = principal(c);
    return c.json({ accountId: p.accountId, name: p.name, enterpriseId: p.enterpriseId, permissions: [...p.permissions], via: p.via }, 200);
  },
);
