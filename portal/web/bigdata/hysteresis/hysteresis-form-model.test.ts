import { describe, expect, it } from 'vitest';
import { emptyForm, fromPayload, toPayload } from '../form-model.ts';

describe('the send form’s edge hysteresis (边缘防抖, #21)', () => {
  it('is sent only when set, and a draft keeps it', () => {
    const f = emptyForm('2026-12-07');
    expect(toPayload(f)).not.toHaveProperty('hysteresis');
    const set = { ...f, hysteresis: { bufferMeters: 500, minOutsideSeconds: 600 } };
    const p = toPayload(set);
    expect(p.hysteresis).toEqual({ bufferMeters: 500, minOutsideSeconds: 600 });
    expect(fromPayload(p, '2026-12-07').hysteresis).toEqual({ bufferMeters: 500, minOutsideSeconds: 600 });
  });
});
