import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '../runtime/logger.ts';
import { Counter, type Registry } from 'prom-client';

/**
 * Stream sequences `from`..`to` (inclusive) whose messages of the consumer's subject were delivered
 * but never received: at most `lost` of them (the deliveries missing in between).
 */
export interface DeliveryGap {
  from: number;
  to: number;
  lost: number;
}

/**
 * Finds first deliveries lost in transit. A durable pull consumer hands each message out for the
 * first time in stream order, numbering every delivery (redeliveries too) one after another; when
 * the connection drops, deliveries the server already sent are lost, and after the reconnect newer
 * messages come at once while the lost ones return only after `ack_wait`. So a first delivery whose
 * delivery sequence skips some, and whose stream sequence skips some past the last first delivery,
 * shows messages lost in between. A gap made only of lost redeliveries leaves the stream sequence of
 * first deliveries contiguous and finds nothing (they come back by themselves).
 *
 * Per message this is a few integer compares: it runs on a consumer's hot path.
 */
export class FirstDeliveryTracker {
  /** Stream sequence of the last first delivery received. */
  stream: number;
  /** Highest delivery sequence received (first deliveries and redeliveries). */
  delivery: number;
  /** Deliveries missing since the last first delivery (a redelivery may come first after a cut). */
  private lost = 0;
  private known: boolean;

  /**
   * @param start the consumer's `delivered` pair when consuming begins (consumer info); without it
   * the first message received only sets the position.
   */
  constructor(start?: { stream: number; delivery: number }) {
    this.stream = start?.stream ?? 0;
    this.delivery = start?.delivery ?? 0;
    this.known = start !== undefined;
  }

  /** Records a received delivery; returns the gap it reveals, if any. */
  next(deliveryCount: number, streamSeq: number, deliverySeq: number): DeliveryGap | undefined {
    const missing = deliverySeq - this.delivery - 1;
    this.delivery = deliverySeq;
    // The delivery sequence went back: the consumer was re-created; start over from here.
    if (missing < 0) this.known = false;
    else this.lost += missing;
    if (deliveryCount !== 1) return undefined;
    const last = this.stream;
    const lost = this.lost;
    const known = this.known;
    this.stream = streamSeq;
    this.lost = 0;
    this.known = true;
    if (lost === 0 || streamSeq <= last + 1 || !known) return undefined;
    return { from: last + 1, to: streamSeq - 1, lost };
  }
}

/**
 * A NATS subject matcher: `*` matches one token, a final `>` one or more.
 * @example subjectMatcher('loc.*.>')('loc.cmcc.3') // true
 */
export function subjectMatcher(filter: string): (subject: string) => boolean {
  if (!filter.includes('*') && !filter.includes('>')) return (subject) => subject === filter;
  const want = filter.split('.');
  const rest = want[want.length - 1] === '>';
  const n = rest ? want.length - 1 : want.length;
  return (subject) => {
    const got = subject.split('.');
    if (rest ? got.length <= n : got.length !== n) return false;
    for (let i = 0; i < n; i++) {
      const w = want[i]!;
      if (w !== '*' && w !== got[i]) return false;
    }
    return true;
  };
}

/** Where lost messages are read back from: the stream itself. */
export interface GapSource {
  /** The stream's message at `seq`, or null when it was deleted (or never was). */
  get(seq: number): Promise<{ subject: string; data: Uint8Array } | null>;
  /** The stream's first sequence now (older messages are gone). */
  firstSeq(): Promise<number>;
}

/** A {@link GapSource} reading the stream through the JetStream API (`STREAM.MSG.GET`). */
export function streamGapSource(jsm: JetStreamManager, stream: string): GapSource {
  return {
    get: (seq) => jsm.streams.getMessage(stream, { seq }),
    firstSeq: async () => (await jsm.streams.info(stream)).state.first_seq,
  };
}

export interface GapFillerOptions {
  source: GapSource;
  /** The consumer's filter subject: other subjects in a gap were never for it. */
  filterSubject: string;
  /**
   * Applies one message exactly as a delivered one (without acking: it has no delivery of its own);
   * returns why when the whole message is malformed.
   */
  apply(seq: number, data: Uint8Array): string | undefined;
  log: Logger;
  registry?: Registry;
  /**
   * Name of the counter of messages read back, by outcome (applied, malformed, other_subject,
   * missing), registered in `registry`: each service its own (insight: `insight_sink_gap_messages_total`).
   */
  metricName: string;
  /** Reads in flight at once; messages are applied strictly in stream order. @default 16 */
  concurrency?: number;
  /** When true, a fill waiting on a failed read gives up (the consumer is stopping). */
  stopping(): boolean;
}

/** Back-off between attempts to read a message while NATS is unreachable (ms). */
const RETRY_MS = [100, 250, 500, 1000, 2000, 5000];

type Read = { ok: true; msg: { subject: string; data: Uint8Array } | null } | { ok: false; err: unknown };

/**
 * Fills gaps of lost deliveries from the stream, in order, before the message that revealed them is
 * applied. Filled messages are not acked here: their own redelivery after `ack_wait` must be taken
 * as already applied by the consumer and acked (insight's sink skips it by stream position and acks
 * it after the next checkpoint, so the ack floor never passes a message whose effect is not in a
 * checkpoint; alerting's presence skips events older than those applied). A malformed one is logged
 * and counted; its redelivery dead-letters it as any other.
 *
 * Assumes one process consumes the durable at a time: with two, each one's deliveries are gaps to
 * the other, which reads them back too.
 */
export class GapFiller {
  readonly tracker: FirstDeliveryTracker;
  /** Gaps filled, and messages applied from the stream by them. */
  gaps = 0;
  filled = 0;
  private readonly matches: (subject: string) => boolean;
  private readonly counter?: Counter<'outcome'>;

  constructor(
    private readonly opts: GapFillerOptions,
    start?: { stream: number; delivery: number },
  ) {
    this.tracker = new FirstDeliveryTracker(start);
    this.matches = subjectMatcher(opts.filterSubject);
    if (opts.registry) {
      // One counter for every filler of a registry (a service consuming several durables, one filler each).
      this.counter =
        (opts.registry.getSingleMetric(opts.metricName) as Counter<'outcome'> | undefined) ??
        new Counter({
          name: opts.metricName,
          help: 'Messages lost in transit and read back from the stream, by outcome (applied, malformed, other_subject, missing)',
          labelNames: ['outcome'],
          registers: [opts.registry],
        });
    }
  }

  /**
   * Reads the gap's stream messages (several at once) and applies those of the filter subject in
   * order, stopping once `lost` were found. Returns false when it gave up because the consumer is
   * stopping (then the revealing message must not be applied either).
   */
  async fill(gap: DeliveryGap): Promise<boolean> {
    const { source, log } = this.opts;
    const t0 = performance.now();
    const first = await this.retrying(() => source.firstSeq());
    if (first === undefined) return false;
    const from = Math.max(gap.from, first);
    const to = gap.to;
    const concurrency = this.opts.concurrency ?? 16;
    const window: Promise<Read>[] = [];
    let next = from;
    const read = (seq: number): Promise<Read> =>
      source.get(seq).then(
        (msg) => ({ ok: true as const, msg }),
        (err: unknown) => ({ ok: false as const, err }),
      );
    const refill = () => {
      while (window.length < concurrency && next <= to) window.push(read(next++));
    };
    let applied = 0,
      malformed = 0,
      other = 0,
      missing = 0;
    for (let seq = from; seq <= to && applied + malformed < gap.lost; seq++) {
      refill();
      let r = await window.shift()!;
      if (!r.ok) {
        if (this.opts.stopping()) return false;
        this.opts.log.error({ err: r.err, seq }, 'reading a lost message back from the stream failed; retrying');
        const again = await this.retrying(() => source.get(seq));
        if (again === undefined) return false;
        r = { ok: true, msg: again };
      }
      const m = r.msg;
      if (m === null) {
        missing++;
        continue;
      }
      if (!this.matches(m.subject)) {
        other++;
        continue;
      }
      const bad = this.opts.apply(seq, m.data);
      if (bad === undefined) applied++;
      else {
        malformed++;
        log.warn({ seq, reason: bad }, 'a message read back from the stream is malformed (its redelivery dead-letters it)');
      }
    }
    this.gaps++;
    this.filled += applied;
    if (this.counter) {
      if (applied) this.counter.inc({ outcome: 'applied' }, applied);
      if (malformed) this.counter.inc({ outcome: 'malformed' }, malformed);
      if (other) this.counter.inc({ outcome: 'other_subject' }, other);
      if (missing) this.counter.inc({ outcome: 'missing' }, missing);
    }
    log.warn(
      { from, to, lost: gap.lost, applied, malformed, other, missing, ms: Math.round(performance.now() - t0) },
      'deliveries lost in transit: applied the missing messages from the stream, in order',
    );
    return true;
  }

  /** Runs `op` until it succeeds, waiting out NATS outages; undefined when the consumer is stopping. */
  private async retrying<T>(op: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        if (this.opts.stopping()) return undefined;
        this.opts.log.error({ err, attempt }, 'reading lost messages back from the stream failed; retrying');
        await new Promise((r) => setTimeout(r, RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]));
      }
    }
  }
}
