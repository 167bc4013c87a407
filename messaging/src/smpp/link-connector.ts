// One file over 400 lines on purpose: LinkConnector is one state machine (queue, retries, windows,
// slots, pump, hand-back) whose parts read and write the same fields; split, each would need the others' internals.
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
import { RateWindow } from './rate-window.ts';

/**
 * What every carrier protocol's connector shares, whatever goes on the wire (SMPP, CMPP, …): the
 * bind slots and their leases, the window of unanswered submits per bind (slow start), each slot's
 * share of the carrier's rate, the claim before a message's first part, retries of temporary
 * refusals, reconnects with backoff and the hand-back of queued messages when no slot is held.
 * A protocol's connector extends {@link LinkConnector} with how it opens a link and logs in
 * (`connect`), writes one part (`writePart`), keeps the link alive and closes it (`closeLink`).
 */

/** How soon a held slot whose fencing check failed (a late lease renewal) is looked at again. */
const FENCE_RECHECK_MS = 50;
export interface LinkCarrierConfig {
  carrier: SmsCarrier;
  /**
   * Names the SMSC / gateway this account binds to, unique among the carrier's: receipts are matched
   * by (carrier, smscId, message id). Give each its own when a carrier has several. @default the carrier
   */
  smscId?: string;
  host: string;
  port: number;
  /** 接入号: the source address of every message; an extension is appended to it. */
  accessNumber: string;
  /**
   * Parallel binds (links): with `leasedBinds`, the binds the carrier grants the account, shared by
   * all instances. @default 1
   */
  binds?: number;
  /**
   * Bind slots are opened only when {@link LinkConnector.hold} is called and closed by
   * {@link LinkConnector.release}: several instances share the carrier's binds, each using the slots
   * whose leases it holds. Off: every slot is opened at once (one instance). @default false
   */
  leasedBinds?: boolean;
  /** Asked before each submit on a slot: whether its lease is still certainly held (the fencing check). */
  canSend?: (slot: number) => boolean;
  /** Unanswered submits per bind. @default 64 */
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
  /** Keep-alive interval (SMPP enquire_link, CMPP active test). @default 30000 */
  enquireLinkMs?: number;
  /** A PDU unanswered this long means the link is dead. @default 10000 */
  responseTimeoutMs?: number;
  /** Reconnect backoff, doubling from min to max with jitter. @default 200, 10000 */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** First pause after a throttling refusal, doubling while throttling lasts. @default 100 */
  throttleBackoffMs?: number;
  log?: Logger;
}

export type LinkDefaults = Required<Omit<LinkCarrierConfig, 'log' | 'canSend'>> & { canSend?: (slot: number) => boolean };

export interface Message {
  sms: OutboundSms;
  ids: string[];
  remaining: number;
  done: boolean;
  /** Parts written to a link so far (answered or not). */
  written: number;
  resolve: (o: SubmitOutcome) => void;
}

export interface Part {
  msg: Message;
  index: number;
  attempts: number;
  sentAt: number;
  /** The first part runs the message's beforeSend claim. */
  first: boolean;
}

/** The carrier's answer to one submitted part, in protocol-free terms. */
export type SubmitResult =
  | { ok: true; messageId: string }
  /** `temporary`: the same part may succeed later (throttled, queue full, …), it is retried. */
  | { ok: false; temporary: boolean; throttled?: boolean; code: string };

export class Bind<S> {
  link?: S;
  bound = false;
  inFlight = 0;
  /**
   * Unanswered submits allowed now: 1 after each bind, +1 per accepted submit, up to the window
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

/** The protocol-free part of a carrier connector; `S` is one open link (a socket and its codec). */
export abstract class LinkConnector<S> implements CarrierConnector {
  readonly carrier: SmsCarrier;
  readonly smscId: string;
  protected readonly binds: Bind<S>[];
  private readonly queue: Part[] = [];
  private head = 0;
  private readonly retries: Part[] = [];
  private pumpTimer?: NodeJS.Timeout;
  private pausedUntil = 0;
  private throttleStreak = 0;
  private rr = 0;
  protected closing = false;
  // Until someone listens, receipts and replies are refused for now: the SMSC keeps and resends them.
  protected receiptHandler: (r: CarrierReceipt) => Promise<boolean> = async () => false;
  protected replyHandler: (r: CarrierReply) => Promise<boolean> = async () => false;
  protected badHandler: (b: BadDeliver) => Promise<void> = async () => {
    throw new Error('no handler for malformed deliveries yet');
  };
  private readyWaiters: (() => void)[] = [];
  protected readonly counts = { submitted: 0, throttled: 0, retried: 0, reconnects: 0, badDelivers: 0, handedBack: 0 };
  private readonly window: number;
  protected readonly base: LinkDefaults;
  protected readonly log?: Logger;
  private watchdog: NodeJS.Timeout;
  /** Names the protocol in logs and errors. */
  protected abstract readonly protocol: string;

  constructor(cfg: LinkCarrierConfig) {
    this.carrier = cfg.carrier;
    this.smscId = cfg.smscId ?? cfg.carrier;
    this.log = cfg.log;
    this.base = {
      smscId: cfg.carrier,
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
      ...cfg,
    } as LinkDefaults;
    this.window = this.base.windowSize;
    const slots = Math.max(1, this.base.binds);
    this.binds = Array.from({ length: slots }, (_, i) => {
      const share = slotRate(this.base.segmentsPerSecond, slots, i);
      return new Bind<S>(i, new RateWindow(share, undefined, 1000 + this.base.rateGuardMs), this.base.segmentsPerSecond > 0 && share === 0);
    });
    if (this.binds.some((b) => b.noShare))
      this.log?.warn(
        { carrier: this.carrier, binds: slots, perSecond: this.base.segmentsPerSecond },
        'more binds than segments per second: some slots have no share of the rate and send nothing',
      );
    this.watchdog = setInterval(() => this.checkTimeouts(), Math.min(1000, this.base.responseTimeoutMs / 2));
    this.watchdog.unref();
  }

  /** Opens every slot at once unless binds are leased; call at the end of the subclass constructor. */
  protected start(): void {
    if (!this.base.leasedBinds) for (const b of this.binds) this.hold(b.n);
  }

  // ---- what a protocol provides ------------------------------------------------------------------

  /** Opens bind `b`'s link, logs in, and calls {@link linkUp} once logged in, {@link linkDown} when it fails or closes. */
  protected abstract connect(b: Bind<S>): void;
  /**
   * Writes one part on `b`'s link; `answer` is called with the carrier's answer. Returns the key
   * (sequence number) of the pending part, or false when the link cannot be written (it is down).
   */
  protected abstract writePart(b: Bind<S>, part: Part, answer: (r: SubmitResult) => void): number | false;
  /** Logs out and closes `b`'s link gracefully (resolves when closed). */
  protected abstract closeLink(b: Bind<S>): Promise<void>;
  /** Whether the link's socket is gone. */
  protected abstract isGone(link: S): boolean;
  /** Destroys the link's socket at once. */
  protected abstract destroyLink(link: S): void;

  // ---- the interface ---------------------------------------------------------------------------

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
        () => reject(new Error(`${this.carrier}: no ${this.protocol} bind to ${this.base.host}:${this.base.port} within ${timeoutMs} ms`)),
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
    if (this.base.leasedBinds) b.quietUntil = Date.now() + 1000 + this.base.rateGuardMs;
    if (b.reconnectTimer) clearTimeout(b.reconnectTimer);
    if (!b.link) this.connect(b);
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
    while (b.pending.size > 0 && b.link && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await this.unbind(b);
    this.pump();
  }

  private unbind(b: Bind<S>): Promise<void> {
    if (b.enquireTimer) clearInterval(b.enquireTimer);
    if (b.reconnectTimer) clearTimeout(b.reconnectTimer);
    const link = b.link;
    if (!link || this.isGone(link)) return Promise.resolve();
    return this.closeLink(b);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    await Promise.all(this.binds.map((b) => this.unbind(b)));
  }

  // ---- binds -------------------------------------------------------------------------------

  /** The login on `b` succeeded: the window starts at 1, keep-alives start, waiters are told. */
  protected linkUp(b: Bind<S>, keepAlive: () => void): void {
    b.bound = true;
    b.attempts = 0;
    b.limit = 1;
    b.lastHeard = Date.now();
    this.log?.info({ carrier: this.carrier, bind: b.n }, `${this.protocol} bound`);
    const link = b.link;
    b.enquireTimer = setInterval(() => {
      if (b.link !== link) return;
      if (Date.now() - b.lastHeard > this.base.enquireLinkMs + this.base.responseTimeoutMs) this.destroyLink(link!);
      else keepAlive();
    }, this.base.enquireLinkMs);
    b.enquireTimer.unref();
    for (const w of this.readyWaiters.splice(0)) w();
    this.pump();
  }

  /**
   * The bind is down from this moment: called on 'close', and also as soon as a write finds the
   * socket no longer writable (a bind still marked up then took the same part again and again,
   * synchronously, and the event loop never turned). Unanswered parts are queued again, the socket
   * destroyed, a reconnect scheduled. Idempotent: the first call for a link does the work.
   */
  protected linkDown(b: Bind<S>, link: S): void {
    if (b.link !== link) return;
    b.link = undefined;
    const wasBound = b.bound;
    b.bound = false;
    if (!this.isGone(link)) this.destroyLink(link);
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
    const delay = Math.min(this.base.reconnectMaxMs, this.base.reconnectMinMs * 2 ** b.attempts) * (0.75 + Math.random() * 0.5);
    b.attempts = Math.min(b.attempts + 1, 16);
    this.counts.reconnects++;
    if (wasBound)
      this.log?.warn({ carrier: this.carrier, bind: b.n, retryInMs: Math.round(delay) }, `${this.protocol} link lost; reconnecting`);
    b.reconnectTimer = setTimeout(() => this.connect(b), delay);
    // Not synchronously: this may be called from inside pump's loop.
    setImmediate(() => this.pump());
  }

  private checkTimeouts(): void {
    const now = Date.now();
    for (const b of this.binds) {
      for (const p of b.pending.values()) {
        if (now - p.sentAt > this.base.responseTimeoutMs) {
          this.log?.warn({ carrier: this.carrier, bind: b.n }, `${this.protocol} submit unanswered; dropping the link`);
          if (b.link) this.linkDown(b, b.link);
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
   * again). Throughput is counted when the submit is written, not before the claim: counted at
   * claim time, parts whose claims took longer left together, more than the share in some second.
   */
  private pickBind(part: Part): { bind: Bind<S>; slot: Bind<S> } | { waitMs: number } | undefined {
    const claims = part.first && !!part.msg.sms.beforeSend;
    let slot: Bind<S> | undefined;
    let waitMs = Infinity;
    const now = Date.now();
    for (const s of this.binds) {
      if (!s.held || s.noShare) continue;
      if (!(this.base.canSend?.(s.n) ?? true)) {
        // Held but fenced for now (its lease renewal is late): look again soon. Nothing else need
        // come to wake the queue — with nothing in flight the carrier stalled until the next submit.
        waitMs = Math.min(waitMs, FENCE_RECHECK_MS);
        continue;
      }
      const w = Math.max(s.quietUntil - now, s.rate.waitMs(claims ? s.claiming : 0));
      if (w === 0) {
        slot = s;
        break;
      }
      waitMs = Math.min(waitMs, w);
    }
    if (!slot) return waitMs < Infinity ? { waitMs } : undefined;
    let fenced = false;
    for (let i = 0; i < this.binds.length; i++) {
      const b = this.binds[(this.rr + i) % this.binds.length]!;
      if (!b.bound || !b.held || b.inFlight >= b.limit) continue;
      if (!(this.base.canSend?.(b.n) ?? true)) {
        fenced = true;
        continue;
      }
      this.rr = (this.rr + i + 1) % this.binds.length;
      return { bind: b, slot };
    }
    // A free bind held but fenced wakes nobody when it passes again: look again soon.
    return fenced ? { waitMs: FENCE_RECHECK_MS } : undefined;
  }

  /**
   * With leased binds and no slot held nor draining, nothing queued can go out here: every waiting
   * message is handed back (`handedBack`, `claimed` when its claim was stored), for its job to go to
   * an instance that holds a slot.
   */
  private handBackIfNoSlot(): boolean {
    if (!this.base.leasedBinds || this.binds.some((b) => b.held || b.pending.size > 0)) return false;
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

  protected pump(): void {
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
        const link = b.link;
        const release = () => {
          slot.claiming--;
          if (b.link === link && b.inFlight > 0) b.inFlight--;
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
  private send(b: Bind<S>, part: Part, slot: Bind<S>): void {
    part.sentAt = Date.now();
    slot.rate.take();
    part.msg.written++;
    const link = b.link!;
    let key = -1;
    const written = this.writePart(b, part, (r) => {
      if (b.link !== link || !b.pending.has(key)) return;
      b.pending.delete(key);
      b.inFlight--;
      if (r.ok && b.limit < this.window) b.limit++;
      this.onSubmitResult(part, r);
      this.pump();
    });
    if (written === false) {
      // The socket is gone though 'close' has not come yet: the bind is down now.
      this.retries.unshift(part);
      this.linkDown(b, link);
      return;
    }
    key = written;
    b.inFlight++;
    b.pending.set(key, part);
  }

  private onSubmitResult(part: Part, r: SubmitResult): void {
    const msg = part.msg;
    if (r.ok) {
      this.counts.submitted++;
      this.throttleStreak = 0;
      msg.ids[part.index] = r.messageId;
      if (--msg.remaining === 0 && !msg.done) {
        msg.done = true;
        msg.resolve({ ok: true, messageIds: msg.ids });
      }
      return;
    }
    if (msg.done) return;
    if (r.temporary) {
      part.attempts++;
      this.counts.retried++;
      if (r.throttled) {
        this.counts.throttled++;
        this.throttleStreak++;
        this.pausedUntil = Date.now() + Math.min(2000, this.base.throttleBackoffMs * 2 ** Math.min(this.throttleStreak - 1, 5));
      } else {
        this.pausedUntil = Math.max(this.pausedUntil, Date.now() + Math.min(5000, 50 * 2 ** Math.min(part.attempts, 7)));
      }
      this.retries.push(part);
      return;
    }
    msg.done = true;
    msg.resolve({ ok: false, code: r.code, messageIds: msg.ids.filter(Boolean) });
  }
}
