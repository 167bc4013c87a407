import type { Server } from 'node:net';
import type { SmsCarrier } from '../contract.ts';
import type { ReceiptStat } from '../smpp/protocol.ts';
import { readConcatUdh } from '../text/segment-text.ts';
import { MSG_FMT } from '../cmpp/codec.ts';
import { SubmitRules, newCounters, type GatewayCounters } from './behaviour.ts';
import type { InjectedDelivery, ReceivedMessage, ReceivedPart, SimulatedSmsc, SmscBehaviour } from './simulated-smsc.ts';

/** Something a gateway owes the SP: a status report, a handset's reply (MO) or a test's injected delivery. */
export interface Owed {
  kind: 'receipt' | 'mo' | 'injected';
  /** Times it was refused. */
  attempts: number;
  /** For an injected delivery: its id. */
  id?: string;
}

/** A bound link that takes what is owed; `pending` holds what was sent on it and is not answered yet. */
export interface Receiver<T extends Owed> {
  pending: Set<T>;
}

export interface StoreAndForwardOptions<T extends Owed, R extends Receiver<T>> {
  carrier: SmsCarrier;
  behaviour: SmscBehaviour;
  /** Received parts and messages kept in memory (oldest dropped first). @default 200,000 */
  keep?: number;
  /** Delay before sending again what the SP refused. @default 1,000 ms */
  retryMs?: number;
  /** The links that may take what is owed now (`first` is the oldest item owed); none: wait for a bind. */
  receivers(first: T): R[];
  /** Sends one item on a link, `answered` with the SP's result (0 = taken); false when it could not be written. */
  send(receiver: R, item: T, answered: (result: number) => void): unknown;
}

/**
 * What every simulated gateway (the SMPP SMSC, the CMPP, SMGP and SGIP gateways) does around its
 * protocol: keeps what it received (parts, whole messages reassembled from their UDH, by
 * destination), owes a status report per accepted part and, at a rate, a reply, and sends them to
 * the SP's bound links in turn until each is answered 0 (a refused one again after `retryMs`, one
 * cut off with its link at once to another), as a real store-and-forward SMSC does. It holds the
 * gateway's timers, counts and `SubmitRules`; a gateway supplies the wire (`receivers`, `send`).
 */
export class StoreAndForward<T extends Owed, R extends Receiver<T>> {
  readonly carrier: SmsCarrier;
  readonly behaviour: SmscBehaviour;
  readonly counters: GatewayCounters = newCounters();
  readonly rules: SubmitRules;
  readonly parts: ReceivedPart[] = [];
  readonly messages: ReceivedMessage[] = [];
  readonly retryMs: number;
  private readonly keep: number;
  private readonly byDestination = new Map<string, ReceivedMessage[]>();
  private readonly partial = new Map<string, Map<number, ReceivedPart>>();
  private readonly outbox: T[] = [];
  /** Sent on some link and not answered yet. */
  private readonly inFlight = new Set<T>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly injections = new Map<string, InjectedDelivery>();
  private nextInjection = 1;
  private nextReceiver = 0;
  private closed = false;

  constructor(private readonly opts: StoreAndForwardOptions<T, R>) {
    this.carrier = opts.carrier;
    this.behaviour = opts.behaviour;
    this.keep = opts.keep ?? 200_000;
    this.retryMs = opts.retryMs ?? 1000;
    this.rules = new SubmitRules(this.behaviour, this.counters, this.later);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  later = (ms: number, fn: () => void): void => {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  };

  owe = (item: T): void => {
    this.outbox.push(item);
    this.pump();
  };

  /** Sends what is owed to the receivers in turn (whichever link submitted the message, as SMSCs do). */
  pump = (): void => {
    if (this.closed || this.outbox.length === 0) return;
    const receivers = this.opts.receivers(this.outbox[0]!);
    if (receivers.length === 0) return;
    for (const item of this.outbox.splice(0)) {
      const r = receivers[this.nextReceiver++ % receivers.length]!;
      const inj = item.id ? this.injections.get(item.id) : undefined;
      if (inj) inj.attempts++;
      r.pending.add(item);
      this.inFlight.add(item);
      let answered = false;
      const sent = this.opts.send(r, item, (result) => {
        answered = true;
        r.pending.delete(item);
        this.inFlight.delete(item);
        if (inj) inj.lastStatus = result;
        if (result === 0) {
          if (item.kind === 'receipt') this.counters.receiptsSent++;
          else if (item.kind === 'mo') this.counters.mosSent++;
          if (inj) inj.done = true;
        } else {
          item.attempts++;
          this.later(this.retryMs, () => this.owe(item));
        }
      });
      if (sent === false && !answered) {
        r.pending.delete(item);
        this.inFlight.delete(item);
        this.outbox.push(item);
      }
    }
  };

  /** A link closed: what was sent on it and not answered is owed again (the caller pumps when it likes). */
  requeue(r: R): void {
    for (const item of r.pending) {
      this.inFlight.delete(item);
      this.outbox.push(item);
    }
    r.pending.clear();
  }

  /** Whether anything is owed and not sent. */
  get owing(): boolean {
    return this.outbox.length > 0;
  }

  /** A delivery of a test's making, tracked by its id. */
  newInjection(): InjectedDelivery {
    const inj: InjectedDelivery = { id: `inj-${this.carrier}-${this.nextInjection++}`, attempts: 0, done: false };
    this.injections.set(inj.id, inj);
    return inj;
  }

  /**
   * An accepted part (its submit answered OK): kept, reassembled with its siblings, its fate drawn;
   * its `receipt` (none: the SP asked for none) is owed after `receiptDelayMs`, and for a whole
   * message delivered, at `moRate`, a reply after `moDelayMs` more. Made when due (their times).
   */
  accept(part: ReceivedPart, owed: { receipt?: (stat: ReceiptStat) => T; mo: (whole: ReceivedMessage) => T }): void {
    this.counters.accepted++;
    this.parts.push(part);
    if (this.parts.length > this.keep) this.parts.splice(0, this.parts.length - this.keep);
    const whole = this.assemble(part);
    const stat = this.rules.fate(part.destination);
    const b = this.behaviour;
    const receipt = owed.receipt;
    if (receipt) this.later(b.receiptDelayMs, () => this.owe(receipt(stat)));
    if (whole && stat === 'DELIVRD' && this.rules.replies()) this.later(b.moDelayMs + b.receiptDelayMs, () => this.owe(owed.mo(whole)));
  }

  private assemble(part: ReceivedPart): ReceivedMessage | undefined {
    let list: ReceivedPart[];
    if (!part.concat || part.concat.total <= 1) list = [part];
    else {
      const key = `${part.source}|${part.destination}|${part.concat.reference}|${part.concat.total}`;
      let p = this.partial.get(key);
      if (!p) this.partial.set(key, (p = new Map()));
      p.set(part.concat.part, part);
      if (p.size < part.concat.total) return undefined;
      this.partial.delete(key);
      list = [...p.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
    }
    const whole: ReceivedMessage = {
      at: list[0]!.at,
      source: part.source,
      destination: part.destination,
      text: list.map((o) => o.text).join(''),
      parts: list.length,
      messageIds: list.map((o) => o.messageId),
      ...(list[0]!.clientRef !== undefined ? { clientRef: list[0]!.clientRef } : {}),
      dataCoding: part.dataCoding,
    };
    this.keepMessage(whole);
    return whole;
  }

  private keepMessage(m: ReceivedMessage): void {
    let l = this.byDestination.get(m.destination);
    if (!l) this.byDestination.set(m.destination, (l = []));
    l.push(m);
    this.messages.push(m);
    if (this.messages.length <= this.keep) return;
    for (const d of this.messages.splice(0, this.messages.length - this.keep)) {
      const dl = this.byDestination.get(d.destination);
      if (!dl) continue;
      const i = dl.indexOf(d);
      if (i >= 0) dl.splice(i, 1);
      if (dl.length === 0) this.byDestination.delete(d.destination);
    }
  }

  /** The gateway as tests and the inspection see it, but for what only its protocol knows. */
  surface(port: number, binds: () => number): Omit<SimulatedSmsc, 'inject' | 'dropAll' | 'close'> {
    return {
      carrier: this.carrier,
      port,
      behaviour: this.behaviour,
      parts: this.parts,
      messages: this.messages,
      messagesTo: (msisdn) => this.byDestination.get(msisdn) ?? [],
      stats: () => ({
        carrier: this.carrier,
        binds: binds(),
        ...this.counters,
        receiptsPending: this.outbox.length + this.inFlight.size,
      }),
      configure: (b) => void Object.assign(this.behaviour, b),
      injected: (id) => this.injections.get(id),
      clear: () => {
        this.counters.peakBinds = binds();
        this.counters.peakPerSecond = 0;
        this.parts.length = 0;
        this.messages.length = 0;
        this.byDestination.clear();
      },
    };
  }

  /** Stops every timer; nothing more is sent. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/** Starts `server` listening and answers its port. */
export async function listen(server: Server, port = 0, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : port;
}

/** A CMPP / SMGP / SGIP message body's text: UCS-2 (8), GBK (15), else one byte a character. */
export function decodeBody(fmt: number, body: Buffer): string {
  if (fmt === MSG_FMT.UCS2) return Buffer.from(body).swap16().toString('utf16le');
  if (fmt === MSG_FMT.GB) return new TextDecoder('gbk').decode(body);
  return body.toString('latin1');
}

/** Splits a user data header (TP_udhi set) off a message body: the concatenation it names and the text. */
export function splitUdh(udhi: boolean, content: Buffer): { body: Buffer; concat?: ReceivedPart['concat'] } {
  if (!udhi || content.length === 0) return { body: content };
  return { concat: readConcatUdh(content.subarray(0, content[0]! + 1)), body: content.subarray(content[0]! + 1) };
}
