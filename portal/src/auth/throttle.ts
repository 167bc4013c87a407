import type { Queryable } from '@geo/infra';

/**
 * Failed-login throttling. Each login needs a solved captcha first; on top of that:
 * - per account: 5 failures within 15 minutes lock the account name for 5 minutes only, so an
 *   attacker who knows a victim's name can delay, not deny, the victim's login;
 * - per client address: 20 failures within 15 minutes block that address for 15 minutes, which
 *   bounds how often one attacker can re-lock any account.
 */
export const THROTTLE = {
  account: { limit: 5, windowS: 15 * 60, lockS: 5 * 60 },
  ip: { limit: 20, windowS: 15 * 60, lockS: 15 * 60 },
} as const;

export type ThrottleKind = keyof typeof THROTTLE;

const key = (kind: ThrottleKind, id: string) => `${kind}:${id.toLowerCase()}`;

/** Seconds until the key is unlocked, or 0 when it is not locked. */
export async function lockedFor(db: Queryable, kind: ThrottleKind, id: string): Promise<number> {
  const { rows } = await db.query<{ s: number }>(
    'SELECT ceil(extract(epoch FROM locked_until - now()))::int AS s FROM login_throttle WHERE key = $1 AND locked_until > now()',
    [key(kind, id)],
  );
  return rows[0] ? Number(rows[0].s) : 0;
}

/** Counts a failure; locks the key once it reaches the limit inside the window. */
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
  if (Number(rows[0]!.failures) >= t.limit) {
    await db.query(
      `UPDATE login_throttle SET failures = 0, window_start = now(), locked_until = now() + make_interval(secs => $2) WHERE key = $1`,
      [k, t.lockS],
    );
  }
}

export async function clearFailures(db: Queryable, kind: ThrottleKind, id: string): Promise<void> {
  await db.query('DELETE FROM login_throttle WHERE key = $1', [key(kind, id)]);
}
