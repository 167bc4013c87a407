import smpp, { type Pdu, type Session } from 'smpp';
import type { Logger } from '@geo/infra';
import type { SmsCarrier } from '../contract.ts';
import type {
  BadDeliver,
  CarrierConnector,
  CarrierReceipt,
  CarrierReply,
  ConnectorStatus,
  OutboundSms,
  SubmitOutcome,
} from './connector.ts';
import {
  ESM_DELIVERY_RECEIPT,
  ESM_UDHI,
  STATUS,
  isTemporary,
  parseReceiptText,
  stateOfStat,
  statOfMessageState,
  statusName,
} from './protocol.ts';
import { RateWindow } from './rate-window.ts';
import { PduWriter } from './pdu-writer.ts';
import { decodeGsm7 } from '../text/gsm7.ts';

/** One carrier's SMPP account. */
export interface SmppCarrierConfig {
  carrier: SmsCarrier;
  /**
   * Names the SMSC this account binds to, unique among the carrier's SMSCs: receipts are matched by
   * (carrier, smscId, message id). Give each its own when a carrier has several. @default the carrier
   */
  smscId?: string;
  /**
   * Send our job id in the vendor TLV 0x1501 (client_ref) on every submit_sm, for an SMSC that echoes
   * it in receipts. Off by default: a strict SMSC refuses optional parameters it does not know
   * (ESME_RTLVNOTALLWD). Exactly-once does not depend on it (see sender/claim-log.ts). @default false
   */
  clientRefTlv?: boolean;
  host: string;
  port: number;
  systemId: string;
  password: string;
  systemType?: string;
  /** 接入号: the source address of every message; an extension is appended to it. */
  accessNumber: string;
  /**
   * Parallel binds (transceiver): with `leasedBinds`, the binds the carrier grants the account,
   * shared by all instances. @default 1
   */
  binds?: number;
  /**
   * Bind slots are opened only when {@link SmppConnector.hold} is called and closed by
   * {@link SmppConnector.release}: several instances share the carrier's binds, each using the slots
   * whose leases it holds. Off: every slot is opened at once (one instance). @default false
   */
  leasedBinds?: boolean;
  /**
   * Asked before each submit_sm on a slot: whether its lease is still certainly held (the fencing
   * check; a slot's `release` follows soon after a false).
   */
  canSend?: (slot: number) => boolean;
  /** Unanswered submit_sm per bind. @default 64 */
  windowSize?: number;
  /**
   * Throughput limit in segments per second of the carrier, across all binds (of all instances with
   * `leasedBinds`): each slot gets its share (`slotRate`) and keeps its own 1-second window. 0 = none. @default 0
   */
  segmentsPerSecond?: number;
  /**
   * Sends are counted over 1,000 ms plus this guard: a strict SMSC counts arrival times, and ours
   * reach it unevenly late (a late event loop, the network), so a window of exactly 1,000 ms let it
   * see one more than the limit in some second. Costs guard/1000 of the throughput. @default 50
   */
  rateGuardMs?: number;
  /** @default 30000 */
  enquireLinkMs?: number;
  /** A PDU unanswered this long means the link is dead. @default 10000 */
  responseTimeoutMs?: number;
  /** Reconnect backoff, doubling from min to max with jitter. @default 200, 10000 */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** First pause after ESME_RTHROTTLED, doubling while throttling lasts. @default 100 */
  throttleBackoffMs?: number;
  log?: Logger;
}

interface Message {
  sms: OutboundSms;
  ids: string[];
  remaining: number;
  done: boolean;
  /** Parts written to a link so far (answered or not). */
  written: number;
  resolve: (o: SubmitOutcome) => void;
}

interface Part {
  msg: Message;
  index: number;
  attempts: number;
  sentAt: number;
  /** The first part runs the message's beforeSend claim. */
  first: boolean;
}

class Bind {
  session?: Session;
  writer?: PduWriter;
  bound = false;
  inFlight = 0;
  /**
   * Unanswered submit_sm allowed now: 1 after each bind, +1 per accepted submit, up to the window
   * (slow start, as TCP after a loss). An SMSC that just dropped the link is not handed the whole
   * backlog at once again: it would be cut off at the same point each time and never answer.
   */
  limit = 1;
  pending = new Map<number, Part>();
  attempts = 0;
  enquireTimer?: NodeJS.Timeout;
  reconnectTimer?: NodeJS.Timeout;
  lastHeard = 0;
  /** Whether this slot may be used (always, unless binds are leased). */
  held = false;
  /**
   * Until when this slot's share is not used (ms): a slot just taken may have been used by its
   * previous holder up to the moment it was released, so its first window is taken as full.
   */
  quietUntil = 0;
  /** First parts whose claim is being stored: each will take a place in the rate window. */
  claiming = 0;
  constructor(
    readonly n: number,
    /** This slot's share of the carrier's throughput. */
    readonly rate: RateWindow,
    /** The carrier has a rate and this slot no share of it (more binds than segments per second): it sends nothing. */
    readonly noShare = false,
  ) {}
}

/**
 * A slot's share of a carrier's `perSecond` among `slots` binds: the shares add up to the whole
 * (the first `perSecond % slots` slots get one more). 0 (no limit) stays 0.
 */
export function slotRate(perSecond: number, slots: number, slot: number): number {
  if (perSecond <= 0) return 0;
  return Math.floor(perSecond / slots) + (slot < perSecond % slots ? 1 : 0);
}

/** SMPP 3.4 transceiver binds to one carrier SMSC. */
export class SmppConnector implements CarrierConnector {
  readonly carrier: SmsCarrier;
  readonly smscId: string;
  private readonly binds: Bind[];
  private readonly queue: Part[] = [];
  private head = 0;
  private readonly retries: Part[] = [];
  private pumpTimer?: NodeJS.Timeout;
  private pausedUntil = 0;
  private throttleStreak = 0;
  private rr = 0;
  private closing = false;
  // Until someone listens, receipts and replies are refused for now: the SMSC keeps and resends them.
  private receiptHandler: (r: CarrierReceipt) => Promise<boolean> = async () => false;
  private replyHandler: (r: CarrierReply) => Promise<boolean> = async () => false;
  private badHandler: (b: BadDeliver) => Promise<void> = async () => {
    throw new Error('no handler for malformed deliver_sm yet');
  };
  private readyWaiters: (() => void)[] = [];
  private readonly counts = { submitted: 0, throttled: 0, retried: 0, reconnects: 0, badDelivers: 0, handedBack: 0 };
  private readonly window: number;
  private readonly cfg: Required<Omit<SmppCarrierConfig, 'log' | 'systemType' | 'canSend'>> & {
    systemType: string;
    canSend?: (slot: number) => boolean;
  };
  private readonly log?: Logger;
  private watchdog: NodeJS.Timeout;

  constructor(cfg: SmppCarrierConfig) {
    this.carrier = cfg.carrier;
    this.smscId = cfg.smscId ?? cfg.carrier;
    this.log = cfg.log;
    this.cfg = {
      smscId: cfg.carrier,
      clientRefTlv: false,
      leasedBinds: false,
      rateGuardMs: 50,
      binds: 1,
      windowSize: 64,
      segmentsPerSecond: 0,
      enquireLinkMs: 30_000,
      responseTimeoutMs: 10_000,
      reconnectMinMs: 200,
      reconnectMaxMs: 10_000,
      throttleBackoffMs: 100,
      systemType: '',
      ...cfg,
    } as SmppConnector['cfg'];
    this.window = this.cfg.windowSize;
    const slots = Math.max(1, this.cfg.binds);
    this.binds = Array.from({ length: slots }, (_, i) => {
      const share = slotRate(this.cfg.segmentsPerSecond, slots, i);
      return new Bind(i, new RateWindow(share, undefined, 1000 + this.cfg.rateGuardMs), this.cfg.segmentsPerSecond > 0 && share === 0);
    });
    if (this.binds.some((b) => b.noShare))
      this.log?.warn(
        { carrier: this.carrier, binds: slots, perSecond: this.cfg.segmentsPerSecond },
        'more binds than segments per second: some slots have no share of the rate and send nothing',
      );
    if (!this.cfg.leasedBinds) for (const b of this.binds) this.hold(b.n);
    this.watchdog = setInterval(() => this.checkTimeouts(), Math.min(1000, this.cfg.responseTimeoutMs / 2));
    this.watchdog.unref();
  }

  onReceipt(handler: (r: CarrierReceipt) => Promise<boolean>): void {
    this.receiptHandler = handler;
  }

  onReply(handler: (r: CarrierReply) => Promise<boolean>): void {
    this.replyHandler = handler;
  }

  onBadDeliver(handler: (b: BadDeliver) => Promise<void>): void {
    this.badHandler = handler;
  }

  status(): ConnectorStatus {
    return {
      carrier: this.carrier,
      binds: this.binds.length,
      held: this.binds.filter((b) => b.held).length,
      bound: this.binds.filter((b) => b.bound).length,
      queued: this.queue.length - this.head + this.retries.length,
      inFlight: this.binds.reduce((n, b) => n + b.inFlight, 0),
      ...this.counts,
    };
  }

  ready(timeoutMs = 10_000): Promise<void> {
    if (this.binds.some((b) => b.bound)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`${this.carrier}: no SMPP bind to ${this.cfg.host}:${this.cfg.port} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.readyWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  submit(sms: OutboundSms): Promise<SubmitOutcome> {
    return new Promise((resolve) => {
      const msg: Message = {
        sms,
        ids: new Array(sms.encoded.parts.length),
        remaining: sms.encoded.parts.length,
        done: false,
        written: 0,
        resolve,
      };
      this.queue.push({ msg, index: 0, attempts: 0, sentAt: 0, first: true });
      this.pump();
    });
  }

  /** Slots held now. */
  heldSlots(): number[] {
    return this.binds.filter((b) => b.held).map((b) => b.n);
  }

  /** Opens slot `n` (its lease is ours): binds it and sends on it. */
  hold(n: number): void {
    const b = this.binds[n];
    if (!b || b.held || this.closing) return;
    b.held = true;
    // Its previous holder stopped sending on it at the latest when it released it (or when its
    // lease lapsed): one window later, no second can hold sends of both.
    if (this.cfg.leasedBinds) b.quietUntil = Date.now() + 1000 + this.cfg.rateGuardMs;
    if (b.reconnectTimer) clearTimeout(b.reconnectTimer);
    if (!b.session) this.connect(b);
  }

  /**
   * Gives slot `n` up: nothing more is sent on it from now; the answers to what it has in flight are
   * awaited (up to `drainMs`), then it is unbound (its bind is free for the next holder). The next
   * holder leaves the slot's share unused for one window (`hold`), so that its sends never share a
   * second with ours. With no slot left, queued messages are handed back (`handedBack`): the caller
   * gives their jobs to another instance.
   */
  async release(n: number, drainMs = 2000): Promise<void> {
    const b = this.binds[n];
    if (!b || !b.held) return;
    b.held = false;
    if (b.reconnectTimer) clearTimeout(b.reconnectTimer);
    const until = Date.now() + drainMs;
    while (b.pending.size > 0 && b.session && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await this.unbind(b);
    this.pump();
  }

  private unbind(b: Bind): Promise<void> {
    return new Promise<void>((resolve) => {
      if (b.enquireTimer) clearInterval(b.enquireTimer);
      if (b.reconnectTimer) clearTimeout(b.reconnectTimer);
      const s = b.session;
      if (!s || s.socket.destroyed) return resolve();
      const t = setTimeout(() => s.destroy(), 1000);
      s.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      b.writer?.flush();
      if (b.bound) s.unbind(() => s.close());
      else s.destroy();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    await Promise.all(this.binds.map((b) => this.unbind(b)));
  }

  // ---- binds -------------------------------------------------------------------------------

  private connect(b: Bind): void {
    if (this.closing || !b.held) return;
    const s = smpp.connect({ host: this.cfg.host, port: this.cfg.port });
    const w = new PduWriter(s);
    b.session = s;
    b.writer = w;
    s.on('connect', () => {
      s.bind_transceiver({ system_id: this.cfg.systemId, password: this.cfg.password, system_type: this.cfg.systemType }, (pdu: Pdu) => {
        if (pdu.command_status !== STATUS.ESME_ROK) {
          this.log?.error({ carrier: this.carrier, status: statusName(pdu.command_status) }, 'SMPP bind refused');
          s.destroy();
          return;
        }
        b.bound = true;
        b.attempts = 0;
        b.limit = 1;
        b.lastHeard = Date.now();
        this.log?.info({ carrier: this.carrier, bind: b.n }, 'SMPP bound');
        b.enquireTimer = setInterval(() => {
          if (Date.now() - b.lastHeard > this.cfg.enquireLinkMs + this.cfg.responseTimeoutMs) s.destroy();
          else s.enquire_link(() => void (b.lastHeard = Date.now()));
        }, this.cfg.enquireLinkMs);
        b.enquireTimer.unref();
        for (const w of this.readyWaiters.splice(0)) w();
        this.pump();
      });
    });
    s.on('pdu', () => void (b.lastHeard = Date.now()));
    s.on('deliver_sm', (pdu: Pdu) => void this.onDeliver(s, w, pdu));
    s.on('enquire_link', (pdu: Pdu) => s.send(pdu.response()));
    s.on('unbind', (pdu: Pdu) => {
      s.send(pdu.response());
      s.close();
    });
    s.on('error', (err: Error) => {
      this.log?.warn({ carrier: this.carrier, bind: b.n, err: err.message }, 'SMPP link error');
      // Not a socket error: node-smpp could not decode a PDU. It stops reading that session for
      // good (its reader stays busy), so the bind is dead: drop it now and bind again.
      if (!(err as NodeJS.ErrnoException).code) {
        this.counts.badDelivers++;
        void this.badHandler({
          carrier: this.carrier,
          reason: `undecodable PDU (${err.message.slice(0, 120)}); bind dropped`,
          at: Date.now(),
        }).catch(() => undefined);
      }
      this.linkDown(b, s);
    });
    s.on('close', () => this.linkDown(b, s));
  }

  /**
   * The bind is down from this moment: called on 'close', and also as soon as a write finds the
   * socket no longer writable (node-smpp's `send` returns false before 'close' arrives; a bind
   * still marked up then took the same part again and again, synchronously, and the event loop
   * never turned). Unanswered parts are queued again, the socket destroyed, a reconnect scheduled.
   * Idempotent: the first call for a session does the work.
   */
  private linkDown(b: Bind, s: Session): void {
    if (b.session !== s) return;
    b.session = undefined;
    b.writer = undefined;
    const wasBound = b.bound;
    b.bound = false;
    if (!s.socket.destroyed) s.destroy();
    if (b.enquireTimer) clearInterval(b.enquireTimer);
    // Parts sent on this link without an answer were not accepted: send them again.
    for (const part of b.pending.values()) this.retries.push(part);
    this.counts.retried += b.pending.size;
    b.pending.clear();
    b.inFlight = 0;
    if (this.closing || !b.held) {
      setImmediate(() => this.pump());
      return;
    }
    const delay = Math.min(this.cfg.reconnectMaxMs, this.cfg.reconnectMinMs * 2 ** b.attempts) * (0.75 + Math.random() * 0.5);
    b.attempts = Math.min(b.attempts + 1, 16);
    this.counts.reconnects++;
    if (wasBound) this.log?.warn({ carrier: this.carrier, bind: b.n, retryInMs: Math.round(delay) }, 'SMPP link lost; reconnecting');
    b.reconnectTimer = setTimeout(() => this.connect(b), delay);
    // Not synchronously: this may be called from inside pump's loop.
    setImmediate(() => this.pump());
  }

  private checkTimeouts(): void {
    const now = Date.now();
    for (const b of this.binds) {
      for (const p of b.pending.values()) {
        if (now - p.sentAt > this.cfg.responseTimeoutMs) {
          this.log?.warn({ carrier: this.carrier, bind: b.n }, 'submit_sm unanswered; dropping the link');
          if (b.session) this.linkDown(b, b.session);
          break;
        }
      }
    }
  }

  // ---- submitting ----------------------------------------------------------------------------

  private nextPart(): Part | undefined {
    if (this.retries.length) return this.retries.shift();
    if (this.head < this.queue.length) {
      const p = this.queue[this.head++];
      if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      return p;
    }
    return undefined;
  }

  private hasWork(): boolean {
    return this.retries.length > 0 || this.head < this.queue.length;
  }

  /**
   * Where `part` goes: a held slot (lease still certain) with room in its throughput share,
   * counting the parts whose claims are being stored against it (each goes out as soon as its claim
   * is), and a link to write it on: a held slot's bind that is up with room in its window. The
   * shares of the slots held here are pooled (a slot's share is the lease's, not the TCP link's),
   * so a bind that is down costs no throughput, as one carrier-wide window did before. Otherwise
   * how long until a share has room (`waitMs`), or nothing (a response or a bind will call pump
   * again). Throughput is counted when the submit_sm is written, not before the claim: counted at
   * claim time, parts whose claims took longer left together, more than the share in some second.
   */
  private pickBind(part: Part): { bind: Bind; slot: Bind } | { waitMs: number } | undefined {
    const claims = part.first && !!part.msg.sms.beforeSend;
    let slot: Bind | undefined;
    let waitMs = Infinity;
    const now = Date.now();
    for (const s of this.binds) {
      if (!s.held || s.noShare || !(this.cfg.canSend?.(s.n) ?? true)) continue;
      const w = Math.max(s.quietUntil - now, s.rate.waitMs(claims ? s.claiming : 0));
      if (w === 0) {
        slot = s;
        break;
      }
      waitMs = Math.min(waitMs, w);
    }
    if (!slot) return waitMs < Infinity ? { waitMs } : undefined;
    for (let i = 0; i < this.binds.length; i++) {
      const b = this.binds[(this.rr + i) % this.binds.length]!;
      if (!b.bound || !b.held || b.inFlight >= b.limit || !(this.cfg.canSend?.(b.n) ?? true)) continue;
      this.rr = (this.rr + i + 1) % this.binds.length;
      return { bind: b, slot };
    }
    return undefined;
  }

  /**
   * With leased binds and no slot held nor draining, nothing queued can go out here: every waiting
   * message is handed back (`handedBack`, `claimed` when its claim was stored), for its job to go to
   * an instance that holds a slot.
   */
  private handBackIfNoSlot(): boolean {
    if (!this.cfg.leasedBinds || this.binds.some((b) => b.held || b.pending.size > 0)) return false;
    const parts = [...this.retries.splice(0), ...this.queue.splice(this.head)];
    this.queue.length = 0;
    this.head = 0;
    for (const p of parts) {
      const msg = p.msg;
      if (msg.done) continue;
      msg.done = true;
      this.counts.handedBack++;
      msg.resolve({
        ok: false,
        handedBack: true,
        claimed: !(p.first && p.index === 0),
        written: msg.written > 0,
        code: 'HANDED_BACK',
        messageIds: msg.ids.filter(Boolean),
      });
    }
    return parts.length > 0;
  }

  private schedule(ms: number): void {
    if (this.pumpTimer) return;
    this.pumpTimer = setTimeout(
      () => {
        this.pumpTimer = undefined;
        this.pump();
      },
      Math.max(1, ms),
    );
  }

  private pump(): void {
    if (this.closing) return;
    if (this.handBackIfNoSlot()) return;
    while (this.hasWork()) {
      const now = Date.now();
      if (this.pausedUntil > now) return this.schedule(this.pausedUntil - now);
      const next = this.retries.length ? this.retries[0]! : this.queue[this.head]!;
      if (next.msg.done) {
        this.nextPart();
        continue;
      }
      const pick = this.pickBind(next);
      if (!pick) return; // a response or a bind will call pump again
      if ('waitMs' in pick) return this.schedule(pick.waitMs);
      const { bind: b, slot } = pick;
      const part = this.nextPart()!;
      if (part.first && part.msg.sms.beforeSend) {
        part.first = false;
        // The claim holds a window place of this bind (a link lost meanwhile resets the count) and
        // a throughput place of the slot.
        b.inFlight++;
        slot.claiming++;
        const s = b.session;
        const release = () => {
          slot.claiming--;
          if (b.session === s && b.inFlight > 0) b.inFlight--;
        };
        const msg = part.msg;
        msg.sms.beforeSend!().then(
          (go) => {
            release();
            if (!go) {
              msg.done = true;
              msg.resolve({ ok: false, cancelled: true, messageIds: [] });
            } else {
              this.retries.unshift(part);
              this.enqueueRest(msg);
            }
            this.pump();
          },
          (err: unknown) => {
            release();
            this.log?.error({ err, ref: msg.sms.ref }, 'claim before send failed; message not sent');
            msg.done = true;
            msg.resolve({ ok: false, code: 'CLAIM_FAILED', messageIds: [] });
            this.pump();
          },
        );
        continue;
      }
      if (part.first) {
        part.first = false;
        this.enqueueRest(part.msg);
      }
      this.send(b, part, slot);
    }
  }

  /** Parts 2..n go right behind part 1 so a message's parts travel together. */
  private enqueueRest(msg: Message): void {
    for (let i = msg.sms.encoded.parts.length - 1; i >= 1; i--)
      this.retries.splice(1, 0, { msg, index: i, attempts: 0, sentAt: 0, first: false });
  }

  /** Writes a part on bind `b`, counted in the throughput share of `slot`. */
  private send(b: Bind, part: Part, slot: Bind): void {
    const sms = part.msg.sms;
    const multi = sms.encoded.parts.length > 1;
    const pdu = new smpp.PDU('submit_sm', {
      source_addr_ton: 0,
      source_addr_npi: 0,
      source_addr: sms.source,
      dest_addr_ton: 2,
      dest_addr_npi: 1,
      destination_addr: sms.msisdn,
      esm_class: multi ? ESM_UDHI : 0,
      registered_delivery: 1,
      data_coding: sms.encoded.dataCoding,
      short_message: sms.encoded.parts[part.index],
      ...(this.cfg.clientRefTlv ? { client_ref: sms.ref } : {}),
    });
    part.sentAt = Date.now();
    slot.rate.take();
    part.msg.written++;
    const s = b.session!;
    const ok = b.writer!.send(pdu, (resp: Pdu) => {
      if (b.session !== s || !b.pending.has(pdu.sequence_number)) return;
      b.pending.delete(pdu.sequence_number);
      b.inFlight--;
      if (resp.command_status === STATUS.ESME_ROK && b.limit < this.window) b.limit++;
      this.onSubmitResp(part, resp);
      this.pump();
    });
    if (!ok) {
      // The socket is gone though 'close' has not come yet: the bind is down now.
      this.retries.unshift(part);
      this.linkDown(b, s);
      return;
    }
    b.inFlight++;
    b.pending.set(pdu.sequence_number, part);
  }

  private onSubmitResp(part: Part, resp: Pdu): void {
    const msg = part.msg;
    const status = resp.command_status;
    if (status === STATUS.ESME_ROK) {
      this.counts.submitted++;
      this.throttleStreak = 0;
      msg.ids[part.index] = String(resp.message_id);
      if (--msg.remaining === 0 && !msg.done) {
        msg.done = true;
        msg.resolve({ ok: true, messageIds: msg.ids });
      }
      return;
    }
    if (msg.done) return;
    if (isTemporary(status)) {
      part.attempts++;
      this.counts.retried++;
      if (status === STATUS.ESME_RTHROTTLED) {
        this.counts.throttled++;
        this.throttleStreak++;
        this.pausedUntil = Date.now() + Math.min(2000, this.cfg.throttleBackoffMs * 2 ** Math.min(this.throttleStreak - 1, 5));
      } else {
        this.pausedUntil = Math.max(this.pausedUntil, Date.now() + Math.min(5000, 50 * 2 ** Math.min(part.attempts, 7)));
      }
      this.retries.push(part);
      return;
    }
    msg.done = true;
    msg.resolve({ ok: false, code: statusName(status), messageIds: msg.ids.filter(Boolean) });
  }

  // ---- receipts and replies --------------------------------------------------------------------

  private async onDeliver(s: Session, w: PduWriter, pdu: Pdu): Promise<void> {
    let accepted = false;
    try {
      const d = readDeliver(pdu);
      if (d.problem) {
        this.counts.badDelivers++;
        await this.badHandler({ carrier: this.carrier, reason: d.problem, fields: deliverFields(pdu, d.text), at: Date.now() });
        accepted = true;
      } else if (d.receipt) {
        accepted = await this.receiptHandler({
          carrier: this.carrier,
          smscId: this.smscId,
          messageId: d.receipt.messageId,
          stat: d.receipt.stat,
          state: stateOfStat(d.receipt.stat),
          err: d.receipt.err,
          ref: typeof pdu.client_ref === 'string' ? pdu.client_ref : undefined,
          msisdn: String(pdu.source_addr ?? ''),
          at: Date.now(),
        });
      } else {
        accepted = await this.replyHandler({
          carrier: this.carrier,
          from: String(pdu.source_addr),
          to: String(pdu.destination_addr ?? ''),
          text: d.text,
          ref: typeof pdu.client_ref === 'string' ? pdu.client_ref : undefined,
          at: Date.now(),
        });
      }
    } catch (err) {
      this.log?.error({ err, carrier: this.carrier }, 'deliver_sm handler failed; the SMSC will send it again');
    }
    if (!s.socket.destroyed) w.send(pdu.response(accepted ? {} : { command_status: STATUS.ESME_RX_T_APPN }));
  }
}

/** Longest receipt or reply text taken (SMPP short_message is ≤ 254 bytes; message_payload ≤ 64 KB). */
export const MAX_DELIVER_TEXT = 2000;
/** SMPP 3.4 message_id is a C-string of at most 65 octets. */
const MAX_MESSAGE_ID = 65;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const KNOWN_STATS = new Set(['DELIVRD', 'UNDELIV', 'EXPIRED', 'REJECTD', 'DELETED', 'UNKNOWN', 'ACCEPTD', 'ENROUTE']);

interface ReadDeliver {
  text: string;
  receipt?: { messageId: string; stat: string; err?: string };
  /** Why the deliver_sm is refused as malformed. */
  problem?: string;
}

/** Reads a deliver_sm's text (short_message or message_payload) and, for a receipt, its fields; names what is wrong. */
export function readDeliver(pdu: Pdu): ReadDeliver {
  const dc = Number(pdu.data_coding ?? 0);
  const sm = pdu.short_message as { message?: string | Buffer } | Buffer | string | undefined;
  let raw: string | Buffer | undefined = Buffer.isBuffer(sm) || typeof sm === 'string' ? sm : sm?.message;
  if ((raw === undefined || raw.length === 0) && pdu.message_payload !== undefined) {
    const mp = pdu.message_payload as { message?: string | Buffer } | Buffer | string;
    raw = Buffer.isBuffer(mp) || typeof mp === 'string' ? mp : mp.message;
  }
  let text = '';
  if (typeof raw === 'string') text = raw;
  else if (raw && raw.length) {
    const enc = dc & 0x0f;
    if (enc === 8) {
      if (raw.length % 2 === 1) return { text: raw.toString('hex'), problem: `UCS-2 text of an odd length (${raw.length} bytes)` };
      text = Buffer.from(raw).swap16().toString('utf16le');
    } else if (enc === 0 || enc === 1) text = decodeGsm7(raw);
    else if (enc === 3) text = raw.toString('latin1');
    else return { text: raw.toString('hex'), problem: `unsupported data_coding 0x${dc.toString(16).padStart(2, '0')}` };
  }
  // node-smpp decodes UCS-2 itself (a stray odd byte is dropped there); what it cannot hide is a
  // half of a surrogate pair, which no handset sends and no database should store.
  if (LONE_SURROGATE.test(text))
    return { text: Buffer.from(text, 'utf16le').toString('hex'), problem: 'text is not valid UTF-16 (a lone surrogate)' };
  if (text.length > MAX_DELIVER_TEXT)
    return { text: text.slice(0, 200), problem: `oversized text (${text.length} characters, at most ${MAX_DELIVER_TEXT})` };
  if ((Number(pdu.esm_class) & 0x3c) === ESM_DELIVERY_RECEIPT) {
    const parsed = parseReceiptText(text);
    const tlvId = typeof pdu.receipted_message_id === 'string' && pdu.receipted_message_id ? pdu.receipted_message_id : undefined;
    const messageId = tlvId ?? parsed.id;
    if (!messageId) return { text, problem: 'receipt without a message id' };
    if (messageId.length > MAX_MESSAGE_ID) return { text, problem: `receipt message id longer than ${MAX_MESSAGE_ID} characters` };
    const stat = statOfMessageState(pdu.message_state as number | undefined) ?? parsed.stat;
    if (!stat) return { text, problem: 'receipt without a state (no message_state, no stat:)' };
    if (!KNOWN_STATS.has(stat)) return { text, problem: `receipt with an unknown stat "${stat.slice(0, 20)}"` };
    return { text, receipt: { messageId, stat, err: parsed.err } };
  }
  if (text.includes('\uFFFD')) return { text, problem: `reply text not decodable as data_coding 0x${dc.toString(16).padStart(2, '0')}` };
  if (!/^\+?\d{3,21}$/.test(String(pdu.source_addr ?? ''))) return { text, problem: 'reply without a valid sender number' };
  return { text };
}

/** The deliver_sm's fields for a dead letter (Buffers as hex). */
function deliverFields(pdu: Pdu, text: string): Record<string, unknown> {
  const out: Record<string, unknown> = { text };
  for (const k of [
    'command',
    'sequence_number',
    'source_addr',
    'destination_addr',
    'esm_class',
    'data_coding',
    'receipted_message_id',
    'message_state',
    'client_ref',
  ]) {
    const v = pdu[k];
    if (v !== undefined) out[k] = Buffer.isBuffer(v) ? v.toString('hex') : v;
  }
  return out;
}
