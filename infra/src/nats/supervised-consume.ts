import type { ConsumerMessages, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { z } from 'zod';

/** Why a consume iterator was replaced: it ended, it threw (or could not be opened), or it stalled. */
export type RestartReason = 'ended' | 'failed' | 'stalled';

/** Back-off before opening a consumer again, by attempt (ms); from the first again once an iterator handed a message over. */
export const RESTART_BACKOFF_MS: readonly number[] = [250, 1000, 2000, 5000, 10_000];

/**
 * How long a consumer may deliver nothing while messages are pending for it (and it has room for
 * more) before it is taken as stalled and opened again. nats.js notices lost pulls itself only after
 * two missed idle heartbeats (15 s each with `consume`'s defaults) and a consumer info that may back
 * off for 30 s more.
 */
export const DEFAULT_STALL_MS = 20_000;

/**
 * The `CONSUMER_STALL_MS` setting of a service's env schema (alerting, messaging, insight): see
 * {@link DEFAULT_STALL_MS}. At least 1 s: a shorter one would replace healthy consumers of a busy
 * server. @default 20000
 */
export const consumerStallMs = () => z.coerce.number().int().min(1_000).max(600_000).default(DEFAULT_STALL_MS);

/** What the watchdog learns from the server about the consumer (see {@link SuperviseOptions.stall}). */
export interface ConsumerProgress {
  /** Messages the consumer has not delivered yet. */
  pending: number;
  /** A number that moves on whenever the consumer delivers (its delivered sequence). */
  delivered: number;
  /** Whether the consumer may deliver more now (below its max_ack_pending). */
  room: boolean;
  /** Messages delivered and not acked (for the log). */
  unacked?: number;
}

/** A durable consumer's progress, from its info. */
export async function durableProgress(jsm: JetStreamManager, stream: string, consumer: string): Promise<ConsumerProgress> {
  const ci = await jsm.consumers.info(stream, consumer);
  const cap = ci.config.max_ack_pending;
  return {
    pending: ci.num_pending,
    delivered: ci.delivered.consumer_seq,
    room: !cap || cap < 0 || ci.num_ack_pending < cap,
    unacked: ci.num_ack_pending,
  };
}

/**
 * A loop that consumes an iterator itself until it ends (infra's ConsumeLoop: in order, with gap
 * fill, dead-lettering and an in-flight limit), instead of taking messages one by one.
 */
export interface SupervisedLoop {
  run(messages: ConsumerMessages): Promise<void>;
  /** Since when (`performance.now()`) it has waited for the iterator's next message; undefined while busy. */
  readonly waitingSince: number | undefined;
  /** Messages it handled so far (the back-off starts over after an iterator that handed any over). */
  readonly handled: number;
}

interface SuperviseCommon {
  /** Fields naming the consumer in logs (`{ carrier: 'cmcc' }`). */
  what: Record<string, unknown>;
  /** Gets the consumer and opens a consume iterator on it (called again for each restart). */
  open(): Promise<ConsumerMessages>;
  log: { error(fields: object, msg: string): void };
  /** Told of each restart, with the error that ended the iterator when one did. */
  onRestart?(reason: RestartReason, err?: unknown): void;
  /**
   * A watchdog: an iterator that has waited `ms` for a message while the consumer has messages
   * pending and room for more, its delivered sequence not moving between two answers of `progress`,
   * is stalled (its pull requests were lost, e.g. with the consumer's leader node) and is replaced.
   * `progress` is asked from half of `ms` on (then every `ms / 4`), so that the stall is seen about
   * `ms` after the last delivery; an idle consumer (nothing pending) is asked at most once per `ms`,
   * and an answer that has not come within `ms` (a cluster electing leaders) is not waited for.
   */
  stall?: { ms: number; progress(): Promise<ConsumerProgress> };
  /** Checked before each open and after each iterator ends: true ends the loop as `stop` does (the service is stopping). */
  stopping?(): boolean;
}

export type SuperviseOptions = SuperviseCommon &
  (
    | {
        /** Takes one message; a promise it returns is awaited before the next one. */
        handle(m: JsMsg): void | Promise<void>;
        loop?: undefined;
      }
    | { loop: SupervisedLoop; handle?: undefined }
  );

export interface Supervised {
  /** Resolves once the first iterator is open (true), or the first attempt failed (false: retried meanwhile). */
  readonly opened: Promise<boolean>;
  /** Resolves once the loop has ended (after `stop`, or once `stopping()`). */
  readonly done: Promise<void>;
  /** Whether an iterator is open now. */
  readonly consuming: boolean;
  /** Iterators replaced so far. */
  readonly restarts: number;
  /** Since when (`performance.now()`) no iterator is open: starting, or restarting; undefined while one is. */
  readonly idleSince: number | undefined;
  /** The restart back-off being waited now (ms); 0 unless waiting to open the consumer again. */
  readonly backoffMs: number;
  /** Closes the iterator and waits until the loop has ended; nothing is reopened afterwards. */
  stop(): Promise<void>;
}

/**
 * Consumes until stopped, whatever happens to the iterator: nats.js ends one for good on a 400 to a
 * pull or a subscription error, `consumers.get` fails while a cluster elects leaders or a durable is
 * being declared again, and an iterator whose pulls were lost waits for heartbeats for long. Each of
 * those is logged and the consumer opened again with back-off (#19: messaging's `ctcc` consumer
 * stopped for good after a rebind whose `consumers.get` failed; alerting's shard 0 and insight's
 * sink stayed unconsumed while their leases were held). Messages the old iterator had buffered are
 * still handed over before it ends (nats.js queues its end behind them), and their acks go to the
 * durable, not to the iterator. What to do with a message, and what must carry over from one
 * iterator to the next (gap tracking, the last sequence read), is the caller's.
 */
export function superviseConsume(o: SuperviseOptions): Supervised {
  let stopped = false;
  const ending = () => stopped || (o.stopping?.() ?? false);
  let messages: ConsumerMessages | undefined;
  let stalled = false;
  let restarts = 0;
  let backoffMs = 0;
  let idleSince: number | undefined = performance.now();
  let wake: (() => void) | undefined;
  let openedOnce!: (ok: boolean) => void;
  const opened = new Promise<boolean>((r) => (openedOnce = r));
  // One-by-one mode: since when waiting for the next message, and messages handed over.
  let waitingSince: number | undefined;
  let handled = 0;
  const loop = o.loop;
  const waiting = () => (loop ? loop.waitingSince : waitingSince);
  const handledSoFar = () => (loop ? loop.handled : handled);

  const watchdog = (): NodeJS.Timeout | undefined => {
    const s = o.stall;
    if (!s) return undefined;
    // When the probe under way was sent (undefined: none), and when the last one was.
    let asking: number | undefined;
    let askedAt = -Infinity;
    // The delivered sequence at the last answer with messages pending, during the wait `waitOf`.
    let pendingAt: number | undefined;
    let waitOf: number | undefined;
    const t = setInterval(
      () => {
        if (stopped || stalled || !messages) return;
        const now = performance.now();
        if (asking !== undefined) {
          if (now - asking < s.ms) return;
          asking = undefined; // no answer in time: asked again (an answer that comes late is ignored)
        }
        const since = waiting();
        if (since !== waitOf) {
          pendingAt = undefined;
          waitOf = since;
        }
        if (since === undefined || now - since < s.ms / 2) return;
        if (pendingAt === undefined && now - askedAt < s.ms) return;
        const probe = now;
        asking = askedAt = probe;
        s.progress()
          .then((p) => {
            if (asking !== probe || stopped || stalled || !messages) return;
            if (waiting() !== since || p.pending === 0 || !p.room) return void (pendingAt = undefined);
            const before = pendingAt;
            pendingAt = p.delivered;
            if (before !== p.delivered || performance.now() - since < s.ms) return;
            stalled = true;
            o.log.error(
              { ...o.what, pending: p.pending, unacked: p.unacked, waitingMs: Math.round(performance.now() - since) },
              'consumer stalled: messages pending and none delivered; opening it again',
            );
            void messages.close().catch(() => undefined);
          })
          // NATS unreachable: the iterator's own reconnect handling applies; asked again next time.
          .catch(() => undefined)
          .finally(() => {
            if (asking === probe) asking = undefined;
          });
      },
      Math.max(100, Math.floor(s.ms / 4)),
    );
    t.unref();
    return t;
  };

  const oneByOne = async (msgs: ConsumerMessages, handle: (m: JsMsg) => void | Promise<void>): Promise<void> => {
    waitingSince = performance.now();
    try {
      for await (const m of msgs) {
        waitingSince = undefined;
        handled++;
        const r = handle(m);
        if (r) await r;
        waitingSince = performance.now();
      }
    } finally {
      waitingSince = undefined;
    }
  };

  const done = (async () => {
    for (let attempt = 0; !ending();) {
      let reason: RestartReason = 'ended';
      let error: unknown;
      const handledBefore = handledSoFar();
      let timer: NodeJS.Timeout | undefined;
      try {
        const msgs = await o.open();
        if (ending()) {
          await msgs.close().catch(() => undefined);
          break;
        }
        messages = msgs;
        idleSince = undefined;
        openedOnce(true);
        timer = watchdog();
        await (loop ? loop.run(msgs) : oneByOne(msgs, o.handle!));
        if (stalled) reason = 'stalled';
      } catch (err) {
        reason = stalled ? 'stalled' : 'failed';
        error = err;
        openedOnce(false);
      } finally {
        clearInterval(timer);
        if (messages) {
          await messages.close().catch(() => undefined);
          idleSince = performance.now();
        }
        messages = undefined;
        stalled = false;
      }
      if (ending()) break;
      if (handledSoFar() > handledBefore) attempt = 0;
      const waitMs = RESTART_BACKOFF_MS[Math.min(attempt++, RESTART_BACKOFF_MS.length - 1)]!;
      restarts++;
      o.onRestart?.(reason, error);
      o.log.error({ ...o.what, err: error, reason, restarts, waitMs }, 'consumer ended before being stopped; opening it again');
      backoffMs = waitMs;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
      backoffMs = 0;
    }
    openedOnce(false);
  })();

  return {
    opened,
    done,
    get consuming() {
      return messages !== undefined;
    },
    get restarts() {
      return restarts;
    },
    get idleSince() {
      return messages ? undefined : idleSince;
    },
    get backoffMs() {
      return backoffMs;
    },
    async stop() {
      stopped = true;
      wake?.();
      await messages?.close().catch(() => undefined);
      await done;
    },
  };
}
