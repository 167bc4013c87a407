// Over 400 lines on purpose: startSgipGateway is one server whose handlers share its state (both connections,
// reports and MOs owed, counts); its store-and-forward part matches the other gateways' (a shared core would be the next seam).
import { connect, createServer, type Socket } from 'node:net';
import type { SmsCarrier } from '../contract.ts';
import { readConcatUdh } from '../text/segment-text.ts';
import { MSG_FMT, cmppTimestamp } from '../cmpp/codec.ts';
import { CmppLink } from '../cmpp/cmpp-link.ts';
import { SGIP_LOGIN, SGIP_STATE, sgipMessageId, type SgipPdu } from '../sgip/codec.ts';
import { SGIP_CODEC, SGIP_RESULT } from '../sgip/sgip-connector.ts';
import type { ReceiptStat } from '../smpp/protocol.ts';
import {
  DEFAULT_BEHAVIOUR,
  SlidingCount,
  type InjectedDelivery,
  type ReceivedMessage,
  type ReceivedPart,
  type SimulatedSmsc,
  type SmscBehaviour,
} from './simulated-smsc.ts';

export const DEFAULT_SGIP_LOGIN = 'geoalert';
export const DEFAULT_SGIP_PASSWORD = 'sim-pass';

export interface SgipGatewayOptions {
  carrier: SmsCarrier;
  port?: number;
  host?: string;
  loginName?: string;
  loginPassword?: string;
  /** Where the SP listens for our connection (Report, Deliver); settable later with `connectBackTo`. */
  sp?: { host: string; port: number };
  /** SMG node number (the first part of the Sequence Numbers it makes). @default 3010099999 */
  nodeId?: number;
  behaviour?: Partial<SmscBehaviour>;
  keep?: number;
  retryMs?: number;
}

export type SimulatedSgipGateway = SimulatedSmsc & { connectBackTo(host: string, port: number): void };

interface Outgoing {
  pdu: Extract<SgipPdu, { command: 'report' | 'deliver' }>;
  kind: 'receipt' | 'mo' | 'injected';
  id?: string;
}

/**
 * A simulated China Unicom SMG speaking SGIP 1.2: takes the SP's Bind (Login Type 1) and Submits,
 * answers each with its Result after a latency (11 "busy" beyond its rate, the fates' codes), and
 * delivers a Report per part and, at a rate, an MO (Deliver) over its own connection to the SP
 * (Bind Login Type 2), sending again what the SP did not answer with Result 0. The knobs, statistics
 * and inspection of `smsc.ts`.
 */
export async function startSgipGateway(opts: SgipGatewayOptions): Promise<SimulatedSgipGateway> {
  const carrier = opts.carrier;
  const loginName = opts.loginName ?? DEFAULT_SGIP_LOGIN;
  const loginPassword = opts.loginPassword ?? DEFAULT_SGIP_PASSWORD;
  const nodeId = opts.nodeId ?? 3010099999;
  const behaviour: SmscBehaviour = { ...DEFAULT_BEHAVIOUR, rejectStatus: SGIP_RESULT.BAD_NUMBER, ...opts.behaviour };
  const keep = opts.keep ?? 200_000;
  const retryMs = opts.retryMs ?? 1000;
  let sp = opts.sp;
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
  const sessions = new Set<{ link: CmppLink<SgipPdu>; bound: boolean; submits: number }>();
  const outbox: Outgoing[] = [];
  const pending = new Set<Outgoing>();
  const partial = new Map<string, Map<number, ReceivedPart>>();
  const timers = new Set<NodeJS.Timeout>();
  const injections = new Map<string, InjectedDelivery>();
  let nextInjection = 1;
  let seq = 1;
  let closed = false;
  let back: { link: CmppLink<SgipPdu>; bound: boolean } | undefined;

  const later = (ms: number, fn: () => void) => {
    if (closed) return;
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const hdr = () => ({ node: nodeId, time: cmppTimestamp(), seq: seq++ });
  const national = (n: string) => /^86(1\d{10})$/.exec(n)?.[1] ?? n;

  /** Our connection to the SP: dialled when something is owed, bound with Login Type 2. */
  const pump = () => {
    if (closed || outbox.length === 0 || !sp) return;
    if (!back) {
      const socket = connect(sp);
      const link = new CmppLink<SgipPdu>(
        socket,
        0x12,
        () => undefined,
        () => undefined,
        SGIP_CODEC,
      );
      const b = { link, bound: false };
      back = b;
      socket.on('error', () => undefined);
      socket.on('close', () => {
        if (back === b) back = undefined;
        for (const item of pending) outbox.push(item);
        pending.clear();
        if (outbox.length) later(retryMs, pump);
      });
      link.seqSource = () => seq++;
      socket.on('connect', () => {
        link.request(
          { command: 'bind', node: nodeId, time: cmppTimestamp(), loginType: SGIP_LOGIN.SMG_TO_SP, loginName, loginPassword, reserve: '' },
          (resp) => {
            if (resp.command !== 'bind_resp' || resp.result !== 0) {
              socket.destroy();
              return;
            }
            b.bound = true;
            pump();
          },
        );
      });
      return;
    }
    if (!back.bound || back.link.gone) return;
    const link = back.link;
    for (const item of outbox.splice(0)) {
      const inj = item.id ? injections.get(item.id) : undefined;
      if (inj) inj.attempts++;
      pending.add(item);
      // Numbered afresh on each attempt (the link's counter); node and time as made.
      const sent = link.request(item.pdu as Parameters<typeof link.request>[0], (resp) => {
        pending.delete(item);
        const result = 'result' in resp ? resp.result : -1;
        if (inj) inj.lastStatus = result;
        if (result === 0) {
          if (item.kind === 'receipt') counters.receiptsSent++;
          else if (item.kind === 'mo') counters.mosSent++;
          if (inj) inj.done = true;
        } else later(retryMs, () => owe(item));
      });
      if (sent === false) {
        pending.delete(item);
        outbox.push(item);
      }
    }
  };
  const owe = (item: Outgoing) => {
    outbox.push(item);
    pump();
  };

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
      }
    }
  };

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

  const fateOf = (destination: string): ReceiptStat => {
    const f = behaviour.fates[destination];
    if (typeof f === 'string') return f;
    if (Math.random() < behaviour.successRate) return 'DELIVRD';
    return Math.random() < behaviour.expiredShare ? 'EXPIRED' : 'UNDELIV';
  };

  const onSubmit = (s: { link: CmppLink<SgipPdu>; submits: number }, pdu: Extract<SgipPdu, { command: 'submit' }>) => {
    counters.submits++;
    s.submits++;
    if (behaviour.disconnectAfter > 0 && s.submits >= behaviour.disconnectAfter) {
      counters.dropped++;
      counters.disconnects++;
      s.link.flush();
      s.link.socket.destroy();
      return;
    }
    const respond = (result: number, record?: () => void) => {
      const go = () => {
        if (s.link.gone) {
          counters.dropped++;
          return;
        }
        record?.();
        s.link.write({ command: 'submit_resp', node: pdu.node, time: pdu.time, seq: pdu.seq, result, reserve: '' });
      };
      if (behaviour.latencyMs > 0) later(behaviour.latencyMs, go);
      else go();
    };
    const now = Date.now();
    counters.peakPerSecond = Math.max(counters.peakPerSecond, received.add(now));
    if (behaviour.throttlePerSecond > 0) {
      if (letThrough.count(now) >= behaviour.throttlePerSecond) {
        counters.throttled++;
        respond(SGIP_RESULT.BUSY);
        return;
      }
      letThrough.add(now);
    }
    const destination = national(pdu.userNumbers[0] ?? '');
    const fate = behaviour.fates[destination];
    if (typeof fate === 'number' || (behaviour.rejectRate > 0 && Math.random() < behaviour.rejectRate)) {
      counters.rejected++;
      respond(typeof fate === 'number' ? fate : behaviour.rejectStatus);
      return;
    }
    let body = pdu.content;
    let concat: ReceivedPart['concat'];
    if (pdu.tpUdhi === 1 && body.length > 0) {
      concat = readConcatUdh(body.subarray(0, body[0]! + 1));
      body = body.subarray(body[0]! + 1);
    }
    const messageId = sgipMessageId(pdu);
    const part: ReceivedPart = {
      at: now,
      systemId: loginName,
      messageId,
      source: pdu.spNumber,
      destination,
      dataCoding: pdu.messageCoding,
      text: pdu.messageCoding === MSG_FMT.UCS2 ? Buffer.from(body).swap16().toString('utf16le') : body.toString('latin1'),
      concat,
    };
    respond(SGIP_RESULT.OK, () => {
      counters.accepted++;
      parts.push(part);
      if (parts.length > keep) parts.splice(0, parts.length - keep);
      const whole = assemble(part);
      const stat = fateOf(destination);
      if (pdu.reportFlag === 1 || pdu.reportFlag === 0)
        later(behaviour.receiptDelayMs, () =>
          owe({
            kind: 'receipt',
            pdu: {
              command: 'report',
              ...hdr(),
              submitSequence: { node: pdu.node, time: pdu.time, seq: pdu.seq },
              reportType: 0,
              userNumber: pdu.userNumbers[0] ?? '',
              state: stat === 'DELIVRD' ? SGIP_STATE.DELIVERED : SGIP_STATE.FAILED,
              errorCode: stat === 'DELIVRD' ? 0 : 1,
              reserve: '',
            },
          }),
        );
      if (whole && stat === 'DELIVRD' && behaviour.moRate > 0 && Math.random() < behaviour.moRate) {
        const text = behaviour.moTexts[Math.floor(Math.random() * behaviour.moTexts.length)] ?? '收到';
        later(behaviour.moDelayMs + behaviour.receiptDelayMs, () =>
          owe({
            kind: 'mo',
            pdu: {
              command: 'deliver',
              ...hdr(),
              userNumber: `86${whole.destination}`,
              spNumber: whole.source,
              tpPid: 0,
              tpUdhi: 0,
              messageCoding: MSG_FMT.UCS2,
              content: Buffer.from(text, 'utf16le').swap16(),
              reserve: '',
            },
          }),
        );
      }
    });
  };

  const server = createServer((socket: Socket) => {
    const s = { link: undefined as unknown as CmppLink<SgipPdu>, bound: false, submits: 0 };
    s.link = new CmppLink<SgipPdu>(
      socket,
      0x12,
      (pdu) => {
        switch (pdu.command) {
          case 'bind': {
            const ok = pdu.loginType === SGIP_LOGIN.SP_TO_SMG && pdu.loginName === loginName && pdu.loginPassword === loginPassword;
            const held = [...sessions].filter((x) => x.bound).length;
            const full = behaviour.maxBinds > 0 && held >= behaviour.maxBinds;
            if (full) counters.bindsRefused++;
            s.link.write({
              command: 'bind_resp',
              node: pdu.node,
              time: pdu.time,
              seq: pdu.seq,
              result: ok && !full ? 0 : SGIP_RESULT.BAD_LOGIN,
              reserve: '',
            });
            if (ok && !full) {
              s.bound = true;
              counters.peakBinds = Math.max(counters.peakBinds, held + 1);
            } else {
              s.link.flush();
              socket.end();
            }
            return;
          }
          case 'unbind':
            s.bound = false;
            s.link.write({ command: 'unbind_resp', node: pdu.node, time: pdu.time, seq: pdu.seq });
            s.link.flush();
            socket.end();
            return;
          case 'submit':
            if (!s.bound) {
              s.link.write({
                command: 'submit_resp',
                node: pdu.node,
                time: pdu.time,
                seq: pdu.seq,
                result: SGIP_RESULT.BAD_LOGIN,
                reserve: '',
              });
              return;
            }
            onSubmit(s, pdu);
            return;
          default:
            return;
        }
      },
      () => undefined,
      SGIP_CODEC,
    );
    sessions.add(s);
    socket.on('error', () => undefined);
    socket.on('close', () => sessions.delete(s));
  });
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
      receiptsPending: outbox.length + pending.size,
    }),
    configure: (b) => void Object.assign(behaviour, b),
    connectBackTo(host, p) {
      sp = { host, port: p };
      pump();
    },
    inject(input) {
      const inj: InjectedDelivery = { id: `inj-${carrier}-${nextInjection++}`, attempts: 0, done: false };
      injections.set(inj.id, inj);
      if ('fields' in input) owe({ kind: 'injected', id: inj.id, pdu: { ...hdr(), ...(input.fields as object) } as Outgoing['pdu'] });
      return inj;
    },
    injected: (id) => injections.get(id),
    dropAll() {
      for (const s of [...sessions]) {
        counters.disconnects++;
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
      back?.link.socket.destroy();
      for (const s of [...sessions]) s.link.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
