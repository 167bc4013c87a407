import { describe, expect, it } from 'vitest';
import { englishText, specContents } from './task-texts.ts';

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
});
