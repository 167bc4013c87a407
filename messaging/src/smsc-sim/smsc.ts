// Over 400 lines on purpose: startSimulatedSmsc is one SMPP server whose handlers share its session state
// (binds, queues of receipts and replies owed, counts). What all simulated gateways share is in simulated-smsc.ts
// (their interface), store-and-forward.ts (receipts and replies owed, what was received) and behaviour.ts.
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
import { StoreAndForward, listen, type Owed } from './store-and-forward.ts';
import {
  DEFAULT_BEHAVIOUR,
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

interface Owing extends Owed {
  systemId: string;
  pdu: Record<string, unknown>;
}

/** A node-smpp session with what the simulator keeps on it. */
type Link = Session & { pending: Set<Owing>; submits?: number };

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
  const bound = new Set<Link>();
  const saf = new StoreAndForward<Owing, Link>({
    carrier,
    behaviour: { ...DEFAULT_BEHAVIOUR, ...opts.behaviour },
    keep: opts.keep,
    retryMs: opts.retryMs,
    // Spread over the account's binds that receive, whichever submitted the message (as SMSCs do).
    receivers: (first) => [...bound].filter((s) => s.systemId === first.systemId && s.canReceive),
    send: (session, item, answered) =>
      (session.writer as PduWriter).send(new smpp.PDU('deliver_sm', item.pdu), (resp: Pdu) => answered(resp.command_status)),
  });
  const { counters, rules } = saf;
  let nextId = 1;
  let moSeq = 1;
  const idPrefix = `${carrier}${Date.now().toString(36)}`;

  const onSubmit = (session: Link, pdu: Pdu) => {
    // PDUs read in the same chunk after a drop: the link is gone, as for a real server.
    if (session.socket.destroyed) return;
    const respond = (status: number, messageId?: string, record?: () => void) =>
      rules.respond(
        () => session.socket.destroyed,
        () => {
          record?.();
          (session.writer as PduWriter).send(
            pdu.response(status === STATUS.ESME_ROK ? { message_id: messageId } : { command_status: status }),
          );
        },
      );
    const destination = String(pdu.destination_addr);
    const screened = rules.screen(
      session,
      () => {
        // Answers already given (waiting in the writer for this turn) still leave first.
        (session.writer as PduWriter).flush();
        session.destroy();
      },
      {
        destination,
        throttled: STATUS.ESME_RTHROTTLED,
        invalid: () => (saf.behaviour.strictOptionalParams && foreignOptionalParams(pdu).length > 0 ? STATUS.ESME_RTLVNOTALLWD : undefined),
      },
    );
    if ('drop' in screened) return;
    if ('refuse' in screened) return respond(screened.refuse);
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
      at: Date.now(),
      systemId: session.systemId,
      messageId,
      source: String(pdu.source_addr),
      destination,
      dataCoding,
      text,
      concat,
      clientRef: typeof pdu.client_ref === 'string' ? pdu.client_ref : undefined,
    };
    respond(STATUS.ESME_ROK, messageId, () =>
      saf.accept(part, { receipt: (stat) => receiptFor(part, stat), mo: (whole) => moFor(whole, session.systemId) }),
    );
  };

  const receiptFor = (part: ReceivedPart, stat: ReceiptStat): Owing => {
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

  const moFor = (msg: ReceivedMessage, sid: string): Owing => {
    const text = rules.moText(msg);
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

  const server = smpp.createServer({}, (s: Session) => {
    const session = Object.assign(s, { pending: new Set<Owing>() });
    session.writer = new PduWriter(session);
    session.on('error', () => undefined);
    const bindAs = (command: string, canReceive: boolean, canSend: boolean) => (pdu: Pdu) => {
      session.pause();
      if (pdu.system_id !== systemId || pdu.password !== password) {
        session.send(pdu.response({ command_status: pdu.system_id !== systemId ? STATUS.ESME_RINVSYSID : STATUS.ESME_RINVPASWD }));
        session.close();
        return;
      }
      if (!rules.admitBind([...bound].filter((x) => x.systemId === systemId).length)) {
        session.send(pdu.response({ command_status: STATUS.ESME_RBINDFAIL }));
        session.close();
        return;
      }
      session.systemId = systemId;
      session.canReceive = canReceive;
      session.canSend = canSend;
      bound.add(session);
      session.send(pdu.response({ system_id: `sim-${carrier}` }));
      session.resume();
      void command;
      saf.pump();
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
      saf.requeue(session);
      saf.pump();
    });
  });

  const port = await listen(server, opts.port, opts.host);

  return {
    ...saf.surface(port, () => bound.size),
    inject(input) {
      const inj = saf.newInjection();
      if ('raw' in input) {
        const s = [...bound].find((x) => x.canReceive);
        if (s) {
          (s.writer as PduWriter).flush();
          s.socket.write(input.raw);
          inj.attempts++;
        }
      } else saf.owe({ systemId, pdu: input.fields, kind: 'injected', attempts: 0, id: inj.id });
      return inj;
    },
    dropAll() {
      for (const s of [...server.sessions]) {
        counters.disconnects++;
        (s.writer as PduWriter).flush();
        s.destroy();
      }
    },
    async close() {
      saf.close();
      for (const s of [...server.sessions]) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
