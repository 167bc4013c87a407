import { createRoute } from '@hono/zod-openapi';
import { AppError } from '../../errors.ts';
import { principal, type Ctx } from '../../http/context.ts';
import { opLog } from '../../http/op-log.ts';
import { jsonBody, jsonOk, router, z } from '../../http/openapi.ts';
import { EmailOrEmpty, MobileOrEmpty, Text } from '../../http/schemas.ts';

const tags = ['账户设置'];

const Profile = z
  .object({
    name: z.string().openapi({ description: '账户名（登录用，不能自行修改）', example: 'zhangsan' }),
    displayName: z.string().openapi({ description: '姓名', example: '张三' }),
    phone: z.string().openapi({ description: '本人手机号码；集团管理员的号码是“回复转发到手机”的默认号码', example: '138****0000' }),
    email: z.string().openapi({ description: '邮箱，未填为空串', example: 'zhangsan@example.com' }),
  })
  .openapi('Profile');

/** What one may change about oneself: contact details only (no permissions, quota, department or role). */
const UpdateProfile = z
  .object({
    displayName: Text('姓名', 32).openapi({ description: '姓名，最多 32 个字', example: '张三' }),
    phone: MobileOrEmpty.openapi({ description: '11 位大陆手机号，空串为清除', example: '13800000000' }),
    email: EmailOrEmpty.openapi({ description: '邮箱，空串为清除', example: 'zhangsan@example.com' }),
  })
  .partial()
  .openapi('UpdateProfile');

async function read(c: Ctx, accountId: string): Promise<z.infer<typeof Profile>> {
  const { rows } = await c
    .get('deps')
    .db.query<{ name: string; display_name: string; phone: string; email: string }>(
      'SELECT name, display_name, phone, email FROM accounts WHERE id = $1',
      [accountId],
    );
  if (!rows[0]) throw new AppError('UNAUTHENTICATED');
  return { name: rows[0].name, displayName: rows[0].display_name, phone: rows[0].phone, email: rows[0].email };
}

/**
 * 账户设置 › 个人资料: the signed-in account reads and edits its own name, phone and e-mail. The
 * accounts routes refuse self-edits (CANNOT_MODIFY_SELF, so nobody grants themselves permissions);
 * this route is the way to one's own contact details, and like a password change it needs a login
 * session: an API key is for sending, not for changing the account behind it.
 */
export const profileRoutes = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/account/profile',
      tags,
      summary: '本人资料（姓名、手机号码、邮箱）',
      responses: jsonOk(Profile),
    }),
    async (c) => c.json(await read(c, principal(c).accountId), 200),
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/api/account/profile',
      tags,
      summary: '修改本人资料（姓名、手机号码、邮箱；须登录会话）',
      request: jsonBody(UpdateProfile),
      responses: jsonOk(Profile),
    }),
    async (c) => {
      const p = principal(c);
      if (p.via !== 'session') throw new AppError('FORBIDDEN', '修改本人资料须在登录后的页面中进行，不能使用接口密钥');
      const b = c.req.valid('json');
      const before = await read(c, p.accountId);
      const next = { ...before, ...Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)) };
      await c
        .get('deps')
        .db.query('UPDATE accounts SET display_name = $2, phone = $3, email = $4, updated_at = now() WHERE id = $1', [
          p.accountId,
          next.displayName,
          next.phone,
          next.email,
        ]);
      await opLog(c, '修改本人资料', p.name, b);
      return c.json(await read(c, p.accountId), 200);
    },
  );
