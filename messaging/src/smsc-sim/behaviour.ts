import type { ReceiptStat } from '../smpp/protocol.ts';
import { handsetReply } from './handset-reply.ts';
import { SlidingCount, type SmscBehaviour, type SmscStats } from './simulated-smsc.ts';

/** What every simulated gateway counts (its `/stats` less the binds and receipts it holds now). */
export type GatewayCounters = Omit<SmscStats, 'carrier' | 'binds' | 'receiptsPending'>;

export function newCounters(): GatewayCounters {
  return {
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
}

/** Runs `fn` after `ms` unless the gateway has closed (its timers are cleared then). */
export type Later = (ms: number, fn: () => void) => void;

/** What a submit comes to before its content is read. */
export type Screened = { drop: true } | { refuse: number } | { accept: true };

/**
 * How a simulated gateway behaves, the same for SMPP, CMPP, SMGP and SGIP (`SmscBehaviour`): binds
 * beyond `maxBinds` refused, a link cut after `disconnectAfter` submits, the rate over a sliding
 * second (`throttlePerSecond`), refusals by fate or `rejectRate`, answers after `latencyMs`, each
 * accepted part's fate and a handset's reply text. Each protocol only says which code it answers with.
 */
export class SubmitRules {
  /** Submits received (all) and let through the throttle in the last 1,000 ms. */
  private readonly received = new SlidingCount();
  private readonly letThrough = new SlidingCount();

  constructor(
    readonly behaviour: SmscBehaviour,
    readonly counters: GatewayCounters,
    private readonly later: Later,
  ) {}

  /** A bind while `held` binds of the account are held: false (and counted) beyond `maxBinds`. */
  admitBind(held: number): boolean {
    if (this.behaviour.maxBinds > 0 && held >= this.behaviour.maxBinds) {
      this.counters.bindsRefused++;
      return false;
    }
    this.counters.peakBinds = Math.max(this.counters.peakBinds, held + 1);
    return true;
  }

  /**
   * One submit on a link: cut the link (`drop`, called here: this PDU and any still waiting for
   * their latency are never answered), refuse it with a code (throttled beyond the rate, `invalid`'s
   * code, its destination's fate, `rejectRate`), or read it.
   */
  screen(
    link: { submits?: number },
    drop: () => void,
    o: { destination: string; throttled: number; invalid?: () => number | undefined },
  ): Screened {
    const b = this.behaviour;
    this.counters.submits++;
    link.submits = (link.submits ?? 0) + 1;
    if (b.disconnectAfter > 0 && link.submits >= b.disconnectAfter) {
      this.counters.dropped++;
      this.counters.disconnects++;
      drop();
      return { drop: true };
    }
    const now = Date.now();
    this.counters.peakPerSecond = Math.max(this.counters.peakPerSecond, this.received.add(now));
    if (b.throttlePerSecond > 0) {
      if (this.letThrough.count(now) >= b.throttlePerSecond) {
        this.counters.throttled++;
        return { refuse: o.throttled };
      }
      this.letThrough.add(now);
    }
    const fate = b.fates[o.destination];
    let refuse = o.invalid?.();
    if (refuse === undefined && typeof fate === 'number') refuse = fate;
    if (refuse === undefined && b.rejectRate > 0 && Math.random() < b.rejectRate) refuse = b.rejectStatus;
    if (refuse !== undefined) {
      this.counters.rejected++;
      return { refuse };
    }
    return { accept: true };
  }

  /** Answers a submit after the latency, unless its link is gone by then (counted as dropped). */
  respond(gone: () => boolean, write: () => void): void {
    const go = () => {
      if (gone()) {
        this.counters.dropped++;
        return;
      }
      write();
    };
    if (this.behaviour.latencyMs > 0) this.later(this.behaviour.latencyMs, go);
    else go();
  }

  /** An accepted part's fate: its destination's fixed one, else DELIVRD at `successRate`, else EXPIRED or UNDELIV. */
  fate(destination: string): ReceiptStat {
    const f = this.behaviour.fates[destination];
    if (typeof f === 'string') return f;
    if (Math.random() < this.behaviour.successRate) return 'DELIVRD';
    return Math.random() < this.behaviour.expiredShare ? 'EXPIRED' : 'UNDELIV';
  }

  /** Whether a delivered message gets a reply from the handset. */
  replies(): boolean {
    return this.behaviour.moRate > 0 && Math.random() < this.behaviour.moRate;
  }

  /** The handset's reply to a delivered message: a code of its check-in prompt mostly, else one of `moTexts` (`handsetReply`). */
  moText(msg: { text: string }): string {
    return handsetReply(msg.text, this.behaviour.moTexts);
  }
}
