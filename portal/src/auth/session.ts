import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '@geo/infra';
import { effectivePermissions, type Feature, type Role } from './permissions.ts';
import type { Principal } from '../http/context.ts';
import { revokeStreams } from './revocation.ts';

export const SESSION_COOKIE = 'geo_sid';
/** Idle sessions end after 2 hours; any session after 12 (ASVS 3.3). */
export const SESSION_IDLE_MS = 2 * 3600_000;
export const SESSION_MAX_MS = 12 * 3600_000;

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
export const token = (bytes = 32) => randomBytes(bytes).toString('base64url');

export interface AccountRow {
  id: string;
  name: string;
  enterprise_id: string | null;
  department_id: string | null;
  role: Role;
  permissions: string[];
  status: 'active' | 'frozen';
  enterprise_status: 'active' | 'frozen' | null;
}

export const ACCOUNT_COLUMNS = `a.id, a.name, a.enterprise_id, a.department_id, a.role, a.permissions, a.status, e.status AS enterprise_status`;

export function toPrincipal(a: AccountRow, via: Principal['via'], extra: Partial<Principal> = {}): Principal {
  return {
    accountId: a.id,
    name: a.name,
    enterpriseId: a.enterprise_id,
    departmentId: a.department_id,
    role: a.role,
    permissions: new Set(effectivePermissions(a.role, a.permissions)),
    via,
    ...extra,
  };
}

/** Starts a new session with a fresh random id (never reusing one the browser presented). */
export async function createSession(
  db: Queryable,
  accountId: string,
  ip: string,
  userAgent: string,
): Promise<{ id: string; csrf: string }> {
  const id = token();
  const csrf = token(24);
  await db.query(
    `INSERT INTO sessions (id_hash, account_id, csrf_token, ip, user_agent, expires_at) VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
    [sha256(id), accountId, csrf, ip, userAgent.slice(0, 300), SESSION_MAX_MS / 1000],
  );
  return { id, csrf };
}

/** The live session's account, or undefined when the session is unknown, expired, idle or its account frozen. */
export async function loadSession(db: Queryable, id: string): Promise<Principal | undefined> {
  const hash = sha256(id);
  const { rows } = await db.query<AccountRow & { csrf_token: string; idle: boolean; touch: boolean }>(
    `SELECT ${ACCOUNT_COLUMNS}, s.csrf_token,
            s.last_seen_at < now() - make_interval(secs => $2) AS idle,
            s.last_seen_at < now() - interval '1 minute' AS touch
       FROM sessions s JOIN accounts a ON a.id = s.account_id LEFT JOIN enterprises e ON e.id = a.enterprise_id
      WHERE s.id_hash = $1 AND s.expires_at > now()`,
    [hash, SESSION_IDLE_MS / 1000],
  );
  const r = rows[0];
  if (!r) return undefined;
  if (r.idle || r.status !== 'active' || r.enterprise_status === 'frozen') {
    await db.query('DELETE FROM sessions WHERE id_hash = $1', [hash]);
    return undefined;
  }
  if (r.touch) await db.query('UPDATE sessions SET last_seen_at = now() WHERE id_hash = $1', [hash]);
  return toPrincipal(r, 'session', { sessionHash: hash, csrfToken: r.csrf_token });
}

export async function endSession(db: Queryable, id: string): Promise<void> {
  const hash = sha256(id);
  const { rows } = await db.query<{ account_id: string }>('DELETE FROM sessions WHERE id_hash = $1 RETURNING account_id', [hash]);
  if (rows[0]) revokeStreams(rows[0].account_id, { session: hash });
}

/**
 * Ends every session of an account (freeze, password reset or change, delete) and, when asked, its
 * API keys; the account's open event streams close with them (`exceptSession`'s stay open).
 */
export async function endAccountAccess(
  db: Queryable,
  accountId: string,
  opts: { apiKeys: boolean; exceptSession?: string },
): Promise<void> {
  await db.query('DELETE FROM sessions WHERE account_id = $1 AND id_hash <> $2', [accountId, opts.exceptSession ?? '']);
  if (opts.apiKeys) await db.query('UPDATE api_keys SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL', [accountId]);
  revokeStreams(accountId, opts.exceptSession ? { exceptSession: opts.exceptSession } : {});
}

/**
 * Whether the session or API key behind `p` is still live and its account and enterprise active,
 * and, given `anyOf`, whether the account still holds one of those permissions (an event stream's
 * route declared them: taking the permission away ends the stream too).
 */
export async function accessStillValid(db: Queryable, p: Principal, anyOf: readonly Feature[] = []): Promise<boolean> {
  const alive = `a.status = 'active' AND (e.status IS NULL OR e.status <> 'frozen')`;
  const { rows } = p.sessionHash
    ? await db.query<Pick<AccountRow, 'role' | 'permissions'>>(
        `SELECT a.role, a.permissions FROM sessions s JOIN accounts a ON a.id = s.account_id LEFT JOIN enterprises e ON e.id = a.enterprise_id
          WHERE s.id_hash = $1 AND s.expires_at > now() AND ${alive}`,
        [p.sessionHash],
      )
    : await db.query<Pick<AccountRow, 'role' | 'permissions'>>(
        `SELECT a.role, a.permissions FROM api_keys k JOIN accounts a ON a.id = k.account_id LEFT JOIN enterprises e ON e.id = a.enterprise_id
          WHERE k.id = $1 AND k.revoked_at IS NULL AND ${alive}`,
        [p.apiKeyId ?? ''],
      );
  const a = rows[0];
  if (!a) return false;
  if (!anyOf.length) return true;
  const now = new Set(effectivePermissions(a.role, a.permissions));
  return anyOf.some((f) => now.has(f));
}

export const API_KEY_PREFIX = 'gk_';

/** The account behind a live API key of an active account. */
export async function loadApiKey(db: Queryable, key: string): Promise<Principal | undefined> {
  if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return undefined;
  const { rows } = await db.query<AccountRow & { key_id: string }>(
    `SELECT ${ACCOUNT_COLUMNS}, k.id AS key_id
       FROM api_keys k JOIN accounts a ON a.id = k.account_id LEFT JOIN enterprises e ON e.id = a.enterprise_id
      WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
    [sha256(key)],
  );
  const r = rows[0];
  if (!r || r.status !== 'active' || r.enterprise_status === 'frozen') return undefined;
  await db.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [r.key_id]);
  return toPrincipal(r, 'apikey', { apiKeyId: r.key_id });
}
