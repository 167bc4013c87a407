import { createHash } from 'node:crypto';
import type { SmsCarrier } from '../contract.ts';
import {
  CMPP_VERSION_20,
  CMPP_VERSION_30,
  CONNECT_STATUS,
  DEFAULT_CMPP_SECRET,
  DEFAULT_CMPP_SP_ID,
  MSG_FMT,
  SUBMIT_RESULT,
  authenticatorIsmg,
  authenticatorSource,
  cmppReportTime,
  encodeReport,
  makeMsgId,
  type CmppDeliver,
  type CmppPdu,
} from '../cmpp/codec.ts';
import type { ReceiptStat } from '../smpp/protocol.ts';
import {
  DEFAULT_BEHAVIOUR,
  type MessageIdStyle,
  type ReceivedMessage,
  type ReceivedPart,
  type SimulatedSmsc,
  type SmscBehaviour,
} from './simulated-smsc.ts';
import { decodeBody, splitUdh, type Owed } from './store-and-forward.ts';
import { FramedGateway, type GatewaySession } from './framed-gateway.ts';

export { DEFAULT_CMPP_SECRET, DEFAULT_CMPP_SP_ID } from '../cmpp/codec.ts';

export interface CmppGatewayOptions {
  carrier: SmsCarrier;
  port?: number;
  host?: string;
  spId?: string;
  sharedSecret?: string;
  /** Versions accepted at CONNECT (a higher one is answered "version too high"). @default 0x30 */
  version?: number;
  /** @default 'prefixed' (gateway Msg_Ids of time, gateway code and sequence); 'sequential': 1, 2, 3 … */
  messageIds?: MessageIdStyle;
  behaviour?: Partial<SmscBehaviour>;
  keep?: number;
  /** Retry delay for DELIVERs the SP did not answer with Result 0. */
  retryMs?: number;
}

interface Owing extends Owed {
  deliver: Omit<CmppDeliver, 'msgId'> & { msgId: bigint };
}

type GwSession = GatewaySession<CmppPdu, Owing>;

/**
 * A simulated China Mobile gateway (ISMG) speaking CMPP 3.0 (or 2.0): checks the CONNECT
 * authenticator and answers with AuthenticatorISMG, answers SUBMIT after a latency (Msg_Id, or a
 * Result: 8 beyond its rate, the fates' codes), sends a status report per part as a DELIVER with
 * Registered_Delivery 1 and, at a rate, an MO from the handset to the Src_Id the message came
 * from; DELIVERs not answered with Result 0 are sent again. The behaviour, store-and-forward,
 * statistics and inspection are every simulated gateway's (`store-and-forward.ts`, `behaviour.ts`).
 */
export async function startCmppGateway(opts: CmppGatewayOptions): Promise<SimulatedSmsc> {
  const carrier = opts.carrier;
  const spId = opts.spId ?? DEFAULT_CMPP_SP_ID;
  const secret = opts.sharedSecret ?? DEFAULT_CMPP_SECRET;
  const maxVersion = opts.version ?? CMPP_VERSION_30;
  const gw = new FramedGateway<CmppPdu, Owing>({
    carrier,
    behaviour: { ...DEFAULT_BEHAVIOUR, rejectStatus: SUBMIT_RESULT.BAD_DEST_TERMINAL, ...opts.behaviour },
    keep: opts.keep,
    retryMs: opts.retryMs,
    deliver: (s, item, answered) =>
      s.link.request({ command: 'deliver', ...item.deliver }, (resp) => answered(resp.command === 'deliver_resp' ? resp.result : -1)),
  });
  const { saf, boundCount } = gw;
  const { rules } = saf;
  let nextId = 1;
  let smscSeq = 1;
  // A gateway code per carrier and start, so ids of different runs and carriers differ.
  const gatewayCode = createHash('md5').update(`${carrier}${Date.now()}`).digest().readUInt32BE(0) & 0x3fffff;

  const newMsgId = () => (opts.messageIds === 'sequential' ? BigInt(nextId++) : makeMsgId(new Date(), gatewayCode, nextId++));

  const onSubmit = (s: GwSession, pdu: Extract<CmppPdu, { command: 'submit' }>) => {
    const destination = pdu.destTerminalIds[0] ?? '';
    const answer = (result: number, msgId: bigint) => s.link.write({ command: 'submit_resp', seq: pdu.seq, msgId, result });
    gw.submit(s, {
      destination,
      throttled: SUBMIT_RESULT.FLOW_CONTROL,
      invalid: () =>
        pdu.msgSrc !== spId
          ? SUBMIT_RESULT.BAD_MSG_SRC
          : pdu.pkNumber < 1 || pdu.pkNumber > pdu.pkTotal
            ? SUBMIT_RESULT.BAD_STRUCTURE
            : undefined,
      refuse: (code) => answer(code, 0n),
      accept: () => {
        const { body, concat } = splitUdh(pdu.tpUdhi === 1, pdu.content);
        const msgId = newMsgId();
        const part: ReceivedPart = {
          at: Date.now(),
          systemId: pdu.msgSrc,
          messageId: msgId.toString(),
          source: pdu.srcId,
          destination,
          dataCoding: pdu.msgFmt,
          text: decodeBody(pdu.msgFmt, body),
          concat,
        };
        return {
          part,
          answer: () => answer(SUBMIT_RESULT.OK, msgId),
          receipt: (stat) => reportFor(part, msgId, stat, pdu.serviceId),
          mo: (whole) => moFor(whole, pdu.serviceId),
        };
      },
    });
  };

  const reportFor = (part: ReceivedPart, msgId: bigint, stat: ReceiptStat, serviceId: string): Owing => ({
    kind: 'receipt',
    attempts: 0,
    deliver: {
      msgId: newMsgId(),
      destId: part.source,
      serviceId,
      tpPid: 0,
      tpUdhi: 0,
      msgFmt: MSG_FMT.ASCII,
      srcTerminalId: part.destination,
      srcTerminalType: 0,
      registeredDelivery: 1,
      content: encodeReport(
        {
          msgId,
          stat,
          submitTime: cmppReportTime(new Date(part.at)),
          doneTime: cmppReportTime(new Date()),
          destTerminalId: part.destination,
          smscSequence: smscSeq++ >>> 0,
        },
        maxVersion === CMPP_VERSION_20 ? CMPP_VERSION_20 : CMPP_VERSION_30,
      ),
      linkId: '',
    },
  });

  const moFor = (msg: ReceivedMessage, serviceId: string): Owing => ({
    kind: 'mo',
    attempts: 0,
    deliver: {
      msgId: newMsgId(),
      destId: msg.source,
      serviceId,
      tpPid: 0,
      tpUdhi: 0,
      msgFmt: MSG_FMT.UCS2,
      srcTerminalId: msg.destination,
      srcTerminalType: 0,
      registeredDelivery: 0,
      content: Buffer.from(rules.moText(msg), 'utf16le').swap16(),
      linkId: '',
    },
  });

  const onPdu = (s: GwSession, pdu: CmppPdu) => {
    const link = s.link;
    switch (pdu.command) {
      case 'connect': {
        const refuse = (status: number) => {
          link.write({ command: 'connect_resp', seq: pdu.seq, status, authenticator: Buffer.alloc(16), version: maxVersion });
          link.flush();
          link.socket.end();
        };
        if (pdu.version > maxVersion) return refuse(CONNECT_STATUS.VERSION_TOO_HIGH);
        if (pdu.sourceAddr !== spId) return refuse(CONNECT_STATUS.BAD_SOURCE);
        if (!authenticatorSource(spId, secret, pdu.timestamp).equals(pdu.authenticator)) return refuse(CONNECT_STATUS.AUTH_FAILED);
        if (!rules.admitBind(boundCount())) return refuse(CONNECT_STATUS.OTHER);
        // The session speaks the version the SP asked for (2.0 bodies for a 2.0 SP).
        link.version = pdu.version >= CMPP_VERSION_30 ? CMPP_VERSION_30 : CMPP_VERSION_20;
        s.bound = true;
        link.write({
          command: 'connect_resp',
          seq: pdu.seq,
          status: CONNECT_STATUS.OK,
          authenticator: authenticatorIsmg(CONNECT_STATUS.OK, pdu.authenticator, secret, link.version),
          version: link.version,
        });
        saf.pump();
        return;
      }
      case 'active_test':
        link.write({ command: 'active_test_resp', seq: pdu.seq });
        return;
      case 'terminate':
        s.bound = false;
        link.write({ command: 'terminate_resp', seq: pdu.seq });
        link.flush();
        link.socket.end();
        return;
      case 'submit':
        if (!s.bound) {
          link.write({ command: 'submit_resp', seq: pdu.seq, msgId: 0n, result: SUBMIT_RESULT.BAD_STRUCTURE });
          return;
        }
        onSubmit(s, pdu);
        return;
      default:
        return;
    }
  };

  const port = await gw.listen({ port: opts.port, host: opts.host, version: maxVersion, onPdu });
  return gw.simulated(port, (fields, id) => {
    const f = fields as Partial<CmppDeliver>;
    return {
      kind: 'injected',
      attempts: 0,
      id,
      deliver: {
        msgId: f.msgId ?? newMsgId(),
        destId: f.destId ?? '',
        serviceId: f.serviceId ?? '',
        tpPid: f.tpPid ?? 0,
        tpUdhi: f.tpUdhi ?? 0,
        msgFmt: f.msgFmt ?? MSG_FMT.UCS2,
        srcTerminalId: f.srcTerminalId ?? '',
        srcTerminalType: f.srcTerminalType ?? 0,
        registeredDelivery: f.registeredDelivery ?? 0,
        content: f.content ?? Buffer.alloc(0),
        linkId: f.linkId ?? '',
      },
    };
  });
}
