import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CARRIERS } from '../contract.ts';
import { NUMBER_PREFIXES, carrierOfMsisdn } from './number-prefixes.ts';

describe('carrier number blocks', () => {
  it.each([
    ['13912345678', 'cmcc'],
    ['13412345678', 'cmcc'],
    ['13492345678', 'ctcc'],
    ['18612345678', 'cucc'],
    ['+86 189-1234-5678', 'ctcc'],
    ['19212345678', undefined],
    ['12345678901', undefined],
  ])('%s belongs to %s', (n, c) => expect(carrierOfMsisdn(n)).toBe(c));

  it('never gives one block to two carriers, and every number of a block maps back to its carrier', () => {
    const all = CARRIERS.flatMap((c) => NUMBER_PREFIXES[c].map((p) => [c, p] as const));
    fc.assert(
      fc.property(fc.constantFrom(...all), fc.integer({ min: 0, max: 99_999_999 }), ([carrier, prefix], n) => {
        const msisdn = (prefix + String(n).padStart(8, '0')).slice(0, 11);
        return carrierOfMsisdn(msisdn) === carrier;
      }),
    );
  });
});
