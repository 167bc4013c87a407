import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NUMBER_PREFIXES, UNSERVED_PREFIXES } from '@geo/infra/basics';
import { MAINLAND_MOBILE, normalizeMsisdn, routeNumber } from './number-routing.ts';

const complete = (prefix: string, fill = '0') => prefix + fill.repeat(11 - prefix.length);

describe('routeNumber by 号段', () => {
  // Every segment of the table (its one source, @geo/infra/basics number-prefixes.ts), at both ends of its range.
  for (const [carrier, prefixes] of Object.entries(NUMBER_PREFIXES)) {
    it.each(prefixes.map((p) => [p]))(`routes %s… to ${carrier}`, (p) => {
      expect(routeNumber(complete(p))).toEqual({ ok: true, msisdn: complete(p), carrier });
      expect(routeNumber(complete(p, '9'))).toMatchObject({ ok: true, carrier });
    });
  }

  it('routes well-known segments of each carrier as the carriers publish them', () => {
    expect(routeNumber('13800138000')).toMatchObject({ carrier: 'cmcc' });
    expect(routeNumber('19800000000')).toMatchObject({ carrier: 'cmcc' });
    expect(routeNumber('18600000000')).toMatchObject({ carrier: 'cucc' });
    expect(routeNumber('13000000000')).toMatchObject({ carrier: 'cucc' });
    expect(routeNumber('18900000000')).toMatchObject({ carrier: 'ctcc' });
    expect(routeNumber('13300000000')).toMatchObject({ carrier: 'ctcc' });
  });

  it('gives every segment 130–199 exactly one answer: a carrier that lists it, unserved, or unknown', () => {
    const listed = new Map(Object.entries(NUMBER_PREFIXES).flatMap(([c, ps]) => ps.map((p) => [p, c] as const)));
    for (let s = 130; s <= 199; s++) {
      for (let d = 0; d <= 9; d++) {
        const four = `${s}${d}`;
        const want = listed.get(four) ?? listed.get(String(s));
        const r = routeNumber(complete(four));
        if (want) expect(r, four).toMatchObject({ ok: true, carrier: want });
        else expect(r, four).toMatchObject({ ok: false, code: String(s) in UNSERVED_PREFIXES ? 'UNSERVED_CARRIER' : 'UNKNOWN_PREFIX' });
      }
    }
  });

  it('tells 1349 (Telecom satellite) apart from the rest of 134 (Mobile)', () => {
    expect(routeNumber('13490000000')).toMatchObject({ carrier: 'ctcc' });
    expect(routeNumber('13480000000')).toMatchObject({ carrier: 'cmcc' });
  });

  it('accepts spaces, dashes and the +86 / 0086 country code', () => {
    expect(routeNumber('+86 138-0013-8000')).toEqual({ ok: true, msisdn: '13800138000', carrier: 'cmcc' });
    expect(routeNumber('0086 189 0000 1111')).toEqual({ ok: true, msisdn: '18900001111', carrier: 'ctcc' });
  });

  it.each([
    ['12345678901', 'INVALID_NUMBER'],
    ['1380013800', 'INVALID_NUMBER'],
    ['138001380001', 'INVALID_NUMBER'],
    ['+85 13800138000', 'INVALID_NUMBER'],
    ['1380013800a', 'INVALID_NUMBER'],
    ['', 'INVALID_NUMBER'],
    ['14000000000', 'UNKNOWN_PREFIX'],
    ['16000000000', 'UNKNOWN_PREFIX'],
    ['19200000000', 'UNSERVED_CARRIER'],
  ])('refuses %j as %s with a reason', (input, code) => {
    const r = routeNumber(input);
    expect(r).toMatchObject({ ok: false, code, reason: expect.any(String) });
  });

  it('routes every number the table covers to exactly the carrier that lists its prefix', () => {
    const all = Object.entries(NUMBER_PREFIXES).flatMap(([c, ps]) => ps.map((p) => [c, p] as const));
    fc.assert(
      fc.property(fc.constantFrom(...all), fc.stringMatching(/^\d{8}$/), ([carrier, prefix], tail) => {
        const n = (prefix + tail).slice(0, 11);
        expect(routeNumber(n)).toMatchObject({ ok: true, carrier });
      }),
    );
  });

  it('never routes a string that is not a mainland mobile number', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (s) => {
        if (MAINLAND_MOBILE.test(s.replace(/[\s-]/g, ''))) return;
        expect(routeNumber(s).ok).toBe(false);
        expect(normalizeMsisdn(s)).toBeUndefined();
      }),
    );
  });
});
