import { describe, expect, it, vi } from 'vitest';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { z } from 'zod';
import { DEFAULT_STALL_MS, consumerStallMs, superviseConsume, type RestartReason } from './supervised-consume.ts';

/** A fake consume iterator: yields what is pushed, ends (or throws) when told, or when closed. */
function fakeIterator() {
  const queue: JsMsg[] = [];
  let wake: (() => void) | undefined;
  let end: Error | 'end' | undefined;
  const iter = {
    push(m: JsMsg) {
      queue.push(m);
      wake?.();
    },
    finish(e: Error | 'end' = 'end') {
      end = e;
      wake?.();
    },
    close() {
      iter.finish();
      return Promise.resolve(undefined);
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (end instanceof Error) throw end;
        if (end) return;
        await new Promise<void>((r) => (wake = r));
      }
    },
  };
  return iter;
}

const msg = (seq: number) => ({ seq }) as unknown as JsMsg;
const log = { error: () => undefined };
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`never: ${what}`);
}

describe('a supervised consumer', () => {
  it('opens its consumer again when the iterator ends, throws or cannot be opened, until stopped', async () => {
    const iters: ReturnType<typeof fakeIterator>[] = [];
    let failOpen = 0;
    const got: number[] = [];
    const reasons: RestartReason[] = [];
    const s = superviseConsume({
      what: {},
      log,
      open: async () => {
        if (failOpen-- > 0) throw new Error('JetStream system temporarily unavailable');
        const it = fakeIterator();
        iters.push(it);
        return it as unknown as ConsumerMessages;
      },
      handle: (m) => void got.push(m.seq),
      onRestart: (r) => void reasons.push(r),
    });
    expect(await s.opened).toBe(true);
    iters[0]!.push(msg(1));
    iters[0]!.finish();
    await until('a second iterator', () => iters.length === 2);
    iters[1]!.push(msg(2));
    failOpen = 1;
    iters[1]!.finish(new Error('bad request'));
    await until('a third iterator', () => iters.length === 3);
    iters[2]!.push(msg(3));
    await until('message 3', () => got.includes(3));
    expect(got).toEqual([1, 2, 3]);
    expect(reasons).toEqual(['ended', 'failed', 'failed']);
    expect(s.consuming).toBe(true);
    await s.stop();
    expect(s.consuming).toBe(false);
    expect(iters).toHaveLength(3);
  });

  it('replaces an iterator that delivers nothing while the consumer has messages pending, not an idle one', async () => {
    const iters: ReturnType<typeof fakeIterator>[] = [];
    let pending = 0;
    const reasons: RestartReason[] = [];
    const s = superviseConsume({
      what: {},
      log,
      open: async () => {
        const it = fakeIterator();
        iters.push(it);
        return it as unknown as ConsumerMessages;
      },
      handle: () => undefined,
      onRestart: (r) => void reasons.push(r),
      stall: { ms: 40, progress: async () => ({ pending, delivered: 7, room: true }) },
    });
    await s.opened;
    // Idle: nothing pending, so waiting is not a stall.
    await new Promise((r) => setTimeout(r, 200));
    expect(iters).toHaveLength(1);
    pending = 3;
    await until('the stalled iterator replaced', () => iters.length === 2);
    expect(reasons[0]).toBe('stalled');
    await s.stop();
  });
});

describe('the stall watchdog, by the clock (fake timers)', () => {
  const clock = () =>
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'performance', 'Date'],
    });

  it('replaces a consumer that stalled right after a delivery within stallMs and a tick of it (#19: the claims tail took ~27 s at 20 s)', async () => {
    clock();
    try {
      const iters: ReturnType<typeof fakeIterator>[] = [];
      const s = superviseConsume({
        what: {},
        log,
        open: async () => {
          const it = fakeIterator();
          iters.push(it);
          return it as unknown as ConsumerMessages;
        },
        handle: () => undefined,
        // Its pulls were lost with the last delivery: messages pending, the delivered sequence stays.
        stall: { ms: 20_000, progress: async () => ({ pending: 5, delivered: 9, room: true }) },
      });
      await s.opened;
      iters[0]!.push(msg(9));
      await vi.advanceTimersByTimeAsync(19_000);
      expect(iters).toHaveLength(1);
      // Before: asked first once it had waited 20 s, stalled at the next answer 5 s later, so 25-30 s.
      await vi.advanceTimersByTimeAsync(5_000);
      expect(iters).toHaveLength(2);
      expect(s.restarts).toBe(1);
      await s.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not wait for a progress answer that never comes (a cluster electing leaders): it asks again', async () => {
    clock();
    try {
      const iters: ReturnType<typeof fakeIterator>[] = [];
      let asked = 0;
      const s = superviseConsume({
        what: {},
        log,
        open: async () => {
          const it = fakeIterator();
          iters.push(it);
          return it as unknown as ConsumerMessages;
        },
        handle: () => undefined,
        stall: {
          ms: 4_000,
          progress: () => (++asked === 1 ? new Promise<never>(() => undefined) : Promise.resolve({ pending: 2, delivered: 1, room: true })),
        },
      });
      await s.opened;
      await vi.advanceTimersByTimeAsync(12_000);
      expect(asked).toBeGreaterThan(2);
      expect(iters.length).toBeGreaterThanOrEqual(2);
      await s.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a supervised loop (one that consumes the iterator itself, as ConsumeLoop does)', () => {
  /** A loop over the iterator, waiting between messages as ConsumeLoop says it does. */
  function fakeLoop(got: number[]) {
    const loop = {
      waitingSince: undefined as number | undefined,
      handled: 0,
      async run(messages: ConsumerMessages) {
        loop.waitingSince = performance.now();
        try {
          for await (const m of messages) {
            loop.handled++;
            got.push(m.seq);
            loop.waitingSince = performance.now();
          }
        } finally {
          loop.waitingSince = undefined;
        }
      },
    };
    return loop;
  }

  it('runs the loop on each iterator it opens, replaces a stalled one, and ends once the service is stopping', async () => {
    const iters: ReturnType<typeof fakeIterator>[] = [];
    const got: number[] = [];
    let stopping = false;
    let pending = 0;
    const reasons: RestartReason[] = [];
    const s = superviseConsume({
      what: {},
      log,
      open: async () => {
        const it = fakeIterator();
        iters.push(it);
        return it as unknown as ConsumerMessages;
      },
      loop: fakeLoop(got),
      onRestart: (r) => void reasons.push(r),
      stopping: () => stopping,
      stall: { ms: 40, progress: async () => ({ pending, delivered: 3, room: true }) },
    });
    await s.opened;
    iters[0]!.push(msg(1));
    iters[0]!.finish();
    await until('a second iterator', () => iters.length === 2);
    iters[1]!.push(msg(2));
    pending = 1;
    await until('the stalled second iterator replaced', () => iters.length === 3);
    expect(got).toEqual([1, 2]);
    expect(reasons).toEqual(['ended', 'stalled']);
    stopping = true;
    iters[2]!.finish();
    await s.done;
    expect(iters).toHaveLength(3);
    expect(s.consuming).toBe(false);
  });

  it('awaits a handler that returns a promise before taking the next message', async () => {
    const it = fakeIterator();
    const order: string[] = [];
    let release!: () => void;
    const s = superviseConsume({
      what: {},
      log,
      open: async () => it as unknown as ConsumerMessages,
      handle: async (m) => {
        order.push(`start ${m.seq}`);
        if (m.seq === 1) await new Promise<void>((r) => (release = r));
        order.push(`end ${m.seq}`);
      },
    });
    await s.opened;
    it.push(msg(1));
    it.push(msg(2));
    await until('the first handler started', () => order.length === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(['start 1']);
    release();
    await until('both handled', () => order.length === 4);
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    await s.stop();
  });
});

describe('the CONSUMER_STALL_MS setting', () => {
  const Env = z.object({ CONSUMER_STALL_MS: consumerStallMs() });
  it('is 20 s unless set, takes milliseconds, and refuses under a second or a non-number', () => {
    expect(Env.parse({}).CONSUMER_STALL_MS).toBe(DEFAULT_STALL_MS);
    expect(DEFAULT_STALL_MS).toBe(20_000);
    expect(Env.parse({ CONSUMER_STALL_MS: '5000' }).CONSUMER_STALL_MS).toBe(5000);
    expect(Env.safeParse({ CONSUMER_STALL_MS: '500' }).success).toBe(false);
    expect(Env.safeParse({ CONSUMER_STALL_MS: 'soon' }).success).toBe(false);
  });
});
