import { createHash } from 'node:crypto';
import type { SmsCarrier, SmsJob, SmsReply } from '../contract.ts';
import type { CarrierReply } from '../smpp/connector.ts';
import { normalizeMsisdn, routeNumber } from '../routing/number-routing.ts';
import { extensionOf, replyReason, type ReplyReason } from '../replies/reply-reason.ts';
import type { SenderContext } from './context.ts';

/**
 * Replies (MO) to SmsReply events: matched to the send by the extension of the number they were
 * sent to, forwarded as an SMS when the send asks so; unmatched ones are counted by reason.
 */
export class Replies {
  constructor(private readonly c: SenderContext) {}

  async onReply(mo: CarrierReply): Promise<boolean> {
    const access = this.c.o.accessNumbers[mo.carrier];
    const extension = extensionOf(mo.to, access);
    const ext = extension ? await this.c.o.extensions.state(extension) : undefined;
    const entry = ext?.state === 'live' ? ext.entry : undefined;
    if (!entry) {
      const reason = replyReason({
        to: mo.to,
        access,
        extension: ext?.state,
        lastSource: extension === '' ? await this.lastSourceTo(mo.carrier, mo.from) : undefined,
      });
      this.c.counts.unmatchedReplies++;
      this.c.metrics.replies.inc({ carrier: mo.carrier, reason });
      const fault = reason === 'unknown_extension' || reason === 'other_number';
      this.c.o.log[fault ? 'warn' : 'debug']({ to: mo.to, from: mo.from, reason }, 'reply matched to no send; not published');
      return true;
    }
    const replyId = mo.ref ?? createHash('sha1').update(`${mo.carrier}|${mo.from}|${mo.to}|${mo.text}`).digest('hex').slice(0, 24);
    let forwardedJobId: string | undefined;
    if (entry.forwardTo) {
      const route = routeNumber(entry.forwardTo);
      if (route.ok) {
        forwardedJobId = `fwd-${replyId}`;
        const fwd: SmsJob = {
          jobId: forwardedJobId,
          source: 'industry',
          enterpriseId: entry.enterpriseId,
          accountId: entry.accountId,
          sendId: entry.sendId,
          msisdn: route.msisdn,
          carrier: route.carrier,
          content: `${mo.from}回复：${mo.text}`.slice(0, 2000),
          signature: (entry.signature ?? '回复转发').slice(0, 20),
          createdAt: Date.now(),
        };
        await this.c.js.publish(this.c.names.jobSubject(route.carrier), JSON.stringify(fwd), { msgID: forwardedJobId });
      }
    }
    const reply: SmsReply = {
      replyId,
      enterpriseId: entry.enterpriseId,
      accountId: entry.accountId,
      sendId: entry.sendId,
      from: mo.from,
      to: mo.to,
      text: mo.text,
      carrier: mo.carrier,
      extension: extension!,
      forwardedJobId,
      at: mo.at,
    };
    await this.c.js.publish(this.c.names.replySubject(entry.enterpriseId), JSON.stringify(reply), { msgID: `reply:${replyId}` });
    this.c.counts.replies++;
    this.c.metrics.replies.inc({ carrier: mo.carrier, reason: 'matched' satisfies ReplyReason });
    return true;
  }

  /** The source of the last SMS to the number (see `SendRecords.lastSourceTo`). */
  private lastSourceTo(carrier: SmsCarrier, from: string): Promise<'alert' | 'industry' | undefined> {
    const msisdn = normalizeMsisdn(from);
    if (!msisdn) return Promise.resolve(undefined);
    return this.c.records.lastSourceTo(carrier, msisdn);
  }
}
