import type { Bind, LinkCarrierConfig, Part, SubmitResult } from '../smpp/link-connector.ts';
import { cmppTimestamp, type CmppDecodeError } from '../cmpp/codec.ts';
import { CmppLink, type FramedCodec, type Outgoing } from '../cmpp/cmpp-link.ts';
import { FramedConnector, partContent, readReplyText } from '../cmpp/framed-connector.ts';
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

/**
 * SMGP 3.0 links to China Telecom's gateway, on {@link LinkConnector} like SMPP and CMPP: Login
 * (LoginMode 2, submits and delivers on one link) with AuthenticatorClient, the gateway's
 * AuthenticatorServer checked; one Submit per part with TP_udhi / PkTotal / PkNumber as optional
 * parameters and SrcTermID = access number + extension; Deliver with IsReport 1 is a status report
 * (matched by the MsgID of Submit_Resp), 0 an MO; Active_Test; Exit.
 */
export class SmgpConnector extends FramedConnector<SmgpPdu> {
  protected readonly protocol = 'SMGP';
  private readonly cfg: SmgpCarrierConfig;

  constructor(cfg: SmgpCarrierConfig) {
    super(cfg);
    this.cfg = cfg;
    this.start();
  }

  protected logout(): Outgoing<SmgpPdu> {
    return { command: 'exit' };
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
          this.loggedIn(b, resp.status, () => authenticatorServer(resp.status, auth, this.cfg.sharedSecret).equals(resp.authenticator), {
            command: 'active_test',
          });
        },
      );
    });
    this.watchLink(b, link);
  }

  protected writePart(b: Bind<CmppLink<SmgpPdu>>, part: Part, answer: (r: SubmitResult) => void): number | false {
    const sms = part.msg.sms;
    const enc = sms.encoded;
    const multi = enc.parts.length > 1;
    const { content, format: msgFormat } = partContent(enc, part.index);
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
    const taken = await this.takeDelivery(
      () => readSmgpDeliver(d),
      (text) => ({
        text,
        msg_id: d.msgId,
        src: d.srcTermId,
        dest: d.destTermId,
        is_report: d.isReport,
        content: d.content.toString('hex'),
      }),
      { from: nationalNumber(d.srcTermId), to: d.destTermId, ref: `smgp-mo-${d.msgId}` },
    );
    if (!link.gone) link.write({ command: 'deliver_resp', seq: d.seq, msgId: d.msgId, status: taken ? 0 : STATUS_LATER });
  }
}

/** A Deliver as a receipt (IsReport 1: MsgContent holds the report; SrcTermID is the handset) or a reply's text. */
export function readSmgpDeliver(d: SmgpDeliver): {
  text: string;
  receipt?: { messageId: string; stat: string; err?: string; msisdn: string };
  problem?: string;
} {
  if (d.isReport === 1) {
    const r = decodeSmgpReport(d.content);
    if (!r) return { text: d.content.toString('hex'), problem: 'status report without id: or stat:' };
    return { text: '', receipt: { messageId: r.msgId, stat: r.stat, err: r.err, msisdn: nationalNumber(d.srcTermId) } };
  }
  return readReplyText(d.msgFormat, d.content, d.tlvs.get(SMGP_TLV.TP_UDHI)?.[0] === 1, d.srcTermId, 'MsgFormat');
}
