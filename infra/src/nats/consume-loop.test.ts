import { describe, expect, it } from 'vitest';
import type { JsMsg } from '@nats-io/jetstream';
import { pino } from 'pino';
import { ConsumeLoop } from './consume-loop.ts';
import type { DeadLetter, DeadLetterWriter } from './dead-letter.ts';
import { GapFiller, type GapSource } from './gap-fill.ts';

const log = pino({ level: 'silent' });

/** A delivered message as the loop sees it (a stand-in for nats.js's JsMsg). */
interface FakeMsg {
  subject: string;
  seq: number;
  data: Uint8Array;
  info: { stream: string; streamSequence: number; deliverySequence: number; deliveryCount: number };
  terminated?: string;
  term(reason?: string): void;
}

function msg(streamSeq: number, deliverySeq = streamSeq, text = `m${streamSeq}`): FakeMsg {
  return {
    subject: 'loc.cmcc.0',
    seq: streamSeq,
    data: new TextEncoder().encode(text),
    info: { stream: 'LOCATION', streamSequence: streamSeq, deliverySequence: deliverySeq, deliveryCount: 1 },
    term(reason) {
      this.terminated = reason ?? '';
    },
  };
}

/** Hands the messages over one by one, counting how many were pulled. */
function source(msgs: FakeMsg[]): { pulled: () => number; iterable: AsyncIterable<JsMsg> } {
  let pulled = 0;
  return {
    pulled: () => pulled,
    iterable: (async function* () {
      for (const m of msgs) {
        pulled++;
        yield m as unknown as JsMsg;
      }
    })(),
  };
}

const text = (m: JsMsg) => new TextDecoder().decode(m.data);
/** Lets pending callbacks run: `n` macrotask turns. */
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

describe('ConsumeLoop', () => {
  it('dead-letters a malformed message with its reason and terminates it; the others are handled in order', async () => {
    const letters: { reason: string; source: DeadLetter['source']; data: string }[] = [];
    const deadLetter: DeadLetterWriter = async (reason, src, data) => {
      letters.push({ reason, source: src, data: new TextDecoder().decode(data) });
    };
    const msgs = [msg(1), msg(2, 2, 'garbage'), msg(3)];
    const handled: string[] = [];
    const loop = new ConsumeLoop({
      log,
      deadLetter,
      stopping: () => false,
      handle: (m) => (text(m) === 'garbage' ? 'not a LOCATION batch' : void handled.push(text(m))),
    });
    await loop.run(source(msgs).iterable);
    expect(handled).toEqual(['m1', 'm3']);
    expect(letters).toEqual([
      { reason: 'not a LOCATION batch', source: { stream: 'LOCATION', subject: 'loc.cmcc.0', seq: 2, deliveries: 1 }, data: 'garbage' },
    ]);
    expect(msgs.map((m) => m.terminated)).toEqual([undefined, 'not a LOCATION batch', undefined]);
    expect([loop.handled, loop.malformed]).toEqual([3, 1]);
  });

  it('without a dead-letter writer only reports a malformed message (a standby)', async () => {
    const seen: string[] = [];
    const msgs = [msg(1, 1, 'garbage')];
    const loop = new ConsumeLoop({
      log,
      stopping: () => false,
      handle: () => 'bad',
      onMalformed: (m, why) => seen.push(`${m.seq}: ${why}`),
    });
    await loop.run(source(msgs).iterable);
    expect(seen).toEqual(['1: bad']);
    expect(msgs[0]!.terminated).toBeUndefined();
  });

  it('keeps at most `inflight` messages of work under way, pulling no more until one settles', async () => {
    const pending: (() => void)[] = [];
    const src = source([msg(1), msg(2), msg(3), msg(4)]);
    let most = 0;
    const loop = new ConsumeLoop({
      log,
      inflight: 2,
      stopping: () => false,
      handle: () => {
        const work = new Promise<void>((r) => pending.push(r));
        most = Math.max(most, loop.inflight.size + 1);
        return work;
      },
    });
    const done = loop.run(src.iterable);
    await turns(5);
    expect([src.pulled(), pending.length, loop.inflight.size]).toEqual([2, 2, 2]);
    pending[0]!();
    await turns(5);
    expect([src.pulled(), pending.length]).toEqual([3, 3]);
    for (const r of pending.slice(1)) r();
    await turns(5);
    for (const r of pending.slice(3)) r();
    await done;
    await loop.settled();
    expect([src.pulled(), most, loop.inflight.size]).toEqual([4, 2, 0]);
  });

  it('a failing piece of work is logged and leaves the loop running', async () => {
    const errors: unknown[] = [];
    const capture = pino({ level: 'error' }, { write: (line: string) => void errors.push(JSON.parse(line)) });
    const loop = new ConsumeLoop({
      log: capture,
      stopping: () => false,
      handle: (m) => (m.seq === 1 ? Promise.reject(new Error('boom')) : undefined),
    });
    await loop.run(source([msg(1), msg(2)]).iterable);
    expect(loop.handled).toBe(2);
    expect(errors).toHaveLength(1);
  });

  it('gives the event loop a turn after `yieldMs` of work, even when every message arrives in a microtask', async () => {
    const busy = () => {
      const t = performance.now();
      while (performance.now() - t < 2);
    };
    const run = async (yieldMs: number) => {
      const msgs = Array.from({ length: 10 }, (_, i) => msg(i + 1));
      let handled = 0;
      let handledWhenTimerRan = -1;
      setImmediate(() => (handledWhenTimerRan = handled));
      await new ConsumeLoop({ log, yieldMs, stopping: () => false, handle: () => void (busy(), handled++) }).run(source(msgs).iterable);
      await turns(1);
      return handledWhenTimerRan;
    };
    expect(await run(1)).toBe(1);
    expect(await run(Number.POSITIVE_INFINITY)).toBe(10);
  });

  it('reads lost deliveries back from the stream before the message that revealed them, unless told not to', async () => {
    const stream = new Map([2, 3].map((s) => [s, { subject: 'loc.cmcc.0', data: new TextEncoder().encode(`m${s}`) }]));
    const gapSource: GapSource = { get: async (seq) => stream.get(seq) ?? null, firstSeq: async () => 1 };
    const run = async (fill: boolean) => {
      const applied: string[] = [];
      const gaps = new GapFiller(
        {
          source: gapSource,
          filterSubject: 'loc.>',
          log,
          metricName: 'test_gap_messages_total',
          stopping: () => false,
          apply: (seq, data) => void applied.push(`${new TextDecoder().decode(data)} (read back, seq ${seq})`),
        },
        { stream: 0, delivery: 0 },
      );
      // Deliveries 2 and 3 (stream 2 and 3) were lost in transit: stream 4 comes as delivery 4.
      const loop = new ConsumeLoop({ log, gaps, fillGap: () => fill, stopping: () => false, handle: (m) => void applied.push(text(m)) });
      await loop.run(source([msg(1), msg(4), msg(5)]).iterable);
      return applied;
    };
    expect(await run(true)).toEqual(['m1', 'm2 (read back, seq 2)', 'm3 (read back, seq 3)', 'm4', 'm5']);
    expect(await run(false)).toEqual(['m1', 'm4', 'm5']);
  });

  it('ends after the message during which it was told to stop', async () => {
    let stop = false;
    const handled: number[] = [];
    const loop = new ConsumeLoop({ log, stopping: () => stop, handle: (m) => void (handled.push(m.seq), (stop = m.seq === 2)) });
    await loop.run(source([msg(1), msg(2), msg(3)]).iterable);
    expect(handled).toEqual([1, 2]);
  });
  it('tells since when it waits for the next message, and nothing while a message or its work holds it', async () => {
    let give: (() => void) | undefined;
    let settle: (() => void) | undefined;
    const waitingInHandle: (number | undefined)[] = [];
    const iterable = (async function* () {
      await new Promise<void>((r) => (give = r));
      yield msg(1) as unknown as JsMsg;
      await new Promise<void>((r) => (give = r));
      yield msg(2) as unknown as JsMsg;
    })();
    const loop = new ConsumeLoop({
      log,
      inflight: 1,
      stopping: () => false,
      handle: (m) => {
        waitingInHandle.push(loop.waitingSince);
        return m.seq === 1 ? new Promise<void>((r) => (settle = r)) : undefined;
      },
    });
    expect(loop.waitingSince).toBeUndefined();
    const done = loop.run(iterable);
    await turns(2);
    const first = loop.waitingSince;
    expect(first).toBeTypeOf('number');
    give!();
    await turns(2);
    // Message 1's work fills the one slot: the loop waits for it, not for the iterator.
    expect(loop.waitingSince).toBeUndefined();
    settle!();
    await turns(2);
    expect(loop.waitingSince).toBeGreaterThanOrEqual(first!);
    give!();
    await done;
    expect(waitingInHandle).toEqual([undefined, undefined]);
    expect(loop.waitingSince).toBeUndefined();
  });
});
