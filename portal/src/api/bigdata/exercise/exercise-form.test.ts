import { describe, expect, it } from 'vitest';
import { formIssues, TaskForm } from '../task-form.ts';

/**
 * An English exercise's form (#21): its text is checked and charged behind [EXERCISE] (11 GSM-7
 * characters), the Chinese one behind 【演练】 (4 UCS-2), as alerting sends them.
 */
describe('the form of an exercise with an English text', () => {
  const form = (en: string, over: Record<string, unknown> = {}) =>
    TaskForm.parse({
      alertType: 'typhoon',
      region: { parts: [{ kind: 'circle', center: [120.16, 30.27], radiusM: 1000 }] },
      subject: '台风演练',
      content: '台风演练：请按预案撤离。',
      signature: '应急',
      signatureEn: 'EMA',
      startDate: '2030-01-01',
      endDate: '2030-01-01',
      frequency: 'once',
      quota: { cmcc: { total: 100, dailyCap: 100 } },
      texts: [{ language: 'en-US', content: en }],
      exercise: true,
      ...over,
    });
  const paths = (f: TaskForm, balance: number) => formIssues(f, balance, '2030-01-01');

  it('limits the English text to 2,000 characters with [EXERCISE], naming it', () => {
    expect(paths(form('x'.repeat(1989)), 1_000_000)).toEqual([]);
    const over = paths(form('x'.repeat(1990)), 1_000_000);
    expect(over).toEqual([{ path: 'texts.0.content', message: '演练的英文内容连同“[EXERCISE]”最多 2000 字' }]);
  });

  it('reserves an English exercise of 140 letters signed [EMA] as one GSM-7 SMS each (under 【演练】 it was three UCS-2)', () => {
    // [EMA] 7 + [EXERCISE] 13 + 140 = 160 septets: 100 people take 100 units, within a balance of 100.
    expect(paths(form('x'.repeat(140)), 100)).toEqual([]);
  });

  it('keeps 【演练】 and its limit for the Chinese text', () => {
    expect(paths(form('Typhoon drill', { content: '台'.repeat(1996) }), 1_000_000)).toEqual([]);
    expect(paths(form('Typhoon drill', { content: '台'.repeat(1997) }), 1_000_000)).toEqual([
      { path: 'content', message: '演练的发送内容连同“【演练】”最多 2000 字' },
    ]);
  });
});
