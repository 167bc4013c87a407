import { routeNumber, type SmsReply } from '@geo/messaging';
import type { IndustryRuntime } from './runtime.ts';

/**
 * Files a reply (MO) in the inbox, once per reply id, under the send it answers: the send id when
 * messaging matched it, else the extension number after the enterprise's access number. When that
 * send asked for replies to be forwarded, a job to the forward phone is published (job id
 * `fwd:<replyId>`, so a redelivered reply is not forwarded twice within the duplicate window, and
 * never twice at all because the inbox insert decides).
 */
export async function recordReply(rt: IndustryRuntime, reply: SmsReply): Promise<void> {
  const { db } = rt.deps;
  const { rows: ent } = await db.query<{ access_number: string }>('SELECT access_number FROM enterprises WHERE id = $1', [reply.enterpriseId]);
  if (!ent[0]) return; // an enterprise that no longer exists: nothing to file it under
  let send: { id: string; account_id: string; forward_to: string | null; signature: string } | undefined;
  if (reply.sendId) {
    const { rows } = await db.query<NonNullable<typeof send>>('SELECT id, account_id, forward_to, signature FROM sms_sends WHERE id = $1 AND enterprise_id = $2', [
      reply.sendId,
      reply.enterpriseId,
    ]);
    send = rows[0];
  }
  const access = ent[0].access_number;
  if (!send && access && reply.to.startsWith(access) && reply.to.length > access.length) {
    const ext = reply.to.slice(access.length);
    const { rows } = await db.query<NonNullable<typeof send>>(
      `SELECT s.id, s.account_id, s.forward_to, s.signature FROM sms_extensions x JOIN sms_sends s ON s.id = x.send_id
        WHERE x.enterprise_id = $1 AND x.extension = $2`,
      [reply.enterpriseId, ext],
    );
    send = rows[0];
  }
  const forwardTo = send?.forward_to ?? null;
  const { rowCount } = await db.query(
    `INSERT INTO sms_inbox (id, enterprise_id, account_id, send_id, from_msisdn, to_number, text, forwarded_to, received_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9 / 1000.0)) ON CONFLICT (id) DO NOTHING`,
    [reply.replyId, reply.enterpriseId, send?.account_id ?? reply.accountId ?? null, send?.id ?? null, reply.from, reply.to, reply.text, forwardTo, reply.at],
  );
  if (rowCount === 0 || !send || !forwardTo || !rt.publisher) return;
  const text = `${reply.from}回复：${reply.text}`.slice(0, 2000);
  const route = routeNumber(forwardTo);
  if (!route.ok) {
    rt.deps.log.warn({ forwardTo, reason: route.reason }, 'reply not forwarded: the forward phone cannot be routed');
    return;
  }
  await rt.publisher.publish([
    {
      jobId: `fwd:${reply.replyId}`,
      source: 'industry',
      enterpriseId: reply.enterpriseId,
      accountId: send.account_id,
      sendId: send.id,
      msisdn: route.msisdn,
      carrier: route.carrier,
      content: text,
      signature: send.signature,
      createdAt: Date.now(),
    },
  ]);
}
