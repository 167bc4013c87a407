import { countMessage, type MessageCheck } from '../text/compose.ts';

/**
 * The charging rule: a send costs, for each recipient, the segments of every one of its tasks
 * (billing count = segments, signature included). The account and its enterprise are both charged;
 * a send that would overdraw either is refused before it is queued.
 *
 * Pure: the portal calls it, then decrements both balances in the same database transaction that
 * records the send (a conditional `UPDATE … WHERE remaining >= charge`), and only then publishes jobs.
 */

export interface SendToCharge {
  signature: string;
  /** One content for every recipient (single and batch sends)… */
  content?: string;
  recipients?: number;
  /** …or one content per recipient (定制发送, mail-merge). */
  contents?: readonly string[];
}

export type Charge =
  | { ok: true; segments: number; perRecipient?: number; messages: number }
  | { ok: false; code: 'EMPTY' | 'UNENCODABLE' | 'TOO_LONG' | 'NO_RECIPIENTS'; reason: string; index?: number };

/**
 * Billing count of a whole send.
 *
 * @example
 * chargeFor({ signature: '气象台', content: '明日有暴雨', recipients: 1000 }) // { ok: true, segments: 1000, perRecipient: 1, messages: 1000 }
 */
export function chargeFor(send: SendToCharge): Charge {
  if (send.contents) {
    if (send.contents.length === 0) return { ok: false, code: 'NO_RECIPIENTS', reason: '没有接收号码' };
    let segments = 0;
    const cache = new Map<string, MessageCheck>();
    for (let i = 0; i < send.contents.length; i++) {
      const content = send.contents[i]!;
      let c = cache.get(content);
      if (!c) cache.set(content, (c = countMessage(send.signature, content)));
      if (!c.ok) return { ok: false, code: c.code, reason: `第 ${i + 1} 条：${c.reason}`, index: i };
      segments += c.segments;
    }
    return { ok: true, segments, messages: send.contents.length };
  }
  const recipients = send.recipients ?? 0;
  if (recipients <= 0) return { ok: false, code: 'NO_RECIPIENTS', reason: '没有接收号码' };
  const c = countMessage(send.signature, send.content ?? '');
  if (!c.ok) return { ok: false, code: c.code, reason: c.reason };
  return { ok: true, segments: c.segments * recipients, perRecipient: c.segments, messages: recipients };
}

export interface Balances {
  /** Sendable segments left on the account (sub-account) that sends. */
  account: number;
  /** Sendable segments left on its enterprise. */
  enterprise: number;
}

export type BalanceCheck =
  { ok: true; after: Balances } | { ok: false; code: 'ACCOUNT_BALANCE' | 'ENTERPRISE_BALANCE'; reason: string; short: number };

/** Whether both balances cover `segments`, and what is left after charging them. */
export function checkBalance(balances: Balances, segments: number): BalanceCheck {
  if (segments > balances.account) {
    return {
      ok: false,
      code: 'ACCOUNT_BALANCE',
      reason: `账户余额不足：需要 ${segments} 条，剩余 ${balances.account} 条`,
      short: segments - balances.account,
    };
  }
  if (segments > balances.enterprise) {
    return {
      ok: false,
      code: 'ENTERPRISE_BALANCE',
      reason: `企业余额不足：需要 ${segments} 条，剩余 ${balances.enterprise} 条`,
      short: segments - balances.enterprise,
    };
  }
  return { ok: true, after: { account: balances.account - segments, enterprise: balances.enterprise - segments } };
}
