import type { OutboundSms, SubmitOutcome } from '../smpp/connector.ts';
import { Bind, LinkConnector, type LinkCarrierConfig, type Part, type SubmitResult } from '../smpp/link-connector.ts';
import { stateOfStat } from '../smpp/protocol.ts';
import { MAX_DELIVER_TEXT } from '../smpp/smpp-connector.ts';
import { cmppTimestamp, MSG_FMT, type CmppDecodeError } from '../cmpp/codec.ts';
import { CmppLink, type FramedCodec } from '../cmpp/cmpp-link.ts';
import { nationalNumber } from '../cmpp/cmpp-connector.ts';
import {
  LOGIN_MODE,
  MSG_TYPE_MT,
  SMGP_STATUS,
  SMGP_TLV,
  SMGP_VERSION_30,
  authenticatorClient,
  authenticatorServer,
  decodeSmgp,
  decodeSmgpReport,
  encodeSmgp,
  type SmgpDeliver,
  type SmgpPdu,
} from './codec.ts';

export const SMGP_CODEC: FramedCodec<SmgpPdu> = { encode: (p) => encodeSmgp(p), decode: (f) => decodeSmgp(f) };

/** One carrier's SMGP account (China Telecom's gateway). */
export interface SmgpCarrierConfig extends LinkCarrierConfig {
  /** ClientID (≤ 8). */
  clientId: string;
  sharedSecret: string;
  /** ServiceID (≤ 10). @default 'GEOALERT' */
  serviceId?: string;
  /** FeeType: 00 free. @default '00' */
  feeType?: string;
  /** @default '0' */
  feeCode?: string;
}

/** Deliver_Resp Status asking the gateway to send the Deliver again later. */
const STATUS_LATER = SMGP_STATUS.BUSY;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * SMGP 3.0 links to China Telecom's gateway, on {@link LinkConnector} like SMPP and CMPP: Login
 * (LoginMode 2, submits and delivers on one link) with AuthenticatorClient, the gateway's
 * AuthenticatorServer checked; one Submit per part with TP_udhi / PkTotal / PkNumber as optional
 * parameters and SrcTermID = access number + extension; Deliver with IsReport 1 is a status report
 * (matched by the MsgID of Submit_Resp), 0 an MO; Active_Test; Exit.
 */
export class SmgpConnector extends LinkConnector<CmppLink<SmgpPdu>> {
  protected readonly protocol = 'SMGP';
  private readonly cfg: SmgpCarrierConfig;

  constructor(cfg: SmgpCarrierConfig) {
    super(cfg);
    this.cfg = cfg;
    this.start();
  }

  override submit(sms: OutboundSms): Promise<SubmitOutcome> {
    if (sms.encoded.encoding === 'gsm7' && sms.encoded.texts.some((t) => !/^[\x20-\x7e\r\n]*$/.test(t)))
      return Promise.resolve({ ok: false, code: 'SMGP_UNENCODABLE', messageIds: [] });
    return super.submit(sms);
  }

  protected isGone(link: CmppLink<SmgpPdu>): boolean {
    return link.gone;
  }

  protected destroyLink(link: CmppLink<SmgpPdu>): void {
    link.socket.destroy();
  }

  protected closeLink(b: Bind<CmppLink<SmgpPdu>>): Promise<void> {
    const link = b.link!;
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => link.socket.destroy(), 1000);
      link.socket.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      if (!b.bound || link.request({ command: 'exit' }, () => link.socket.end()) === false) link.socket.destroy();
      else link.flush();
    });
  }

  protected connect(b: Bind<CmppLink<SmgpPdu>>): void {
    if (this.closing || !b.held) return;
    const link: CmppLink<SmgpPdu> = CmppLink.dial<SmgpPdu>(
      this.cfg.host,
      this.cfg.port,
      SMGP_VERSION_30,
      (pdu) => this.onPdu(link, pdu),
      (err, frame) => this.onBadFrame(b, link, err, frame),
      SMGP_CODEC,
    );
    b.link = link;
    const s = link.socket;
    s.on('connect', () => {
      const timestamp = cmppTimestamp();
      const auth = authenticatorClient(this.cfg.clientId, this.cfg.sharedSecret, timestamp);
      link.request(
        {
          command: 'login',
          clientId: this.cfg.clientId,
          authenticator: auth,
          loginMode: LOGIN_MODE.TRANSMIT,
          timestamp,
          version: SMGP_VERSION_30,
        },
        (resp) => {
          if (resp.command !== 'login_resp') return;
          if (resp.status !== SMGP_STATUS.OK) {
            this.log?.error({ carrier: this.carrier, status: resp.status }, 'SMGP login refused');
            s.destroy();
            return;
          }
          if (!authenticatorServer(resp.status, auth, this.cfg.sharedSecret).equals(resp.authenticator)) {
            this.log?.error({ carrier: this.carrier }, 'SMGP gateway answered with a wrong AuthenticatorServer; not using the link');
            s.destroy();
            return;
          }
          this.linkUp(b, () => void link.request({ command: 'active_test' }, () => void (b.lastHeard = Date.now())));
        },
      );
    });
    s.on('data', () => void (b.lastHeard = Date.now()));
    s.on('error', (err: Error) => {
      this.log?.warn({ carrier: this.carrier, bind: b.n, err: err.message }, 'SMGP link error');
      this.linkDown(b, link);
    });
    s.on('close', () => this.linkDown(b, link));
  }

  protected writePart(b: Bind<CmppLink<SmgpPdu>>, part: Part, answer: (r: SubmitResult) => void): number | false {
    const sms = part.msg.sms;
    const enc = sms.encoded;
    const multi = enc.parts.length > 1;
    let content: Buffer;
    let msgFormat: number;
    if (enc.encoding === 'ucs2') {
      content = enc.parts[part.index]!;
      msgFormat = MSG_FMT.UCS2;
    } else {
      const text = Buffer.from(enc.texts[part.index]!, 'latin1');
      content = multi ? Buffer.concat([enc.parts[part.index]!.subarray(0, 6), text]) : text;
      msgFormat = MSG_FMT.ASCII;
    }
    const tlvs = new Map<number, Buffer>();
    if (multi) {
      tlvs.set(SMGP_TLV.TP_UDHI, Buffer.from([1]));
      tlvs.set(SMGP_TLV.PK_TOTAL, Buffer.from([enc.parts.length]));
      tlvs.set(SMGP_TLV.PK_NUMBER, Buffer.from([part.index + 1]));
    }
    return b.link!.request(
      {
        command: 'submit',
        msgType: MSG_TYPE_MT,
        needReport: 1,
        priority: 1,
        serviceId: this.cfg.serviceId ?? 'GEOALERT',
        feeType: this.cfg.feeType ?? '00',
        feeCode: this.cfg.feeCode ?? '0',
        fixedFee: '0',
        msgFormat,
        validTime: '',
        atTime: '',
        srcTermId: sms.source,
        chargeTermId: '',
        destTermIds: [sms.msisdn],
        content,
        reserve: '',
        tlvs,
      },
      (resp) => {
        if (resp.command !== 'submit_resp') return;
        if (resp.status === SMGP_STATUS.OK) answer({ ok: true, messageId: resp.msgId });
        else
          answer({
            ok: false,
            temporary: resp.status === SMGP_STATUS.BUSY,
            throttled: resp.status === SMGP_STATUS.BUSY,
            code: `SMGP_STATUS_${resp.status}`,
          });
      },
    );
  }

  private onPdu(link: CmppLink<SmgpPdu>, pdu: SmgpPdu): void {
    switch (pdu.command) {
      case 'active_test':
        link.write({ command: 'active_test_resp', seq: pdu.seq });
        break;
      case 'exit':
        link.write({ command: 'exit_resp', seq: pdu.seq });
        link.flush();
        link.socket.end();
        break;
      case 'deliver':
        void this.onDeliver(link, pdu);
        break;
      default:
        break;
    }
  }

  private onBadFrame(b: Bind<CmppLink<SmgpPdu>>, link: CmppLink<SmgpPdu>, err: CmppDecodeError, frame?: Buffer): void {
    this.counts.badDelivers++;
    const isDeliver = !!frame && frame.length >= 22 && frame.readUInt32BE(4) === 0x00000003;
    void this.badHandler({
      carrier: this.carrier,
      reason: `undecodable SMGP frame (${err.message.slice(0, 120)})${frame ? '' : '; link dropped'}`,
      fields: frame ? { hex: frame.subarray(0, 400).toString('hex') } : undefined,
      at: Date.now(),
    }).then(
      () => {
        if (isDeliver)
          link.write({ command: 'deliver_resp', seq: frame!.readUInt32BE(8), msgId: frame!.subarray(12, 22).toString('hex'), status: 0 });
      },
      () => undefined,
    );
    if (!frame) this.linkDown(b, link);
  }

  private async onDeliver(link: CmppLink<SmgpPdu>, d: Extract<SmgpPdu, { command: 'deliver' }>): Promise<void> {
    let status: number = STATUS_LATER;
    try {
      const read = readSmgpDeliver(d);
      if (read.problem) {
        this.counts.badDelivers++;
        await this.badHandler({
          carrier: this.carrier,
          reason: read.problem,
          fields: {
            text: read.text,
            msg_id: d.msgId,
            src: d.srcTermId,
            dest: d.destTermId,
            is_report: d.isReport,
            content: d.content.toString('hex'),
          },
          at: Date.now(),
        });
        status = 0;
      } else if (read.receipt) {
        const ok = await this.receiptHandler({
          carrier: this.carrier,
          smscId: this.smscId,
          messageId: read.receipt.messageId,
          stat: read.receipt.stat,
          state: stateOfStat(read.receipt.stat),
          err: read.receipt.err,
          msisdn: nationalNumber(d.srcTermId),
          at: Date.now(),
        });
        status = ok ? 0 : STATUS_LATER;
      } else {
        const ok = await this.replyHandler({
          carrier: this.carrier,
          from: nationalNumber(d.srcTermId),
          to: d.destTermId,
          text: read.text,
          ref: `smgp-mo-${d.msgId}`,
          at: Date.now(),
        });
        status = ok ? 0 : STATUS_LATER;
      }
    } catch (err) {
      this.log?.error({ err, carrier: this.carrier }, 'SMGP deliver handler failed; the gateway will send it again');
    }
    if (!link.gone) link.write({ command: 'deliver_resp', seq: d.seq, msgId: d.msgId, status });
  }
}

/** A Deliver as a receipt (IsReport 1: MsgContent holds the report; SrcTermID is the handset) or a reply's text. */
export function readSmgpDeliver(d: SmgpDeliver): {
  text: string;
  receipt?: { messageId: string; stat: string; err?: string };
  problem?: string;
} {
  if (d.isReport === 1) {
    const r = decodeSmgpReport(d.content);
    if (!r) return { text: d.content.toString('hex'), problem: 'status report without id: or stat:' };
    return { text: '', receipt: { messageId: r.msgId, stat: r.stat, err: r.err } };
  }
  let raw = d.content;
  if (d.tlvs.get(SMGP_TLV.TP_UDHI)?.[0] === 1 && raw.length > 0 && raw[0]! + 1 <= raw.length) raw = raw.subarray(raw[0]! + 1);
  let text: string;
  if (d.msgFormat === MSG_FMT.UCS2) {
    if (raw.length % 2 === 1) return { text: raw.toString('hex'), problem: `UCS-2 text of an odd length (${raw.length} bytes)` };
    text = Buffer.from(raw).swap16().toString('utf16le');
  } else if (d.msgFormat === MSG_FMT.GB) text = new TextDecoder('gbk').decode(raw);
  else if (d.msgFormat === MSG_FMT.ASCII) text = raw.toString('latin1');
  else return { text: raw.toString('hex'), problem: `unsupported MsgFormat ${d.msgFormat}` };
  if (LONE_SURROGATE.test(text))
    return { text: Buffer.from(text, 'utf16le').toString('hex'), problem: 'text is not valid UTF-16 (a lone surrogate)' };
  if (text.length > MAX_DELIVER_TEXT) return { text: text.slice(0, 200), problem: `oversized text (${text.length} characters)` };
  if (text.includes('\uFFFD')) return { text, problem: `reply text not decodable as MsgFormat ${d.msgFormat}` };
  if (!/^\+?\d{3,21}$/.test(d.srcTermId)) return { text, problem: 'reply without a valid sender number' };
  return { text };
}
