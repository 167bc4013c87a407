import smpp, { type Pdu, type Session } from 'smpp';
import { CLIENT_REF_TLV, ESM_DELIVERY_RECEIPT, ESM_UDHI } from './protocol.ts';

/**
 * Reads an SMPP session's socket in place of node-smpp's reader, for the two PDUs that come once
 * per SMS part: submit_sm_resp and a deliver_sm that is a delivery receipt are decoded here (SMPP
 * 3.4 §4.4.2, §4.6.1 and the TLVs of §5.3.2 that receipts carry); every other PDU (bind and
 * enquire_link responses, replies, unbind, generic_nack, anything unusual in a receipt) is
 * decoded by node-smpp as before. node-smpp read each PDU with two `socket.read` calls and decoded
 * it through its generic PDU (field filters, its GSM decoder for each receipt's text), ~7 % of
 * messaging's busy time in the SMPP drain. PDUs go to the session's listeners and response
 * callbacks exactly as node-smpp hands them on ('pdu', then the command's event, then the
 * callback of a response).
 */
export const SUBMIT_SM_RESP = 0x80000004;
export const DELIVER_SM = 0x00000005;
/** node-smpp's limit, kept: a longer command_length is a broken stream. */
const MAX_PDU = 16384;
const TLV = { RECEIPTED_MESSAGE_ID: 0x001e, MESSAGE_STATE: 0x0427, MESSAGE_PAYLOAD: 0x0424 } as const;

export class PduReader {
  private pending: Buffer = Buffer.alloc(0);
  /** PDUs decoded here, and by node-smpp. */
  readonly counts = { fast: 0, generic: 0 };

  constructor(private readonly session: Session) {
    const socket = session.socket;
    // node-smpp's own reader (`_extractPDUs`) is its only 'readable' listener.
    socket.removeAllListeners('readable');
    socket.on('readable', () => this.read());
  }

  private read(): void {
    const socket = this.session.socket;
    for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null;) {
      const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
      let o = 0;
      while (buf.length - o >= 4) {
        const length = buf.readUInt32BE(o);
        if (length < 16 || length > MAX_PDU) {
          this.pending = Buffer.alloc(0);
          // As node-smpp: an error without a code is an undecodable stream (the bind is dropped).
          this.session.emit('error', new Error(`PDU length ${length} out of range (16 to ${MAX_PDU})`));
          return;
        }
        if (buf.length - o < length) break;
        this.dispatch(buf.subarray(o, o + length));
        o += length;
      }
      this.pending = o === buf.length ? Buffer.alloc(0) : buf.subarray(o);
    }
  }

  private dispatch(frame: Buffer): void {
    let pdu: Pdu | undefined;
    const id = frame.readUInt32BE(4);
    if (id === SUBMIT_SM_RESP) pdu = decodeSubmitSmResp(frame);
    else if (id === DELIVER_SM) pdu = decodeReceipt(frame);
    if (pdu) this.counts.fast++;
    else {
      this.counts.generic++;
      try {
        pdu = new (smpp.PDU as unknown as new (b: Buffer) => Pdu)(frame);
      } catch (err) {
        this.session.emit('error', err);
        return;
      }
    }
    const s = this.session;
    s.emit('pdu', pdu);
    s.emit(pdu.command, pdu);
    if (pdu.isResponse()) {
      const cb = s._callbacks[pdu.sequence_number];
      if (cb) {
        delete s._callbacks[pdu.sequence_number];
        cb(pdu);
      }
    }
  }
}

/**
 * A PDU decoded here, with node-smpp's field names; a response to it is built by node-smpp. A class
 * (methods on its prototype), not an object of closures: one per SMS part.
 */
class DecodedPdu {
  readonly command_length: number;
  readonly command_id: number;
  readonly command_status: number;
  readonly sequence_number: number;

  constructor(
    private readonly frame: Buffer,
    readonly command: string,
    fields: Record<string, unknown>,
  ) {
    this.command_length = frame.length;
    this.command_id = frame.readUInt32BE(4);
    this.command_status = frame.readUInt32BE(8);
    this.sequence_number = frame.readUInt32BE(12);
    Object.assign(this, fields);
  }

  isResponse(): boolean {
    return (this.command_id & 0x80000000) !== 0;
  }

  response(options?: Record<string, unknown>): Pdu {
    return new (smpp.PDU as unknown as new (b: Buffer) => Pdu)(this.frame).response(options);
  }
}

const decoded = (frame: Buffer, command: string, fields: Record<string, unknown>): Pdu =>
  new DecodedPdu(frame, command, fields) as unknown as Pdu;

/** A C-Octet String at `o` within `end`: its text (ASCII, as node-smpp reads it) and the offset after its NULL; undefined when unterminated. */
function cstring(b: Buffer, o: number, end: number): { value: string; next: number } | undefined {
  const z = b.indexOf(0, o);
  if (z < 0 || z >= end) return undefined;
  return { value: b.toString('ascii', o, z), next: z + 1 };
}

/** submit_sm_resp: the header, and message_id when there is a body (a refusal may have none). */
export function decodeSubmitSmResp(frame: Buffer): Pdu | undefined {
  if (frame.length === 16) return decoded(frame, 'submit_sm_resp', {});
  const id = cstring(frame, 16, frame.length);
  if (!id) return undefined;
  return decoded(frame, 'submit_sm_resp', { message_id: id.value });
}

/**
 * A deliver_sm that is a delivery receipt (esm_class message type 0x04, no UDH): the mandatory
 * fields, short_message as its bytes (readDeliver decodes it by data_coding), and the TLVs a
 * receipt may carry. Anything else (a reply, a receipt with a UDH, a field that runs past the end)
 * is left to node-smpp: undefined.
 */
export function decodeReceipt(frame: Buffer): Pdu | undefined {
  const end = frame.length;
  let o = 16;
  const serviceType = cstring(frame, o, end);
  if (!serviceType || serviceType.next + 2 > end) return undefined;
  o = serviceType.next;
  const sourceTon = frame[o++]!;
  const sourceNpi = frame[o++]!;
  const source = cstring(frame, o, end);
  if (!source || source.next + 2 > end) return undefined;
  o = source.next;
  const destTon = frame[o++]!;
  const destNpi = frame[o++]!;
  const dest = cstring(frame, o, end);
  if (!dest || dest.next + 3 > end) return undefined;
  o = dest.next;
  const esmClass = frame[o++]!;
  if ((esmClass & 0x3c) !== ESM_DELIVERY_RECEIPT || (esmClass & ESM_UDHI) !== 0) return undefined;
  const protocolId = frame[o++]!;
  const priority = frame[o++]!;
  const schedule = cstring(frame, o, end);
  if (!schedule) return undefined;
  const validity = cstring(frame, schedule.next, end);
  if (!validity || validity.next + 5 > end) return undefined;
  o = validity.next;
  const registeredDelivery = frame[o++]!;
  const replaceIfPresent = frame[o++]!;
  const dataCoding = frame[o++]!;
  const smDefaultMsgId = frame[o++]!;
  const smLength = frame[o++]!;
  if (o + smLength > end) return undefined;
  const fields: Record<string, unknown> = {
    service_type: serviceType.value,
    source_addr_ton: sourceTon,
    source_addr_npi: sourceNpi,
    source_addr: source.value,
    dest_addr_ton: destTon,
    dest_addr_npi: destNpi,
    destination_addr: dest.value,
    esm_class: esmClass,
    protocol_id: protocolId,
    priority_flag: priority,
    schedule_delivery_time: schedule.value,
    validity_period: validity.value,
    registered_delivery: registeredDelivery,
    replace_if_present_flag: replaceIfPresent,
    data_coding: dataCoding,
    sm_default_msg_id: smDefaultMsgId,
    short_message: frame.subarray(o, o + smLength),
  };
  o += smLength;
  while (o < end) {
    if (o + 4 > end) return undefined;
    const tag = frame.readUInt16BE(o);
    const len = frame.readUInt16BE(o + 2);
    const v = o + 4;
    if (v + len > end) return undefined;
    if (tag === TLV.RECEIPTED_MESSAGE_ID || tag === CLIENT_REF_TLV) {
      const z = frame.indexOf(0, v);
      const text = frame.toString('ascii', v, z >= v && z < v + len ? z : v + len);
      fields[tag === CLIENT_REF_TLV ? 'client_ref' : 'receipted_message_id'] = text;
    } else if (tag === TLV.MESSAGE_STATE) {
      if (len < 1) return undefined;
      fields.message_state = frame[v];
    } else if (tag === TLV.MESSAGE_PAYLOAD) fields.message_payload = frame.subarray(v, v + len);
    o = v + len;
  }
  return decoded(frame, 'deliver_sm', fields);
}
