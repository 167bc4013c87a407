import { createRoute } from '@hono/zod-openapi';
import { verifyPassword } from '../../auth/password.ts';
import { lockedFor, recordFailure } from '../../auth/throttle.ts';
import { enrolment, newRecoveryCodes, newTotpSecret, recoveryCodesLeft, totpStep, useSecondFactor } from '../../auth/totp.ts';
import { secretBox } from '../../auth/secrets.ts';
import { AppError } from '../../errors.ts';
import { principal, type Ctx, type Principal } from '../../http/context.ts';
import { opLog } from '../../http/op-log.ts';
import { jsonBody, jsonOk, Ok, router, z } from '../../http/openapi.ts';
import { challengeAccount, challengeFailed, logAttempt, Me, openSession, operatorTotpRequired } from './login-steps.ts';

const tags = ['登录'];
const Challenge = z
  .string({ error: '登录验证已过期，请重新登录' })
  .min(1)
  .max(100)
  .openapi({ description: '登录第一步返回的验证凭据', example: 'Yq8v2LmN4pR6sT0uW1xZ3a' });
const Code = z
  .string({ error: '请输入动态口令或恢复码' })
  .trim()
  .min(1, '请输入动态口令或恢复码')
  .max(32, '动态口令或恢复码过长')
  .openapi({ description: '验证器上的 6 位动态口令，或一个恢复码', example: '492817' });
const Enrolment = z
  .object({
    secret: z.string().openapi({ description: '动态口令密钥（Base32），无法扫码时手工输入验证器', example: 'JBSWY3DPEHPK3PXP' }),
    otpauthUrl: z.string().openapi({
      description: 'otpauth:// 链接，验证器可直接导入',
      example: 'otpauth://totp/%E9%A2%84%E8%AD%A6%E5%B9%B3%E5%8F%B0:zhangsan?secret=JBSWY3DPEHPK3PXP&period=30&digits=6',
    }),
    qrDataUrl: z.string().openapi({ description: '上述链接的二维码图片（data: URL）', example: 'data:image/png;base64,iVBORw0KGgo…' }),
  })
  .openapi('TotpEnrolment');
const RecoveryCodes = z
  .object({
    recoveryCodes: z
      .array(z.string())
      .openapi({ description: '一次性恢复码，每个只能使用一次，只显示这一次', example: ['7k2m-9q4x', 'p3v8-w1z6'] }),
  })
  .openapi('RecoveryCodes');
const TotpStatus = z
  .object({
    enabled: z.boolean().openapi({ description: '是否已启用动态口令', example: true }),
    required: z.boolean().openapi({ description: '本账户是否必须启用（平台运营账户必须）', example: false }),
    recoveryCodesLeft: z.number().openapi({ description: '剩余可用的恢复码个数', example: 8 }),
  })
  .openapi('TotpStatus');

/** Second-factor settings change only in a logged-in browser session, never through an API key. */
function sessionOnly(c: Ctx): Principal {
  const p = principal(c);
  if (p.via !== 'session') throw new AppError('FORBIDDEN', '动态口令设置须在登录后的页面中进行，不能使用接口密钥');
  return p;
}

/** Wrong codes count on the account's login slow-down as well as on the challenge. */
async function throttled(c: Ctx, name: string): Promise<void> {
  const wait = await lockedFor(c.get('deps').db, 'account', name);
  if (wait > 0) throw new AppError('ACCOUNT_LOCKED', `该账户验证失败次数过多，请 ${wait} 秒后再试`);
}

/** Starts an enrolment: a new pending secret, confirmed only by a code made from it. */
async function startEnrolment(c: Ctx, accountId: string, name: string) {
  const secret = newTotpSecret();
  const deps = c.get('deps');
  await deps.db.query('UPDATE accounts SET totp_pending_secret = $2 WHERE id = $1', [accountId, secretBox(deps).seal(secret, accountId)]);
  c.header('cache-control', 'no-store');
  return enrolment(secret, name);
}

/** Confirms the pending secret with a code from the app; returns the new recovery codes. */
async function confirmEnrolment(c: Ctx, accountId: string, code: string): Promise<string[] | undefined> {
  const deps = c.get('deps');
  const { db } = deps;
  const { rows } = await db.query<{ totp_pending_secret: string | null }>('SELECT totp_pending_secret FROM accounts WHERE id = $1', [
    accountId,
  ]);
  // Kept sealed as it is: the confirmed secret is the pending one, bound to the same account.
  const secret = rows[0]?.totp_pending_secret;
  if (!secret) throw new AppError('VALIDATION', '请先获取二维码再输入动态口令');
  const step = totpStep(secretBox(deps).open(secret, accountId), code.trim());
  if (step === undefined) return undefined;
  await db.query(
    'UPDATE accounts SET totp_secret = $2, totp_pending_secret = NULL, totp_enabled_at = now(), totp_last_step = $3 WHERE id = $1',
    [accountId, secret, step],
  );
  return newRecoveryCodes(db, accountId);
}

export const totpRoutes = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/auth/login/totp',
      tags,
      summary: '登录第二步：动态口令或一次性恢复码',
      request: jsonBody(z.object({ challenge: Challenge, code: Code })),
      responses: jsonOk(Me),
    }),
    async (c) => {
      const { challenge, code } = c.req.valid('json');
      const acct = await challengeAccount(c, challenge, 'totp');
      await throttled(c, acct.name);
      const { db } = c.get('deps');
      if (!(await useSecondFactor(db, secretBox(c.get('deps')), acct.id, code))) {
        await challengeFailed(c, challenge);
        await recordFailure(db, 'account', acct.name);
        await logAttempt(c, acct.name, false, 'bad_second_factor', acct);
        throw new AppError('SECOND_FACTOR_INVALID');
      }
      return c.json(await openSession(c, acct, challenge), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/auth/login/enrol',
      tags,
      summary: '登录时绑定动态口令（平台运营账户首次登录）：获取密钥与二维码',
      request: jsonBody(z.object({ challenge: Challenge })),
      responses: jsonOk(Enrolment),
    }),
    async (c) => {
      const acct = await challengeAccount(c, c.req.valid('json').challenge, 'enrol');
      return c.json(await startEnrolment(c, acct.id, acct.name), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/auth/login/enrol/confirm',
      tags,
      summary: '登录时绑定动态口令：输入 App 显示的口令，完成登录并得到恢复码',
      request: jsonBody(z.object({ challenge: Challenge, code: Code })),
      responses: jsonOk(Me.extend(RecoveryCodes.shape)),
    }),
    async (c) => {
      const { challenge, code } = c.req.valid('json');
      const acct = await challengeAccount(c, challenge, 'enrol');
      await throttled(c, acct.name);
      const codes = await confirmEnrolment(c, acct.id, code);
      if (!codes) {
        await challengeFailed(c, challenge);
        await recordFailure(c.get('deps').db, 'account', acct.name);
        throw new AppError('SECOND_FACTOR_INVALID', '动态口令错误，请核对手机时间后重试');
      }
      const me = await openSession(c, acct, challenge);
      await opLog(c, '绑定动态口令', acct.name);
      c.header('cache-control', 'no-store');
      return c.json({ ...me, recoveryCodes: codes }, 200);
    },
  )
  .openapi(
    createRoute({ method: 'get', path: '/api/auth/totp', tags, summary: '动态口令状态', responses: jsonOk(TotpStatus) }),
    async (c) => {
      const p = principal(c);
      const { db } = c.get('deps');
      const { rows } = await db.query<{ on: boolean }>('SELECT totp_secret IS NOT NULL AS on FROM accounts WHERE id = $1', [p.accountId]);
      return c.json(
        {
          enabled: !!rows[0]?.on,
          required: p.role === 'operator' && operatorTotpRequired(c),
          recoveryCodesLeft: await recoveryCodesLeft(db, p.accountId),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/auth/totp/setup',
      tags,
      summary: '开始绑定动态口令：获取密钥与二维码',
      responses: jsonOk(Enrolment),
    }),
    async (c) => {
      const p = sessionOnly(c);
      return c.json(await startEnrolment(c, p.accountId, p.name), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/auth/totp/enable',
      tags,
      summary: '输入 App 显示的口令，启用动态口令并得到恢复码',
      request: jsonBody(z.object({ code: Code })),
      responses: jsonOk(RecoveryCodes),
    }),
    async (c) => {
      const p = sessionOnly(c);
      await throttled(c, p.name);
      const codes = await confirmEnrolment(c, p.accountId, c.req.valid('json').code);
      if (!codes) {
        await recordFailure(c.get('deps').db, 'account', p.name);
        throw new AppError('SECOND_FACTOR_INVALID', '动态口令错误，请核对手机时间后重试');
      }
      await opLog(c, '启用动态口令', p.name);
      c.header('cache-control', 'no-store');
      return c.json({ recoveryCodes: codes }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/auth/totp/disable',
      tags,
      summary: '关闭动态口令（须密码与动态口令或恢复码）',
      request: jsonBody(
        z.object({
          password: z
            .string({ error: '请输入密码' })
            .min(1, '请输入密码')
            .max(128)
            .openapi({ description: '当前密码', example: 'Hz-Alert-2026!x' }),
          code: Code,
        }),
      ),
      responses: jsonOk(Ok),
    }),
    async (c) => {
      const p = sessionOnly(c);
      if (p.role === 'operator' && operatorTotpRequired(c)) throw new AppError('TOTP_REQUIRED');
      await throttled(c, p.name);
      const { db } = c.get('deps');
      const b = c.req.valid('json');
      const { rows } = await db.query<{ password_hash: string }>('SELECT password_hash FROM accounts WHERE id = $1', [p.accountId]);
      if (
        !(await verifyPassword(b.password, rows[0]!.password_hash)) ||
        !(await useSecondFactor(db, secretBox(c.get('deps')), p.accountId, b.code))
      ) {
        await recordFailure(db, 'account', p.name);
        throw new AppError('SECOND_FACTOR_INVALID', '密码或动态口令错误');
      }
      await db.query(
        'UPDATE accounts SET totp_secret = NULL, totp_pending_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL WHERE id = $1',
        [p.accountId],
      );
      await db.query('DELETE FROM recovery_codes WHERE account_id = $1', [p.accountId]);
      await opLog(c, '关闭动态口令', p.name);
      return c.json({ ok: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api/auth/totp/recovery-codes',
      tags,
      summary: '重新生成恢复码（旧的全部作废）',
      request: jsonBody(z.object({ code: Code })),
      responses: jsonOk(RecoveryCodes),
    }),
    async (c) => {
      const p = sessionOnly(c);
      await throttled(c, p.name);
      const { db } = c.get('deps');
      if (!(await useSecondFactor(db, secretBox(c.get('deps')), p.accountId, c.req.valid('json').code))) {
        await recordFailure(db, 'account', p.name);
        throw new AppError('SECOND_FACTOR_INVALID');
      }
      await opLog(c, '重新生成恢复码', p.name);
      c.header('cache-control', 'no-store');
      return c.json({ recoveryCodes: await newRecoveryCodes(db, p.accountId) }, 200);
    },
  );
