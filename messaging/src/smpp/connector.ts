import type { SmsCarrier } from '../contract.ts';
import type { EncodedSms } from '../text/segment-text.ts';

/**
 * A carrier link, whatever its protocol (SMPP here; CMPP or SGIP would be files beside it).
 * It submits messages within the carrier's window and throughput, retries what the carrier
 * refused for now, and hands receipts and replies to whoever listens.
 */
export interface CarrierConnector {
  readonly carrier: SmsCarrier;
  /**
   * Which SMSC of the carrier this link binds to. A message id is unique only within the SMSC that
   * gave it (invariant 8): receipts are matched by (carrier, smscId, message id).
   */
  readonly smscId: string;
  /**
   * Submits all parts of one message. Resolves once every part was accepted, or a part was
   * refused for good (then `ok: false` with the carrier's code; parts already accepted are listed).
   * Temporary refusals (throttling, a full queue, a dropped link) are retried inside.
   */
  submit(sms: OutboundSms): Promise<SubmitOutcome>;
  /** Receipts: the handler says whether it recorded the receipt; if not, the carrier sends it again later. */
  onReceipt(handler: (r: CarrierReceipt) => Promise<boolean>): void;
  onReply(handler: (mo: CarrierReply) => Promise<boolean>): void;
  /**
   * A deliver_sm that cannot be a receipt or a reply (no message id, undecodable or oversized
   * text, an undecodable PDU): the handler records it (dead letter) and the carrier is answered
   * OK, so it does not send it again and again; if the handler throws, the carrier is asked to
   * send it again later.
   */
  onBadDeliver(handler: (bad: BadDeliver) => Promise<void>): void;
  status(): ConnectorStatus;
  /** Resolves when at least one bind is up (or rejects after `timeoutMs`). */
  ready(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface OutboundSms {
  /** Our id; sent along (client_ref TLV) when the connector is set to, so an echoing carrier can return it in the receipt. */
  ref: string;
  msisdn: string;
  /** Access number plus extension. */
  source: string;
  encoded: EncodedSms;
  /**
   * Called once when the first part is about to go out (window slot and throughput taken).
   * Resolving false cancels the message: it is never sent. This is where the sender records its
   * claim, so that a claim exists only for messages on the wire, not for ones waiting in a queue.
   */
  beforeSend?: () => Promise<boolean>;
}

export type SubmitOutcome =
  | { ok: true; messageIds: string[] }
  | { ok: false; cancelled: true; messageIds: [] }
  /**
   * No bind slot of the carrier is held here any more (leased binds): the message was not sent, or
   * only partly (`claimed`: its claim was stored; `written`: a part was written to a link, so it may
   * be on the wire). Its job goes back to
   * the queue for an instance that holds a slot.
   */
  | { ok: false; cancelled?: false; handedBack: true; claimed: boolean; written: boolean; code: 'HANDED_BACK'; messageIds: string[] }
  | { ok: false; cancelled?: false; handedBack?: false; code: string; messageIds: string[] };

export interface CarrierReceipt {
  carrier: SmsCarrier;
  /** The SMSC whose bind delivered the receipt (see {@link CarrierConnector.smscId}). */
  smscId: string;
  messageId: string;
  state: 'delivered' | 'failed' | 'expired' | 'rejected';
  /** DELIVRD, UNDELIV, … */
  stat: string;
  err?: string;
  /** Our ref when the carrier echoes it. */
  ref?: string;
  msisdn: string;
  at: number;
}

export interface CarrierReply {
  carrier: SmsCarrier;
  /** The handset. */
  from: string;
  /** Access number plus extension. */
  to: string;
  text: string;
  /** A carrier id for the reply when it has one (used to de-duplicate). */
  ref?: string;
  at: number;
}

export interface ConnectorStatus {
  carrier: SmsCarrier;
  binds: number;
  /** Slots this instance holds (all of them unless binds are leased). */
  held: number;
  bound: number;
  queued: number;
  inFlight: number;
  submitted: number;
  throttled: number;
  retried: number;
  reconnects: number;
  /** deliver_sm refused as malformed, and PDUs that could not be decoded (the bind was dropped). */
  badDelivers: number;
}

/** A deliver_sm (or an undecodable PDU) that messaging refuses, with the reason. */
export interface BadDeliver {
  carrier: SmsCarrier;
  /** Short, stable: what is wrong (e.g. `receipt without a message id`). */
  reason: string;
  /** The PDU's fields as decoded (absent when the PDU could not be decoded at all). */
  fields?: Record<string, unknown>;
  at: number;
}
