import { createRoute } from '@hono/zod-openapi';
import { newCaptcha, solveCaptcha } from '../../auth/captcha.ts';
import { assertPasswordPolicy, hashPassword, verifyPassword, DUMMY_HASH_INPUT } from '../../auth/password.ts';
import { FEATURES } from '../../auth/permissions.ts';
import { ACCOUNT_COLUMNS, endAccountAccess, endSession, type AccountRow } from '../../auth/session.ts';
import { clearFailures, lockedFor, recordFailure } from '../../auth/throttle.ts';
import { AppError } from '../../errors.ts';
import { principal } from '../../http/context.ts';
import { opLog } from '../../http/op-log.ts';
import { clearSessionCookie, readSessionCookie } from '../../http/session-cookie.ts';
import { LoginStep, logAttempt, Me, me, openSession, secondStep } from './login-steps.ts';

export { Me };
import { jsonBody, jsonOk, Ok, router, z } from '../../http/openapi.ts';

const Captcha = z
  .object({
    captchaId: z.string().openapi({ description: '验证码编号，登录时随验证码一同提交', example: '9d2e4f6a-1b3c-4d5e-8f7a-0b1c2d3e4f5a' }),
    svg: z.string().openapi({
      description: '验证码图片（SVG 文本）',
      example: '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">…</svg>',
    }),
    testAnswer: z.string().optional().openapi({ description: '仅测试环境返回的验证码答案，生产环境没有此字段', example: 'a7K2' }),
  })
  .openapi('Captcha');

const LoginBody = z
  .object({
    name: z
      .string({ error: '请输入账户名' })
      .trim()
      .min(1, '请输入账户名')
      .max(64, '账户名过长')
      .openapi({ description: '账户名', example: 'zhangsan' }),
    password: z
      .string({ error: '请输入密码' })
      .min(1, '请输入密码')
      .max(128, '密码过长')
      .openapi({ description: '密码', example: 'Hz-Alert-2026!x' }),
    captchaId: z
      .string({ error: '请先获取验证码' })
      .min(1, '请先获取验证码')
      .max(64)
      .openapi({ description: '获取验证码时返回的验证码编号', example: '9d2e4f6a-1b3c-4d5e-8f7a-0b1c2d3e4f5a' }),
    captcha: z
      .string({ error: '请输入验证码' })
      .trim()
      .min(1, '请输入验证码')
      .max(8, '验证码过长')
      .openapi({ description: '图片验证码上的字符', example: 'a7K2' }),
  })
  .openapi('LoginRequest');

const ChangePassword = z
  .object({
    oldPassword: z
      .string({ error: '请输入原密码' })
      .min(1, '请输入原密码')
      .max(128)
      .openapi({ description: '原密码', example: 'Hz-Alert-2026!x' }),
    newPassword: z
      .string({ error: '请输入新密码' })
      .min(12, '新密码至少 12 位')
      .max(128, '新密码最多 128 位')
      .openapi({ description: '新密码，12–128 位，不能过于简单', example: 'Hz-Alert-2026!y' }),
  })
  .openapi('ChangePassword');

let dummyHash: Promise<string> | undefined;

export const authRoutes = router()
  .openapi(
    createRoute({ method: 'get', path: '/api/auth/captcha', tags: ['登录'], summary: '获取图片验证码', responses: jsonOk(Captcha) }),
    async (c) => {
      const { db, cfg } = c.get('deps');
      const cap = await newCaptcha(db);
      c.header('cache-control', 'no-store');
      return c.json({ captchaId: cap.id, svg: cap.svg, ...(cfg.captchaTestMode ? { testAnswer: cap.answer } : {}) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/auth/login',
      tags: ['登录'],
      summary: '账户名 + 密码 + 验证码登录；已绑定动态口令（或须绑定）的账户先得到第二步 LoginStep',
      request: jsonBody(LoginBody),
      responses: jsonOk(z.union([Me, LoginStep])),
    }),
    async (c) => {
      const { db, cfg } = c.get('deps');
      const body = c.req.valid('json');
      const ip = c.get('ip');
      const ipWait = await lockedFor(db, 'ip', ip);
      if (ipWait > 0) {
        await logAttempt(c, body.name, false, 'ip_throttled');
        throw new AppError('IP_THROTTLED', `该地址登录失败次数过多，请 ${ipWait} 秒后再试`);
      }
      // A wrong captcha costs the client nothing to retry (one try per image), so it is not
      // counted against the address: 20 of them used to block it for 15 minutes.
      if (!(await solveCaptcha(db, body.captchaId, body.captcha))) {
        await logAttempt(c, body.name, false, 'captcha');
        throw new AppError('CAPTCHA_INVALID');
      }
      const acctWait = await lockedFor(db, 'account', body.name);
      if (acctWait > 0) {
        await logAttempt(c, body.name, false, 'locked');
        throw new AppError('ACCOUNT_LOCKED', `该账户登录失败次数过多，请 ${acctWait} 秒后再试`);
      }
      const { rows } = await db.query<AccountRow & { password_hash: string }>(
        `SELECT ${ACCOUNT_COLUMNS}, a.password_hash FROM accounts a LEFT JOIN enterprises e ON e.id = a.enterprise_id WHERE lower(a.name) = lower($1)`,
        [body.name],
      );
      const acct = rows[0];
      // Hash even for an unknown name, so response time does not tell which names exist.
      dummyHash ??= hashPassword(DUMMY_HASH_INPUT, cfg.scryptLogN);
      const good = await verifyPassword(body.password, acct?.password_hash ?? (await dummyHash));
      if (!acct || !good) {
        await recordFailure(db, 'account', body.name);
        await recordFailure(db, 'ip', ip);
        await logAttempt(c, body.name, false, acct ? 'bad_password' : 'unknown_account', acct);
        throw new AppError('LOGIN_FAILED');
      }
      if (acct.status !== 'active' || acct.enterprise_status === 'frozen') {
        await logAttempt(c, body.name, false, 'frozen', acct);
        throw new AppError('ACCOUNT_FROZEN');
      }
      const step = await secondStep(c, acct);
      if (step) {
        await logAttempt(c, body.name, false, `needs_${step.next}`, acct);
        return c.json(step, 200);
      }
      return c.json(await openSession(c, acct), 200);
    },
  )
  .openapi(
    createRoute({ method: 'post', path: '/api/auth/logout', tags: ['登录'], summary: '退出登录', responses: jsonOk(Ok) }),
    async (c) => {
      const sid = readSessionCookie(c);
      await opLog(c, '退出登录');
      if (sid) await endSession(c.get('deps').db, sid);
      clearSessionCookie(c);
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({ method: 'get', path: '/api/auth/me', tags: ['登录'], summary: '当前登录账户、权限与 CSRF 令牌', responses: jsonOk(Me) }),
    async (c) => {
      const p = principal(c);
      return c.json(await me(c, p.csrfToken ?? '', p.accountId), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/api/auth/features',
      tags: ['登录'],
      summary: '可分配的功能权限',
      responses: jsonOk(
        z.object({
          items: z
            .array(
              z.object({
                key: z.string().openapi({ description: '权限键', example: 'bigdata' }),
                label: z.string().openapi({ description: '权限的中文名称', example: '大数据预警' }),
              }),
            )
            .openapi({ description: '权限列表' }),
        }),
      ),
    }),
    (c) => c.json({ items: Object.entries(FEATURES).map(([key, label]) => ({ key, label })) }, 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/auth/password',
      tags: ['登录'],
      summary: '修改自己的密码（须登录会话；其它会话与接口密钥随之失效）',
      request: jsonBody(ChangePassword),
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const p = principal(c);
      // A leaked API key must not be enough to take the account over by changing its password.
      if (p.via !== 'session') throw new AppError('FORBIDDEN', '修改密码须在登录后的页面中进行，不能使用接口密钥');
      const { db, cfg } = c.get('deps');
      const body = c.req.valid('json');
      // Guessing the old password through this form is throttled like a login, on the same count.
      const wait = await lockedFor(db, 'account', p.name);
      if (wait > 0) throw new AppError('ACCOUNT_LOCKED', `密码错误次数过多，请 ${wait} 秒后再试`);
      const { rows } = await db.query<{ password_hash: string }>('SELECT password_hash FROM accounts WHERE id = $1', [p.accountId]);
      if (!rows[0] || !(await verifyPassword(body.oldPassword, rows[0].password_hash))) {
        await recordFailure(db, 'account', p.name);
        throw new AppError('WRONG_PASSWORD');
      }
      await clearFailures(db, 'account', p.name);
      assertPasswordPolicy(body.newPassword, p.name);
      await db.query('UPDATE accounts SET password_hash = $2, password_changed_at = now(), updated_at = now() WHERE id = $1', [
        p.accountId,
        await hashPassword(body.newPassword, cfg.scryptLogN),
      ]);
      await endAccountAccess(db, p.accountId, { apiKeys: true, exceptSession: p.sessionHash });
      await opLog(c, '修改密码', p.name);
      return c.json({ ok: true as const }, 200);
    },
  );
