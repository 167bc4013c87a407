import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../runtime/logger.ts';
import { deadLetterMsg, type DeadLetterWriter } from './dead-letter.ts';
import type { DeliveryGap, GapFiller } from './gap-fill.ts';

export interface ConsumeLoopOptions {
  log: Logger;
  /**
   * Handles one message, synchronously up to its first await: returns why when the whole message
   * is malformed, a promise for work still under way (the message is in flight until it settles;
   * the handler acks or naks it), or undefined when it is done with.
   */
  handle(msg: JsMsg): string | Promise<unknown> | undefined;
  /**
   * Where a malformed message goes, with its reason; it is then terminated (never redelivered).
   * Without one (a standby that writes nothing) it is only passed to `onMalformed`.
   */
  deadLetter?: DeadLetterWriter;
  /** Told of every malformed message (logging, counting). */
  onMalformed?(msg: JsMsg, reason: string): void;
  /** Reads deliveries lost in transit back from the stream, in order, before the message that revealed them. */
  gaps?: GapFiller;
  /** Whether to fill a revealed gap (when not, the message is handled at once). @default always */
  fillGap?(gap: DeliveryGap): boolean;
  /** At most this many messages' work in flight: at the limit the loop pulls nothing until one settles. @default 1 */
  inflight?: number;
  /**
   * Give the event loop a macrotask turn after this much work (ms). The consume iterator hands over
   * buffered messages in microtasks: without a turn now and then, a full-rate backlog keeps timers
   * and sockets (/healthz, a query API) waiting for as long as it lasts (over 30 s was seen in
   * insight). @default 20
   */
  yieldMs?: number;
  /** Checked after each message (and after a gap fill): true ends the loop. */
  stopping(): boolean;
}

/**
 * One consume loop for a JetStream consumer whose messages must be applied in stream order (the
 * LOCATION consumers of alerting and insight): per message, fill a revealed delivery gap from the
 * stream first, hand the message over, dead-letter it with its reason when it is malformed, keep at
 * most `inflight` messages' work under way, and yield to the event loop every `yieldMs` of work.
 * Per message it allocates nothing of its own (a promise of work is tracked in a set).
 */
export class ConsumeLoop {
  /** Time spent in `handle` (ms). */
  handleMs = 0;
  /** Messages handed to `handle`, and of those malformed. */
  handled = 0;
  malformed = 0;
  /** Work under way (see `track`). */
  readonly inflight = new Set<Promise<unknown>>();
  /**
   * Since when (`performance.now()`) the loop has been waiting for the iterator's next message, or
   * undefined while it is busy (handling, filling a gap, waiting for work in flight) or not running.
   * A watchdog reads it: a loop waiting long while the consumer has messages pending is stalled (its
   * pull requests were lost, e.g. with the consumer's leader node), not slow.
   */
  waitingSince: number | undefined;
  private readonly limit: number;
  private readonly yieldMs: number;

  constructor(private readonly o: ConsumeLoopOptions) {
    this.limit = Math.max(1, o.inflight ?? 1);
    this.yieldMs = o.yieldMs ?? 20;
  }

  /**
   * Counts `work` as in flight until it settles (a handler's work is tracked by the loop itself;
   * this is for work started elsewhere, e.g. by a gap fill's apply). A failure is logged: the
   * work handles its message's ack or nak itself.
   */
  track(work: Promise<unknown>): void {
    const inflight = this.inflight;
    const done = work.then(
      () => void inflight.delete(done),
      (err: unknown) => {
        inflight.delete(done);
        this.o.log.error({ err }, 'work for a consumed message failed');
      },
    );
    inflight.add(done);
  }

  /** Waits until no work is in flight. */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Consumes `messages` until they end (the consumer was closed), a gap fill gives up, or `stopping()`. */
  async run(messages: AsyncIterable<JsMsg>): Promise<void> {
    const o = this.o;
    const gaps = o.gaps;
    const yieldMs = this.yieldMs;
    let since = performance.now();
    this.waitingSince = since;
    try {
      for await (const msg of messages) {
        this.waitingSince = undefined;
        if (gaps !== undefined) {
          const info = msg.info;
          const gap = gaps.tracker.next(info.deliveryCount, info.streamSequence, info.deliverySequence);
          if (gap !== undefined && (o.fillGap === undefined || o.fillGap(gap))) {
            if (!(await gaps.fill(gap)) || o.stopping()) break;
          }
        }
        const t0 = performance.now();
        const r = o.handle(msg);
        const t1 = performance.now();
        this.handleMs += t1 - t0;
        this.handled++;
        if (t1 - since >= yieldMs) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          since = performance.now();
        }
        if (typeof r === 'string') {
          this.malformed++;
          o.onMalformed?.(msg, r);
          if (o.deadLetter)
            await deadLetterMsg(o.deadLetter, msg, r).catch((err: unknown) =>
              o.log.error({ err, subject: msg.subject, seq: msg.seq }, 'could not dead-letter; the message will be redelivered'),
            );
        } else if (r !== undefined) {
          this.track(r);
          while (this.inflight.size >= this.limit) await Promise.race(this.inflight);
        }
        if (o.stopping()) break;
        this.waitingSince = performance.now();
      }
    } finally {
      this.waitingSince = undefined;
    }
  }
}
