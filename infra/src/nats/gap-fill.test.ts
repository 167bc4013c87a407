import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createLogger } from '../runtime/logger.ts';
import { FirstDeliveryTracker, GapFiller, subjectMatcher, type DeliveryGap, type GapSource } from './gap-fill.ts';

/** [deliveryCount, streamSeq, deliverySeq] as received, and the gap each reveals (or undefined). */
type Step = [number, number, number, DeliveryGap | undefined];

describe('FirstDeliveryTracker', () => {
  const table: { name: string; start?: { stream: number; delivery: number }; steps: Step[] }[] = [
    {
      name: 'finds nothing while deliveries come one after another',
      start: { stream: 0, delivery: 0 },
      steps: [
        [1, 1, 1, undefined],
        [1, 2, 2, undefined],
        [1, 3, 3, undefined],
      ],
    },
    {
      name: 'finds first deliveries lost in transit, with how many deliveries went missing',
      start: { stream: 0, delivery: 0 },
      steps: [
        [1, 1, 1, undefined],
        [1, 5, 5, { from: 2, to: 4, lost: 3 }],
        [1, 6, 6, undefined],
      ],
    },
    {
      name: 'ignores other subjects between first deliveries (stream skips, delivery sequence does not)',
      start: { stream: 10, delivery: 4 },
      steps: [
        [1, 14, 5, undefined],
        [1, 20, 6, undefined],
      ],
    },
    {
      name: 'does not fill for lost redeliveries only (first deliveries stay contiguous in the stream)',
      start: { stream: 10, delivery: 10 },
      steps: [
        [1, 11, 13, undefined],
        [1, 12, 14, undefined],
      ],
    },
    {
      name: 'redeliveries move the delivery sequence but not the first-delivery position',
      start: { stream: 10, delivery: 10 },
      steps: [
        [2, 3, 11, undefined],
        [3, 4, 12, undefined],
        [1, 11, 13, undefined],
        [1, 14, 15, { from: 12, to: 13, lost: 1 }],
      ],
    },
    {
      name: 'a redelivery after lost deliveries reveals nothing, the next first delivery does',
      start: { stream: 10, delivery: 10 },
      steps: [
        [2, 5, 14, undefined],
        [1, 14, 15, { from: 11, to: 13, lost: 3 }],
      ],
    },
    {
      name: "starts from the consumer's delivered pair: a loss before the first message is found",
      start: { stream: 100, delivery: 40 },
      steps: [[1, 103, 43, { from: 101, to: 102, lost: 2 }]],
    },
    {
      name: 'without a start, the first message only sets the position',
      steps: [
        [1, 103, 43, undefined],
        [1, 104, 44, undefined],
        [1, 107, 46, { from: 105, to: 106, lost: 1 }],
      ],
    },
    {
      name: 'starts over when the delivery sequence goes back (the consumer was re-created)',
      start: { stream: 50, delivery: 50 },
      steps: [
        [1, 20, 1, undefined],
        [1, 21, 2, undefined],
        [1, 24, 4, { from: 22, to: 23, lost: 1 }],
      ],
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const tracker = new FirstDeliveryTracker(t.start);
      expect(t.steps.map(([count, s, d]) => tracker.next(count, s, d))).toEqual(t.steps.map((s) => s[3]));
    });
  }
});

describe('subjectMatcher', () => {
  const table: [string, string, boolean][] = [
    ['loc.>', 'loc.cmcc.3', true],
    ['loc.>', 'loc.cmcc', true],
    ['loc.>', 'loc', false],
    ['loc.>', 'locx.cmcc', false],
    ['loc.*', 'loc.cmcc', true],
    ['loc.*', 'loc.cmcc.3', false],
    ['loc.*.3', 'loc.cucc.3', true],
    ['loc.*.3', 'loc.cucc.4', false],
    ['*.*.>', 'a.b.c', true],
    ['*.*.>', 'a.b', false],
    ['>', 'anything.at.all', true],
    ['*', 'one', true],
    ['*', 'one.two', false],
    ['loc.cmcc.3', 'loc.cmcc.3', true],
    ['loc.cmcc.3', 'loc.cmcc.30', false],
    ['loc.cm*', 'loc.cmcc', false],
  ];
  for (const [filter, subject, want] of table) {
    it(`${want ? 'matches' : 'does not match'} ${subject} with ${filter}`, () => {
      expect(subjectMatcher(filter)(subject)).toBe(want);
    });
  }
});

describe('GapFiller.fill', () => {
  /** A stream held in memory: seq → subject (absent = deleted), and how reads went. */
  const streamOf = (subjects: Record<number, string>, first = 1, failOnce: number[] = []) => {
    const reads: number[] = [];
    const failing = new Set(failOnce);
    const source: GapSource = {
      get: async (seq) => {
        reads.push(seq);
        // Out of order on purpose: later reads answer first.
        await new Promise((r) => setTimeout(r, (seq * 7) % 5));
        if (failing.delete(seq)) throw new Error('connection closed');
        const subject = subjects[seq];
        return subject === undefined ? null : { subject, data: new TextEncoder().encode(seq === 13 ? 'bad' : `m${seq}`) };
      },
      firstSeq: async () => first,
    };
    return { source, reads };
  };
  const filler = (source: GapSource, applied: number[]) =>
    new GapFiller({
      source,
      filterSubject: 'loc.>',
      metricName: 'test_gap_messages_total',
      log: createLogger('gap-fill-test', 'silent'),
      concurrency: 4,
      stopping: () => false,
      apply: (seq, data) => {
        applied.push(seq);
        return new TextDecoder().decode(data) === 'bad' ? 'malformed' : undefined;
      },
    });

  it("applies the filter subject's messages strictly in stream order, skipping other subjects and deleted ones", async () => {
    const subjects: Record<number, string> = {};
    for (let s = 1; s <= 40; s++) if (s % 5 !== 0) subjects[s] = s % 3 === 0 ? 'other.x' : 'loc.cmcc.1';
    const { source } = streamOf(subjects);
    const applied: number[] = [];
    const f = filler(source, applied);
    expect(await f.fill({ from: 2, to: 39, lost: 100 })).toBe(true);
    const want = Object.keys(subjects)
      .map(Number)
      .filter((s) => s >= 2 && s <= 39 && subjects[s] === 'loc.cmcc.1');
    expect(applied).toEqual(want);
    expect([f.gaps, f.filled]).toEqual([1, want.length - (want.includes(13) ? 1 : 0)]);
  });

  it('stops once as many messages were found as deliveries went missing', async () => {
    const subjects: Record<number, string> = {};
    for (let s = 1; s <= 100; s++) subjects[s] = 'loc.ctcc.0';
    const { source } = streamOf(subjects);
    const applied: number[] = [];
    await filler(source, applied).fill({ from: 50, to: 99, lost: 3 });
    expect(applied).toEqual([50, 51, 52]);
  });

  it("starts at the stream's first message when older ones are gone", async () => {
    const subjects: Record<number, string> = {};
    for (let s = 30; s <= 40; s++) subjects[s] = 'loc.ctcc.0';
    const { source, reads } = streamOf(subjects, 30);
    const applied: number[] = [];
    await filler(source, applied).fill({ from: 1, to: 35, lost: 10 });
    expect(applied).toEqual([30, 31, 32, 33, 34, 35]);
    expect(Math.min(...reads)).toBe(30);
  });

  it('retries a failed read and still applies in order', async () => {
    const subjects: Record<number, string> = {};
    for (let s = 1; s <= 20; s++) subjects[s] = 'loc.ctcc.0';
    const { source } = streamOf(subjects, 1, [4, 9]);
    const applied: number[] = [];
    expect(await filler(source, applied).fill({ from: 2, to: 12, lost: 20 })).toBe(true);
    expect(applied).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('gives up when reads fail and the sink is stopping', async () => {
    const { source } = streamOf({ 1: 'loc.a', 2: 'loc.a' }, 1, [2]);
    const applied: number[] = [];
    const f = new GapFiller({
      source,
      filterSubject: 'loc.>',
      metricName: 'test_gap_messages_total',
      log: createLogger('gap-fill-test', 'silent'),
      stopping: () => true,
      apply: (seq) => void applied.push(seq),
    });
    expect(await f.fill({ from: 1, to: 2, lost: 2 })).toBe(false);
    expect(applied).toEqual([1]);
  });

  it('counts under the given metric name, one counter for every filler of a registry (a consumer per shard)', async () => {
    const registry = new Registry();
    const subjects: Record<number, string> = { 1: 'loc.cmcc.0', 2: 'loc.cmcc.1', 3: 'other.x', 4: 'loc.cmcc.0' };
    const make = (filterSubject: string) =>
      new GapFiller({
        source: streamOf(subjects).source,
        filterSubject,
        registry,
        metricName: 'shard_gap_messages_total',
        log: createLogger('gap-fill-test', 'silent'),
        stopping: () => false,
        apply: () => undefined,
      });
    await make('loc.*.0').fill({ from: 1, to: 4, lost: 2 });
    await make('loc.*.1').fill({ from: 1, to: 4, lost: 1 });
    const values = (await registry.getSingleMetric('shard_gap_messages_total')!.get()).values;
    expect(Object.fromEntries(values.map((v) => [v.labels.outcome, v.value]))).toEqual({ applied: 3, other_subject: 3 });
  });
});
