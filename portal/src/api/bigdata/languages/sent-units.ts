import { ident, list, sql, type ClickHouseClient, type Logger } from '@geo/infra';
import { SEND_LOG_TABLE } from '../../industry/index.ts';

/**
 * What a multilingual task's sends cost, language by language (#21). The ledger reserves a task at
 * its costliest language's SMS; settling at that rate would charge a person who got the shorter
 * Chinese text the English text's segments. The send log knows each job's own segments, so the
 * charge is their sum, plus the reserved rate for sends alerting counted that the log has not yet
 * (or never) recorded.
 *
 * Called by the ledger's settlement (`ledger/runtime.ts` settleEnded → `reservations.ts` settleTask).
 */

/** Forwarded replies are logged under the send too; they are not its messages. */
const FORWARD_JOBS = 'fwd-%';

export interface LoggedSends {
  /** Distinct jobs the send log holds for the task. */
  jobs: number;
  /** Their segments (each job's latest version), the units they cost. */
  units: number;
}

/** Jobs and their segments per task in messaging's send log; undefined when it cannot be read. */
export async function loggedUnits(
  ch: ClickHouseClient | undefined,
  log: Logger,
  taskIds: readonly string[],
  table = SEND_LOG_TABLE,
): Promise<Map<string, LoggedSends> | undefined> {
  if (!ch || taskIds.length === 0) return undefined;
  const q = sql`SELECT send_id, count() AS jobs, sum(segments) AS units
    FROM (SELECT send_id, job_id, argMax(segments, version) AS segments FROM ${ident(table)}
          WHERE send_id IN ${list(taskIds)} AND NOT (job_id LIKE ${FORWARD_JOBS}) GROUP BY send_id, job_id)
    GROUP BY send_id`;
  try {
    const rs = await ch.query({ query: q.text, format: 'JSONEachRow' });
    const rows = (await rs.json()) as { send_id: string; jobs: string | number; units: string | number }[];
    return new Map(rows.map((r) => [r.send_id, { jobs: Number(r.jobs), units: Number(r.units) }]));
  } catch (err) {
    log.warn({ err }, 'send log unavailable for settling tasks by language');
    return undefined;
  }
}

/**
 * The units a task's `sent` messages cost: the logged jobs' own segments, and `perMessage` (the
 * reserved, costliest rate) for any sent message the log lacks; without the log, every message at
 * `perMessage`, as before. Never more than `sent × perMessage`.
 * @example chargeByLanguage(10, 3, { jobs: 10, units: 14 }) // 14: 8 Chinese SMS of 1 unit, 2 English of 3
 */
export function chargeByLanguage(sent: number, perMessage: number, logged?: LoggedSends): number {
  const ceiling = sent * perMessage;
  if (!logged) return ceiling;
  const jobs = Math.min(logged.jobs, sent);
  const units = logged.jobs > sent ? Math.round((logged.units * sent) / logged.jobs) : logged.units;
  return Math.min(ceiling, units + (sent - jobs) * perMessage);
}
