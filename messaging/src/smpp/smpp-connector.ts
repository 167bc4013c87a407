import smpp, { type Pdu, type Session } from 'smpp';
import {
  ESM_DELIVERY_RECEIPT,
  ESM_UDHI,
  STATUS,
  isTemporary,
  parseReceiptText,
  stateOfStat,
  statOfMessageState,
  statusName,
} from './protocol.ts';
import { Bind, LinkConnector, type LinkCarrierConfig, type Part, type SubmitResult } from './link-connector.ts';
import { PduReader } from './pdu-reader.ts';
import { PduWriter } from './pdu-writer.ts';
import { encodeDeliverSmResp, encodeSubmitSm } from './submit-codec.ts';
import { decodeGsm7 } from '../text/gsm7.ts';

export { slotRate } from './link-connector.ts';

/** One carrier's SMPP account. */
export interface SmppCarrierConfig extends LinkCarrierConfig {
  /**
   * Send our job id in the vendor TLV 0x1501 (client_ref) on every submit_sm, for an SMSC that echoes
   * it in receipts. Off by default: a strict SMSC refuses optional parameters it does not know
   * (ESME_RTLVNOTALLWD). Exactly-once does not depend on it (see sender/claim-log.ts). @default false
   */
  clientRefTlv?: boolean;
  systemId: string;
  password: string;
  systemType?: string;
}

/** An open SMPP link: the node-smpp session and the writer that batches its PDUs. */
interface SmppLink {
  session: Session;
  writer: PduWriter;
}

/**
 * SMPP 3.4 transceiver binds to one carrier SMSC. Windows, rate shares, leases, claims and
 * reconnects are {@link LinkConnector}'s; this is the SMPP wire.
 */
export class SmppConnector extends LinkConnector<SmppLink> {
  protected readonly protocol = 'SMPP';
  private readonly cfg: SmppCarrierConfig;
  /** Keys of parts refused before the wire (never a sequence number: those are positive). */
  private refusedKey = 0;

  constructor(cfg: SmppCarrierConfig) {
    super(cfg);
    this.cfg = cfg;
    this.start();
  }

  protected isGone(link: SmppLink): boolean {
    return link.session.socket.destroyed;
  }

  protected destroyLink(link: SmppLink): void {
    link.session.destroy();
  }

  protected closeLink(b: Bind<SmppLink>): Promise<void> {
    const { session: s, writer } = b.link!;
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => s.destroy(), 1000);
      s.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      writer.flush();
      if (b.bound) s.unbind(() => s.close());
      else s.destroy();
    });
  }

  protected connect(b: Bind<SmppLink>): void {
    if (this.closing || !b.held) return;
    const s = smpp.connect({ host: this.cfg.host, port: this.cfg.port });
    // Receipts and submit_sm_resp decoded by hand (pdu-reader.ts), the rest by node-smpp.
    new PduReader(s);
    const w = new PduWriter(s);
    const link: SmppLink = { session: s, writer: w };
    b.link = link;
    s.on('connect', () => {
      s.bind_transceiver(
        // interface_version 0x34: we speak SMPP 3.4; node-smpp's default is 0x50 (SMPP 5.0), which a
        // strict 3.4 SMSC may refuse or answer with 5.0 behaviour (found by the Net::SMPP peer test).
        { system_id: this.cfg.systemId, password: this.cfg.password, system_type: this.cfg.systemType ?? '', interface_version: 0x34 },
        (pdu: Pdu) => {
          if (pdu.command_status !== STATUS.ESME_ROK) {
            this.log?.error({ carrier: this.carrier, status: statusName(pdu.command_status) }, 'SMPP bind refused');
            s.destroy();
            return;
          }
          this.linkUp(b, () => s.enquire_link(() => void (b.lastHeard = Date.now())));
        },
      );
    });
    s.on('pdu', () => void (b.lastHeard = Date.now()));
    s.on('deliver_sm', (pdu: Pdu) => void this.onDeliver(s, w, pdu));
    s.on('enquire_link', (pdu: Pdu) => s.send(pdu.response()));
    s.on('unbind', (pdu: Pdu) => {
      s.send(pdu.response());
      s.close();
    });
    s.on('error', (err: Error) => {
      this.log?.warn({ carrier: this.carrier, bind: b.n, err: err.message }, 'SMPP link error');
      // Not a socket error: node-smpp could not decode a PDU. It stops reading that session for
      // good (its reader stays busy), so the bind is dead: drop it now and bind again.
      if (!(err as NodeJS.ErrnoException).code) {
        this.counts.badDelivers++;
        void this.badHandler({
          carrier: this.carrier,
          reason: `undecodable PDU (${err.message.slice(0, 120)}); bind dropped`,
          at: Date.now(),
        }).catch(() => undefined);
      }
      this.linkDown(b, link);
    });
    s.on('close', () => this.linkDown(b, link));
  }

  protected writePart(b: Bind<SmppLink>, part: Part, answer: (r: SubmitResult) => void): number | false {
    const sms = part.msg.sms;
    // submit_sm encoded by hand (submit-codec.ts): node-smpp's PDU object cost more per SMS than the exchange.
    let pdu: Buffer;
    try {
      pdu = encodeSubmitSm({
        sequence: 0,
        source: sms.source,
        destination: sms.msisdn,
        esmClass: sms.encoded.parts.length > 1 ? ESM_UDHI : 0,
        dataCoding: sms.encoded.dataCoding,
        shortMessage: sms.encoded.parts[part.index]!,
        clientRef: this.cfg.clientRefTlv ? sms.ref : undefined,
      });
    } catch (err) {
      // An address or part SMPP cannot carry: refused for good, nothing written.
      const key = --this.refusedKey;
      queueMicrotask(() => answer({ ok: false, temporary: false, code: 'SMPP_UNENCODABLE' }));
      this.log?.warn({ carrier: this.carrier, err: (err as Error).message }, 'submit_sm not encodable');
      return key;
    }
    return b.link!.writer.sendEncoded(pdu, (resp: Pdu) => answer(resultOf(resp)));
  }

  // ---- receipts and replies --------------------------------------------------------------------

  private async onDeliver(s: Session, w: PduWriter, pdu: Pdu): Promise<void> {
    let accepted = false;
    try {
      const d = readDeliver(pdu);
      if (d.problem) {
        this.counts.badDelivers++;
        await this.badHandler({ carrier: this.carrier, reason: d.problem, fields: deliverFields(pdu, d.text), at: Date.now() });
        accepted = true;
      } else if (d.receipt) {
        accepted = await this.receiptHandler({
          carrier: this.carrier,
          smscId: this.smscId,
          messageId: d.receipt.messageId,
          stat: d.receipt.stat,
          state: stateOfStat(d.receipt.stat),
          err: d.receipt.err,
          ref: typeof pdu.client_ref === 'string' ? pdu.client_ref : undefined,
          msisdn: String(pdu.source_addr ?? ''),
          at: Date.now(),
        });
      } else {
        accepted = await this.replyHandler({
          carrier: this.carrier,
          from: String(pdu.source_addr),
          to: String(pdu.destination_addr ?? ''),
          text: d.text,
          ref: typeof pdu.client_ref === 'string' ? pdu.client_ref : undefined,
          at: Date.now(),
        });
      }
    } catch (err) {
      this.log?.error({ err, carrier: this.carrier }, 'deliver_sm handler failed; the SMSC will send it again');
    }
    if (!s.socket.destroyed) w.sendEncoded(encodeDeliverSmResp(pdu.sequence_number, accepted ? STATUS.ESME_ROK : STATUS.ESME_RX_T_APPN));
  }
}

/** A submit_sm_resp in protocol-free terms. */
function resultOf(resp: Pdu): SubmitResult {
  const status = resp.command_status;
  if (status === STATUS.ESME_ROK) return { ok: true, messageId: String(resp.message_id) };
  return { ok: false, temporary: isTemporary(status), throttled: status === STATUS.ESME_RTHROTTLED, code: statusName(status) };
}

/** Longest receipt or reply text taken (SMPP short_message is ≤ 254 bytes; message_payload ≤ 64 KB). */
export const MAX_DELIVER_TEXT = 2000;
/** SMPP 3.4 message_id is a C-string of at most 65 octets. */
const MAX_MESSAGE_ID = 65;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const KNOWN_STATS = new Set(['DELIVRD', 'UNDELIV', 'EXPIRED', 'REJECTD', 'DELETED', 'UNKNOWN', 'ACCEPTD', 'ENROUTE']);

interface ReadDeliver {
  text: string;
  receipt?: { messageId: string; stat: string; err?: string };
  /** Why the deliver_sm is refused as malformed. */
  problem?: string;
}

/** Reads a deliver_sm's text (short_message or message_payload) and, for a receipt, its fields; names what is wrong. */
export function readDeliver(pdu: Pdu): ReadDeliver {
  const dc = Number(pdu.data_coding ?? 0);
  const sm = pdu.short_message as { message?: string | Buffer } | Buffer | string | undefined;
  let raw: string | Buffer | undefined = Buffer.isBuffer(sm) || typeof sm === 'string' ? sm : sm?.message;
  if ((raw === undefined || raw.length === 0) && pdu.message_payload !== undefined) {
    const mp = pdu.message_payload as { message?: string | Buffer } | Buffer | string;
    raw = Buffer.isBuffer(mp) || typeof mp === 'string' ? mp : mp.message;
  }
  let text = '';
  if (typeof raw === 'string') text = raw;
  else if (raw && raw.length) {
    const enc = dc & 0x0f;
    if (enc === 8) {
      // A stray odd byte (a gateway's bug) is dropped, as node-smpp did before this reader: the rest
      // is read, so a receipt's id and state are not lost with it.
      const even = raw.length % 2 === 1 ? raw.subarray(0, raw.length - 1) : raw;
      text = Buffer.from(even).swap16().toString('utf16le');
    } else if (enc === 0 || enc === 1) text = decodeGsm7(raw);
    else if (enc === 3) text = raw.toString('latin1');
    else return { text: raw.toString('hex'), problem: `unsupported data_coding 0x${dc.toString(16).padStart(2, '0')}` };
  }
  // What decoding cannot hide is half of a surrogate pair, which no handset sends and no database
  // should store.
  if (LONE_SURROGATE.test(text))
    return { text: Buffer.from(text, 'utf16le').toString('hex'), problem: 'text is not valid UTF-16 (a lone surrogate)' };
  if (text.length > MAX_DELIVER_TEXT)
    return { text: text.slice(0, 200), problem: `oversized text (${text.length} characters, at most ${MAX_DELIVER_TEXT})` };
  if ((Number(pdu.esm_class) & 0x3c) === ESM_DELIVERY_RECEIPT) {
    const parsed = parseReceiptText(text);
    const tlvId = typeof pdu.receipted_message_id === 'string' && pdu.receipted_message_id ? pdu.receipted_message_id : undefined;
    const messageId = tlvId ?? parsed.id;
    if (!messageId) return { text, problem: 'receipt without a message id' };
    if (messageId.length > MAX_MESSAGE_ID) return { text, problem: `receipt message id longer than ${MAX_MESSAGE_ID} characters` };
    const stat = statOfMessageState(pdu.message_state as number | undefined) ?? parsed.stat;
    if (!stat) return { text, problem: 'receipt without a state (no message_state, no stat:)' };
    if (!KNOWN_STATS.has(stat)) return { text, problem: `receipt with an unknown stat "${stat.slice(0, 20)}"` };
    return { text, receipt: { messageId, stat, err: parsed.err } };
  }
  if (text.includes('\uFFFD')) return { text, problem: `reply text not decodable as data_coding 0x${dc.toString(16).padStart(2, '0')}` };
  if (!/^\+?\d{3,21}$/.test(String(pdu.source_addr ?? ''))) return { text, problem: 'reply without a valid sender number' };
  return { text };
}

/** The deliver_sm's fields for a dead letter (Buffers as hex). */
function deliverFields(pdu: Pdu, text: string): Record<string, unknown> {
  const out: Record<string, unknown> = { text };
  for (const k of [
    'command',
    'sequence_number',
    'source_addr',
    'destination_addr',
    'esm_class',
    'data_coding',
    'receipted_message_id',
    'message_state',
    'client_ref',
  ]) {
    const v = pdu[k];
    if (v !== undefined) out[k] = Buffer.isBuffer(v) ? v.toString('hex') : v;
  }
  return out;
}
