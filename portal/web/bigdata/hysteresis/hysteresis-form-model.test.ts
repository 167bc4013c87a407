import { describe, expect, it } from 'vitest';
import { emptyForm, fromPayload, toPayload } from '../form-model.ts';
import { hysteresisProblem } from './hysteresis-problem.ts';
import { hysteresisText } from '../tasks/task-model.ts';

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

describe('the 边缘防抖 field’s own message (#21)', () => {
  it('names a value out of the server’s range in its words, and nothing for a good one', () => {
    expect(hysteresisProblem({ bufferMeters: 6000 })).toBe('缓冲距离最多 5000 米');
    expect(hysteresisProblem({ bufferMeters: -1 })).toBe('缓冲距离不能为负');
    expect(hysteresisProblem({ minOutsideSeconds: -60 })).toBe('离开时长不能为负');
    expect(hysteresisProblem({ minOutsideSeconds: 1441 * 60 })).toBe('离开时长最长 1440 分钟（一天）');
    expect(hysteresisProblem({ bufferMeters: 5000, minOutsideSeconds: 86_400 })).toBe('');
    expect(hysteresisProblem(undefined)).toBe('');
  });
  it('reads as a sentence in the task detail, or says it is off', () => {
    expect(hysteresisText({ bufferMeters: 300, minOutsideSeconds: 600 })).toBe('缓冲 300 米，离开 10 分钟后再进入才算新进入');
    expect(hysteresisText(undefined)).toBe('未启用（每次进入都算）');
  });
});
