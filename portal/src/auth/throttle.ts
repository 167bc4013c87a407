import type { Queryable } from '@geo/infra';

/**
 * Failed-login throttling, as a slow-down rather than a lock (ASVS 2.2.1): after `free` failures
 * inside `windowS`, each further try must wait `baseS · 2^(failures − free)` seconds after the
 * last failure, never more than `maxS`. Someone who knows a victim's name can therefore delay the
 * victim's next login by at most `maxS`, never shut them out, while a guesser gets about one try
 * per `maxS`. A success clears the account's count.
 * - per account name (logins and wrong old passwords when changing a password);
 * - per client address, counting wrong passwords only: a wrong captcha costs nothing (each image
 *   allows one try) and no longer counts, so 20 bad captchas cannot block an address, and
 *   several people behind one proxy address are not blocked by each other's typos.
 */
export const THROTTLE = {
  account: { free: 5, baseS: 2, maxS: 60, windowS: 24 * 3600 },
  ip: { free: 30, baseS: 2, maxS: 120, windowS: 15 * 60 },
} as const;

export type ThrottleKind = keyof typeof THROTTLE;

const key = (kind: ThrottleKind, id: string) => `${kind}:${id.toLowerCase()}`;

/** Seconds the caller must still wait before the next try, or 0. */
export async function lockedFor(db: Queryable, kind: ThrottleKind, id: string): Promise<number> {
  const { rows } = await db.query<{ s: number }>(
    'SELECT ceil(extract(epoch FROM locked_until - now()))::int AS s FROM login_throttle WHERE key = $1 AND locked_until > now()',
    [key(kind, id)],
  );
  return rows[0] ? Math.max(1, Number(rows[0].s)) : 0;
}

/** The wait after the `failures`-th failure in a window. @example slowDownS('account', 7) // 8 */
export function slowDownS(kind: ThrottleKind, failures: number): number {
  const t = THROTTLE[kind];
  if (failures < t.free) return 0;
  return Math.min(t.maxS, t.baseS * 2 ** Math.min(30, failures - t.free));
}

/** Counts a failure and sets when the next try may come. */
export async function recordFailure(db: Queryable, kind: ThrottleKind, id: string): Promise<void> {
  const t = THROTTLE[kind];
  const k = key(kind, id);
  const { rows } = await db.query<{ failures: number }>(
    `INSERT INTO login_throttle (key, failures, window_start) VALUES ($1, 1, now())
     ON CONFLICT (key) DO UPDATE SET
       failures = CASE WHEN login_throttle.window_start < now() - make_interval(secs => $2) THEN 1 ELSE login_throttle.failures + 1 END,
       window_start = CASE WHEN login_throttle.window_start < now() - make_interval(secs => $2) THEN now() ELSE login_throttle.window_start END
     RETURNING failures`,
    [k, t.windowS],
  );
  const wait = slowDownS(kind, Number(rows[0]!.failures));
  if (wait > 0) await db.query(`UPDATE login_throttle SET locked_until = now() + make_interval(secs => $2) WHERE key = $1`, [k, wait]);
}

export async function clearFailures(db: Queryable, kind: ThrottleKind, id: string): Promise<void> {
  await db.query('DELETE FROM login_throttle WHERE key = $1', [key(kind, id)]);
}
