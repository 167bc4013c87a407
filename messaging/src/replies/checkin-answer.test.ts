import { describe, expect, it } from 'vitest';
import { parseCheckInAnswer, type CheckInOption } from './checkin-answer.ts';

const options: CheckInOption[] = [
  { code: '1', label: '安全' },
  { code: '2', label: '需要帮助', help: true },
];

describe('parseCheckInAnswer', () => {
  it.each<[string, string | undefined]>([
    ['1', '1'],
    ['2', '2'],
    [' 1 ', '1'],
    ['１', '1'],
    ['２', '2'],
    ['1.', '1'],
    ['1。', '1'],
    ['１．', '1'],
    ['2!', '2'],
    ['2 被困在二楼', '2'],
    ['2，被困在二楼', '2'],
    ['回复1', '1'],
    ['回复 ２', '2'],
    ['【1】', '1'],
    ['(2)', '2'],
    ['安全', '1'],
    ['需要帮助。', '2'],
    ['12', undefined],
    ['3', undefined],
    ['收到', undefined],
    ['', undefined],
    ['   ', undefined],
    ['21', undefined],
    ['一', undefined],
  ])('%j → %s', (text, code) => {
    expect(parseCheckInAnswer(text, options)).toBe(code);
  });

  it('reads the longest code first, and letters in any case or width', () => {
    const many: CheckInOption[] = [
      { code: '1', label: '安全' },
      { code: '10', label: '已撤离' },
      { code: 'Y', label: '是' },
    ];
    expect(parseCheckInAnswer('10', many)).toBe('10');
    expect(parseCheckInAnswer('1', many)).toBe('1');
    expect(parseCheckInAnswer('ｙ', many)).toBe('Y');
    expect(parseCheckInAnswer('y.', many)).toBe('Y');
  });
});
