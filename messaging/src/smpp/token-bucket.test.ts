import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.ts';

describe('TokenBucket', () => {
  it('allows the burst at once, then perSecond tokens per second of (fake) time', () => {
    let t = 0;
    const b = new TokenBucket(100, 5, () => t);
    let taken = 0;
    while (b.take()) taken++;
    expect(taken).toBe(5);
    expect(b.waitMs()).toBe(10);
    t += 1000;
    taken = 0;
    while (b.take()) taken++;
    expect(taken).toBe(5); // capped by the burst
    let total = 0;
    for (let step = 0; step < 1000; step++) {
      t += 1;
      while (b.take()) total++;
    }
    expect(total).toBeGreaterThanOrEqual(99); // float rounding may leave the last token a hair short
    expect(total).toBeLessThanOrEqual(100);
  });

  it('never limits when perSecond is 0', () => {
    const b = new TokenBucket(0);
    for (let i = 0; i < 1000; i++) expect(b.take()).toBe(true);
  });
});
