import { createServer, type Server, type Socket } from 'node:net';
import { randomInt } from 'node:crypto';
import type { Bind, LinkCarrierConfig, Part, SubmitResult } from '../smpp/link-connector.ts';
import { cmppTimestamp, type CmppDecodeError } from '../cmpp/codec.ts';
import { CmppLink, type FramedCodec, type Outgoing } from '../cmpp/cmpp-link.ts';
import { FramedConnector, partContent, readReplyText } from '../cmpp/framed-connector.ts';
import { nationalNumber } from '../cmpp/cmpp-connector.ts';
import { SGIP_LOGIN, SGIP_STATE, decodeSgip, encodeSgip, sgipMessageId, type SgipPdu } from './codec.ts';

export const SGIP_CODEC: FramedCodec<SgipPdu> = { encode: (p) => encodeSgip(p), decode: (f) => decodeSgip(f) };

/** SGIP Result values used here. */
export const SGIP_RESULT = { OK: 0, BAD_LOGIN: 1, BAD_FORMAT: 5, BAD_NUMBER: 6, BUSY: 11 } as const;

/** One carrier's SGIP account (China Unicom's SMG). */
export interface SgipCarrierConfig extends LinkCarrierConfig {
  /** Login Name / Password of the SP at the SMG, and those the SMG uses on its connection back to us. */
  loginName: string;
  loginPassword: string;
  /** SP node number (the first part of every Sequence Number). */
  nodeId: number;
  /** CorpId (5). @default '00000' */
  corpId?: string;
  /** ServiceType (≤ 10). @default 'GEOALERT' */
  serviceType?: string;
  /**
   * Port this connector listens on for the SMG's own connection, on which Report and Deliver come
   * (the reverse connection). 0 = any free port (`listenPort` says which).
   */
  listenPort: number;
  /** @default '127.0.0.1' */
  listenHost?: string;
}

/**
 * SGIP 1.2 links to China Unicom's SMG, on {@link LinkConnector}: Bind (Login Type 1) and one
 * Submit per part (TP_udhi, SPNumber = access number + extension, ReportFlag 1, the SP pays), its
 * message id the Submit's Sequence Number (node, time, counter; one counter for all links). Reports
 * and MOs do not come on these links: the SMG connects to us (`listenPort`, Bind Login Type 2) and
 * sends Report (State 0 delivered, 2 failed) and Deliver there. SGIP has no keep-alive: an idle
 * link is closed after `enquireLinkMs` + `responseTimeoutMs` and opened again when needed.
 */
export class SgipConnector extends FramedConnector<SgipPdu> {
  protected readonly protocol = 'SGIP';
  private readonly cfg: SgipCarrierConfig;
  private readonly server: Server;
  private readonly inbound = new Set<Socket>();
  private counter = randomInt(1, 0x40000000);
  private listening: Promise<void>;

  constructor(cfg: SgipCarrierConfig) {
    super(cfg);
    this.cfg = cfg;
    this.server = createServer((s) => this.onSmgConnection(s));
    this.listening = new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(cfg.listenPort, cfg.listenHost ?? '127.0.0.1', () => resolve());
    });
    this.listening.catch((err: Error) => this.log?.error({ carrier: this.carrier, err: err.message }, 'SGIP listener failed'));
    this.start();
  }

  /** The port the SMG is to connect to (resolves once listening). */
  async listenPort(): Promise<number> {
    await this.listening;
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : this.cfg.listenPort;
  }

  override async close(): Promise<void> {
    await super.close();
    for (const s of this.inbound) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  protected logout(): Outgoing<SgipPdu> {
    return this.header({ command: 'unbind' });
  }

  private nextSeq = () => {
    this.counter = this.counter >= 0xfffffffe ? 1 : this.counter + 1;
    return this.counter;
  };

  private header<T extends { command: string }>(x: T): T & { node: number; time: number } {
    return { ...x, node: this.cfg.nodeId, time: cmppTimestamp() };
  }

  protected connect(b: Bind<CmppLink<SgipPdu>>): void {
    if (this.closing || !b.held) return;
    const link: CmppLink<SgipPdu> = CmppLink.dial<SgipPdu>(
      this.cfg.host,
      this.cfg.port,
      0x12,
      () => undefined, // nothing but responses comes on our own links
      (err: CmppDecodeError) => {
        this.log?.warn({ carrier: this.carrier, err: err.message }, 'SGIP: undecodable frame from the SMG; link dropped');
        this.linkDown(b, link);
      },
      SGIP_CODEC,
    );
    link.seqSource = this.nextSeq;
    b.link = link;
    const s = link.socket;
    s.on('connect', () => {
      link.request(
        this.header({
          command: 'bind',
          loginType: SGIP_LOGIN.SP_TO_SMG,
          loginName: this.cfg.loginName,
          loginPassword: this.cfg.loginPassword,
          reserve: '',
        }),
        (resp) => {
          if (resp.command !== 'bind_resp') return;
          // No authenticator, and no keep-alive in SGIP: an idle link lapses and is bound again when needed.
          this.loggedIn(b, resp.result, () => true);
        },
      );
    });
    this.watchLink(b, link);
  }

  protected writePart(b: Bind<CmppLink<SgipPdu>>, part: Part, answer: (r: SubmitResult) => void): number | false {
    const sms = part.msg.sms;
    const enc = sms.encoded;
    const multi = enc.parts.length > 1;
    const { content, format: messageCoding } = partContent(enc, part.index);
    const pdu = this.header({
      command: 'submit' as const,
      spNumber: sms.source,
      chargeNumber: '000000000000000000000', // the SP pays
      userNumbers: [`86${sms.msisdn}`],
      corpId: this.cfg.corpId ?? '00000',
      serviceType: this.cfg.serviceType ?? 'GEOALERT',
      feeType: 1, // free to the handset
      feeValue: '0',
      givenValue: '0',
      agentFlag: 0,
      morelatetoMTFlag: 2, // not in answer to an MO
      priority: 0,
      expireTime: '',
      scheduleTime: '',
      reportFlag: 1,
      tpPid: 0,
      tpUdhi: multi ? 1 : 0,
      messageCoding,
      messageType: 0,
      content,
      reserve: '',
    });
    let seq = 0;
    const written = b.link!.request(pdu, (resp) => {
      if (resp.command !== 'submit_resp') return;
      if (resp.result === SGIP_RESULT.OK) answer({ ok: true, messageId: sgipMessageId({ node: pdu.node, time: pdu.time, seq }) });
      else
        answer({
          ok: false,
          temporary: resp.result === SGIP_RESULT.BUSY,
          throttled: resp.result === SGIP_RESULT.BUSY,
          code: `SGIP_RESULT_${resp.result}`,
        });
    });
    if (written !== false) seq = written;
    return written;
  }

  // ---- the SMG's connection to us: Report and Deliver ---------------------------------------------

  private onSmgConnection(socket: Socket): void {
    this.inbound.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.inbound.delete(socket));
    let bound = false;
    const link: CmppLink<SgipPdu> = new CmppLink<SgipPdu>(
      socket,
      0x12,
      (pdu) => {
        const reply = (command: 'bind_resp' | 'report_resp' | 'deliver_resp', result: number) =>
          link.write({ command, node: pdu.node, time: pdu.time, seq: pdu.seq, result, reserve: '' });
        switch (pdu.command) {
          case 'bind': {
            const ok =
              pdu.loginType === SGIP_LOGIN.SMG_TO_SP &&
              pdu.loginName === this.cfg.loginName &&
              pdu.loginPassword === this.cfg.loginPassword;
            reply('bind_resp', ok ? SGIP_RESULT.OK : SGIP_RESULT.BAD_LOGIN);
            if (ok) bound = true;
            else {
              link.flush();
              socket.end();
            }
            return;
          }
          case 'unbind':
            link.write({ command: 'unbind_resp', node: pdu.node, time: pdu.time, seq: pdu.seq });
            link.flush();
            socket.end();
            return;
          case 'report':
          case 'deliver':
            if (!bound) {
              reply(pdu.command === 'report' ? 'report_resp' : 'deliver_resp', SGIP_RESULT.BAD_LOGIN);
              return;
            }
            void this.onInbound(pdu).then((result) => reply(pdu.command === 'report' ? 'report_resp' : 'deliver_resp', result));
            return;
          default:
            return;
        }
      },
      (err) => {
        this.counts.badDelivers++;
        void this.badHandler({
          carrier: this.carrier,
          reason: `undecodable SGIP frame from the SMG (${err.message.slice(0, 120)})`,
          at: Date.now(),
        }).catch(() => undefined);
      },
      SGIP_CODEC,
    );
  }

  /** Records a Report or Deliver; the Result to answer (BUSY: not recorded now, the SMG sends it again). */
  private async onInbound(pdu: Extract<SgipPdu, { command: 'report' | 'deliver' }>): Promise<number> {
    if (pdu.command === 'report') {
      if (pdu.state === SGIP_STATE.WAITING) return SGIP_RESULT.OK; // not final yet
      const stat = pdu.state === SGIP_STATE.DELIVERED ? 'DELIVRD' : 'UNDELIV';
      const receipt = {
        messageId: sgipMessageId(pdu.submitSequence),
        stat,
        err: stat === 'DELIVRD' ? undefined : String(pdu.errorCode),
        msisdn: nationalNumber(pdu.userNumber),
      };
      const taken = await this.takeDelivery(
        () => ({ text: '', receipt }),
        () => ({}),
        { from: '', to: '', ref: '' },
      );
      return taken ? SGIP_RESULT.OK : SGIP_RESULT.BUSY;
    }
    const taken = await this.takeDelivery(
      () => readReplyText(pdu.messageCoding, pdu.content, pdu.tpUdhi === 1, pdu.userNumber, 'MessageCoding'),
      () => ({ user_number: pdu.userNumber, sp_number: pdu.spNumber, content: pdu.content.toString('hex') }),
      { from: nationalNumber(pdu.userNumber), to: pdu.spNumber, ref: `sgip-mo-${sgipMessageId(pdu)}` },
    );
    return taken ? SGIP_RESULT.OK : SGIP_RESULT.BUSY;
  }
}
