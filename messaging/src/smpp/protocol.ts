import smpp from 'smpp';

/**
 * The SMPP 3.4 details both ends of our links agree on: command statuses, which of them are worth
 * retrying, the delivery-receipt text, and the vendor TLV that carries our job id.
 */

/**
 * Vendor TLV (0x1400–0x3FFF is reserved for SMSC vendors) with our job id, sent only by connectors
 * set to (`clientRefTlv`, env SMSC_CLIENT_REF_TLV): a strict SMSC refuses optional parameters it does
 * not know (ESME_RTLVNOTALLWD). An SMSC that echoes it in receipts lets a job whose submit_sm_resp
 * was lost in a crash be matched to its receipt by id; without it the receipt is matched by carrier,
 * SMSC and number (sender/uncertain-jobs.ts, `UncertainJobs.for`).
 */
export const CLIENT_REF_TLV = 0x1501;
smpp.addTLV('client_ref', { id: CLIENT_REF_TLV, type: smpp.types.tlv.cstring });

export const STATUS = {
  ESME_ROK: 0x00,
  ESME_RINVMSGLEN: 0x01,
  ESME_RSYSERR: 0x08,
  ESME_RINVDSTADR: 0x0b,
  ESME_RBINDFAIL: 0x0d,
  ESME_RINVPASWD: 0x0e,
  ESME_RINVSYSID: 0x0f,
  ESME_RMSGQFUL: 0x14,
  ESME_RSUBMITFAIL: 0x45,
  ESME_RTHROTTLED: 0x58,
  ESME_RX_T_APPN: 0x64,
  ESME_RX_P_APPN: 0x65,
  ESME_RINVBNDSTS: 0x04,
  /** Optional parameter not allowed (a strict SMSC refusing a vendor TLV). */
  ESME_RTLVNOTALLWD: 0xc1,
} as const;

const names = new Map<number, string>(Object.entries(smpp.errors).map(([k, v]) => [v, k]));

/** `ESME_RTHROTTLED` for 0x58, or `0x…` for a code the package does not name. */
export function statusName(status: number): string {
  return names.get(status) ?? `0x${status.toString(16).padStart(8, '0')}`;
}

/** Statuses after which the same PDU may succeed later: the SMSC did not take the message. */
const TEMPORARY = new Set<number>([
  STATUS.ESME_RTHROTTLED,
  STATUS.ESME_RMSGQFUL,
  STATUS.ESME_RSYSERR,
  STATUS.ESME_RX_T_APPN,
  STATUS.ESME_RINVBNDSTS,
]);
export const isTemporary = (status: number): boolean => TEMPORARY.has(status);

/** esm_class bits 2–5: message type; 0x04 is an SMSC delivery receipt. */
export const ESM_DELIVERY_RECEIPT = 0x04;
export const ESM_UDHI = 0x40;

/** SMPP message_state values for the final states. */
export const MESSAGE_STATE = { DELIVERED: 2, EXPIRED: 3, DELETED: 4, UNDELIVERABLE: 5, REJECTED: 8 } as const;
export type ReceiptStat = 'DELIVRD' | 'UNDELIV' | 'EXPIRED' | 'REJECTD' | 'DELETED' | 'UNKNOWN';

const stamp = (d: Date) =>
  [d.getUTCFullYear() % 100, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()]
    .map((n) => String(n).padStart(2, '0'))
    .join('');

/** The de-facto receipt text (SMPP 3.4 appendix B). */
export function formatReceiptText(r: { id: string; stat: ReceiptStat; err: string; submitted: Date; done: Date; text: string }): string {
  return `id:${r.id} sub:001 dlvrd:${r.stat === 'DELIVRD' ? '001' : '000'} submit date:${stamp(r.submitted)} done date:${stamp(r.done)} stat:${r.stat} err:${r.err} text:${r.text.slice(0, 20)}`;
}

/** Reads id, stat and err from a receipt text; fields missing from the text are undefined. */
export function parseReceiptText(text: string): { id?: string; stat?: string; err?: string } {
  return {
    id: /(?:^|\s)id:(\S+)/i.exec(text)?.[1],
    stat: /stat:(\S+)/i.exec(text)?.[1]?.toUpperCase(),
    err: /err:(\S+)/i.exec(text)?.[1],
  };
}

export const stateOfStat = (stat: string | undefined): 'delivered' | 'expired' | 'rejected' | 'failed' =>
  stat === 'DELIVRD' ? 'delivered' : stat === 'EXPIRED' ? 'expired' : stat === 'REJECTD' ? 'rejected' : 'failed';

export const statOfMessageState = (s: number | undefined): ReceiptStat | undefined =>
  s === MESSAGE_STATE.DELIVERED
    ? 'DELIVRD'
    : s === MESSAGE_STATE.EXPIRED
      ? 'EXPIRED'
      : s === MESSAGE_STATE.UNDELIVERABLE
        ? 'UNDELIV'
        : s === MESSAGE_STATE.REJECTED
          ? 'REJECTD'
          : s === MESSAGE_STATE.DELETED
            ? 'DELETED'
            : undefined;

/** Default credentials shared by the simulated SMSC and the connector (SMPP passwords are ≤ 8 chars). */
export const DEFAULT_SYSTEM_ID = 'geoalert';
export const DEFAULT_PASSWORD = 'sim-pass';
/** Default access numbers (接入号) per carrier; an extension is appended to them. */
export const DEFAULT_ACCESS_NUMBER = { cmcc: '106571', cucc: '106551', ctcc: '106591' } as const;
