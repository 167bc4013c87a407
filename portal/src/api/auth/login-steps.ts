import { ROLE_LABELS } from '../../auth/permissions.ts';
import { ACCOUNT_COLUMNS, createSession, sha256, toPrincipal, token, type AccountRow } from '../../auth/session.ts';
import { clearFailures } from '../../auth/throttle.ts';
import { AppError } from '../../errors.ts';
import type { Ctx } from '../../http/context.ts';
import { opLog } from '../../http/op-log.ts';
import { readSessionCookie, writeSessionCookie } from '../../http/session-cookie.ts';
import { z } from '../../http/openapi.ts';
import { endSession } from '../../auth/session.ts';

export const Me = z
  .object({
    id: z.string().openapi({ description: '账户编号', example: '3f6c1e2a-8b4d-4c7e-9a51-2d0f6b7e8c90' }),
    name: z.string().openapi({ description: '账户名（登录用）', example: 'zhangsan' }),
    displayName: z.string().openapi({ description: '姓名', example: '张三' }),
    role: z
      .enum(['admin', 'sub', 'operator'])
      .openapi({ description: '角色：admin 集团管理员，sub 子账户，operator 平台运营', example: 'admin' }),
    roleLabel: z.string().openapi({ description: '角色的中文名称', example: '集团管理员' }),
    enterpriseId: z
      .string()
      .nullable()
      .openapi({ description: '所属集团编号，平台运营账户为 null', example: 'c2b7a9e4-1d3f-4e8a-b6c5-0f9d8e7a6b5c' }),
    enterpriseName: z.string().nullable().openapi({ description: '所属集团名称，平台运营账户为 null', example: '杭州市应急管理局' }),
    departmentId: z
      .string()
      .nullable()
      .openapi({ description: '所属部门编号，未分配为 null', example: '7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d' }),
    permissions: z.array(z.string()).openapi({ description: '可用的功能权限', example: ['bigdata', 'industry', 'accounts'] }),
    csrfToken: z
      .string()
      .openapi({ description: 'CSRF 令牌：会话内的写请求须放在 X-CSRF-Token 请求头', example: 'k3Jx9Q2vR7mT0bYwLp5eZs' }),
  })
  .openapi('Me');

/** A login that passed the password and needs its second step first. */
export const LoginStep = z
  .object({
    next: z
      .enum(['totp', 'enrol'])
      .openapi({ description: 'totp：输入动态口令或恢复码；enrol：平台运营账户须先绑定动态口令', example: 'totp' }),
    challenge: z.string().openapi({ description: '第二步验证凭据，5 分钟内有效，随动态口令一同提交', example: 'Yq8v2LmN4pR6sT0uW1xZ3a' }),
  })
  .openapi('LoginStep');

/** A pending second step lives 5 minutes and allows 5 wrong codes, then the login starts over. */
const CHALLENGE_TTL_S = 300;
export const CHALLENGE_ATTEMPTS = 5;

export async function me(c: Ctx, csrf: string, accountId: string) {
  const { db } = c.get('deps');
  const { rows } = await db.query<AccountRow & { display_name: string; enterprise_name: string | null }>(
    `SELECT ${ACCOUNT_COLUMNS}, a.display_name, e.name AS enterprise_name FROM accounts a LEFT JOIN enterprises e ON e.id = a.enterprise_id WHERE a.id = $1`,
    [accountId],
  );
  const a = rows[0];
  if (!a) throw new AppError('UNAUTHENTICATED');
  const p = c.get('principal');
  return {
    id: a.id,
    name: a.name,
    displayName: a.display_name,
    role: a.role,
    roleLabel: ROLE_LABELS[a.role],
    enterpriseId: a.enterprise_id,
    enterpriseName: a.enterprise_name,
    departmentId: a.department_id,
    permissions: p ? [...p.permissions] : [],
    csrfToken: csrf,
  };
}

export async function logAttempt(c: Ctx, name: string, ok: boolean, reason: string, acct?: { id: string; enterprise_id: string | null }) {
  await c
    .get('deps')
    .db.query(
      'INSERT INTO login_log (enterprise_id, account_id, account_name, ip, user_agent, success, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [
        acct?.enterprise_id ?? null,
        acct?.id ?? null,
        name.slice(0, 64),
        c.get('ip'),
        (c.req.header('user-agent') ?? '').slice(0, 300),
        ok,
        reason,
      ],
    );
}

/** Whether operators must have a second factor: required unless configured otherwise; a demo start without the setting allows it. */
export const operatorTotpRequired = (c: Ctx): boolean => {
  const cfg = c.get('deps').cfg;
  return (cfg.operatorTotp ?? (cfg.demo ? 'optional' : 'required')) === 'required';
};

/** The second step this login still needs, as a challenge to answer; undefined when the password was enough. */
export async function secondStep(c: Ctx, acct: AccountRow): Promise<z.infer<typeof LoginStep> | undefined> {
  const { db } = c.get('deps');
  const { rows } = await db.query<{ totp: boolean }>('SELECT totp_secret IS NOT NULL AS totp FROM accounts WHERE id = $1', [acct.id]);
  const next = rows[0]?.totp ? 'totp' : acct.role === 'operator' && operatorTotpRequired(c) ? 'enrol' : undefined;
  if (!next) return undefined;
  const challenge = token();
  await db.query('DELETE FROM login_challenges WHERE expires_at < now()');
  await db.query(
    `INSERT INTO login_challenges (id_hash, account_id, purpose, ip, user_agent, expires_at)
      VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
    [sha256(challenge), acct.id, next, c.get('ip'), userAgent(c), CHALLENGE_TTL_S],
  );
  return { next, challenge };
}

const userAgent = (c: Ctx): string => (c.req.header('user-agent') ?? '').slice(0, 300);

/**
 * The account waiting behind a live challenge of this purpose, or 401. Only the client that passed
 * the password step (same address, same user agent) may answer it: a challenge that leaked cannot be
 * finished from elsewhere.
 */
export async function challengeAccount(c: Ctx, challenge: string, purpose: 'totp' | 'enrol'): Promise<AccountRow & { attempts: number }> {
  const { rows } = await c.get('deps').db.query<AccountRow & { attempts: number; ch_ip: string; ch_user_agent: string }>(
    `SELECT ${ACCOUNT_COLUMNS}, ch.attempts, ch.ip AS ch_ip, ch.user_agent AS ch_user_agent FROM login_challenges ch JOIN accounts a ON a.id = ch.account_id LEFT JOIN enterprises e ON e.id = a.enterprise_id
      WHERE ch.id_hash = $1 AND ch.purpose = $2 AND ch.expires_at > now()`,
    [sha256(challenge), purpose],
  );
  const a = rows[0];
  if (!a || a.attempts >= CHALLENGE_ATTEMPTS) throw new AppError('LOGIN_STEP_EXPIRED');
  if (a.ch_ip !== c.get('ip') || a.ch_user_agent !== userAgent(c)) throw new AppError('LOGIN_STEP_CLIENT');
  if (a.status !== 'active' || a.enterprise_status === 'frozen') throw new AppError('ACCOUNT_FROZEN');
  return a;
}

/** Counts a wrong code against the challenge. */
export async function challengeFailed(c: Ctx, challenge: string): Promise<void> {
  await c.get('deps').db.query('UPDATE login_challenges SET attempts = attempts + 1 WHERE id_hash = $1', [sha256(challenge)]);
}

/** Ends the login's challenge and opens the session: a fresh id (never the one the browser had), cookie, logs. */
export async function openSession(c: Ctx, acct: AccountRow, challenge?: string) {
  const { db } = c.get('deps');
  if (challenge) await db.query('DELETE FROM login_challenges WHERE id_hash = $1', [sha256(challenge)]);
  await clearFailures(db, 'account', acct.name);
  const old = readSessionCookie(c);
  if (old) await endSession(db, old);
  const s = await createSession(db, acct.id, c.get('ip'), c.req.header('user-agent') ?? '');
  writeSessionCookie(c, s.id);
  await logAttempt(c, acct.name, true, 'ok', acct);
  c.set('principal', toPrincipal(acct, 'session'));
  await opLog(c, '登录', acct.name);
  return me(c, s.csrf, acct.id);
}
