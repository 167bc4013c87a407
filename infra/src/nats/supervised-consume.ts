import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';

/** Why a consume iterator was replaced: it ended, it threw (or could not be opened), or it stalled. */
export type RestartReason = 'ended' | 'failed' | 'stalled';

/** Back-off before opening a consumer again, by attempt (ms). */
const RESTART_MS = [250, 1000, 2000, 5000, 10_000];

/** What the watchdog learns from the server about the consumer (see {@link SuperviseOptions.stall}). */
export interface ConsumerProgress {
  /** Messages the consumer has not delivered yet. */
  pending: number;
  /** A number that moves on whenever the consumer delivers (its delivered sequence). */
  delivered: number;
  /** Whether the consumer may deliver more now (below its max_ack_pending). */
  room: boolean;
}

export interface SuperviseOptions {
  /** Fields naming the consumer in logs (`{ carrier: 'cmcc' }`). */
  what: Record<string, unknown>;
  /** Gets the consumer and opens a consume iterator on it (called again for each restart). */
  open(): Promise<ConsumerMessages>;
  /** Takes one message (synchronously: work it starts is its own business). */
  handle(m: JsMsg): void;
  log: { error(fields: object, msg: string): void };
  /** Told of each restart. */
  onRestart?(reason: RestartReason): void;
  /**
   * A watchdog: an iterator that delivered nothing for `ms` while the consumer has messages pending
   * and room for more, its delivered sequence not moving between two answers of `progress`, is
   * stalled (its pull requests were lost, e.g. with the consumer's leader node) and is replaced.
   * nats.js notices that only after two missed idle heartbeats and more.
   */
  stall?: { ms: number; progress(): Promise<ConsumerProgress> };
}

export interface Supervised {
  /** Resolves once the first iterator is open (true), or the first attempt failed (false: retried meanwhile). */
  readonly opened: Promise<boolean>;
  /** Whether an iterator is open now. */
  readonly consuming: boolean;
  /** Iterators replaced so far. */
  readonly restarts: number;
  /** Closes the iterator and waits until the loop has ended; nothing is reopened afterwards. */
  stop(): Promise<void>;
}

/**
 * Consumes until stopped, whatever happens to the iterator: nats.js ends one for good on a 400 to a
 * pull or a subscription error, `consumers.get` fails while a cluster elects leaders or a durable is
 * being declared again, and an iterator whose pulls were lost waits for heartbeats for long. Each of
 * those is logged and the consumer opened again with back-off (#19: messaging's `ctcc` consumer
 * stopped for good after a rebind whose `consumers.get` failed; 5 jobs unacked, no pull waiting).
 * Messages the old iterator had buffered are still handed over before it ends (nats.js queues its
 * end behind them), and their acks go to the durable, not to the iterator.
 */
export function superviseConsume(o: SuperviseOptions): Supervised {
  let stopped = false;
  let messages: ConsumerMessages | undefined;
  let stalled = false;
  let restarts = 0;
  let wake: (() => void) | undefined;
  let openedOnce!: (ok: boolean) => void;
  const opened = new Promise<boolean>((r) => (openedOnce = r));
  // When the current iterator last handed over a message (or opened).
  let lastAt = 0;

  const watchdog = (): NodeJS.Timeout | undefined => {
    const s = o.stall;
    if (!s) return undefined;
    let asking = false;
    let before: number | undefined;
    const t = setInterval(
      () => {
        if (asking || stopped || stalled || !messages) return;
        if (performance.now() - lastAt < s.ms) return void (before = undefined);
        asking = true;
        const at = lastAt;
        s.progress()
          .then((p) => {
            if (stopped || !messages || lastAt !== at || p.pending === 0 || !p.room) return void (before = undefined);
            const was = before;
            before = p.delivered;
            if (was !== p.delivered) return;
            stalled = true;
            o.log.error(
              { ...o.what, pending: p.pending, waitingMs: Math.round(performance.now() - at) },
              'consumer stalled: messages pending and none delivered; opening it again',
            );
            void messages.close().catch(() => undefined);
          })
          // NATS unreachable: the iterator's own reconnect handling applies; asked again next time.
          .catch(() => undefined)
          .finally(() => (asking = false));
      },
      Math.max(100, Math.floor(s.ms / 4)),
    );
    t.unref();
    return t;
  };

  const done = (async () => {
    for (let attempt = 0; !stopped;) {
      let reason: RestartReason = 'ended';
      let error: unknown;
      let handed = 0;
      let timer: NodeJS.Timeout | undefined;
      try {
        const msgs = await o.open();
        if (stopped) {
          await msgs.close().catch(() => undefined);
          break;
        }
        messages = msgs;
        lastAt = performance.now();
        openedOnce(true);
        timer = watchdog();
        for await (const m of msgs) {
          lastAt = performance.now();
          handed++;
          o.handle(m);
        }
        if (stalled) reason = 'stalled';
      } catch (err) {
        reason = stalled ? 'stalled' : 'failed';
        error = err;
        openedOnce(false);
      } finally {
        clearInterval(timer);
        await messages?.close().catch(() => undefined);
        messages = undefined;
        stalled = false;
      }
      if (stopped) break;
      if (handed > 0) attempt = 0;
      const waitMs = RESTART_MS[Math.min(attempt++, RESTART_MS.length - 1)]!;
      restarts++;
      o.onRestart?.(reason);
      o.log.error({ ...o.what, err: error, reason, restarts, waitMs }, 'consumer ended before being stopped; opening it again');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
    openedOnce(false);
  })();

  return {
    opened,
    get consuming() {
      return messages !== undefined;
    },
    get restarts() {
      return restarts;
    },
    async stop() {
      stopped = true;
      wake?.();
      await messages?.close().catch(() => undefined);
      await done;
    },
  };
}
