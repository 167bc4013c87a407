import { createHash } from 'node:crypto';
import type { SmsCarrier } from '../contract.ts';
import { MSG_FMT, cmppReportTime } from '../cmpp/codec.ts';
import {
  DEFAULT_SMGP_CLIENT_ID,
  DEFAULT_SMGP_SECRET,
  SMGP_STATUS,
  SMGP_TLV,
  authenticatorClient,
  authenticatorServer,
  encodeSmgpReport,
  makeSmgpMsgId,
  type SmgpDeliver,
  type SmgpPdu,
} from '../smgp/codec.ts';
import { SMGP_CODEC } from '../smgp/smgp-connector.ts';
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

export { DEFAULT_SMGP_CLIENT_ID, DEFAULT_SMGP_SECRET } from '../smgp/codec.ts';

export interface SmgpGatewayOptions {
  carrier: SmsCarrier;
  port?: number;
  host?: string;
  clientId?: string;
  sharedSecret?: string;
  /** @default 'prefixed' (BCD MsgIDs of gateway code, time and sequence); 'sequential': 00…01, 00…02 … */
  messageIds?: MessageIdStyle;
  behaviour?: Partial<SmscBehaviour>;
  keep?: number;
  /** Retry delay for DELIVERs the SP did not answer with Result 0. */
  retryMs?: number;
}

interface Owing extends Owed {
  deliver: SmgpDeliver;
}

type GwSession = GatewaySession<SmgpPdu, Owing>;

/**
 * A simulated China Telecom gateway speaking SMGP 3.0: checks the Login authenticator and answers
 * with AuthenticatorServer, answers Submit after a latency (MsgID, or Status 1 "busy" beyond its
 * rate, the fates' codes), sends a status report per part as a Deliver with IsReport 1 and, at a
 * rate, an MO from the handset to the SrcTermID the message came from; Delivers not answered with
 * Status 0 are sent again. The behaviour, store-and-forward, statistics and inspection are every
 * simulated gateway's (`store-and-forward.ts`, `behaviour.ts`).
 */
export async function startSmgpGateway(opts: SmgpGatewayOptions): Promise<SimulatedSmsc> {
  const carrier = opts.carrier;
  const clientId = opts.clientId ?? DEFAULT_SMGP_CLIENT_ID;
  const secret = opts.sharedSecret ?? DEFAULT_SMGP_SECRET;
  const gw = new FramedGateway<SmgpPdu, Owing>({
    carrier,
    behaviour: { ...DEFAULT_BEHAVIOUR, rejectStatus: SMGP_STATUS.BAD_DEST_TERM_ID, ...opts.behaviour },
    keep: opts.keep,
    retryMs: opts.retryMs,
    deliver: (s, item, answered) =>
      s.link.request({ command: 'deliver', ...item.deliver }, (resp) => answered(resp.command === 'deliver_resp' ? resp.status : -1)),
  });
  const { saf, boundCount } = gw;
  const { rules } = saf;
  let nextId = 1;
  // A gateway code per carrier and start, so ids of different runs and carriers differ.
  const gatewayCode = createHash('md5').update(`${carrier}${Date.now()}`).digest().readUInt32BE(0) % 1_000_000;

  const newMsgId = () =>
    opts.messageIds === 'sequential' ? String(nextId++).padStart(20, '0') : makeSmgpMsgId(gatewayCode, new Date(), nextId++);

  const onSubmit = (s: GwSession, pdu: Extract<SmgpPdu, { command: 'submit' }>) => {
    const destination = pdu.destTermIds[0] ?? '';
    const pkTotal = pdu.tlvs.get(SMGP_TLV.PK_TOTAL)?.[0] ?? 1;
    const pkNumber = pdu.tlvs.get(SMGP_TLV.PK_NUMBER)?.[0] ?? 1;
    const answer = (status: number, msgId: string) => s.link.write({ command: 'submit_resp', seq: pdu.seq, msgId, status });
    gw.submit(s, {
      destination,
      throttled: SMGP_STATUS.BUSY,
      invalid: () => (pkNumber < 1 || pkNumber > pkTotal || pdu.msgType !== 6 ? SMGP_STATUS.BAD_STRUCTURE : undefined),
      refuse: (code) => answer(code, '0'.repeat(20)),
      accept: () => {
        const { body, concat } = splitUdh(pdu.tlvs.get(SMGP_TLV.TP_UDHI)?.[0] === 1, pdu.content);
        const msgId = newMsgId();
        const part: ReceivedPart = {
          at: Date.now(),
          systemId: clientId,
          messageId: msgId,
          source: pdu.srcTermId,
          destination,
          dataCoding: pdu.msgFormat,
          text: decodeBody(pdu.msgFormat, body),
          concat,
        };
        return { part, answer: () => answer(SMGP_STATUS.OK, msgId), receipt: (stat) => reportFor(part, msgId, stat), mo: moFor };
      },
    });
  };

  const reportFor = (part: ReceivedPart, msgId: string, stat: ReceiptStat): Owing => ({
    kind: 'receipt',
    attempts: 0,
    deliver: {
      msgId: newMsgId(),
      isReport: 1,
      msgFormat: MSG_FMT.ASCII,
      recvTime: '',
      // A report comes from the handset the message went to, to the number it came from.
      srcTermId: part.destination,
      destTermId: part.source,
      content: encodeSmgpReport({
        msgId,
        stat,
        err: stat === 'DELIVRD' ? '000' : '001',
        submitDate: cmppReportTime(new Date(part.at)),
        doneDate: cmppReportTime(new Date()),
      }),
      reserve: '',
      tlvs: new Map(),
    },
  });

  const moFor = (msg: ReceivedMessage): Owing => ({
    kind: 'mo',
    attempts: 0,
    deliver: {
      msgId: newMsgId(),
      isReport: 0,
      msgFormat: MSG_FMT.UCS2,
      recvTime: '',
      srcTermId: msg.destination,
      destTermId: msg.source,
      content: Buffer.from(rules.moText(msg), 'utf16le').swap16(),
      reserve: '',
      tlvs: new Map(),
    },
  });

  const onPdu = (s: GwSession, pdu: SmgpPdu) => {
    const link = s.link;
    switch (pdu.command) {
      case 'login': {
        const refuse = (status: number) => {
          link.write({ command: 'login_resp', seq: pdu.seq, status, authenticator: Buffer.alloc(16), version: 0x30 });
          link.flush();
          link.socket.end();
        };
        if (pdu.version > 0x30) return refuse(SMGP_STATUS.VERSION_TOO_HIGH);
        if (pdu.clientId !== clientId || !authenticatorClient(clientId, secret, pdu.timestamp).equals(pdu.authenticator))
          return refuse(SMGP_STATUS.AUTH_FAILED);
        if (!rules.admitBind(boundCount())) return refuse(SMGP_STATUS.TOO_MANY_CONNECTIONS);
        s.bound = true;
        link.write({
          command: 'login_resp',
          seq: pdu.seq,
          status: SMGP_STATUS.OK,
          authenticator: authenticatorServer(SMGP_STATUS.OK, pdu.authenticator, secret),
          version: 0x30,
        });
        saf.pump();
        return;
      }
      case 'active_test':
        link.write({ command: 'active_test_resp', seq: pdu.seq });
        return;
      case 'exit':
        s.bound = false;
        link.write({ command: 'exit_resp', seq: pdu.seq });
        link.flush();
        link.socket.end();
        return;
      case 'submit':
        if (!s.bound) {
          link.write({ command: 'submit_resp', seq: pdu.seq, msgId: '0'.repeat(20), status: SMGP_STATUS.BAD_STRUCTURE });
          return;
        }
        onSubmit(s, pdu);
        return;
      default:
        return;
    }
  };

  const port = await gw.listen({ port: opts.port, host: opts.host, version: 0x30, codec: SMGP_CODEC, onPdu });
  return gw.simulated(port, (fields, id) => {
    const f = fields as Partial<SmgpDeliver>;
    return {
      kind: 'injected',
      attempts: 0,
      id,
      deliver: {
        msgId: f.msgId ?? newMsgId(),
        isReport: f.isReport ?? 0,
        msgFormat: f.msgFormat ?? MSG_FMT.UCS2,
        recvTime: f.recvTime ?? '',
        srcTermId: f.srcTermId ?? '',
        destTermId: f.destTermId ?? '',
        content: f.content ?? Buffer.alloc(0),
        reserve: f.reserve ?? '',
        tlvs: f.tlvs ?? new Map(),
      },
    };
  });
}
