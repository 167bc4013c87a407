// Over 400 lines on purpose: startCmppGateway is one server whose handlers share its session state (links,
// reports and MOs owed, counts); its store-and-forward part matches the other gateways' (a shared core would be the next seam).
import { createServer, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import type { SmsCarrier } from '../contract.ts';
import { readConcatUdh } from '../text/segment-text.ts';
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
import { CmppLink } from '../cmpp/cmpp-link.ts';
import type { ReceiptStat } from '../smpp/protocol.ts';
import {
  DEFAULT_BEHAVIOUR,
  SlidingCount,
  type InjectedDelivery,
  type MessageIdStyle,
  type ReceivedMessage,
  type ReceivedPart,
  type SimulatedSmsc,
  type SmscBehaviour,
} from './simulated-smsc.ts';

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

interface Outgoing {
  deliver: Omit<CmppDeliver, 'msgId'> & { msgId: bigint };
  kind: 'receipt' | 'mo' | 'injected';
  attempts: number;
  id?: string;
}

interface GwSession {
  /** Set right after the session is made (its handlers need the session). */
  link: CmppLink;
  bound: boolean;
  submits: number;
  pending: Set<Outgoing>;
}

/**
 * A simulated China Mobile gateway (ISMG) speaking CMPP 3.0 (or 2.0): checks the CONNECT
 * authenticator and answers with AuthenticatorISMG, answers SUBMIT after a latency (Msg_Id, or a
 * Result: 8 beyond its rate, the fates' codes), sends a status report per part as a DELIVER with
 * Registered_Delivery 1 and, at a rate, an MO from the handset to the Src_Id the message came
 * from; DELIVERs not answered with Result 0 are sent again. The same behaviour knobs, statistics
 * and inspection as the SMPP simulator (`smsc.ts`), so `http.ts` serves both.
 */
export async function startCmppGateway(opts: CmppGatewayOptions): Promise<SimulatedSmsc> {
  const carrier = opts.carrier;
  const spId = opts.spId ?? DEFAULT_CMPP_SP_ID;
  const secret = opts.sharedSecret ?? DEFAULT_CMPP_SECRET;
  const maxVersion = opts.version ?? CMPP_VERSION_30;
  const behaviour: SmscBehaviour = { ...DEFAULT_BEHAVIOUR, rejectStatus: SUBMIT_RESULT.BAD_DEST_TERMINAL, ...opts.behaviour };
  const keep = opts.keep ?? 200_000;
  const retryMs = opts.retryMs ?? 1000;
  const parts: ReceivedPart[] = [];
  const messages: ReceivedMessage[] = [];
  const byDestination = new Map<string, ReceivedMessage[]>();
  const counters = {
    submits: 0,
    accepted: 0,
    throttled: 0,
    rejected: 0,
    dropped: 0,
    disconnects: 0,
    receiptsSent: 0,
    mosSent: 0,
    peakBinds: 0,
    bindsRefused: 0,
    peakPerSecond: 0,
  };
  const received = new SlidingCount();
  const letThrough = new SlidingCount();
  const sessions = new Set<GwSession>();
  const outbox: Outgoing[] = [];
  const partial = new Map<string, Map<number, ReceivedPart>>();
  const timers = new Set<NodeJS.Timeout>();
  const injections = new Map<string, InjectedDelivery>();
  let nextInjection = 1;
  let nextReceiver = 0;
  let nextId = 1;
  let smscSeq = 1;
  // A gateway code per carrier and start, so ids of different runs and carriers differ.
  const gatewayCode = createHash('md5').update(`${carrier}${Date.now()}`).digest().readUInt32BE(0) & 0x3fffff;
  let closed = false;

  const later = (ms: number, fn: () => void) => {
    if (closed) return;
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const newMsgId = () => (opts.messageIds === 'sequential' ? BigInt(nextId++) : makeMsgId(new Date(), gatewayCode, nextId++));

  const keepMessage = (m: ReceivedMessage) => {
    let l = byDestination.get(m.destination);
    if (!l) byDestination.set(m.destination, (l = []));
    l.push(m);
    messages.push(m);
    if (messages.length > keep) {
      for (const d of messages.splice(0, messages.length - keep)) {
        const dl = byDestination.get(d.destination);
        const i = dl ? dl.indexOf(d) : -1;
        if (i >= 0) dl!.splice(i, 1);
        if (dl && dl.length === 0) byDestination.delete(d.destination);
      }
    }
  };

  const fateOf = (destination: string): ReceiptStat => {
    const f = behaviour.fates[destination];
    if (typeof f === 'string') return f;
    if (Math.random() < behaviour.successRate) return 'DELIVRD';
    return Math.random() < behaviour.expiredShare ? 'EXPIRED' : 'UNDELIV';
  };

  const pump = () => {
    if (closed || outbox.length === 0) return;
    const receivers = [...sessions].filter((s) => s.bound && !s.link.gone);
    if (receivers.length === 0) return;
    for (const item of outbox.splice(0)) {
      const s = receivers[nextReceiver++ % receivers.length]!;
      const inj = item.id ? injections.get(item.id) : undefined;
      if (inj) inj.attempts++;
      s.pending.add(item);
      const sent = s.link.request({ command: 'deliver', ...item.deliver }, (resp) => {
        s.pending.delete(item);
        const result = resp.command === 'deliver_resp' ? resp.result : -1;
        if (inj) inj.lastStatus = result;
        if (result === 0) {
          if (item.kind === 'receipt') counters.receiptsSent++;
          else if (item.kind === 'mo') counters.mosSent++;
          if (inj) inj.done = true;
        } else {
          item.attempts++;
          later(retryMs, () => owe(item));
        }
      });
      if (sent === false) {
        s.pending.delete(item);
        outbox.push(item);
      }
    }
  };
  const owe = (item: Outgoing) => {
    outbox.push(item);
    pump();
  };

  const textOf = (fmt: number, body: Buffer) =>
    fmt === MSG_FMT.UCS2
      ? Buffer.from(body).swap16().toString('utf16le')
      : fmt === MSG_FMT.GB
        ? new TextDecoder('gbk').decode(body)
        : body.toString('latin1');

  const assemble = (part: ReceivedPart): ReceivedMessage | undefined => {
    let list: ReceivedPart[];
    if (!part.concat || part.concat.total <= 1) list = [part];
    else {
      const key = `${part.source}|${part.destination}|${part.concat.reference}|${part.concat.total}`;
      let p = partial.get(key);
      if (!p) partial.set(key, (p = new Map()));
      p.set(part.concat.part, part);
      if (p.size < part.concat.total) return undefined;
      partial.delete(key);
      list = [...p.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
    }
    const whole: ReceivedMessage = {
      at: list[0]!.at,
      source: part.source,
      destination: part.destination,
      text: list.map((o) => o.text).join(''),
      parts: list.length,
      messageIds: list.map((o) => o.messageId),
      dataCoding: part.dataCoding,
    };
    keepMessage(whole);
    return whole;
  };

  const onSubmit = (s: GwSession, pdu: Extract<CmppPdu, { command: 'submit' }>) => {
    counters.submits++;
    s.submits++;
    if (behaviour.disconnectAfter > 0 && s.submits >= behaviour.disconnectAfter) {
      counters.dropped++;
      counters.disconnects++;
      s.link.flush();
      s.link.socket.destroy();
      return;
    }
    const respond = (result: number, msgId: bigint, record?: () => void) => {
      const go = () => {
        if (s.link.gone) {
          counters.dropped++;
          return;
        }
        record?.();
        s.link.write({ command: 'submit_resp', seq: pdu.seq, msgId, result });
      };
      if (behaviour.latencyMs > 0) later(behaviour.latencyMs, go);
      else go();
    };
    const now = Date.now();
    counters.peakPerSecond = Math.max(counters.peakPerSecond, received.add(now));
    if (behaviour.throttlePerSecond > 0) {
      if (letThrough.count(now) >= behaviour.throttlePerSecond) {
        counters.throttled++;
        respond(SUBMIT_RESULT.FLOW_CONTROL, 0n);
        return;
      }
      letThrough.add(now);
    }
    const destination = pdu.destTerminalIds[0] ?? '';
    const fate = behaviour.fates[destination];
    let refuse: number | undefined;
    if (pdu.msgSrc !== spId) refuse = SUBMIT_RESULT.BAD_MSG_SRC;
    else if (pdu.pkNumber < 1 || pdu.pkNumber > pdu.pkTotal) refuse = SUBMIT_RESULT.BAD_STRUCTURE;
    else if (typeof fate === 'number') refuse = fate;
    else if (behaviour.rejectRate > 0 && Math.random() < behaviour.rejectRate) refuse = behaviour.rejectStatus;
    if (refuse !== undefined) {
      counters.rejected++;
      respond(refuse, 0n);
      return;
    }
    let body = pdu.content;
    let concat: ReceivedPart['concat'];
    if (pdu.tpUdhi === 1 && body.length > 0) {
      concat = readConcatUdh(body.subarray(0, body[0]! + 1));
      body = body.subarray(body[0]! + 1);
    }
    const msgId = newMsgId();
    const part: ReceivedPart = {
      at: now,
      systemId: pdu.msgSrc,
      messageId: msgId.toString(),
      source: pdu.srcId,
      destination,
      dataCoding: pdu.msgFmt,
      text: textOf(pdu.msgFmt, body),
      concat,
    };
    respond(SUBMIT_RESULT.OK, msgId, () => {
      counters.accepted++;
      parts.push(part);
      if (parts.length > keep) parts.splice(0, parts.length - keep);
      const whole = assemble(part);
      const stat = fateOf(destination);
      later(behaviour.receiptDelayMs, () => owe(reportFor(part, msgId, stat, pdu.serviceId)));
      if (whole && stat === 'DELIVRD' && behaviour.moRate > 0 && Math.random() < behaviour.moRate)
        later(behaviour.moDelayMs + behaviour.receiptDelayMs, () => owe(moFor(whole, pdu.serviceId)));
    });
  };

  const reportFor = (part: ReceivedPart, msgId: bigint, stat: ReceiptStat, serviceId: string): Outgoing => ({
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

  const moFor = (msg: ReceivedMessage, serviceId: string): Outgoing => {
    const text = behaviour.moTexts[Math.floor(Math.random() * behaviour.moTexts.length)] ?? '收到';
    return {
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
        content: Buffer.from(text, 'utf16le').swap16(),
        linkId: '',
      },
    };
  };

  const onConnection = (socket: Socket) => {
    const s: GwSession = { bound: false, submits: 0, pending: new Set() } as Omit<GwSession, 'link'> as GwSession;
    s.link = new CmppLink(
      socket,
      maxVersion,
      (pdu) => onPdu(s, pdu),
      () => undefined,
    );
    sessions.add(s);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sessions.delete(s);
      for (const item of s.pending) outbox.push(item);
      s.pending.clear();
      pump();
    });
  };

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
        const held = [...sessions].filter((x) => x.bound).length;
        if (behaviour.maxBinds > 0 && held >= behaviour.maxBinds) {
          counters.bindsRefused++;
          return refuse(CONNECT_STATUS.OTHER);
        }
        // The session speaks the version the SP asked for (2.0 bodies for a 2.0 SP).
        link.version = pdu.version >= CMPP_VERSION_30 ? CMPP_VERSION_30 : CMPP_VERSION_20;
        s.bound = true;
        counters.peakBinds = Math.max(counters.peakBinds, held + 1);
        link.write({
          command: 'connect_resp',
          seq: pdu.seq,
          status: CONNECT_STATUS.OK,
          authenticator: authenticatorIsmg(CONNECT_STATUS.OK, pdu.authenticator, secret, link.version),
          version: link.version,
        });
        pump();
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

  const server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 0);

  return {
    carrier,
    port,
    behaviour,
    parts,
    messages,
    messagesTo: (msisdn) => byDestination.get(msisdn) ?? [],
    stats: () => ({
      carrier,
      binds: [...sessions].filter((s) => s.bound).length,
      ...counters,
      receiptsPending: outbox.length + [...sessions].reduce((n, s) => n + s.pending.size, 0),
    }),
    configure: (b) => void Object.assign(behaviour, b),
    inject(input) {
      const inj: InjectedDelivery = { id: `inj-${carrier}-${nextInjection++}`, attempts: 0, done: false };
      injections.set(inj.id, inj);
      if ('raw' in input) {
        const s = [...sessions].find((x) => x.bound);
        if (s) {
          s.link.flush();
          s.link.socket.write(input.raw);
          inj.attempts++;
        }
      } else {
        const f = input.fields as Partial<CmppDeliver>;
        owe({
          kind: 'injected',
          attempts: 0,
          id: inj.id,
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
        });
      }
      return inj;
    },
    injected: (id) => injections.get(id),
    dropAll() {
      for (const s of [...sessions]) {
        counters.disconnects++;
        s.link.flush();
        s.link.socket.destroy();
      }
    },
    clear() {
      counters.peakBinds = [...sessions].filter((s) => s.bound).length;
      counters.peakPerSecond = 0;
      parts.length = 0;
      messages.length = 0;
      byDestination.clear();
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of [...sessions]) s.link.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
