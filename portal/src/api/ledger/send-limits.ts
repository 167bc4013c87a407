import type { Queryable } from '@geo/infra';
import { AppError } from '../../errors.ts';

/** What a send is, for the rules of {@link RATE_LIMITED}. */
export type SendKind = 'industry' | 'alert';

/**
 * Which kinds of send the per-account rate limits apply to. Alert tasks (大数据短信: typhoon,
 * rainstorm, fire, … — public warnings, every alert type) are exempt by this rule, not by accident:
 * a warning must not wait behind an account's industry traffic; their volume is bounded by the
 * task's per-carrier totals, daily caps and the ledger's reservation instead.
 */
export const RATE_LIMITED: Readonly<Record<SendKind, boolean>> = { industry: true, alert: false };

export interface SendLimits {
  /** Sends (requests) per minute. */
  sendsPerMinute: number | null;
  /** Numbers (recipients) per minute. */
  numbersPerMinute: number | null;
  /** Numbers per day (the last 24 hours). */
  numbersPerDay: number | null;
}

/** The platform default's key in `send_rate_limits`. */
export const PLATFORM = '';

type Row = { account_id: string; sends_per_minute: number | null; numbers_per_minute: number | null; numbers_per_day: number | null };
const toLimits = (r: Row | undefined): SendLimits => ({
  sendsPerMinute: r?.sends_per_minute ?? null,
  numbersPerMinute: r?.numbers_per_minute ?? null,
  numbersPerDay: r?.numbers_per_day ?? null,
});

/** The limits of an account: its own override if the operator set one, else the platform's default. */
export async function limitsOf(db: Queryable, accountId: string): Promise<SendLimits & { own: boolean }> {
  const { rows } = await db.query<Row>('SELECT * FROM send_rate_limits WHERE account_id = ANY($1::text[])', [[accountId, PLATFORM]]);
  const own = rows.find((r) => r.account_id === accountId && accountId !== PLATFORM);
  return { ...toLimits(own ?? rows.find((r) => r.account_id === PLATFORM)), own: !!own };
}

export async function setLimits(db: Queryable, accountId: string, l: SendLimits, by: string): Promise<void> {
  await db.query(
    `INSERT INTO send_rate_limits (account_id, sends_per_minute, numbers_per_minute, numbers_per_day, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT (account_id) DO UPDATE SET sends_per_minute = $2, numbers_per_minute = $3, numbers_per_day = $4, updated_by = $5, updated_at = now()`,
    [accountId, l.sendsPerMinute, l.numbersPerMinute, l.numbersPerDay, by],
  );
}

/** Back to the platform's default. */
export async function clearLimits(db: Queryable, accountId: string): Promise<void> {
  await db.query('DELETE FROM send_rate_limits WHERE account_id = $1 AND account_id <> $2', [accountId, PLATFORM]);
}

/**
 * Refuses a send of `numbers` recipients that would take the account over one of its limits, with
 * 429 RATE_LIMITED: which limit, how much of it was used, and how many numbers were held back. Call
 * it in the transaction that records the send, after the account row is locked (the ledger's take
 * locks it), so that concurrent sends of one account are counted one after the other.
 */
export async function checkSendRate(tx: Queryable, kind: SendKind, accountId: string, numbers: number): Promise<void> {
  if (!RATE_LIMITED[kind]) return;
  const l = await limitsOf(tx, accountId);
  if (l.sendsPerMinute == null && l.numbersPerMinute == null && l.numbersPerDay == null) return;
  const { rows } = await tx.query<{ m_sends: string | number; m_numbers: string | number | null; d_numbers: string | number | null }>(
    `SELECT count(*) FILTER (WHERE created_at > now() - interval '1 minute') AS m_sends,
            sum(recipients_count) FILTER (WHERE created_at > now() - interval '1 minute') AS m_numbers,
            sum(recipients_count) AS d_numbers
       FROM sms_sends WHERE account_id = $1 AND created_at > now() - interval '1 day' AND state <> 'cancelled'`,
    [accountId],
  );
  const used = { sends: Number(rows[0]?.m_sends ?? 0), minute: Number(rows[0]?.m_numbers ?? 0), day: Number(rows[0]?.d_numbers ?? 0) };
  const refuse = (message: string, limit: number, usedNow: number, window: 'minute' | 'day', unit: 'sends' | 'numbers') => {
    throw new AppError('RATE_LIMITED', message, { limit, used: usedNow, window, unit, requested: numbers, heldBack: numbers });
  };
  if (l.sendsPerMinute != null && used.sends + 1 > l.sendsPerMinute)
    refuse(
      `发送过于频繁：每分钟最多发送 ${l.sendsPerMinute} 次，最近 1 分钟已发送 ${used.sends} 次；本次 ${numbers} 个号码未发送，请稍后再试`,
      l.sendsPerMinute,
      used.sends,
      'minute',
      'sends',
    );
  if (l.numbersPerMinute != null && used.minute + numbers > l.numbersPerMinute)
    refuse(
      `发送号码数超过每分钟上限 ${l.numbersPerMinute} 个：最近 1 分钟已发送 ${used.minute} 个，本次 ${numbers} 个号码未发送（超出 ${used.minute + numbers - l.numbersPerMinute} 个），请稍后再试或联系平台调整上限`,
      l.numbersPerMinute,
      used.minute,
      'minute',
      'numbers',
    );
  if (l.numbersPerDay != null && used.day + numbers > l.numbersPerDay)
    refuse(
      `发送号码数超过每日上限 ${l.numbersPerDay} 个：最近 24 小时已发送 ${used.day} 个，本次 ${numbers} 个号码未发送（超出 ${used.day + numbers - l.numbersPerDay} 个），请明天再试或联系平台调整上限`,
      l.numbersPerDay,
      used.day,
      'day',
      'numbers',
    );
}

/** Counts a refused send and its numbers against the account's day (the transaction that refused it rolled back). */
export async function recordHeldBack(db: Queryable, accountId: string, numbers: number): Promise<void> {
  await db.query(
    `INSERT INTO send_rate_held (account_id, day, sends, numbers) VALUES ($1, (now() AT TIME ZONE 'Asia/Shanghai')::date, 1, $2)
     ON CONFLICT (account_id, day) DO UPDATE SET sends = send_rate_held.sends + 1, numbers = send_rate_held.numbers + EXCLUDED.numbers`,
    [accountId, numbers],
  );
}

/** What the limits held back of an account, today and over the last 30 days. */
export async function heldBack(
  db: Queryable,
  accountId: string,
): Promise<{ today: { sends: number; numbers: number }; last30Days: { sends: number; numbers: number } }> {
  const { rows } = await db.query<{ t_sends: string | null; t_numbers: string | null; m_sends: string | null; m_numbers: string | null }>(
    `SELECT sum(sends) FILTER (WHERE day = (now() AT TIME ZONE 'Asia/Shanghai')::date) AS t_sends,
            sum(numbers) FILTER (WHERE day = (now() AT TIME ZONE 'Asia/Shanghai')::date) AS t_numbers,
            sum(sends) AS m_sends, sum(numbers) AS m_numbers
       FROM send_rate_held WHERE account_id = $1 AND day > (now() AT TIME ZONE 'Asia/Shanghai')::date - 30`,
    [accountId],
  );
  const r = rows[0];
  return {
    today: { sends: Number(r?.t_sends ?? 0), numbers: Number(r?.t_numbers ?? 0) },
    last30Days: { sends: Number(r?.m_sends ?? 0), numbers: Number(r?.m_numbers ?? 0) },
  };
}
