// Over 400 lines on purpose: startSimulatedSmsc is one SMPP server whose handlers share its session state
// (binds, queues of receipts and replies owed, counts). What all simulated gateways share is in simulated-smsc.ts.
import smpp, { type Pdu, type Session } from 'smpp';
import type { SmsCarrier } from '../contract.ts';
import {
  DEFAULT_PASSWORD,
  DEFAULT_SYSTEM_ID,
  ESM_DELIVERY_RECEIPT,
  MESSAGE_STATE,
  STATUS,
  formatReceiptText,
  type ReceiptStat,
} from '../smpp/protocol.ts';
import { decodeGsm7 } from '../text/gsm7.ts';
import { readConcatUdh } from '../text/segment-text.ts';
import { PduWriter } from '../smpp/pdu-writer.ts';
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

/**
 * A simulated carrier SMSC: a real SMPP 3.4 server for one carrier. It answers submit_sm after a
 * latency, refuses some (permanent code) or throttles beyond a rate (ESME_RTHROTTLED), drops the
 * connection suddenly when told, sends a receipt per part (DELIVRD / UNDELIV / EXPIRED) and, at a
 * rate, a reply (MO) from the handset to the address the message came from. Receipts and replies
 * that the client does not accept are queued and retried, as a real store-and-forward SMSC does.
 * It keeps what it received for tests and the portal.
 */

/** The optional parameters SMPP 3.4 (section 4.4.1) allows on submit_sm, as node-smpp names them. */
const SUBMIT_SM_TLVS = new Set([
  'user_message_reference',
  'source_port',
  'source_addr_subunit',
  'destination_port',
  'dest_addr_subunit',
  'sar_msg_ref_num',
  'sar_total_segments',
  'sar_segment_seqnum',
  'more_messages_to_send',
  'payload_type',
  'message_payload',
  'privacy_indicator',
  'callback_num',
  'callback_num_pres_ind',
  'callback_num_atag',
  'source_subaddress',
  'dest_subaddress',
  'user_response_code',
  'display_time',
  'sms_signal',
  'ms_validity',
  'ms_msg_wait_facilities',
  'number_of_messages',
  'alert_on_msg_delivery',
  'language_indicator',
  'its_reply_type',
  'its_session_info',
  'ussd_service_op',
]);

/** The optional parameters of a received PDU that SMPP 3.4 does not allow on submit_sm (unknown tags by number). */
export function foreignOptionalParams(pdu: Pdu): string[] {
  const out: string[] = [];
  for (const key of Object.keys(pdu)) {
    if (/^\d+$/.test(key)) out.push(`0x${Number(key).toString(16).padStart(4, '0')}`);
    else if (key in smpp.tlvs && !SUBMIT_SM_TLVS.has(key)) out.push(key);
  }
  return out;
}

interface Outgoing {
  systemId: string;
  pdu: Record<string, unknown>;
  kind: 'receipt' | 'mo' | 'injected';
  attempts: number;
  /** For an injected deliver_sm: its id. */
  id?: string;
}

export interface SmscOptions {
  carrier: SmsCarrier;
  /** @default 'prefixed' */
  messageIds?: MessageIdStyle;
  port?: number;
  host?: string;
  systemId?: string;
  password?: string;
  behaviour?: Partial<SmscBehaviour>;
  /** Received parts and messages kept in memory (oldest dropped first). */
  keep?: number;
  /** Retry delay for receipts and replies the client refused or could not take. */
  retryMs?: number;
}

export async function startSimulatedSmsc(opts: SmscOptions): Promise<SimulatedSmsc> {
  const carrier = opts.carrier;
  const systemId = opts.systemId ?? DEFAULT_SYSTEM_ID;
  const password = opts.password ?? DEFAULT_PASSWORD;
  const behaviour: SmscBehaviour = { ...DEFAULT_BEHAVIOUR, ...opts.behaviour };
  const keep = opts.keep ?? 200_000;
  const retryMs = opts.retryMs ?? 1000;
  const parts: ReceivedPart[] = [];
  const messages: ReceivedMessage[] = [];
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
  // Times of the submit_sm received (all) and let through the throttle in the last 1,000 ms.
  const received = new SlidingCount();
  const letThrough = new SlidingCount();
  const bound = new Set<Session>();
  const outbox: Outgoing[] = [];
  const partial = new Map<string, { got: Map<number, ReceivedPart>; total: number }>();
  const timers = new Set<NodeJS.Timeout>();
  const injections = new Map<string, InjectedDelivery>();
  let nextInjection = 1;
  let nextReceiver = 0;
  let nextId = 1;
  let moSeq = 1;
  const idPrefix = `${carrier}${Date.now().toString(36)}`;
  let closed = false;

  const later = (ms: number, fn: () => void) => {
    if (closed) return;
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const keepBounded = <T>(list: T[], item: T, onDrop?: (dropped: T[]) => void) => {
    list.push(item);
    if (list.length > keep) {
      const dropped = list.splice(0, list.length - keep);
      onDrop?.(dropped);
    }
  };
  const byDestination = new Map<string, ReceivedMessage[]>();
  const keepMessage = (m: ReceivedMessage) => {
    let l = byDestination.get(m.destination);
    if (!l) byDestination.set(m.destination, (l = []));
    l.push(m);
    keepBounded(messages, m, (dropped) => {
      for (const d of dropped) {
        const dl = byDestination.get(d.destination);
        if (!dl) continue;
        const i = dl.indexOf(d);
        if (i >= 0) dl.splice(i, 1);
        if (dl.length === 0) byDestination.delete(d.destination);
      }
    });
  };

  const fateOf = (destination: string): ReceiptStat => {
    const f = behaviour.fates[destination];
    if (typeof f === 'string') return f;
    if (Math.random() < behaviour.successRate) return 'DELIVRD';
    return Math.random() < behaviour.expiredShare ? 'EXPIRED' : 'UNDELIV';
  };

  /** Sends what the SMSC owes to a bound receiver of that system_id; requeues on failure. */
  const pump = () => {
    if (closed || outbox.length === 0) return;
    const receivers = [...bound].filter((s) => s.systemId === outbox[0]!.systemId && s.canReceive);
    if (receivers.length === 0) return;
    const batch = outbox.splice(0, outbox.length);
    for (const item of batch) {
      // Spread over the account's binds in turn, whichever submitted the message (as SMSCs do).
      const session = receivers[nextReceiver++ % receivers.length]!;
      const pdu = new smpp.PDU('deliver_sm', item.pdu);
      if (item.id) injections.get(item.id)!.attempts++;
      let answered = false;
      session.pending.add(item);
      const sent = (session.writer as PduWriter).send(pdu, (resp: Pdu) => {
        answered = true;
        session.pending.delete(item);
        const inj = item.id ? injections.get(item.id) : undefined;
        if (inj) inj.lastStatus = resp.command_status;
        if (resp.command_status === STATUS.ESME_ROK) {
          if (item.kind === 'receipt') counters.receiptsSent++;
          else if (item.kind === 'mo') counters.mosSent++;
          if (inj) inj.done = true;
        } else {
          item.attempts++;
          later(retryMs, () => {
            outbox.push(item);
            pump();
          });
        }
      });
      if (!sent && !answered) {
        session.pending.delete(item);
        outbox.push(item);
      }
    }
  };

  const owe = (item: Outgoing) => {
    outbox.push(item);
    pump();
  };

  const onSubmit = (session: Session, pdu: Pdu) => {
    // PDUs read in the same chunk after a drop: the link is gone, as for a real server.
    if (session.socket.destroyed) return;
    counters.submits++;
    session.submits = (session.submits ?? 0) + 1;
    if (behaviour.disconnectAfter > 0 && session.submits >= behaviour.disconnectAfter) {
      // A sudden drop: this PDU and any still waiting for their latency are never answered.
      counters.dropped++;
      counters.disconnects++;
      // Answers already given (waiting in the writer for this turn) still leave first.
      (session.writer as PduWriter).flush();
      session.destroy();
      return;
    }
    const respond = (status: number, messageId?: string, record?: () => void) => {
      const go = () => {
        if (session.socket.destroyed) {
          counters.dropped++;
          return;
        }
        record?.();
        (session.writer as PduWriter).send(
          pdu.response(status === STATUS.ESME_ROK ? { message_id: messageId } : { command_status: status }),
        );
      };
      if (behaviour.latencyMs > 0) later(behaviour.latencyMs, go);
      else go();
    };
    const now = Date.now();
    counters.peakPerSecond = Math.max(counters.peakPerSecond, received.add(now));
    if (behaviour.throttlePerSecond > 0) {
      if (letThrough.count(now) >= behaviour.throttlePerSecond) {
        counters.throttled++;
        respond(STATUS.ESME_RTHROTTLED);
        return;
      }
      letThrough.add(now);
    }
    if (behaviour.strictOptionalParams && foreignOptionalParams(pdu).length > 0) {
      counters.rejected++;
      respond(STATUS.ESME_RTLVNOTALLWD);
      return;
    }
    const destination = String(pdu.destination_addr);
    const fate = behaviour.fates[destination];
    if (typeof fate === 'number' || (behaviour.rejectRate > 0 && Math.random() < behaviour.rejectRate)) {
      counters.rejected++;
      respond(typeof fate === 'number' ? fate : behaviour.rejectStatus);
      return;
    }
    const sm = pdu.short_message as { message?: string | Buffer; udh?: Buffer[] } | Buffer | undefined;
    const dataCoding = Number(pdu.data_coding ?? 0);
    let text = '';
    let concat: ReceivedPart['concat'];
    if (sm && !Buffer.isBuffer(sm)) {
      text =
        typeof sm.message === 'string'
          ? sm.message
          : Buffer.isBuffer(sm.message)
            ? dataCoding === 8
              ? Buffer.from(sm.message).swap16().toString('utf16le')
              : decodeGsm7(sm.message)
            : '';
      if (sm.udh?.length) {
        const all = Buffer.concat([Buffer.from([sm.udh.reduce((n, u) => n + u.length, 0)]), ...sm.udh]);
        concat = readConcatUdh(all);
      }
    }
    const messageId = opts.messageIds === 'sequential' ? String(nextId++) : `${idPrefix}${(nextId++).toString(36)}`;
    const part: ReceivedPart = {
      at: now,
      systemId: session.systemId,
      messageId,
      source: String(pdu.source_addr),
      destination,
      dataCoding,
      text,
      concat,
      clientRef: typeof pdu.client_ref === 'string' ? pdu.client_ref : undefined,
    };
    respond(STATUS.ESME_ROK, messageId, () => {
      counters.accepted++;
      keepBounded(parts, part);
      const whole = assemble(part);
      const stat = fateOf(destination);
      later(behaviour.receiptDelayMs, () => owe(receiptFor(part, stat)));
      if (whole && stat === 'DELIVRD' && behaviour.moRate > 0 && Math.random() < behaviour.moRate) {
        later(behaviour.moDelayMs + behaviour.receiptDelayMs, () => owe(moFor(whole, session.systemId)));
      }
    });
  };

  const assemble = (part: ReceivedPart): ReceivedMessage | undefined => {
    let whole: ReceivedMessage | undefined;
    if (!part.concat || part.concat.total <= 1) {
      whole = {
        at: part.at,
        source: part.source,
        destination: part.destination,
        text: part.text,
        parts: 1,
        messageIds: [part.messageId],
        clientRef: part.clientRef,
        dataCoding: part.dataCoding,
      };
    } else {
      const key = `${part.source}|${part.destination}|${part.concat.reference}|${part.concat.total}`;
      let p = partial.get(key);
      if (!p) partial.set(key, (p = { got: new Map(), total: part.concat.total }));
      p.got.set(part.concat.part, part);
      if (p.got.size < p.total) return undefined;
      partial.delete(key);
      const ordered = [...p.got.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
      whole = {
        at: ordered[0]!.at,
        source: part.source,
        destination: part.destination,
        text: ordered.map((o) => o.text).join(''),
        parts: ordered.length,
        messageIds: ordered.map((o) => o.messageId),
        clientRef: ordered[0]!.clientRef,
        dataCoding: part.dataCoding,
      };
    }
    keepMessage(whole);
    return whole;
  };

  const receiptFor = (part: ReceivedPart, stat: ReceiptStat): Outgoing => {
    const state = stat === 'DELIVRD' ? MESSAGE_STATE.DELIVERED : stat === 'EXPIRED' ? MESSAGE_STATE.EXPIRED : MESSAGE_STATE.UNDELIVERABLE;
    const text = formatReceiptText({
      id: part.messageId,
      stat,
      err: stat === 'DELIVRD' ? '000' : stat === 'EXPIRED' ? '000' : '001',
      submitted: new Date(part.at),
      done: new Date(),
      text: '',
    });
    return {
      systemId: part.systemId,
      kind: 'receipt',
      attempts: 0,
      pdu: {
        source_addr: part.destination,
        destination_addr: part.source,
        esm_class: ESM_DELIVERY_RECEIPT,
        data_coding: 0,
        short_message: Buffer.from(text, 'latin1'),
        receipted_message_id: part.messageId,
        message_state: state,
        ...(part.clientRef ? { client_ref: part.clientRef } : {}),
      },
    };
  };

  const moFor = (msg: ReceivedMessage, sid: string): Outgoing => {
    const text = behaviour.moTexts[Math.floor(Math.random() * behaviour.moTexts.length)] ?? '收到';
    return {
      systemId: sid,
      kind: 'mo',
      attempts: 0,
      pdu: {
        source_addr: msg.destination,
        destination_addr: msg.source,
        esm_class: 0,
        data_coding: 8,
        short_message: Buffer.from(text, 'utf16le').swap16(),
        client_ref: `mo-${idPrefix}-${moSeq++}`,
      },
    };
  };

  const server = smpp.createServer({}, (session: Session) => {
    session.pending = new Set<Outgoing>();
    session.writer = new PduWriter(session);
    session.on('error', () => undefined);
    const bindAs = (command: string, canReceive: boolean, canSend: boolean) => (pdu: Pdu) => {
      session.pause();
      if (pdu.system_id !== systemId || pdu.password !== password) {
        session.send(pdu.response({ command_status: pdu.system_id !== systemId ? STATUS.ESME_RINVSYSID : STATUS.ESME_RINVPASWD }));
        session.close();
        return;
      }
      const held = [...bound].filter((x) => x.systemId === systemId).length;
      if (behaviour.maxBinds > 0 && held >= behaviour.maxBinds) {
        counters.bindsRefused++;
        session.send(pdu.response({ command_status: STATUS.ESME_RBINDFAIL }));
        session.close();
        return;
      }
      session.systemId = systemId;
      session.canReceive = canReceive;
      session.canSend = canSend;
      bound.add(session);
      counters.peakBinds = Math.max(counters.peakBinds, held + 1);
      session.send(pdu.response({ system_id: `sim-${carrier}` }));
      session.resume();
      void command;
      pump();
    };
    session.on('bind_transceiver', bindAs('bind_transceiver', true, true));
    session.on('bind_transmitter', bindAs('bind_transmitter', false, true));
    session.on('bind_receiver', bindAs('bind_receiver', true, false));
    session.on('enquire_link', (pdu: Pdu) => session.send(pdu.response()));
    session.on('unbind', (pdu: Pdu) => {
      bound.delete(session);
      (session.writer as PduWriter).flush();
      session.send(pdu.response());
      session.close();
    });
    session.on('submit_sm', (pdu: Pdu) => {
      if (!bound.has(session) || !session.canSend) {
        session.send(pdu.response({ command_status: STATUS.ESME_RINVBNDSTS }));
        return;
      }
      onSubmit(session, pdu);
    });
    session.on('close', () => {
      bound.delete(session);
      // What was sent on this link and not answered is owed again.
      for (const item of session.pending as Set<Outgoing>) outbox.push(item);
      (session.pending as Set<Outgoing>).clear();
      pump();
    });
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
      binds: bound.size,
      ...counters,
      receiptsPending: outbox.length + [...bound].reduce((n, s) => n + (s.pending as Set<Outgoing>).size, 0),
    }),
    configure: (b) => void Object.assign(behaviour, b),
    inject(input) {
      const inj: InjectedDelivery = { id: `inj-${carrier}-${nextInjection++}`, attempts: 0, done: false };
      injections.set(inj.id, inj);
      if ('raw' in input) {
        const s = [...bound].find((x) => x.canReceive);
        if (s) {
          (s.writer as PduWriter).flush();
          s.socket.write(input.raw);
          inj.attempts++;
        }
      } else owe({ systemId, pdu: input.fields, kind: 'injected', attempts: 0, id: inj.id });
      return inj;
    },
    injected: (id) => injections.get(id),
    dropAll() {
      for (const s of [...server.sessions]) {
        counters.disconnects++;
        (s.writer as PduWriter).flush();
        s.destroy();
      }
    },
    clear() {
      counters.peakBinds = bound.size;
      counters.peakPerSecond = 0;
      parts.length = 0;
      messages.length = 0;
      byDestination.clear();
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of [...server.sessions]) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
