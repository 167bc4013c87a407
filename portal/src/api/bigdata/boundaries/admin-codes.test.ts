import { describe, expect, it } from 'vitest';
import { GB_2260, levelOfCode, parentOfCode } from './admin-codes.ts';

describe('GB/T 2260 codes: level and parent from the digits', () => {
  it.each([
    ['330000', 'province', null],
    ['330100', 'city', '330000'],
    ['330114', 'district', '330100'], // 钱塘区 (2021)
    ['330113', 'district', '330100'], // 临平区 (2021)
    ['330383', 'district', '330300'], // 龙港市 (2019), a county-level city under 温州
    ['429004', 'district', '420000'], // 仙桃市, governed by 湖北 directly
    ['110101', 'district', '110100'], // 东城区 under 北京 市辖区
  ])('%s is a %s with parent %s', (code, level, parent) => {
    expect(levelOfCode(code)).toBe(level);
    expect(parentOfCode(code)).toBe(parent);
  });

  it.each(['33011', '3301140', '033011', 'abcdef', '330114001', ''])('refuses %j as a code', (code) => {
    expect(GB_2260.test(code)).toBe(false);
  });
});
