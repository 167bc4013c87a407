// Over 400 lines on purpose: startSmgpGateway is one server whose handlers share its session state (links,
// reports and MOs owed, counts); its store-and-forward part matches the other gateways' (a shared core would be the next seam).
import { createServer, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import type { SmsCarrier } from '../contract.ts';
import { readConcatUdh } from '../text/segment-text.ts';
import { MSG_FMT, cmppReportTime } from '../cmpp/codec.ts';
import { CmppLink } from '../cmpp/cmpp-link.ts';
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
  SlidingCount,
  type InjectedDelivery,
  type MessageIdStyle,
  type ReceivedMessage,
  type ReceivedPart,
  type SimulatedSmsc,
  type SmscBehaviour,
} from './simulated-smsc.ts';

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

interface Outgoing {
  deliver: SmgpDeliver;
  kind: 'receipt' | 'mo' | 'injected';
  attempts: number;
  id?: string;
}

interface GwSession {
  /** Set right after the session is made (its handlers need the session). */
  link: CmppLink<SmgpPdu>;
  bound: boolean;
  submits: number;
  pending: Set<Outgoing>;
}

/**
 * A simulated China Telecom gateway speaking SMGP 3.0: checks the Login authenticator and answers
 * with AuthenticatorServer, answers Submit after a latency (MsgID, or Status 1 "busy" beyond its
 * rate, the fates' codes), sends a status report per part as a Deliver with IsReport 1 and, at a
 * rate, an MO from the handset to the SrcTermID the message came from; Delivers not answered with
 * Status 0 are sent again. The behaviour knobs, statistics and inspection of `smsc.ts`.
 */
export async function startSmgpGateway(opts: SmgpGatewayOptions): Promise<SimulatedSmsc> {
  const carrier = opts.carrier;
  const clientId = opts.clientId ?? DEFAULT_SMGP_CLIENT_ID;
  const secret = opts.sharedSecret ?? DEFAULT_SMGP_SECRET;
  const behaviour: SmscBehaviour = { ...DEFAULT_BEHAVIOUR, rejectStatus: SMGP_STATUS.BAD_DEST_TERM_ID, ...opts.behaviour };
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
  // A gateway code per carrier and start, so ids of different runs and carriers differ.
  const gatewayCode = createHash('md5').update(`${carrier}${Date.now()}`).digest().readUInt32BE(0) % 1_000_000;
  let closed = false;

  const later = (ms: number, fn: () => void) => {
    if (closed) return;
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const newMsgId = () =>
    opts.messageIds === 'sequential' ? String(nextId++).padStart(20, '0') : makeSmgpMsgId(gatewayCode, new Date(), nextId++);

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
        const result = resp.command === 'deliver_resp' ? resp.status : -1;
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

  const onSubmit = (s: GwSession, pdu: Extract<SmgpPdu, { command: 'submit' }>) => {
    counters.submits++;
    s.submits++;
    if (behaviour.disconnectAfter > 0 && s.submits >= behaviour.disconnectAfter) {
      counters.dropped++;
      counters.disconnects++;
      s.link.flush();
      s.link.socket.destroy();
      return;
    }
    const respond = (status: number, msgId: string, record?: () => void) => {
      const go = () => {
        if (s.link.gone) {
          counters.dropped++;
          return;
        }
        record?.();
        s.link.write({ command: 'submit_resp', seq: pdu.seq, msgId, status });
      };
      if (behaviour.latencyMs > 0) later(behaviour.latencyMs, go);
      else go();
    };
    const now = Date.now();
    counters.peakPerSecond = Math.max(counters.peakPerSecond, received.add(now));
    if (behaviour.throttlePerSecond > 0) {
      if (letThrough.count(now) >= behaviour.throttlePerSecond) {
        counters.throttled++;
        respond(SMGP_STATUS.BUSY, '0'.repeat(20));
        return;
      }
      letThrough.add(now);
    }
    const destination = pdu.destTermIds[0] ?? '';
    const pkTotal = pdu.tlvs.get(SMGP_TLV.PK_TOTAL)?.[0] ?? 1;
    const pkNumber = pdu.tlvs.get(SMGP_TLV.PK_NUMBER)?.[0] ?? 1;
    const udhi = pdu.tlvs.get(SMGP_TLV.TP_UDHI)?.[0] === 1;
    const fate = behaviour.fates[destination];
    let refuse: number | undefined;
    if (pkNumber < 1 || pkNumber > pkTotal || pdu.msgType !== 6) refuse = SMGP_STATUS.BAD_STRUCTURE;
    else if (typeof fate === 'number') refuse = fate;
    else if (behaviour.rejectRate > 0 && Math.random() < behaviour.rejectRate) refuse = behaviour.rejectStatus;
    if (refuse !== undefined) {
      counters.rejected++;
      respond(refuse, '0'.repeat(20));
      return;
    }
    let body = pdu.content;
    let concat: ReceivedPart['concat'];
    if (udhi && body.length > 0) {
      concat = readConcatUdh(body.subarray(0, body[0]! + 1));
      body = body.subarray(body[0]! + 1);
    }
    const msgId = newMsgId();
    const part: ReceivedPart = {
      at: now,
      systemId: clientId,
      messageId: msgId,
      source: pdu.srcTermId,
      destination,
      dataCoding: pdu.msgFormat,
      text: textOf(pdu.msgFormat, body),
      concat,
    };
    respond(SMGP_STATUS.OK, msgId, () => {
      counters.accepted++;
      parts.push(part);
      if (parts.length > keep) parts.splice(0, parts.length - keep);
      const whole = assemble(part);
      const stat = fateOf(destination);
      later(behaviour.receiptDelayMs, () => owe(reportFor(part, msgId, stat)));
      if (whole && stat === 'DELIVRD' && behaviour.moRate > 0 && Math.random() < behaviour.moRate)
        later(behaviour.moDelayMs + behaviour.receiptDelayMs, () => owe(moFor(whole)));
    });
  };

  const reportFor = (part: ReceivedPart, msgId: string, stat: ReceiptStat): Outgoing => ({
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

  const moFor = (msg: ReceivedMessage): Outgoing => {
    const text = behaviour.moTexts[Math.floor(Math.random() * behaviour.moTexts.length)] ?? '收到';
    return {
      kind: 'mo',
      attempts: 0,
      deliver: {
        msgId: newMsgId(),
        isReport: 0,
        msgFormat: MSG_FMT.UCS2,
        recvTime: '',
        srcTermId: msg.destination,
        destTermId: msg.source,
        content: Buffer.from(text, 'utf16le').swap16(),
        reserve: '',
        tlvs: new Map(),
      },
    };
  };

  const onConnection = (socket: Socket) => {
    const s: GwSession = { bound: false, submits: 0, pending: new Set() } as Omit<GwSession, 'link'> as GwSession;
    s.link = new CmppLink<SmgpPdu>(
      socket,
      0x30,
      (pdu) => onPdu(s, pdu),
      () => undefined,
      SMGP_CODEC,
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
        const held = [...sessions].filter((x) => x.bound).length;
        if (behaviour.maxBinds > 0 && held >= behaviour.maxBinds) {
          counters.bindsRefused++;
          return refuse(SMGP_STATUS.TOO_MANY_CONNECTIONS);
        }
        s.bound = true;
        counters.peakBinds = Math.max(counters.peakBinds, held + 1);
        link.write({
          command: 'login_resp',
          seq: pdu.seq,
          status: SMGP_STATUS.OK,
          authenticator: authenticatorServer(SMGP_STATUS.OK, pdu.authenticator, secret),
          version: 0x30,
        });
        pump();
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
        const f = input.fields as Partial<SmgpDeliver>;
        owe({
          kind: 'injected',
          attempts: 0,
          id: inj.id,
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
