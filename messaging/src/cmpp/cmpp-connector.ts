import type { Bind, LinkCarrierConfig, Part, SubmitResult } from '../smpp/link-connector.ts';
import {
  CMPP_VERSION_30,
  SUBMIT_RESULT,
  authenticatorIsmg,
  authenticatorSource,
  cmppTimestamp,
  decodeReport,
  type CmppDecodeError,
  type CmppDeliver,
  type CmppPdu,
  type CmppVersion,
} from './codec.ts';
import { CmppLink, type CmppOutgoing } from './cmpp-link.ts';
import { FramedConnector, partContent, readReplyText } from './framed-connector.ts';

/** One carrier's CMPP account (China Mobile's ISMG). */
export interface CmppCarrierConfig extends LinkCarrierConfig {
  /** SP 企业代码: CONNECT's Source_Addr and SUBMIT's Msg_src (6 characters). */
  spId: string;
  /** The shared secret agreed with the carrier. */
  sharedSecret: string;
  /** 0x30 (CMPP 3.0) or 0x20 (2.0). @default 0x30 */
  version?: CmppVersion;
  /** 业务代码 (Service_Id, ≤ 10). @default 'GEOALERT' */
  serviceId?: string;
  /** Fee_UserType: who pays; 2 = the SP (industry SMS are paid by the enterprise, not the handset). @default 2 */
  feeUserType?: number;
  /** FeeType: 01 free to the handset. @default '01' */
  feeType?: string;
  /** FeeCode in fen. @default '0' */
  feeCode?: string;
}

/** DELIVER_RESP Result asking the gateway to send the DELIVER again later (we could not record it now). */
const RESULT_LATER = SUBMIT_RESULT.FLOW_CONTROL;

/** Results after which the same SUBMIT may succeed later. */
const TEMPORARY_RESULTS = new Set<number>([SUBMIT_RESULT.FLOW_CONTROL]);

/** `13800138000` from `8613800138000` / `+8613800138000`. */
export const nationalNumber = (n: string): string => /^\+?86(1\d{10})$/.exec(n)?.[1] ?? n;

/**
 * CMPP 3.0 / 2.0 links to China Mobile's gateway (ISMG). Windows, rate shares, leases, claims and
 * reconnects are {@link LinkConnector}'s, as for SMPP; this is the CMPP wire: CONNECT with the MD5
 * authenticator (the gateway's answer checked too), one SUBMIT per part with TP_udhi for long
 * messages and Pk_total / Pk_number, the SP number and extension in Src_Id, Service_Id and fees
 * where CMPP puts them; DELIVER with Registered_Delivery 1 is a status report (receipt), 0 an MO
 * (reply); ACTIVE_TEST keeps the link alive; TERMINATE closes it.
 */
export class CmppConnector extends FramedConnector<CmppPdu> {
  protected readonly protocol = 'CMPP';
  private readonly cfg: CmppCarrierConfig;
  private readonly version: CmppVersion;

  constructor(cfg: CmppCarrierConfig) {
    super(cfg);
    this.cfg = cfg;
    this.version = cfg.version ?? CMPP_VERSION_30;
    this.start();
  }

  protected logout(): CmppOutgoing {
    return { command: 'terminate' };
  }

  protected connect(b: Bind<CmppLink>): void {
    if (this.closing || !b.held) return;
    const link = CmppLink.dial(
      this.cfg.host,
      this.cfg.port,
      this.version,
      (pdu) => this.onPdu(link, pdu),
      (err, frame) => this.onBadFrame(b, link, err, frame),
    );
    b.link = link;
    const s = link.socket;
    s.on('connect', () => {
      const timestamp = cmppTimestamp();
      const auth = authenticatorSource(this.cfg.spId, this.cfg.sharedSecret, timestamp);
      link.request({ command: 'connect', sourceAddr: this.cfg.spId, authenticator: auth, version: this.version, timestamp }, (resp) => {
        if (resp.command !== 'connect_resp') return;
        this.loggedIn(
          b,
          resp.status,
          () => authenticatorIsmg(resp.status, auth, this.cfg.sharedSecret, this.version).equals(resp.authenticator),
          { command: 'active_test' },
        );
      });
    });
    this.watchLink(b, link);
  }

  protected writePart(b: Bind<CmppLink>, part: Part, answer: (r: SubmitResult) => void): number | false {
    const sms = part.msg.sms;
    const enc = sms.encoded;
    const multi = enc.parts.length > 1;
    // GSM-7 text that is ASCII: CMPP carries it as ASCII (Msg_Fmt 0), one byte a character, behind the same UDH.
    const { content, format: msgFmt } = partContent(enc, part.index);
    return b.link!.request(
      {
        command: 'submit',
        msgId: 0n,
        pkTotal: enc.parts.length,
        pkNumber: part.index + 1,
        registeredDelivery: 1,
        msgLevel: 1,
        serviceId: this.cfg.serviceId ?? 'GEOALERT',
        feeUserType: this.cfg.feeUserType ?? 2,
        feeTerminalId: '',
        feeTerminalType: 0,
        tpPid: 0,
        tpUdhi: multi ? 1 : 0,
        msgFmt,
        msgSrc: this.cfg.spId,
        feeType: this.cfg.feeType ?? '01',
        feeCode: this.cfg.feeCode ?? '0',
        validTime: '',
        atTime: '',
        srcId: sms.source,
        destTerminalIds: [sms.msisdn],
        destTerminalType: 0,
        content,
        linkId: '',
      },
      (resp) => {
        if (resp.command !== 'submit_resp') return;
        if (resp.result === SUBMIT_RESULT.OK) answer({ ok: true, messageId: resp.msgId.toString() });
        else
          answer({
            ok: false,
            temporary: TEMPORARY_RESULTS.has(resp.result),
            throttled: resp.result === SUBMIT_RESULT.FLOW_CONTROL,
            code: `CMPP_RESULT_${resp.result}`,
          });
      },
    );
  }

  // ---- from the gateway ------------------------------------------------------------------------

  private onPdu(link: CmppLink, pdu: CmppPdu): void {
    switch (pdu.command) {
      case 'active_test':
        link.write({ command: 'active_test_resp', seq: pdu.seq });
        break;
      case 'terminate':
        link.write({ command: 'terminate_resp', seq: pdu.seq });
        link.flush();
        link.socket.end();
        break;
      case 'deliver':
        void this.onDeliver(link, pdu);
        break;
      default:
        break; // a late response: its request was given up with the link
    }
  }

  private onBadFrame(b: Bind<CmppLink>, link: CmppLink, err: CmppDecodeError, frame?: Buffer): void {
    this.counts.badDelivers++;
    const h = frame ? CmppLink.headerOf(frame) : undefined;
    const fields = frame ? { hex: frame.subarray(0, 400).toString('hex') } : undefined;
    // A DELIVER whose body cannot be read: recorded, and answered OK so the gateway does not send it again and again.
    const answer = h?.command === 'deliver' && frame!.length >= 20;
    void this.badHandler({
      carrier: this.carrier,
      reason: `undecodable CMPP ${h?.command ?? 'frame'} (${err.message.slice(0, 120)})${answer || frame ? '' : '; link dropped'}`,
      fields,
      at: Date.now(),
    }).then(
      () => {
        if (answer) link.write({ command: 'deliver_resp', seq: h.seq, msgId: frame!.readBigUInt64BE(12), result: 0 });
      },
      () => undefined,
    );
    if (!frame) this.linkDown(b, link);
  }

  private async onDeliver(link: CmppLink, d: Extract<CmppPdu, { command: 'deliver' }>): Promise<void> {
    const taken = await this.takeDelivery(
      () => readCmppDeliver(d, link.version),
      (text) => deliverFields(d, text),
      // The gateway sends the same MO again with the same Msg_Id.
      { from: nationalNumber(d.srcTerminalId), to: d.destId, ref: `cmpp-mo-${d.msgId.toString()}` },
    );
    if (!link.gone) link.write({ command: 'deliver_resp', seq: d.seq, msgId: d.msgId, result: taken ? 0 : RESULT_LATER });
  }
}

interface ReadCmppDeliver {
  text: string;
  receipt?: { messageId: string; stat: string; msisdn: string };
  problem?: string;
}

/** A CMPP_DELIVER as a receipt (Registered_Delivery 1) or a reply's text, or what is wrong with it. */
export function readCmppDeliver(d: CmppDeliver, version: number): ReadCmppDeliver {
  if (d.registeredDelivery === 1) {
    let r;
    try {
      r = decodeReport(d.content, version);
    } catch (err) {
      return { text: d.content.toString('hex'), problem: (err as Error).message };
    }
    if (r.msgId === 0n) return { text: '', problem: 'status report without a Msg_Id' };
    if (!/^[A-Z0-9:_-]{1,7}$/i.test(r.stat)) return { text: '', problem: `status report with an unreadable Stat "${r.stat.slice(0, 7)}"` };
    return {
      text: '',
      receipt: { messageId: r.msgId.toString(), stat: r.stat.toUpperCase(), msisdn: nationalNumber(r.destTerminalId || d.srcTerminalId) },
    };
  }
  return readReplyText(d.msgFmt, d.content, d.tpUdhi === 1, d.srcTerminalId, 'Msg_Fmt');
}

function deliverFields(d: CmppDeliver, text: string): Record<string, unknown> {
  return {
    text,
    msg_id: d.msgId.toString(),
    dest_id: d.destId,
    src_terminal_id: d.srcTerminalId,
    registered_delivery: d.registeredDelivery,
    msg_fmt: d.msgFmt,
    tp_udhi: d.tpUdhi,
    content: d.content.toString('hex'),
  };
}
