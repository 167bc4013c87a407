import { CLIENT_REF_TLV } from './protocol.ts';

/**
 * The two PDUs our SMPP connector writes for every SMS, written by hand (SMPP 3.4 §4.4.1 submit_sm,
 * §4.6.2 deliver_sm_resp) instead of through node-smpp's generic PDU object: there, each PDU is an
 * object whose fields are filtered, sized and written by walking its command table twice, which
 * cost more CPU per SMS than the rest of the SMPP exchange (bench:messaging profile). node-smpp still
 * does binds, enquire_link, unbind and all reading. The layouts are checked against the spec's
 * field order in `submit-codec.test.ts`, byte for byte against node-smpp, and against the Net::SMPP
 * and Kannel peers in `proof/src/peers/`.
 */

export const SUBMIT_SM = 0x00000004;
export const DELIVER_SM_RESP = 0x80000005;
const HEADER = 16;
/** SMPP 3.4 source_addr / destination_addr: C-Octet Strings of at most 21 octets with the NULL. */
const MAX_ADDR = 20;
/** short_message: at most 254 octets (sm_length is one octet). */
const MAX_SHORT_MESSAGE = 254;

export interface SubmitSm {
  sequence: number;
  /** Access number plus extension (source_addr_ton 0, npi 0: unknown, as the carriers' SMSCs take them). */
  source: string;
  /** The handset (dest_addr_ton 2 national, npi 1 ISDN). */
  destination: string;
  /** 0, or ESM_UDHI (0x40) when short_message starts with a UDH. */
  esmClass: number;
  dataCoding: number;
  /** The part's bytes as sent, its UDH included. */
  shortMessage: Buffer;
  /** Our job id in the vendor TLV 0x1501, when the connector sends it. */
  clientRef?: string;
}

function addressOk(a: string): boolean {
  if (a.length > MAX_ADDR) return false;
  for (let i = 0; i < a.length; i++) if (a.charCodeAt(i) > 0x7e || a.charCodeAt(i) < 0x20) return false;
  return true;
}

/**
 * One submit_sm: header, the mandatory parameters in the order of §4.4.1 (service_type "",
 * registered_delivery 1: a receipt for every part; schedule and validity empty: at once, the
 * SMSC's default), then client_ref when given.
 */
export function encodeSubmitSm(p: SubmitSm): Buffer {
  if (!addressOk(p.source) || !addressOk(p.destination))
    throw new RangeError('submit_sm: an address is not ASCII of at most 20 characters');
  if (p.shortMessage.length > MAX_SHORT_MESSAGE)
    throw new RangeError(`submit_sm: short_message of ${p.shortMessage.length} octets (at most 254)`);
  const ref = p.clientRef === undefined ? 0 : 4 + Buffer.byteLength(p.clientRef, 'latin1') + 1;
  const length = HEADER + 1 + 2 + p.source.length + 1 + 2 + p.destination.length + 1 + 3 + 1 + 1 + 5 + p.shortMessage.length + ref;
  const b = Buffer.allocUnsafe(length);
  b.writeUInt32BE(length, 0);
  b.writeUInt32BE(SUBMIT_SM, 4);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(p.sequence, 12);
  let o = HEADER;
  b[o++] = 0; // service_type ""
  b[o++] = 0; // source_addr_ton
  b[o++] = 0; // source_addr_npi
  o += b.write(p.source, o, 'latin1');
  b[o++] = 0;
  b[o++] = 2; // dest_addr_ton: national
  b[o++] = 1; // dest_addr_npi: ISDN (E.164)
  o += b.write(p.destination, o, 'latin1');
  b[o++] = 0;
  b[o++] = p.esmClass;
  b[o++] = 0; // protocol_id
  b[o++] = 0; // priority_flag
  b[o++] = 0; // schedule_delivery_time "": at once
  b[o++] = 0; // validity_period "": the SMSC's default
  b[o++] = 1; // registered_delivery: a receipt, delivered or failed
  b[o++] = 0; // replace_if_present_flag
  b[o++] = p.dataCoding;
  b[o++] = 0; // sm_default_msg_id
  b[o++] = p.shortMessage.length; // sm_length
  o += p.shortMessage.copy(b, o);
  if (p.clientRef !== undefined) {
    b.writeUInt16BE(CLIENT_REF_TLV, o);
    b.writeUInt16BE(ref - 4, o + 2);
    o += 4;
    o += b.write(p.clientRef, o, 'latin1');
    b[o] = 0;
  }
  return b;
}

/** A deliver_sm_resp: status 0 carries message_id "" (unused, one NULL octet); any other status has no body (§4.6.2, as node-smpp writes it). */
export function encodeDeliverSmResp(sequence: number, status: number): Buffer {
  const length = status === 0 ? HEADER + 1 : HEADER;
  const b = Buffer.alloc(length);
  b.writeUInt32BE(length, 0);
  b.writeUInt32BE(DELIVER_SM_RESP, 4);
  b.writeUInt32BE(status >>> 0, 8);
  b.writeUInt32BE(sequence, 12);
  return b;
}
