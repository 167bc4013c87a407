import { describe, expect, it } from 'vitest';
import { bindSlots, slotOf } from './bind-slots.ts';
import { slotRate } from './smpp-connector.ts';

describe('bind slots', () => {
  it('names each carrier’s slots as lease shards and reads them back', () => {
    expect(bindSlots(2)).toEqual(['cmcc-0', 'cmcc-1', 'cucc-0', 'cucc-1', 'ctcc-0', 'ctcc-1']);
    expect(slotOf('ctcc-1')).toEqual({ carrier: 'ctcc', slot: 1 });
  });

  it.each([
    [100, 2, [50, 50]],
    [100, 3, [34, 33, 33]],
    [2, 4, [1, 1, 0, 0]],
    [0, 3, [0, 0, 0]],
  ])('shares %i/s among %i slots so that the shares add up to the carrier’s rate', (rate, slots, shares) => {
    const got = Array.from({ length: slots }, (_, i) => slotRate(rate, slots, i));
    expect(got).toEqual(shares);
    expect(got.reduce((a, b) => a + b, 0)).toBe(rate);
  });
});
