import { ident, list, sql, type ClickHouseClient, type Logger } from '@geo/infra';

/**
 * Reads delivery states from messaging's send log (ClickHouse `sms_log`: one row per job, the
 * highest `version` current). ClickHouse 18.16 has no query parameters: values go through `sql`.
 * When ClickHouse is not configured or fails, callers fall back to what the portal knows
 * (published → submitted) and say so.
 */

export const SEND_LOG_TABLE = 'sms_log';

export type RecipientState = 'pending' | 'submitted' | 'delivered' | 'failed';

/** Messaging's states folded into what the sent list shows: 提交, 成功, 失败 (with the code). */
export function foldState(s: string): RecipientState {
  if (s === 'delivered') return 'delivered';
  if (s === 'failed' || s === 'expired' || s === 'rejected' || s === 'unknown') return 'failed';
  return 'submitted';
}

const RANK: Record<RecipientState, number> = { pending: 0, submitted: 1, delivered: 2, failed: 3 };

/**
 * Messaging forwards a reply to the send's forward phone as a job of the same send (`fwd-<reply>`):
 * not one of the send's recipients, so left out of its counts and states.
 */
const FORWARD_JOBS = 'fwd-%';

/** job id `<sendId>:<seq>[:<task>]` → seq */
const seqOf = (jobId: string) => Number(jobId.split(':')[1]);

/** The state of each recipient (by seq) of one send; a recipient with several tasks takes its worst. */
export async function recipientStates(
  ch: ClickHouseClient | undefined,
  log: Logger,
  enterpriseId: string,
  sendId: string,
  table = SEND_LOG_TABLE,
): Promise<Map<number, { state: RecipientState; code: string; at: number }> | undefined> {
  if (!ch) return undefined;
  const q = sql`SELECT job_id, argMax(status, version) AS status, argMax(code, version) AS code, toUnixTimestamp(argMax(status_time, version)) AS at
    FROM ${ident(table)} WHERE enterprise_id = ${enterpriseId} AND send_id = ${sendId} AND NOT (job_id LIKE ${FORWARD_JOBS}) GROUP BY job_id`;
  try {
    const rs = await ch.query({ query: q.text, format: 'JSONEachRow' });
    const rows = (await rs.json()) as { job_id: string; status: string; code: string; at: number | string }[];
    const out = new Map<number, { state: RecipientState; code: string; at: number }>();
    for (const r of rows) {
      const seq = seqOf(r.job_id);
      const st = foldState(r.status);
      const prev = out.get(seq);
      if (!prev || RANK[st] > RANK[prev.state]) out.set(seq, { state: st, code: r.code, at: Number(r.at) * 1000 });
    }
    return out;
  } catch (err) {
    log.warn({ err, sendId }, 'send log unavailable; showing portal-side states');
    return undefined;
  }
}

/**
 * Per send, its numbers by outcome, for the sent list and statistics: a number is failed when any of
 * its jobs (one per 500-character task) finally failed, delivered when all its logged jobs were, and
 * `submitted` counts every number the send log has heard of.
 */
export async function sendOutcomes(
  ch: ClickHouseClient | undefined,
  log: Logger,
  enterpriseId: string,
  sendIds: readonly string[],
  table = SEND_LOG_TABLE,
): Promise<Map<string, { delivered: number; failed: number; submitted: number }> | undefined> {
  if (!ch || sendIds.length === 0) return undefined;
  const out = new Map<string, { delivered: number; failed: number; submitted: number }>();
  // A query names its sends: chunks keep it well under ClickHouse's max_query_size (256 KiB).
  for (let i = 0; i < sendIds.length; i += 2000) {
    const q = sql`SELECT send_id, countIf(any_failed = 1) AS failed, countIf(any_failed = 0 AND all_delivered = 1) AS delivered, count() AS submitted
      FROM (SELECT send_id, arrayElement(splitByChar(':', job_id), 2) AS seq, max(status IN ('failed', 'expired', 'rejected', 'unknown')) AS any_failed,
                   min(status = 'delivered') AS all_delivered
            FROM (SELECT send_id, job_id, argMax(status, version) AS status FROM ${ident(table)}
                  WHERE enterprise_id = ${enterpriseId} AND send_id IN ${list(sendIds.slice(i, i + 2000))} AND NOT (job_id LIKE ${FORWARD_JOBS}) GROUP BY send_id, job_id)
            GROUP BY send_id, seq)
      GROUP BY send_id`;
    try {
      const rs = await ch.query({ query: q.text, format: 'JSONEachRow' });
      const rows = (await rs.json()) as {
        send_id: string;
        delivered: string | number;
        failed: string | number;
        submitted: string | number;
      }[];
      for (const r of rows)
        out.set(r.send_id, { delivered: Number(r.delivered), failed: Number(r.failed), submitted: Number(r.submitted) });
    } catch (err) {
      log.warn({ err }, 'send log unavailable for outcomes');
      return undefined;
    }
  }
  return out;
}

/**
 * Billing units (segments) of the jobs that finally failed, per send or big-data task: what the
 * ledger gives back. Forwarded replies are not the send's jobs and are left out.
 */
export async function failedUnits(
  ch: ClickHouseClient | undefined,
  log: Logger,
  sendIds: readonly string[],
  table = SEND_LOG_TABLE,
): Promise<Map<string, number> | undefined> {
  if (!ch || sendIds.length === 0) return undefined;
  const q = sql`SELECT send_id, sum(segments) AS units
    FROM (SELECT send_id, job_id, argMax(status, version) AS status, argMax(segments, version) AS segments FROM ${ident(table)}
          WHERE send_id IN ${list(sendIds)} AND NOT (job_id LIKE ${FORWARD_JOBS}) GROUP BY send_id, job_id)
    WHERE status IN ('failed', 'expired', 'rejected', 'unknown') GROUP BY send_id`;
  try {
    const rs = await ch.query({ query: q.text, format: 'JSONEachRow' });
    const rows = (await rs.json()) as { send_id: string; units: string | number }[];
    return new Map(rows.map((r) => [r.send_id, Number(r.units)]));
  } catch (err) {
    log.warn({ err }, 'send log unavailable for refunds of failed numbers');
    return undefined;
  }
}
