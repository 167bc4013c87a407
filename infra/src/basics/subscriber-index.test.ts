import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SubscriberIndex } from './subscriber-index.ts';

describe('SubscriberIndex', () => {
  it('maps numbers to indexes like a Map, across growth, a later set replacing an earlier one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 2 ** 53 - 2 }), fc.integer({ min: 0, max: 2 ** 31 - 1 })), { maxLength: 3000 }),
        (pairs) => {
          const idx = new SubscriberIndex(4);
          const ref = new Map<number, number>();
          for (const [k, v] of pairs) {
            idx.set(k, v);
            ref.set(k, v);
          }
          expect(idx.size).toBe(ref.size);
          for (const [k, v] of ref) expect(idx.get(k)).toBe(v);
          for (const [k] of pairs) if (!ref.has(k + 1)) expect(idx.get(k + 1)).toBe(-1);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('holds a million mainland numbers in at most 43 bytes each', () => {
    const idx = new SubscriberIndex(16);
    for (let i = 0; i < 1_000_000; i++) idx.set(13_900_000_000 + i * 7, i);
    expect(idx.size).toBe(1_000_000);
    for (let i = 0; i < 1_000_000; i += 997) expect(idx.get(13_900_000_000 + i * 7)).toBe(i);
    expect(idx.get(13_900_000_001)).toBe(-1);
    expect(idx.bytes / idx.size).toBeLessThanOrEqual(43);
  });
});
