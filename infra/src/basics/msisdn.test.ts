import { describe, expect, it } from 'vitest';
import { CARRIERS, perCarrier } from './carriers.ts';
import { MSISDN, normalizeMsisdn } from './msisdn.ts';

describe('mainland mobile numbers', () => {
  it.each([
    ['13800138000', '13800138000'],
    ['+8613800138000', '13800138000'],
    ['008619912345678', '19912345678'],
    [' 15700000000 ', '15700000000'],
    ['12800138000', undefined],
    ['1380013800', undefined],
    ['+85213800138000', undefined],
    ['138001380001', undefined],
  ])('reads %j as %j', (typed, stored) => {
    expect(normalizeMsisdn(typed)).toBe(stored);
    if (stored) expect(MSISDN.test(stored)).toBe(true);
  });
});

describe('carriers', () => {
  it('makes one value per carrier, in the shown order', () => {
    expect(perCarrier((c) => c.toUpperCase())).toEqual({ cmcc: 'CMCC', cucc: 'CUCC', ctcc: 'CTCC' });
    expect(Object.keys(perCarrier(() => 0))).toEqual([...CARRIERS]);
  });
});
