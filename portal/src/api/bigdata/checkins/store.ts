import type { Queryable } from '@geo/infra';
import { parseCheckInAnswer, type CheckInOption, type SmsReply } from '@geo/messaging';
import { AppError } from '../../../errors.ts';

/**
 * Reply check-ins of alert tasks (#21 "People answer back"), in PostgreSQL: the task's answers and
 * reply extension (`bigdata_checkins`), and every answer received (`bigdata_checkin_replies`).
 */

/** Check-in extensions: 5 digits beginning with 9. Industry sends take 4 digits, so the two never meet. */
export const CHECKIN_EXTENSION_PREFIX = '9';
/** A check-in takes answers until this long after its task's last day (Asia/Shanghai). */
export const CHECKIN_OPEN_AFTER_END_MS = 3 * 86_400_000;
/** After closing, the extension stays with the task this long: late answers are counted as such, not as faults. */
export const CHECKIN_HELD_AFTER_CLOSE_MS = 7 * 86_400_000;

export interface CheckIn {
  taskId: string;
  enterpriseId: string;
  extension: string;
  options: CheckInOption[];
  closesAt: number;
  heldUntil: number;
}

interface CheckInRow {
  task_id: string;
  enterprise_id: string;
  extension: string;
  options: CheckInOption[] | string;
  closes_at: Date | string;
  held_until: Date | string;
}

const ms = (v: Date | string): number => new Date(v).getTime();
const toCheckIn = (r: CheckInRow): CheckIn => ({
  taskId: r.task_id,
  enterpriseId: r.enterprise_id,
  extension: r.extension,
  options: typeof r.options === 'string' ? (JSON.parse(r.options) as CheckInOption[]) : r.options,
  closesAt: ms(r.closes_at),
  heldUntil: ms(r.held_until),
});

/** The end of a task's last day, Asia/Shanghai (UTC+8, no daylight saving), as epoch ms. */
export function endOfDay(date: string): number {
  return Date.parse(`${date}T00:00:00+08:00`) + 86_400_000;
}

/**
 * Gives a task its check-in: a free extension (lowest 9xxxx not held by another task), recorded with
 * the answers, open until {@link CHECKIN_OPEN_AFTER_END_MS} after its last day. Run it in the submit
 * transaction after the task row is written. `taken` are extensions to skip (held elsewhere).
 */
export async function createCheckIn(
  tx: Queryable,
  t: { taskId: string; enterpriseId: string; endDate: string; options: CheckInOption[] },
  taken: readonly string[] = [],
): Promise<CheckIn> {
  // One allocation at a time (a PostgreSQL server runs transactions side by side).
  await tx.query('SELECT pg_advisory_xact_lock(727301)');
  const { rows } = await tx.query<{ ext: string }>(
    `SELECT $1 || lpad(n::text, 4, '0') AS ext FROM generate_series(1, 9999) AS n
      WHERE NOT EXISTS (SELECT 1 FROM bigdata_checkins c WHERE c.extension = $1 || lpad(n::text, 4, '0') AND c.held_until > now())
        AND NOT ($1 || lpad(n::text, 4, '0') = ANY($2::text[]))
      ORDER BY n LIMIT 1`,
    [CHECKIN_EXTENSION_PREFIX, [...taken]],
  );
  if (!rows[0]) throw new AppError('NO_EXTENSION', '暂无可用的回复扩展码（回复报平安），请稍后再试');
  const closesAt = endOfDay(t.endDate) + CHECKIN_OPEN_AFTER_END_MS;
  const c: CheckIn = {
    taskId: t.taskId,
    enterpriseId: t.enterpriseId,
    extension: rows[0].ext,
    options: t.options.map((o) => ({ code: o.code, label: o.label, ...(o.help ? { help: true } : {}) })),
    closesAt,
    heldUntil: closesAt + CHECKIN_HELD_AFTER_CLOSE_MS,
  };
  await tx.query(
    `INSERT INTO bigdata_checkins (task_id, enterprise_id, extension, options, closes_at, held_until)
     VALUES ($1, $2, $3, $4, to_timestamp($5 / 1000.0), to_timestamp($6 / 1000.0))`,
    [c.taskId, c.enterpriseId, c.extension, JSON.stringify(c.options), c.closesAt, c.heldUntil],
  );
  return c;
}

/** A task's check-in, within its enterprise. */
export async function getCheckIn(db: Queryable, enterpriseId: string, taskId: string): Promise<CheckIn | undefined> {
  const { rows } = await db.query<CheckInRow>('SELECT * FROM bigdata_checkins WHERE task_id = $1 AND enterprise_id = $2', [
    taskId,
    enterpriseId,
  ]);
  return rows[0] ? toCheckIn(rows[0]) : undefined;
}

/** Closes a check-in now (no answer recorded from now on); the extension stays held for late answers. */
export async function closeCheckIn(db: Queryable, c: CheckIn, at: number): Promise<CheckIn> {
  const closesAt = Math.min(c.closesAt, at);
  const heldUntil = Math.max(c.heldUntil, closesAt + CHECKIN_HELD_AFTER_CLOSE_MS);
  await db.query(
    'UPDATE bigdata_checkins SET closes_at = to_timestamp($2 / 1000.0), held_until = to_timestamp($3 / 1000.0) WHERE task_id = $1',
    [c.taskId, closesAt, heldUntil],
  );
  return { ...c, closesAt, heldUntil };
}

/**
 * The task's last day moved (an update of a running task): the check-in now closes
 * {@link CHECKIN_OPEN_AFTER_END_MS} after the new last day, later or earlier. A check-in already
 * closed (by hand, or its time passed) stays closed, and answers recorded stay recorded whatever
 * the new time (shortening closes from then on; it never takes back what was counted). The hold
 * never shrinks: messaging's registry keeps the longer of the two as well.
 * @returns the check-in as it is now, or undefined when it is closed or its time is the same.
 */
export async function moveCheckInEnd(db: Queryable, c: CheckIn, endDate: string, now: number): Promise<CheckIn | undefined> {
  const closesAt = endOfDay(endDate) + CHECKIN_OPEN_AFTER_END_MS;
  if (c.closesAt <= now || closesAt === c.closesAt) return undefined;
  const heldUntil = Math.max(c.heldUntil, closesAt + CHECKIN_HELD_AFTER_CLOSE_MS);
  // Conditional: a close by hand that came first wins.
  const { rows } = await db.query<CheckInRow>(
    `UPDATE bigdata_checkins SET closes_at = to_timestamp($2 / 1000.0), held_until = to_timestamp($3 / 1000.0)
      WHERE task_id = $1 AND closes_at > to_timestamp($4 / 1000.0) RETURNING *`,
    [c.taskId, closesAt, heldUntil, now],
  );
  return rows[0] ? toCheckIn(rows[0]) : undefined;
}

export type RecordOutcome = 'recorded' | 'duplicate' | 'not_checkin' | 'closed';

/**
 * Records a reply messaging matched to a send, when the send is a task with a check-in of the same
 * enterprise and the reply came before it closed: its answer parsed (or unrecognised, kept), its area
 * looked up later. Once per reply id.
 */
export async function recordCheckInReply(db: Queryable, reply: SmsReply): Promise<RecordOutcome> {
  if (!reply.sendId) return 'not_checkin';
  const c = await getCheckIn(db, reply.enterpriseId, reply.sendId);
  if (!c) return 'not_checkin';
  if (reply.at >= c.closesAt) return 'closed';
  const answer = parseCheckInAnswer(reply.text, c.options) ?? null;
  const { rowCount } = await db.query(
    `INSERT INTO bigdata_checkin_replies (reply_id, task_id, msisdn, carrier, text, answer, received_at)
     VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7 / 1000.0)) ON CONFLICT (reply_id) DO NOTHING`,
    [reply.replyId, c.taskId, normalizeFrom(reply.from), reply.carrier, reply.text.slice(0, 1000), answer, reply.at],
  );
  return (rowCount ?? 0) > 0 ? 'recorded' : 'duplicate';
}

/** A handset's number as alerting knows it: 11 digits, without +86 / 0086. */
export function normalizeFrom(from: string): string {
  const d = from.replace(/[\s-]/g, '');
  const m = /^(?:\+?86|0086)?(1[3-9]\d{9})$/.exec(d);
  return m ? m[1]! : d;
}

/** Each person's current answer: their latest recognised one, else (only unrecognised replies) none. */
export interface PersonAnswer {
  msisdn: string;
  carrier: string;
  /** The option's code, or null: nothing they sent was recognised. */
  answer: string | null;
  text: string;
  at: number;
  area: 'pending' | 'known' | 'unknown';
  lat: number | null;
  lng: number | null;
}

/** Every person who answered a task, with their current answer (one row per person). */
export async function peopleAnswers(db: Queryable, taskId: string): Promise<PersonAnswer[]> {
  const { rows } = await db.query<{
    msisdn: string;
    carrier: string;
    answer: string | null;
    text: string;
    at: Date | string;
    area: PersonAnswer['area'];
    cell_lat: number | null;
    cell_lng: number | null;
  }>(
    // Latest recognised answer first; a person with none shows their latest reply.
    `SELECT DISTINCT ON (msisdn) msisdn, carrier, answer, text, received_at AS at, area, cell_lat, cell_lng
       FROM bigdata_checkin_replies WHERE task_id = $1
      ORDER BY msisdn, (answer IS NOT NULL) DESC, received_at DESC, reply_id DESC`,
    [taskId],
  );
  return rows.map((r) => ({
    msisdn: r.msisdn,
    carrier: r.carrier,
    answer: r.answer,
    text: r.text,
    at: ms(r.at),
    area: r.area,
    lat: r.cell_lat,
    lng: r.cell_lng,
  }));
}

/** Replies received for a task (every reply, not people). */
export async function replyCount(db: Queryable, taskId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM bigdata_checkin_replies WHERE task_id = $1', [taskId]);
  return rows[0]?.n ?? 0;
}

/** Tasks with replies whose area is not yet looked up, with those replies' numbers. */
export async function pendingAreas(db: Queryable, limit = 5000): Promise<Map<string, Set<string>>> {
  const { rows } = await db.query<{ task_id: string; msisdn: string }>(
    `SELECT DISTINCT task_id, msisdn FROM bigdata_checkin_replies WHERE area = 'pending' LIMIT $1`,
    [limit],
  );
  const out = new Map<string, Set<string>>();
  for (const r of rows) {
    let s = out.get(r.task_id);
    if (!s) out.set(r.task_id, (s = new Set()));
    s.add(r.msisdn);
  }
  return out;
}

/** Records where a person was sent (or that it is unknown) on all their pending replies of a task. */
export async function setArea(db: Queryable, taskId: string, msisdn: string, at: { lat: number; lng: number } | undefined): Promise<void> {
  await db.query(
    `UPDATE bigdata_checkin_replies SET area = $3, cell_lat = $4, cell_lng = $5 WHERE task_id = $1 AND msisdn = $2 AND area = 'pending'`,
    [taskId, msisdn, at ? 'known' : 'unknown', at?.lat ?? null, at?.lng ?? null],
  );
}
