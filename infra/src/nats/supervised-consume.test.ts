import { describe, expect, it } from 'vitest';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { superviseConsume, type RestartReason } from './supervised-consume.ts';

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
