import { describe, expect, it } from 'vitest';
import { AppError } from '../../../errors.ts';
import { checkInPrompt, withCheckInPrompts, withPrompt } from './prompt.ts';

const DEFAULTS = [
  { code: '1', label: '安全' },
  { code: '2', label: '需要帮助', help: true },
];

describe('check-in reply prompts', () => {
  it('words the default answers in Chinese and English', () => {
    expect(checkInPrompt(DEFAULTS, 'zh')).toBe('回复1表示安全，回复2表示需要帮助');
    expect(checkInPrompt(DEFAULTS, 'en')).toBe('Reply 1 if safe, 2 if you need help');
  });

  it('tells an English reader what it can of other answers: a Latin label as written, a help option as help, else the code', () => {
    const options = [
      { code: '1', label: '已撤离' },
      { code: 'A', label: 'OK' },
      { code: '3', label: '家中有老人', help: true },
      { code: '4', label: '其他' },
    ];
    expect(checkInPrompt(options, 'en')).toBe('Reply 1 if evacuated, A for OK, 3 if you need help, 4 for option 4');
  });

  it('tells an English reader the meaning the operator wrote (labelEn) before any guess', () => {
    const options = [
      { code: '1', label: '安全', labelEn: 'if all are safe' },
      { code: '3', label: '家中有老人', help: true, labelEn: 'if an elderly person needs care' },
      { code: '4', label: '其他', labelEn: 'Other' },
      { code: '5', label: '已撤离', labelEn: 'when evacuated' },
    ];
    expect(checkInPrompt(options, 'en')).toBe('Reply 1 if all are safe, 3 if an elderly person needs care, 4 for Other, 5 when evacuated');
    expect(checkInPrompt(options, 'zh')).toBe('回复1表示安全，回复3表示家中有老人，回复4表示其他，回复5表示已撤离');
  });

  it('appends the prompt as a sentence of its own, once', () => {
    expect(withPrompt('台风预警', '回复1表示安全', 'zh')).toBe('台风预警。回复1表示安全。');
    expect(withPrompt('台风预警！', '回复1表示安全', 'zh')).toBe('台风预警！回复1表示安全。');
    expect(withPrompt('Typhoon warning', 'Reply 1 if safe', 'en')).toBe('Typhoon warning. Reply 1 if safe.');
    expect(withPrompt('Typhoon warning! ', 'Reply 1 if safe', 'en')).toBe('Typhoon warning! Reply 1 if safe.');
    // The send form's button put it in the text already.
    expect(withPrompt('台风预警：请回复1表示安全，回复2表示需要帮助。', checkInPrompt(DEFAULTS, 'zh'), 'zh')).toBe(
      '台风预警：请回复1表示安全，回复2表示需要帮助。',
    );
  });

  it('prompts every language of a spec, again without change, and leaves a task without a check-in alone', () => {
    const spec = { content: '台风预警', contents: { en: 'Typhoon warning' }, signature: '应急' };
    const once = withCheckInPrompts(spec, DEFAULTS);
    expect(once).toEqual({
      content: '台风预警。回复1表示安全，回复2表示需要帮助。',
      contents: { en: 'Typhoon warning. Reply 1 if safe, 2 if you need help.' },
      signature: '应急',
    });
    expect(withCheckInPrompts(once, DEFAULTS)).toEqual(once);
    expect(withCheckInPrompts(spec, undefined)).toBe(spec);
    expect(withCheckInPrompts({ content: '台风预警' }, DEFAULTS)).toEqual({ content: '台风预警。回复1表示安全，回复2表示需要帮助。' });
  });

  it('refuses a text that its prompt would take past 2000 characters, naming the field', () => {
    let err: unknown;
    try {
      withCheckInPrompts({ content: '台'.repeat(1990), contents: { en: 'x'.repeat(1990) } }, DEFAULTS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toContain('发送内容连同回复提示最多 2000 字');
    expect((err as AppError).message).toContain('英文内容连同回复提示最多 2000 字');
  });
});
