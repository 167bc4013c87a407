import { describe, expect, it } from 'vitest';
import { checkInPrompt } from '../../../src/api/bigdata/checkins/prompt.ts';
import { bt } from '../zh-CN.ts';

/**
 * The send page's English reply prompt is the one the server adds at submit (#21, #23 walk): if the
 * words drift apart, a text with the page's prompt gets the server's as well, twice in one SMS.
 */
describe("the send page's English check-in prompt", () => {
  it.each([
    [
      [
        { code: '1', label: '安全' },
        { code: '2', label: '需要帮助', help: true },
      ],
    ],
    [
      [
        { code: '1', label: '我平安' },
        { code: '2', label: '被困' },
        { code: '3', label: '有人受伤' },
      ],
    ],
    [
      [
        { code: '1', label: 'OK' },
        { code: '2', label: '家中有老人', help: true },
        { code: '3', label: '其他' },
      ],
    ],
    [
      [
        { code: '1', label: '安全', labelEn: 'if you are home' },
        { code: '2', label: '家中有老人', labelEn: 'elderly at home' },
      ],
    ],
  ])('is the server’s for %j', (options) => {
    expect(bt.send.checkInEnglish.prompt(options)).toBe(checkInPrompt(options, 'en'));
  });
});
