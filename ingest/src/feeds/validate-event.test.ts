import { describe, expect, it } from 'vitest';
import { validateLine } from './validate-event.ts';

const NOW = Date.parse('2026-07-01T12:00:00Z');
const good = { msisdn: '13912345678', carrier: 'cmcc', ts: NOW - 1000, cell: '460-00-100001-1', lat: 30.25, lng: 120.15, kind: 'call' };
const line = (over: Record<string, unknown>) => JSON.stringify({ ...good, ...over });

describe('validating an external event', () => {
  it('accepts a well-formed event and drops fields outside the contract', () => {
    const v = validateLine(line({ extra: 1 }), NOW, 'cmcc');
    expect(v.ok && v.event).toEqual(good);
  });
  it.each([
    ['{"msisdn":', 'json', /not valid JSON/],
    [line({ msisdn: '1234' }), 'schema', /msisdn: expected an 11-digit mainland mobile number/],
    [line({ lat: 91 }), 'schema', /lat/],
    [line({ kind: 'teleport' }), 'schema', /kind/],
    [line({ carrier: 'cucc' }), 'carrier_mismatch', /does not match this feed's carrier "cmcc"/],
    [line({ ts: NOW - 8 * 24 * 3600_000 }), 'too_old', /older than 168 h/],
    [line({ ts: NOW + 3600_000 }), 'future', /in the future/],
    [line({ cell: 'x'.repeat(5000) }), 'too_long', /longer than/],
  ])('refuses %s with code %s and a reason', (text, code, reason) => {
    const v = validateLine(text, NOW, 'cmcc');
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.code).toBe(code);
      expect(v.reason).toMatch(reason);
    }
  });
});
