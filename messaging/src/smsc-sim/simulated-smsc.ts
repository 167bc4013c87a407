import type { SmsCarrier } from '../contract.ts';
import { STATUS, type ReceiptStat } from '../smpp/protocol.ts';

/**
 * What every simulated carrier gateway (SMPP SMSC, CMPP, SMGP and SGIP gateways) is to tests, the
 * simulator's HTTP inspection and the portal: its behaviour knobs, what it received, its counts.
 */

export interface SmscBehaviour {
  /** Delay before submit_sm_resp, ms. */
  latencyMs: number;
  /** Share of accepted messages that end DELIVRD; of the rest, `expiredShare` end EXPIRED, others UNDELIV. */
  successRate: number;
  expiredShare: number;
  /** Share of submits refused at once with `rejectStatus` (a permanent error). */
  rejectRate: number;
  rejectStatus: number;
  /**
   * Parts per second accepted, counted as the strictest carriers count: at most this many submit_sm
   * in any 1,000 ms (a sliding window, not one reset each second); beyond it ESME_RTHROTTLED. 0 = no limit.
   */
  throttlePerSecond: number;
  /**
   * Binds the account (system_id) may hold at once; a bind beyond it is refused with ESME_RBINDFAIL
   * and the link closed, as carriers enforce the binds they granted. 0 = no limit.
   */
  maxBinds: number;
  /** Drop the connection, unanswered PDUs and all, after this many submit_sm on it. 0 = never. */
  disconnectAfter: number;
  /** Delay between submit_sm_resp and the receipt, ms. */
  receiptDelayMs: number;
  /** Share of delivered messages the handset replies to. */
  moRate: number;
  moTexts: string[];
  moDelayMs: number;
  /** Fixed outcomes per destination number, for tests: a status code refuses the submit. */
  fates: Record<string, ReceiptStat | number>;
  /**
   * Refuse a submit_sm carrying any optional parameter (TLV) that SMPP 3.4 does not define for
   * submit_sm, such as a vendor TLV, with ESME_RTLVNOTALLWD (0xC1), as strict carrier gateways do.
   */
  strictOptionalParams: boolean;
}

export const DEFAULT_BEHAVIOUR: SmscBehaviour = {
  latencyMs: 0,
  successRate: 0.97,
  expiredShare: 0.3,
  rejectRate: 0,
  rejectStatus: STATUS.ESME_RINVDSTADR,
  throttlePerSecond: 0,
  maxBinds: 0,
  disconnectAfter: 0,
  receiptDelayMs: 20,
  moRate: 0,
  moTexts: ['收到', '好的，谢谢', '已知悉', 'TD'],
  moDelayMs: 50,
  fates: {},
  strictOptionalParams: false,
};

/** One submit_sm the SMSC accepted. */
export interface ReceivedPart {
  at: number;
  systemId: string;
  messageId: string;
  source: string;
  destination: string;
  dataCoding: number;
  text: string;
  concat?: { reference: number; total: number; part: number };
  clientRef?: string;
}

/** A whole message (all its parts arrived). */
export interface ReceivedMessage {
  at: number;
  source: string;
  destination: string;
  text: string;
  parts: number;
  messageIds: string[];
  clientRef?: string;
  dataCoding: number;
}

export interface SmscStats {
  carrier: SmsCarrier;
  binds: number;
  submits: number;
  accepted: number;
  throttled: number;
  rejected: number;
  dropped: number;
  disconnects: number;
  receiptsSent: number;
  receiptsPending: number;
  mosSent: number;
  /** The most binds held at once since start (or `clear`). */
  peakBinds: number;
  /** Binds refused because the account held `maxBinds` already. */
  bindsRefused: number;
  /** The most submit_sm received in any 1,000 ms (throttled ones included) since start (or `clear`). */
  peakPerSecond: number;
}

/** What became of a deliver_sm a test injected. */
export interface InjectedDelivery {
  id: string;
  /** Times it was sent (a refused one is sent again after `retryMs`, as a receipt is). */
  attempts: number;
  /** The last deliver_sm_resp command_status, once one came. */
  lastStatus?: number;
  /** Answered ESME_ROK: taken. */
  done: boolean;
}

export interface SimulatedSmsc {
  readonly carrier: SmsCarrier;
  readonly port: number;
  readonly behaviour: SmscBehaviour;
  readonly parts: ReceivedPart[];
  readonly messages: ReceivedMessage[];
  /** Messages kept for one destination number, oldest first. */
  messagesTo(msisdn: string): readonly ReceivedMessage[];
  stats(): SmscStats;
  /** Changes behaviour at run time (merged). */
  configure(b: Partial<SmscBehaviour>): void;
  /**
   * Sends a deliver_sm of a test's making to a bound receiver: `fields` as node-smpp takes them
   * (Buffers for short_message or message_payload are sent as they are), kept and sent again until
   * answered OK, like a receipt; or `raw` bytes written to the link as they are (an undecodable PDU).
   */
  inject(input: { fields: Record<string, unknown> } | { raw: Buffer }): InjectedDelivery;
  injected(id: string): InjectedDelivery | undefined;
  /** Drops every bound connection at once, unanswered PDUs included. */
  dropAll(): void;
  /** Forgets what it received (not what it still owes). */
  clear(): void;
  close(): Promise<void>;
}

/**
 * How the SMSC numbers the message ids it gives in submit_sm_resp and receipts:
 * - `prefixed`: the carrier and the start time before a counter (`cmccmk3x9a1`), unique across carriers;
 * - `sequential`: a plain decimal counter from 1 (`1`, `2`, …), as many real SMSCs do, so two carriers'
 *   SMSCs issue the same ids: nothing but the carrier and the bind tells their receipts apart.
 */
export type MessageIdStyle = 'prefixed' | 'sequential';

/** How many events fell in the last 1,000 ms (times in ms, non-decreasing). */
export class SlidingCount {
  private times: number[] = [];
  private head = 0;

  /** Counts an event at `now`; answers the events in (now − 1000, now]. */
  add(now: number): number {
    this.times.push(now);
    return this.count(now);
  }

  count(now: number): number {
    while (this.head < this.times.length && this.times[this.head]! <= now - 1000) this.head++;
    if (this.head > 4096 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }
}
