import type { OutboundSms, SubmitOutcome } from '../smpp/connector.ts';
import { Bind, LinkConnector } from '../smpp/link-connector.ts';
import { stateOfStat } from '../smpp/protocol.ts';
import { MAX_DELIVER_TEXT } from '../smpp/smpp-connector.ts';
import type { EncodedSms } from '../text/segment-text.ts';
import { MSG_FMT } from './codec.ts';
import type { CmppLink, Outgoing } from './cmpp-link.ts';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * What the connectors of the Chinese gateway protocols (CMPP, SMGP, SGIP) share beyond
 * {@link LinkConnector}: a {@link CmppLink} per bind (length-framed PDUs), no GSM-7 (a text that is
 * not ASCII is refused as `<PROTOCOL>_UNENCODABLE`), a logout PDU on close, a link heard from on
 * any data and down on error or close. Each protocol writes its login, its Submit and reads its
 * Delivers; `partContent` and `readReplyText` are the body rules the three share.
 */
export abstract class FramedConnector<P extends { seq: number; command: string }> extends LinkConnector<CmppLink<P>> {
  /** The PDU that ends a session politely (CMPP_TERMINATE, SMGP Exit, SGIP Unbind). */
  protected abstract logout(): Outgoing<P>;

  /** Refuses at once what these protocols cannot carry in our encodings (GSM-7 text that is not ASCII). */
  override submit(sms: OutboundSms): Promise<SubmitOutcome> {
    if (sms.encoded.encoding === 'gsm7' && sms.encoded.texts.some((t) => !/^[\x20-\x7e\r\n]*$/.test(t)))
      return Promise.resolve({ ok: false, code: `${this.protocol}_UNENCODABLE`, messageIds: [] });
    return super.submit(sms);
  }

  protected isGone(link: CmppLink<P>): boolean {
    return link.gone;
  }

  protected destroyLink(link: CmppLink<P>): void {
    link.socket.destroy();
  }

  protected closeLink(b: Bind<CmppLink<P>>): Promise<void> {
    const link = b.link!;
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => link.socket.destroy(), 1000);
      link.socket.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      if (!b.bound || link.request(this.logout(), () => link.socket.end()) === false) link.socket.destroy();
      else link.flush();
    });
  }

  /** Follows a dialled link: heard from on any data, down on an error (logged) or close. */
  protected watchLink(b: Bind<CmppLink<P>>, link: CmppLink<P>): void {
    const s = link.socket;
    s.on('data', () => void (b.lastHeard = Date.now()));
    s.on('error', (err: Error) => {
      this.log?.warn({ carrier: this.carrier, bind: b.n, err: err.message }, `${this.protocol} link error`);
      this.linkDown(b, link);
    });
    s.on('close', () => this.linkDown(b, link));
  }

  /** A login answered OK whose authenticator is checked: the link is up, kept alive with `activeTest`. */
  protected loggedIn(b: Bind<CmppLink<P>>, status: number, authenticatorOk: () => boolean, activeTest?: Outgoing<P>): void {
    const link = b.link!;
    if (status !== 0) {
      this.log?.error({ carrier: this.carrier, status }, `${this.protocol} login refused`);
      link.socket.destroy();
      return;
    }
    // The gateway proves it knows the secret too.
    if (!authenticatorOk()) {
      this.log?.error({ carrier: this.carrier }, `${this.protocol} gateway answered with a wrong authenticator; not using the link`);
      link.socket.destroy();
      return;
    }
    this.linkUp(b, () => {
      if (activeTest) void link.request(activeTest, () => void (b.lastHeard = Date.now()));
    });
  }

  /**
   * Records what a gateway delivered: a malformed one dead-lettered (and taken, so it is not sent
   * again and again), a status report or a reply handed on. True when taken; false asks the gateway
   * to send it again later (not recorded now, or the handler failed).
   */
  protected async takeDelivery(
    read: () => { text: string; problem?: string; receipt?: { messageId: string; stat: string; msisdn: string; err?: string } },
    fields: (text: string) => Record<string, unknown>,
    reply: { from: string; to: string; ref: string },
  ): Promise<boolean> {
    try {
      const r = read();
      if (r.problem) {
        this.counts.badDelivers++;
        await this.badHandler({ carrier: this.carrier, reason: r.problem, fields: fields(r.text), at: Date.now() });
        return true;
      }
      if (r.receipt) {
        const { messageId, stat, msisdn, err } = r.receipt;
        return await this.receiptHandler({
          carrier: this.carrier,
          smscId: this.smscId,
          messageId,
          stat,
          state: stateOfStat(stat),
          ...(err !== undefined ? { err } : {}),
          msisdn,
          at: Date.now(),
        });
      }
      return await this.replyHandler({ carrier: this.carrier, ...reply, text: r.text, at: Date.now() });
    } catch (err) {
      this.log?.error({ err, carrier: this.carrier }, `${this.protocol} deliver handler failed; the gateway will send it again`);
      return false;
    }
  }
}

/** One part's body and its Msg_Fmt / MsgFormat / MessageCoding: UCS-2 as encoded, else ASCII behind the same UDH. */
export function partContent(enc: EncodedSms, index: number): { content: Buffer; format: number } {
  if (enc.encoding === 'ucs2') return { content: enc.parts[index]!, format: MSG_FMT.UCS2 };
  const text = Buffer.from(enc.texts[index]!, 'latin1');
  return {
    content: enc.parts.length > 1 ? Buffer.concat([enc.parts[index]!.subarray(0, 6), text]) : text,
    format: MSG_FMT.ASCII,
  };
}

/**
 * A reply's (MO's) text from its body: a long MO's UDH dropped (the part taken as it is), UCS-2,
 * GBK or ASCII; or what is wrong with it (odd UCS-2, another format, a lone surrogate, oversized,
 * undecodable, no valid sender number). `field` names the format field in the messages.
 */
export function readReplyText(
  format: number,
  content: Buffer,
  udhi: boolean,
  sender: string,
  field: string,
): { text: string; problem?: string } {
  let raw = content;
  if (udhi && raw.length > 0 && raw[0]! + 1 <= raw.length) raw = raw.subarray(raw[0]! + 1);
  let text: string;
  if (format === MSG_FMT.UCS2) {
    if (raw.length % 2 === 1) return { text: raw.toString('hex'), problem: `UCS-2 text of an odd length (${raw.length} bytes)` };
    text = Buffer.from(raw).swap16().toString('utf16le');
  } else if (format === MSG_FMT.GB) text = new TextDecoder('gbk').decode(raw);
  else if (format === MSG_FMT.ASCII) text = raw.toString('latin1');
  else return { text: raw.toString('hex'), problem: `unsupported ${field} ${format}` };
  if (LONE_SURROGATE.test(text))
    return { text: Buffer.from(text, 'utf16le').toString('hex'), problem: 'text is not valid UTF-16 (a lone surrogate)' };
  if (text.length > MAX_DELIVER_TEXT) return { text: text.slice(0, 200), problem: `oversized text (${text.length} characters)` };
  if (text.includes('\uFFFD')) return { text, problem: `reply text not decodable as ${field} ${format}` };
  if (!/^\+?\d{3,21}$/.test(sender)) return { text, problem: 'reply without a valid sender number' };
  return { text };
}
