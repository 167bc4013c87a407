import { describe, expect, it } from 'vitest';
import { RateWindow } from './rate-window.ts';

describe('RateWindow', () => {
  it('never lets more than perSecond through in any 1,000 ms, aligned or not', () => {
    let t = 0;
    const w = new RateWindow(100, () => t);
    const sent: number[] = [];
    for (let step = 0; step < 5000; step++) {
      t = step * 0.7;
      while (w.take()) sent.push(t);
    }
    for (let i = 100; i < sent.length; i++) expect(sent[i]! - sent[i - 100]!).toBeGreaterThanOrEqual(1000);
    expect(sent.length).toBeGreaterThanOrEqual(300); // 3.5 s: 4 windows' worth, the first at once
  });

  it('loses only the lateness at each window turn when the caller comes back late', () => {
    let t = 0;
    const w = new RateWindow(50, () => t);
    let taken = 0;
    // A loaded event loop: every wake-up comes 30 ms after the time asked for.
    while (t < 10_000) {
      while (w.take()) taken++;
      t += w.waitMs() + 30;
    }
    expect(taken).toBeGreaterThanOrEqual(475); // 50 per 1,030 ms; a 20 ms-burst bucket would give about 200
    expect(taken).toBeLessThanOrEqual(550);
  });

  it('says how long to wait for room', () => {
    let t = 0;
    const w = new RateWindow(2, () => t);
    expect(w.take() && w.take()).toBe(true);
    expect(w.take()).toBe(false);
    t = 300;
    expect(w.waitMs()).toBe(700);
    t = 1000;
    expect(w.take()).toBe(true);
  });

  it('never limits when perSecond is 0', () => {
    const w = new RateWindow(0);
    for (let i = 0; i < 1000; i++) expect(w.take()).toBe(true);
    expect(w.waitMs()).toBe(0);
  });

  it('counts over a wider span when given a guard, and waits for room for promised sends too', () => {
    let t = 0;
    const w = new RateWindow(3, () => t, 1250);
    expect([w.take(), w.take()]).toEqual([true, true]);
    // One place left: room for one more now, not for a second one promised before it.
    expect([w.waitMs(0), w.waitMs(1)]).toEqual([0, 1250]);
    expect(w.take()).toBe(true);
    t = 1100;
    expect(w.take()).toBe(false); // 1,100 ms is inside the guarded span
    t = 1250;
    expect(w.take()).toBe(true);
  });
});
