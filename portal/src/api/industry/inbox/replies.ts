import type { SmsReply } from '@geo/messaging';
import type { IndustryRuntime } from '../dispatch/runtime.ts';

/**
 * Files a reply (MO) in the inbox, once per reply id, under the send it answers: the send id when
 * messaging matched it, else its extension number (given, or after the enterprise's access number).
 * Messaging forwards replies to the send's forward phone; the inbox records that it did.
 */
export async function recordReply(rt: IndustryRuntime, reply: SmsReply): Promise<void> {
  const { db } = rt.deps;
  const { rows: ent } = await db.query<{ access_number: string }>('SELECT access_number FROM enterprises WHERE id = $1', [
    reply.enterpriseId,
  ]);
  if (!ent[0]) return; // an enterprise that no longer exists: nothing to file it under
  let send: { id: string; account_id: string; forward_to: string | null; signature: string } | undefined;
  if (reply.sendId) {
    const { rows } = await db.query<NonNullable<typeof send>>(
      'SELECT id, account_id, forward_to, signature FROM sms_sends WHERE id = $1 AND enterprise_id = $2',
      [reply.sendId, reply.enterpriseId],
    );
    send = rows[0];
  }
  const access = ent[0].access_number;
  const given = (reply as { extension?: string }).extension;
  if (!send && (given || (access && reply.to.startsWith(access) && reply.to.length > access.length))) {
    const ext = given || reply.to.slice(access.length);
    const { rows } = await db.query<NonNullable<typeof send>>(
      `SELECT s.id, s.account_id, s.forward_to, s.signature FROM sms_extensions x JOIN sms_sends s ON s.id = x.send_id
        WHERE x.enterprise_id = $1 AND x.extension = $2`,
      [reply.enterpriseId, ext],
    );
    send = rows[0];
  }
  // Messaging forwards the reply itself (it knows the extension's forward phone); we only record it.
  const forwarded = (reply as { forwardedJobId?: string }).forwardedJobId ? (send?.forward_to ?? '') : null;
  await db.query(
    `INSERT INTO sms_inbox (id, enterprise_id, account_id, send_id, from_msisdn, to_number, text, forwarded_to, received_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9 / 1000.0)) ON CONFLICT (id) DO NOTHING`,
    [
      reply.replyId,
      reply.enterpriseId,
      send?.account_id ?? reply.accountId ?? null,
      send?.id ?? null,
      reply.from,
      reply.to,
      reply.text,
      forwarded,
      reply.at,
    ],
  );
}
