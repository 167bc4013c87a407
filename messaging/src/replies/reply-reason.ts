/**
 * Why a reply (MO) was or was not matched to a send, as the `reason` label of `sms_replies_total`.
 *
 * A reply finds its send through the extension (扩展码) after the carrier's access number: a send
 * that asks for replies gets one, and every SMS of it goes out from access number + extension.
 * An alert task asking for check-in answers (#21: "回复1表示安全，回复2表示需要帮助") has its own
 * extension too. Everything else goes out from the bare access number: other alert SMS and industry
 * sends that asked for no reply. A handset's answer to those comes to the bare access number and
 * belongs to no send: expected, not a fault. So:
 *
 * - `matched`: to a live extension; published as an SmsReply (and forwarded when asked).
 * - `alert`: to the bare access number from a number whose last SMS from us (7 days) was an alert.
 * - `no_extension`: to the bare access number otherwise (an industry SMS that asked for no reply).
 * - `expired`: to an extension whose send stopped taking replies (7 days after it was sent).
 * - `checkin_closed`: to the extension of an alert's check-in that the operator (or the end of its
 *   task) closed: a late answer, counted and not recorded; the extension stays held a while so
 *   that such answers are told apart from faults.
 * - `unknown_extension`: to an extension no send has: a real problem (a lost registration, a
 *   producer's own extension never registered, or a handset typing a wrong number).
 * - `other_number`: to a number that is not this carrier's access number: a real problem
 *   (a misrouted MO, a wrong access number in the configuration).
 */
export type ReplyReason = 'matched' | 'alert' | 'no_extension' | 'expired' | 'checkin_closed' | 'unknown_extension' | 'other_number';

/** What is known of the number a reply came to. */
export interface ReplyFacts {
  /** The reply's destination (access number + extension). */
  to: string;
  /** The carrier's access number. */
  access: string;
  /** The extension's registration: live, a closed check-in, expired, or none (only asked when there is an extension). */
  extension?: 'live' | 'closed' | 'expired' | 'none';
  /** The source of the last SMS we sent the replying number (only asked for a bare access number). */
  lastSource?: 'alert' | 'industry';
}

/** The extension a reply came to ('' for the bare access number), or undefined when `to` is not our access number. */
export function extensionOf(to: string, access: string): string | undefined {
  return to.startsWith(access) ? to.slice(access.length) : undefined;
}

export function replyReason(f: ReplyFacts): ReplyReason {
  const ext = extensionOf(f.to, f.access);
  if (ext === undefined) return 'other_number';
  if (ext === '') return f.lastSource === 'alert' ? 'alert' : 'no_extension';
  if (f.extension === 'live') return 'matched';
  if (f.extension === 'closed') return 'checkin_closed';
  return f.extension === 'expired' ? 'expired' : 'unknown_extension';
}
