import type { Queryable } from '@geo/infra';
import { composeText, splitTasks, type SmsCarrier, type SmsJob } from '@geo/messaging';
import { instanceId, leaseMs } from '../../../jobs/instance.ts';
import type { IndustryRuntime } from './runtime.ts';

/** Recipients published per database read and per publish window. */
const CHUNK = 2000;

interface SendRow {
  id: string;
  enterprise_id: string;
  account_id: string;
  content: string;
  signature: string;
  extension: string | null;
  forward_to: string | null;
  state: string;
  published: number;
  created_at: Date | string;
}

/**
 * The SMS jobs of one recipient of a send: one per 500-character task (按500字分一条任务), so the
 * segments sent are the billing count charged. Job id `<sendId>:<seq>` (`:<task>` from the second
 * task on) is the Nats-Msg-Id, stable across retries.
 */
export function jobsOf(s: SendRow, r: { seq: number; msisdn: string; carrier: string; content: string | null }): SmsJob[] {
  const text = r.content ?? s.content;
  const sigLen = composeText(s.signature, '').length;
  const parts = text.length + sigLen <= 500 ? [text] : splitTasks(s.signature, text).map((t) => t.slice(sigLen));
  return parts.map((content, task) => {
    const job: SmsJob & { task?: number } = {
      jobId: task === 0 ? `${s.id}:${r.seq}` : `${s.id}:${r.seq}:${task}`,
      source: 'industry',
      enterpriseId: s.enterprise_id,
      accountId: s.account_id,
      sendId: s.id,
      msisdn: r.msisdn,
      carrier: r.carrier as SmsCarrier,
      content,
      signature: s.signature,
      ...(s.extension ? { extension: s.extension } : {}),
      ...(s.forward_to ? { forwardTo: s.forward_to } : {}),
      createdAt: new Date(s.created_at).getTime(),
    };
    if (parts.length > 1) job.task = task;
    return job;
  });
}

const SEND_COLUMNS = 'id, enterprise_id, account_id, content, signature, extension, forward_to, state, published, created_at';

/**
 * Publishes a queued send's jobs from where it stopped (`published`), recording progress after each
 * chunk, then marks it sent. A crash between publish and record republishes at most one chunk, with
 * the same Nats-Msg-Ids. Without a publisher the send stays queued for the dispatcher.
 *
 * Several portal instances share the database (#19): the send is first claimed for this instance
 * (`dispatch_owner`, `dispatch_until`), so a second dispatcher passing at the same time leaves it
 * alone; the claim is renewed with each chunk's progress, and one whose owner was killed expires and
 * is taken over from `published` by the next pass of any instance. An owner that finds its claim
 * taken (it was paused past the lease) stops.
 * @returns whether the send is now fully published.
 */
export async function dispatchSend(rt: IndustryRuntime, sendId: string): Promise<boolean> {
  const { db } = rt.deps;
  if (!rt.publisher || rt.inFlight.has(sendId)) return false;
  rt.inFlight.add(sendId);
  const me = instanceId(rt.deps);
  const lease = leaseMs(rt.deps);
  let claimed = false;
  try {
    const { rows } = await db.query<SendRow>(
      `UPDATE sms_sends SET dispatch_owner = $2, dispatch_until = now() + $3::integer * interval '1 millisecond'
       WHERE id = $1 AND state = 'queued' AND (dispatch_until IS NULL OR dispatch_until < now() OR dispatch_owner = $2)
       RETURNING ${SEND_COLUMNS}`,
      [sendId, me, lease],
    );
    const s = rows[0];
    if (!s) {
      // Not queued (sent, cancelled, gone) or another instance is publishing it.
      const { rows: now } = await db.query<{ state: string }>('SELECT state FROM sms_sends WHERE id = $1', [sendId]);
      return now[0]?.state === 'sent';
    }
    claimed = true;
    let from = s.published;
    for (;;) {
      const { rows: recips } = await db.query<{ seq: number; msisdn: string; carrier: string; content: string | null }>(
        'SELECT seq, msisdn, carrier, content FROM sms_send_recipients WHERE send_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
        [sendId, from, CHUNK],
      );
      if (recips.length === 0) break;
      await rt.publisher.publish(recips.flatMap((r) => jobsOf(s, r)));
      from = recips[recips.length - 1]!.seq;
      const kept = await db.query(
        `UPDATE sms_sends SET published = $2, dispatch_until = now() + $4::integer * interval '1 millisecond' WHERE id = $1 AND dispatch_owner = $3`,
        [sendId, from, me, lease],
      );
      if (kept.rowCount === 0) {
        claimed = false;
        rt.deps.log.warn({ sendId, published: from }, 'another portal instance took this send over; this one stops publishing it');
        return false;
      }
    }
    const done = await db.query(
      `UPDATE sms_sends SET state = 'sent', sent_at = now(), dispatch_until = NULL WHERE id = $1 AND state = 'queued' AND dispatch_owner = $2`,
      [sendId, me],
    );
    claimed = false;
    return done.rowCount === 1;
  } catch (err) {
    rt.deps.log.error({ err, sendId }, 'publishing a send failed; the dispatcher will retry');
    return false;
  } finally {
    rt.inFlight.delete(sendId);
    // Failed or stopped while holding the claim: let the next pass (this instance or another) retry at once.
    if (claimed)
      await db
        .query('UPDATE sms_sends SET dispatch_until = NULL WHERE id = $1 AND dispatch_owner = $2', [sendId, me])
        .catch(() => undefined);
  }
}

/**
 * Claims for `me` the oldest queued send that nobody holds (never claimed, released, or its owner's
 * claim expired), skipping `tried`; undefined when there is none. A send another live instance is
 * publishing is not even looked at, and `FOR UPDATE SKIP LOCKED` lets passes of several instances
 * claim different sends at the same moment instead of queueing behind one row.
 */
export async function claimNextSend(db: Queryable, me: string, lease: number, tried: readonly string[]): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE sms_sends SET dispatch_owner = $1, dispatch_until = now() + $2::integer * interval '1 millisecond'
     WHERE id = (SELECT id FROM sms_sends
                 WHERE state = 'queued' AND (dispatch_until IS NULL OR dispatch_until < now()) AND id <> ALL($3::text[])
                 ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING id`,
    [me, lease, tried],
  );
  return rows[0]?.id;
}

/** Scheduled sends whose time has come become queued (their balance was reserved when scheduled). */
export async function fireDueSchedules(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE sms_sends SET state = 'queued' WHERE state = 'scheduled' AND scheduled_at <= now() RETURNING id`,
  );
  return rows.map((r) => r.id);
}

/** Drops parsed uploads older than a day and extension numbers past their life. */
export async function housekeeping(db: Queryable): Promise<void> {
  await db.query(`DELETE FROM sms_upload_lists WHERE created_at < now() - interval '1 day'`);
  await db.query('DELETE FROM sms_extensions WHERE expires_at < now()');
}
