import { describe, expect, it } from 'vitest';
import { costliestContent, costPerLanguage, englishText, specContents } from './task-texts.ts';

describe('a task’s texts per language', () => {
  it('takes the English text from texts, whatever the region subtag, and leaves other languages to the form', () => {
    const f = {
      content: '台风预警',
      texts: [
        { language: 'ja-JP', content: '台風警報' },
        { language: 'en-GB', content: 'Typhoon warning' },
      ],
    };
    expect(englishText(f)).toBe('Typhoon warning');
    expect(specContents(f)).toEqual({ en: 'Typhoon warning' });
    expect(specContents({ content: '台风预警', texts: [{ language: 'ja-JP', content: '台風警報' }] })).toBeUndefined();
  });

  it.each([
    // A Latin signature on a GSM-7 text is written [EMA] (composeText): 7 + 150 septets, one SMS of 160.
    ['a 150-character English body with a Latin signature', 'EMA', 'x'.repeat(150), { zh: 1, en: 1 }],
    // A Chinese signature stays 【应急】, which GSM-7 cannot encode: the English SMS is UCS-2 (154
    // characters: three parts of 67).
    ['a 150-character English body under a Chinese signature', '应急', 'x'.repeat(150), { zh: 1, en: 3 }],
    ['a 60-character Chinese body and a short English one', '应急', '台'.repeat(60), { zh: 1, en: 1 }],
    ['a 70-character Chinese body', '应急', '台'.repeat(70), { zh: 2, en: 1 }],
  ])('counts each language as messaging does: %s', (_what, signature, body, want) => {
    const spec = { signature, content: '台风预警：请注意安全。', contents: { en: body } };
    const zhFirst = body.startsWith('台') ? { ...spec, content: body, contents: { en: 'Typhoon warning' } } : spec;
    const costs = costPerLanguage(zhFirst);
    expect(Object.fromEntries(costs.map((c) => [c.language, c.segments]))).toEqual(want);
  });

  it('counts English with the task’s Latin signature when it has one (signatures.en), as alerting signs it', () => {
    const spec = { signature: '应急', signatures: { en: 'EMA' }, content: '台风预警', contents: { en: 'x'.repeat(150) } };
    expect(Object.fromEntries(costPerLanguage(spec).map((c) => [c.language, c.segments]))).toEqual({ zh: 1, en: 1 });
  });

  it('reserves by the costliest language, with the exercise prefix of that language', () => {
    const spec = { signature: '应急', content: '台风预警', contents: { en: 'Typhoon warning: '.repeat(5) }, exercise: true };
    expect(costliestContent(spec)).toBe(`[EXERCISE] ${'Typhoon warning: '.repeat(5)}`);
    expect(costliestContent({ signature: '应急', content: '台风预警' })).toBe('台风预警');
  });

  it('counts an English exercise with [EXERCISE] (GSM-7), a Chinese one with 【演练】', () => {
    // [EXERCISE] is 13 septets, [EMA] 7: 140 letters make 160, one SMS; under 【演练】 it would be UCS-2, three.
    const spec = {
      signature: '应急',
      signatures: { en: 'EMA' },
      content: '台'.repeat(60),
      contents: { en: 'x'.repeat(140) },
      exercise: true,
    };
    expect(costPerLanguage(spec)).toEqual([
      { language: 'zh', chars: 4 + 4 + 60, segments: 1 },
      { language: 'en', chars: 5 + 11 + 140, segments: 1 },
    ]);
    expect(costPerLanguage({ ...spec, contents: { en: 'x'.repeat(141) } })[1]).toMatchObject({ segments: 2 });
  });
});
