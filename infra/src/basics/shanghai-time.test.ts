import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shanghaiDate, shanghaiDateTime, shanghaiDay } from './shanghai-time.ts';

describe('Asia/Shanghai dates', () => {
  it('names the right date for instants in any order, also either side of midnight (the remembered day is never stale)', () => {
    const midnight = Date.parse('2026-11-26T00:00:00+08:00');
    for (const ms of [midnight - 1, midnight, midnight + 1, midnight - 1, midnight + 86_400_000, midnight + 86_399_999])
      expect(shanghaiDate(ms)).toBe(new Date(ms + 8 * 3600_000).toISOString().slice(0, 10));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 4_102_444_800_000 }), { minLength: 1, maxLength: 20 }), (all) => {
        for (const ms of all) expect(shanghaiDay(ms)).toBe(new Date(ms + 8 * 3600_000).toISOString().slice(0, 10).replace(/-/g, ''));
      }),
    );
  });
});

describe('shanghaiDateTime', () => {
  it('shows an instant as Shanghai wall-clock time, across the UTC date line', () => {
    expect(shanghaiDateTime(Date.parse('2026-12-06T16:30:05Z'))).toBe('2026-12-07 00:30:05');
    expect(shanghaiDateTime(Date.parse('2026-12-06T00:00:00+08:00'))).toBe('2026-12-06 00:00:00');
  });
});
